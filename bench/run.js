#!/usr/bin/env node
'use strict';
/**
 * Start-up cost of runts commands next to `node -e 0` and Debian's runc, in one interleaved
 * run. Usage: node bench/run.js [--iterations N]   (root; builds dist/ first: npx tsc -p .)
 *
 * To add a row, push a case onto CASES: { name, argv, expect?, setup?, teardown? }.
 * setup/teardown run around every timed call, outside the timing (e.g. create before a start).
 */
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { REPO, RUNTS, argValue, sh, which, timeArgv, stats, printTable } = require('./lib');

const ITERATIONS = Number(argValue('--iterations') ?? 30);
const WARMUP = 3;
/** A config.json as Docker writes it (seccomp profile included), so state.json has a real size. */
const DOCKER_SPEC = path.join(REPO, 'fixtures', 'configs', 'valid', 'docker-spec-1.json');
const MINIMAL_SPEC = { ociVersion: '1.2.0', process: { args: ['sleep', '3600'], cwd: '/', user: { uid: 0, gid: 0 } } };

function ensureRunc() {
  let runc = which('runc');
  if (!runc) {
    console.log('runc is missing: apt-get install -y runc');
    sh(['apt-get', 'install', '-y', 'runc'], { stdio: 'inherit' });
    runc = which('runc');
  }
  return runc;
}

function startTime(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/** A runts record pointing at a live `sleep`, written straight into a temp --root. */
function fakeRuntsContainer(root, id) {
  const sleeper = spawn('sleep', ['3600'], { stdio: 'ignore', detached: true });
  const dir = path.join(root, id);
  fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
  const record = {
    ociVersion: '1.2.0',
    id,
    pid: sleeper.pid,
    pidStartTime: startTime(sleeper.pid),
    bundle: '/tmp/bench-bundle',
    rootfs: '/tmp/bench-bundle/rootfs',
    created: new Date().toISOString(),
    annotations: {},
    config: fs.existsSync(DOCKER_SPEC) ? JSON.parse(fs.readFileSync(DOCKER_SPEC, 'utf8')) : MINIMAL_SPEC,
  };
  fs.writeFileSync(path.join(dir, 'state.json'), JSON.stringify(record), { mode: 0o600 });
  return () => sleeper.kill('SIGKILL');
}

/** A busybox bundle for a real runc container (sleep 3600, no terminal); undefined if impossible. */
function busyboxBundle(runc, dir) {
  const busybox = which('busybox');
  if (!busybox) return undefined;
  fs.mkdirSync(path.join(dir, 'rootfs', 'bin'), { recursive: true });
  fs.copyFileSync(busybox, path.join(dir, 'rootfs', 'bin', 'busybox'));
  fs.chmodSync(path.join(dir, 'rootfs', 'bin', 'busybox'), 0o755);
  for (const applet of ['sh', 'sleep']) fs.symlinkSync('busybox', path.join(dir, 'rootfs', 'bin', applet));
  if (sh([runc, 'spec', '-b', dir]).status !== 0) return undefined;
  const configPath = path.join(dir, 'config.json');
  const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
  config.process.args = ['sleep', '3600'];
  config.process.terminal = false;
  fs.writeFileSync(configPath, JSON.stringify(config));
  return dir;
}

/** A real runc container in `root`; returns its cleanup, or undefined when runc cannot create one. */
function realRuncContainer(runc, root, bundleDir, id) {
  const bundle = busyboxBundle(runc, bundleDir);
  if (!bundle) return undefined;
  // The container keeps whatever stdio it inherits open: give it none, read errors from --log.
  const log = path.join(bundleDir, 'create.log');
  const r = sh([runc, '--root', root, '--log', log, 'create', '--bundle', bundle, id], { stdio: 'ignore' });
  if (r.status !== 0) {
    console.log(`runc create failed: ${fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim() : r.status}`);
    return undefined;
  }
  return () => sh([runc, '--root', root, 'delete', '--force', id]);
}

function timeOnce(testCase) {
  if (testCase.setup) testCase.setup();
  const ms = timeArgv(testCase.name, testCase.argv, { expect: testCase.expect ?? 0 });
  if (testCase.teardown) testCase.teardown();
  return ms;
}

function report(cases, samples) {
  const base = stats(samples.get(cases[0].name)).median;
  const rows = [['case', 'min ms', 'median ms', 'p90 ms', 'x node', '+ms vs node']];
  for (const c of cases) {
    const { min, median, p90 } = stats(samples.get(c.name));
    rows.push([c.name, min.toFixed(2), median.toFixed(2), p90.toFixed(2), (median / base).toFixed(2), (median - base).toFixed(2)]);
  }
  printTable(rows);
}

function main() {
  if (!fs.existsSync(RUNTS[0])) throw new Error(`${RUNTS[0]} is missing: run npm run build first`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-bench-'));
  const runtsRoot = path.join(work, 'runts');
  const runcRoot = path.join(work, 'runc');
  const cleanups = [fakeRuntsContainer(runtsRoot, 'bench')];
  try {
    const runc = ensureRunc();
    const CASES = [
      { name: 'node -e 0', argv: [process.execPath, '-e', '0'] },
      { name: 'runts --version', argv: [...RUNTS, '--version'] },
      { name: 'runts state <live>', argv: [...RUNTS, '--root', runtsRoot, 'state', 'bench'] },
      { name: 'runts list (1)', argv: [...RUNTS, '--root', runtsRoot, 'list'] },
      { name: 'runts state <missing>', argv: [...RUNTS, '--root', runtsRoot, 'state', 'nope'], expect: 1 },
    ];
    const runcCleanup = runc && realRuncContainer(runc, runcRoot, path.join(work, 'bundle'), 'bench');
    if (runcCleanup) {
      cleanups.push(runcCleanup);
      CASES.push({ name: 'runc state <live>', argv: [runc, '--root', runcRoot, 'state', 'bench'] });
      CASES.push({ name: 'runc list (1)', argv: [runc, '--root', runcRoot, 'list'] });
    } else if (runc) {
      console.log('NOTE: no real runc container could be made: runc rows use an empty root and a missing id');
      CASES.push({ name: 'runc state <missing>', argv: [runc, '--root', runcRoot, 'state', 'bench'], expect: 1 });
      CASES.push({ name: 'runc list (empty)', argv: [runc, '--root', runcRoot, 'list'] });
    }
    const samples = new Map(CASES.map((c) => [c.name, []]));
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      for (const c of CASES) {
        const ms = timeOnce(c);
        if (i >= WARMUP) samples.get(c.name).push(ms);
      }
    }
    console.log(`${ITERATIONS} iterations each, interleaved; node ${process.version}; NODE_EXTRA_CA_CERTS unset in children`);
    report(CASES, samples);
  } finally {
    for (const cleanup of cleanups.reverse()) cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
