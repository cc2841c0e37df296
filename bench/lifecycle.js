#!/usr/bin/env node
'use strict';
/**
 * Every command's cost, runts next to Debian's runc, in one interleaved run on one bundle
 * (the fixture busybox rootfs, `runc spec`'s config running /bin/true, no terminal), checked
 * against issue 13's targets (`npm run bench`):
 *   - state, list, kill of a running container; exec and run of /bin/true; create / start /
 *     delete each timed and their sum; `node -e 0` as the baseline of every target;
 *   - peak RSS of each runtime process (wait4's ru_maxrss through /usr/bin/time), untimed;
 *   - VmRSS of the container's init while `created` (runts' init vs `runc init`).
 * Both runtimes keep their state on a private tmpfs, as under /run on the hosts containerd runs
 * on (state files are written several times per create: on a disk filesystem each write and
 * rename costs ~0.1-0.3 ms instead of ~0.01); --state-on-disk keeps them under os.tmpdir().
 * Usage (root): npm run build && node bench/lifecycle.js [--iterations N] [--state-on-disk]
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { REPO, RUNTS, CHILD_ENV, argValue, sh, which, timeArgv, stats, printTable } = require('./lib');

const ITERATIONS = Number(argValue('--iterations') ?? 20);
const WARMUP = 2;
const STATE_ON_DISK = process.argv.includes('--state-on-disk');
const FIXTURE_ROOTFS = path.join(REPO, 'fixtures', 'out', 'rootfs');

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The single-letter state of a pid from /proc/<pid>/stat, or undefined once it is gone. */
function procState(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

function vmRssKiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

function comm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ') || fs.readFileSync(`/proc/${pid}/comm`, 'latin1').trim();
  } catch {
    return '?';
  }
}

/** One runtime under test: how to call it on its own --root. */
function runtime(name, argv0, root) {
  const cli = (...args) => [...argv0, '--root', root, ...args];
  return {
    name,
    root,
    cli,
    state(id) {
      const r = sh(cli('state', id));
      if (r.status !== 0) throw new Error(`${name} state ${id}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout);
    },
    /** delete --force every container under the root (cleanup; never timed). */
    deleteAll() {
      let ids = [];
      try {
        ids = fs.readdirSync(root);
      } catch {
        return;
      }
      for (const id of ids) sh(cli('delete', '--force', id), { stdio: 'ignore' });
    },
  };
}

/** create, (RSS of the created init), start, wait for exit, delete: the three timings and the RSS. */
function lifecycle(rt, bundle, id, work) {
  // The init keeps create's stdio until it execs and exits: give it a file, not a pipe.
  const logPath = path.join(work, `${rt.name}-${id}.stderr`);
  const logFd = fs.openSync(logPath, 'w');
  let create;
  try {
    create = timeArgv(`${rt.name} create`, rt.cli('create', '--bundle', bundle, id), { stderrFd: logFd });
  } catch (e) {
    e.message += `\n${fs.readFileSync(logPath, 'utf8').trim()}`;
    throw e;
  } finally {
    fs.closeSync(logFd);
  }
  const { pid, status } = rt.state(id);
  if (status !== 'created') throw new Error(`${rt.name}: ${id} is ${status} after create`);
  const rss = vmRssKiB(pid);
  const initName = comm(pid);
  const start = timeArgv(`${rt.name} start`, rt.cli('start', id));
  // /bin/true exits at once; wait for it (and for the runtime to agree) outside the timings.
  for (let i = 0; procState(pid) !== undefined && procState(pid) !== 'Z'; i++) {
    if (i > 5000) throw new Error(`${rt.name}: ${id} (pid ${pid}) did not exit`);
    sleepMs(1);
  }
  for (let i = 0; rt.state(id).status !== 'stopped'; i++) {
    if (i > 1000) throw new Error(`${rt.name}: ${id} never reported stopped`);
    sleepMs(2);
  }
  const del = timeArgv(`${rt.name} delete`, rt.cli('delete', id));
  return { create, start, delete: del, sum: create + start + del, rss, initName };
}

/** Peak RSS (KiB) of one untimed call of argv, from wait4's rusage via GNU time. */
function peakRssKiB(name, argv, stderrFd) {
  const out = path.join(os.tmpdir(), `runts-bench-rss-${process.pid}`);
  try {
    timeArgv(name, ['/usr/bin/time', '-f', '%M', '-o', out, ...argv], { stderrFd });
    return Number(fs.readFileSync(out, 'utf8').trim().split('\n').pop());
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** Peak RSS of every runtime process a case runs: one untimed pass. */
function peakRss(rt, bundle, work) {
  const logFd = fs.openSync(path.join(work, `${rt.name}-rss.stderr`), 'w');
  try {
    const rss = {
      state: peakRssKiB(`${rt.name} state`, rt.cli('state', 'exec-box')),
      list: peakRssKiB(`${rt.name} list`, rt.cli('list')),
      kill: peakRssKiB(`${rt.name} kill`, rt.cli('kill', 'exec-box', 'CONT')),
      exec: peakRssKiB(`${rt.name} exec`, rt.cli('exec', 'exec-box', '/bin/true')),
      run: peakRssKiB(`${rt.name} run`, rt.cli('run', '--bundle', bundle, 'rss-run'), logFd),
      create: peakRssKiB(`${rt.name} create`, rt.cli('create', '--bundle', bundle, 'rss-cycle'), logFd),
      start: peakRssKiB(`${rt.name} start`, rt.cli('start', 'rss-cycle')),
    };
    for (let i = 0; rt.state('rss-cycle').status !== 'stopped'; i++) {
      if (i > 1000) throw new Error(`${rt.name}: rss-cycle never reported stopped`);
      sleepMs(2);
    }
    rss.delete = peakRssKiB(`${rt.name} delete`, rt.cli('delete', 'rss-cycle'));
    return rss;
  } finally {
    fs.closeSync(logFd);
  }
}

function runOnce(rt, bundle, id) {
  const ms = timeArgv(`${rt.name} run`, rt.cli('run', '--bundle', bundle, id));
  if (fs.existsSync(path.join(rt.root, id))) {
    sh(rt.cli('delete', '--force', id), { stdio: 'ignore' });
    throw new Error(`${rt.name} run left ${id} behind`);
  }
  return ms;
}

/** A bundle on a private copy of the fixture rootfs with runc's default config running `args`. */
function makeBundle(runc, dir, args = ['/bin/true']) {
  if (!fs.existsSync(path.join(FIXTURE_ROOTFS, '.built'))) {
    const r = sh(['bash', path.join(REPO, 'fixtures', 'build-rootfs.sh')], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('fixtures/build-rootfs.sh failed');
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(FIXTURE_ROOTFS, path.join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  const r = sh([runc, 'spec', '--bundle', dir]);
  if (r.status !== 0) throw new Error(`runc spec: ${r.stderr.trim()}`);
  const configPath = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  config.process.terminal = false;
  config.process.args = args;
  fs.writeFileSync(configPath, JSON.stringify(config, null, 2));
  return dir;
}

function main() {
  if (process.getuid() !== 0) throw new Error('run as root: containers are created');
  if (!fs.existsSync(RUNTS[0])) throw new Error(`${RUNTS[0]} is missing: run npm run build first`);
  const runc = which('runc');
  if (!runc) throw new Error('runc is missing: apt-get install -y runc');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-lifecycle-'));
  const stateDir = path.join(work, 'state');
  fs.mkdirSync(stateDir);
  if (!STATE_ON_DISK && sh(['mount', '-t', 'tmpfs', '-o', 'mode=0700', 'runts-bench-state', stateDir]).status !== 0) {
    throw new Error(`mount a tmpfs on ${stateDir} failed (or pass --state-on-disk)`);
  }
  const runtimes = {
    runts: runtime('runts', RUNTS, path.join(stateDir, 'runts-root')),
    runc: runtime('runc', [runc], path.join(stateDir, 'runc-root')),
  };
  const cleanup = () => {
    for (const rt of Object.values(runtimes)) rt.deleteAll();
    if (!STATE_ON_DISK) sh(['umount', stateDir]);
    fs.rmSync(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  const samples = {};
  const add = (key, value) => (samples[key] ??= []).push(value);
  const initNames = {};
  const peakRssByRuntime = {};
  try {
    const bundle = makeBundle(runc, path.join(work, 'bundle'));
    // One long-running container per runtime to exec into; it keeps run's stdio: give it a file.
    const execBundle = makeBundle(runc, path.join(work, 'exec-bundle'), ['sleep', '3600']);
    const execOut = fs.openSync(path.join(work, 'exec-box.out'), 'w');
    for (const rt of Object.values(runtimes)) {
      const r = sh(rt.cli('run', '--detach', '--bundle', execBundle, 'exec-box'), { stdio: ['ignore', execOut, execOut] });
      if (r.status !== 0) throw new Error(`${rt.name} run --detach exec-box failed`);
    }
    fs.closeSync(execOut);
    // runts' code caches are made by the warm-up's runs, as a user's first runs make them: a
    // cache left by other runs (tests of error paths, a --help) holds less of a command's code.
    fs.rmSync(path.join(REPO, 'dist', 'code-cache'), { recursive: true, force: true });
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const record = i >= WARMUP ? add : () => {};
      // Alternate which runtime goes first so neither always runs on a warmer cache.
      const order = i % 2 === 0 ? ['runts', 'runc'] : ['runc', 'runts'];
      record('node -e 0', timeArgv('node -e 0', [process.execPath, '-e', '0']));
      for (const name of order) record(`${name} run`, runOnce(runtimes[name], bundle, `run-${i}`));
      for (const name of order) record(`${name} exec`, timeArgv(`${name} exec`, runtimes[name].cli('exec', 'exec-box', '/bin/true')));
      for (const name of order) record(`${name} state`, timeArgv(`${name} state`, runtimes[name].cli('state', 'exec-box')));
      for (const name of order) record(`${name} list`, timeArgv(`${name} list`, runtimes[name].cli('list')));
      for (const name of order) record(`${name} kill`, timeArgv(`${name} kill`, runtimes[name].cli('kill', 'exec-box', 'CONT')));
      for (const name of order) {
        const r = lifecycle(runtimes[name], bundle, `cycle-${i}`, work);
        for (const step of ['create', 'start', 'delete', 'sum']) record(`${name} ${step}`, r[step]);
        record(`${name} rss`, r.rss);
        initNames[name] = r.initName;
      }
    }
    for (const rt of Object.values(runtimes)) peakRssByRuntime[rt.name] = peakRss(rt, bundle, work);
  } finally {
    cleanup();
  }

  const node = stats(samples['node -e 0']).median;
  const rows = [['case', 'median ms', 'p90 ms', 'runts/runc', 'x node -e 0', '+ms vs node']];
  const row = (label, key, runcKey) => {
    const s = stats(samples[key]);
    const ratio = runcKey ? (s.median / stats(samples[runcKey]).median).toFixed(2) : '';
    rows.push([label, s.median.toFixed(2), s.p90.toFixed(2), ratio, (s.median / node).toFixed(2), (s.median - node).toFixed(2)]);
  };
  row('node -e 0', 'node -e 0');
  for (const command of ['state', 'list', 'kill']) {
    row(`runts ${command}`, `runts ${command}`, `runc ${command}`);
    row(`runc  ${command}`, `runc ${command}`);
  }
  row('runts run /bin/true', 'runts run', 'runc run');
  row('runc  run /bin/true', 'runc run');
  row('runts exec /bin/true', 'runts exec', 'runc exec');
  row('runc  exec /bin/true', 'runc exec');
  for (const step of ['create', 'start', 'delete']) {
    row(`runts ${step}`, `runts ${step}`, `runc ${step}`);
    row(`runc  ${step}`, `runc ${step}`);
  }
  row('runts create+start+delete', 'runts sum', 'runc sum');
  row('runc  create+start+delete', 'runc sum');

  const kernel = fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const runcVersion = sh([runc, '--version']).stdout.split('\n')[0];
  console.log(`${ITERATIONS} iterations (+${WARMUP} warm-up), interleaved; node ${process.version}; ${runcVersion}; kernel ${kernel}`);
  console.log(`NODE_EXTRA_CA_CERTS ${CHILD_ENV.NODE_EXTRA_CA_CERTS === undefined ? 'unset' : 'SET'} in children; bundle: runc spec + fixture rootfs, args /bin/true`);
  console.log(`state roots (--root) of both runtimes: ${STATE_ON_DISK ? `on disk (${stateDir})` : 'a private tmpfs'}`);
  console.log('');
  printTable(rows);

  console.log('');
  const rssRows = [['init while created', 'process', 'median KiB', 'min KiB', 'max KiB', 'median MiB']];
  for (const name of ['runts', 'runc']) {
    const s = stats(samples[`${name} rss`]);
    rssRows.push([name, initNames[name] ?? '?', String(s.median), String(s.min), String(s.max), (s.median / 1024).toFixed(2)]);
  }
  printTable(rssRows);

  console.log('');
  const peakRows = [['peak RSS (MiB)', ...COMMANDS]];
  for (const name of ['runts', 'runc']) peakRows.push([name, ...COMMANDS.map((c) => (peakRssByRuntime[name][c] / 1024).toFixed(1))]);
  peakRows.push(['node -e 0', (peakRssKiB('node -e 0', [process.execPath, '-e', '0']) / 1024).toFixed(1)]);
  printTable(peakRows);

  console.log('');
  printTargets(samples, node);
}

const COMMANDS = ['state', 'list', 'kill', 'start', 'delete', 'create', 'exec', 'run'];

/** Issue 13's targets: runts' median above `node -e 0`, at most this many ms. */
const TARGET_ABOVE_NODE = { state: 2, list: 2, kill: 2, start: 2, delete: 4, create: 8, exec: 8, run: 10 };

function printTargets(samples, node) {
  const median = (key) => stats(samples[key]).median;
  const rows = [['target', 'runts', 'runc', 'runts above node', 'limit', 'met']];
  for (const [command, limit] of Object.entries(TARGET_ABOVE_NODE)) {
    const above = median(`runts ${command}`) - node;
    rows.push([`${command} <= node + ${limit} ms`, median(`runts ${command}`).toFixed(2), median(`runc ${command}`).toFixed(2), above.toFixed(2), limit.toFixed(2), above <= limit ? 'yes' : 'NO']);
  }
  // runts' own work in create+start+delete: above its three Node starts; at most half of runc's whole.
  const work = median('runts sum') - 3 * node;
  const half = median('runc sum') / 2;
  rows.push(['c+s+d work <= runc c+s+d / 2', median('runts sum').toFixed(2), median('runc sum').toFixed(2), work.toFixed(2), half.toFixed(2), work <= half ? 'yes' : 'NO']);
  const initKiB = stats(samples['runts rss']).median;
  rows.push(['created init <= 1 MiB', `${(initKiB / 1024).toFixed(2)} MiB`, `${(stats(samples['runc rss']).median / 1024).toFixed(2)} MiB`, '', '1.00', initKiB <= 1024 ? 'yes' : 'NO']);
  printTable(rows);
}

main();
