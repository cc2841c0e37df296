/**
 * A malicious image and workload, and a careless caller, against runts (issue 11). Every test
 * attacks a real container and looks from inside it (or at the host file it aimed for) whether
 * the attack got through. SECURITY.md maps each one to its runc advisory class.
 */
import { spawn, spawnSync } from 'child_process';
import fs = require('fs');
import path = require('path');
import t, { type Test } from 'tap';
import { openCgroup } from '../../src/cgroups';
import { killAndDestroy } from '../helpers/cgroups';
import { CLI, baseSpec, bundleFor, cleanupRoot, makeBundle, runts, scratchDir, type Result } from '../helpers/runts';
import type { Process, Spec } from '../../src/config/types';

const root = scratchDir('hostile');
t.teardown(() => cleanupRoot(root));

let serial = 0;
const newId = (prefix: string) => `${prefix}${process.pid}x${serial++}`;

/** Runs the CLI from a shell that first opens `fds` (fd number → host path) without close-on-exec. */
function runtsWithFds(fds: Record<number, string>, args: string[]): Result {
  const redirects = Object.entries(fds).map(([fd, p]) => `exec ${fd}<'${p}'`).join('; ');
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const quoted = [process.execPath, CLI, '--root', root, ...args].map((a) => `'${a}'`).join(' ');
  const r = spawnSync('/bin/bash', ['-c', `${redirects}; exec ${quoted}`], { encoding: 'utf8', env, timeout: 30_000 });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

const capLine = (out: string, set: string) => (new RegExp(`^${set}:\\s+([0-9a-f]+)$`, 'm').exec(out) ?? [])[1];
/** CAP_KILL | CAP_NET_BIND_SERVICE | CAP_AUDIT_WRITE, what baseSpec gives. */
const BASE_CAPS = '0000000020000420';

t.test('class 1: a fake cap_last_cap under /proc never widens the bounding set of exec', async (t) => {
  // The container (allowed to mount) covers its /proc/sys/kernel with a tmpfs holding
  // cap_last_cap = 0, then an ordinary exec asks for three capabilities.
  const spec = baseSpec(['sh', '-c', 'mount -t tmpfs tmpfs /proc/sys/kernel && echo 0 > /proc/sys/kernel/cap_last_cap && touch /tmp/ready && sleep 60']);
  spec.root!.readonly = false;
  for (const set of ['bounding', 'effective', 'permitted'] as const) spec.process!.capabilities![set]!.push('CAP_SYS_ADMIN');
  const id = newId('cap');
  const bundle = bundleFor(t, spec);
  t.teardown(() => runts(root, ['delete', '--force', id]));
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, id]).code, 0);
  const ready = path.join(bundle, 'rootfs', 'tmp', 'ready');
  while (!fs.existsSync(ready)) await new Promise((r) => setTimeout(r, 20));
  const proc: Process = {
    ...spec.process!,
    args: ['sh', '-c', 'cat /proc/sys/kernel/cap_last_cap; grep -E "^Cap(Bnd|Eff)" /proc/self/status'],
    noNewPrivileges: false,
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
  };
  const processFile = path.join(bundle, 'process.json');
  fs.writeFileSync(processFile, JSON.stringify(proc));
  const r = runts(root, ['exec', '--process', processFile, id]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^0$/m, 'the container did fake cap_last_cap');
  t.equal(capLine(r.stdout, 'CapBnd'), '0000000000000020', 'bounding: CAP_KILL only');
  t.equal(capLine(r.stdout, 'CapEff'), '0000000000000020', 'a root execve gains nothing beyond it');
});

t.test('class 2: an image symlink cannot aim a volume into /proc (runc checkProcMount)', async (t) => {
  const volume = scratchDir('volume');
  t.teardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  fs.writeFileSync(path.join(volume, 'cap_last_cap'), '0\n');
  const spec = baseSpec(['sh', '-c', 'grep ^CapBnd /proc/self/status']);
  spec.process!.noNewPrivileges = false;
  spec.mounts!.push({ destination: '/data', type: 'bind', source: volume, options: ['rbind'] });
  const bundle = bundleFor(t, spec);
  fs.symlinkSync('/proc/sys/kernel', path.join(bundle, 'rootfs', 'data'));
  const r = runts(root, ['run', '--bundle', bundle, newId('data')]);
  t.not(capLine(r.stdout, 'CapBnd'), '000001fffffffffe', 'the container did not get every capability');
  t.equal(r.code, 1, 'refused');
  t.match(r.stderr, /\\?"\/data\\?" cannot be mounted because it is inside \/proc \(it resolves to \/proc\/sys\/kernel\)/);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.same(fs.readdirSync(root), [], 'nothing left behind');
});

t.test('class 2: /proc and /sys must be ordinary directories (runc mask.bats)', async (t) => {
  for (const dir of ['proc', 'sys']) {
    const bundle = bundleFor(t, baseSpec(['true']));
    fs.rmSync(path.join(bundle, 'rootfs', dir), { recursive: true, force: true });
    fs.symlinkSync('/symlink', path.join(bundle, 'rootfs', dir));
    const r = runts(root, ['run', '--bundle', bundle, newId(dir)]);
    t.equal(r.code, 1, `/${dir} as a symlink is refused`);
    t.match(r.stderr, new RegExp(`must be mounted on ordinary directory`));
  }
});

t.test('class 2: the files lxcfs emulates may still be bound over /proc', async (t) => {
  const fake = path.join(scratchDir('lxcfs'), 'uptime');
  t.teardown(() => fs.rmSync(path.dirname(fake), { recursive: true, force: true }));
  fs.writeFileSync(fake, '42.00 42.00\n');
  const spec = baseSpec(['cat', '/proc/uptime']);
  spec.mounts!.push({ destination: '/proc/uptime', type: 'bind', source: fake, options: ['bind', 'ro'] });
  const r = runts(root, ['run', '--bundle', bundleFor(t, spec), newId('lxcfs')]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '42.00 42.00\n');
});

t.test('class 2: a sysctl cannot be turned into a write on a volume through /proc/sys', async (t) => {
  const volume = scratchDir('sysctl-volume');
  t.teardown(() => fs.rmSync(volume, { recursive: true, force: true }));
  fs.writeFileSync(path.join(volume, 'host-file'), 'untouched\n');
  // No proc mount: the image's own /proc/sys/net/ipv4/ip_forward is a symlink to the volume.
  const spec = baseSpec(['true']);
  spec.mounts = spec.mounts!.filter((m) => m.destination !== '/proc');
  spec.mounts.push({ destination: '/data', type: 'bind', source: volume, options: ['rbind'] });
  spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  const bundle = bundleFor(t, spec);
  fs.mkdirSync(path.join(bundle, 'rootfs', 'proc', 'sys', 'net', 'ipv4'), { recursive: true });
  fs.symlinkSync('/data/host-file', path.join(bundle, 'rootfs', 'proc', 'sys', 'net', 'ipv4', 'ip_forward'));
  const r = runts(root, ['run', '--bundle', bundle, newId('sysctl')]);
  t.equal(fs.readFileSync(path.join(volume, 'host-file'), 'utf8'), 'untouched\n', 'the host file is unchanged');
  t.equal(r.code, 1);
  t.match(r.stderr, /\/proc.* (is not on procfs|must be a procfs directory)/);
});

t.test('class 3: the init is not dumpable: a process sharing its pid namespace cannot read its fds', async (t) => {
  const created = newId('dump');
  const bundle = bundleFor(t, baseSpec(['true']));
  t.teardown(() => runts(root, ['delete', '--force', created]));
  t.equal(runts(root, ['create', '--bundle', bundle, created]).code, 0);
  const initPid = JSON.parse(runts(root, ['state', created]).stdout).pid;
  // A second container in the same pid namespace, root but without CAP_SYS_PTRACE.
  const spy = baseSpec(['sh', '-c', 'for f in /proc/1/fd/*; do readlink $f || echo "$f refused"; done 2>&1; head -c 64 /proc/1/environ 2>&1; true']);
  spy.linux!.namespaces = spy.linux!.namespaces!.map((n) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${initPid}/ns/pid` } : n));
  const r = runts(root, ['run', '--bundle', bundleFor(t, spy), newId('spy')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /\/proc\/1\/fd\/0 refused/, 'its fds cannot be followed');
  t.notMatch(r.stdout, /exec\.fifo|^\/(?!proc)/m, 'no fd target is visible');
  t.match(r.stdout, /environ.*Permission denied/, 'environ refused');
});

t.test('class 4: a caller\'s leaked directory fd gives no cwd on the host (CVE-2024-21626)', async (t) => {
  const host = scratchDir('host-dir');
  t.teardown(() => fs.rmSync(host, { recursive: true, force: true }));
  fs.writeFileSync(path.join(host, 'HOST-MARKER'), '');
  const spec = baseSpec(['sh', '-c', 'ls; ls /proc/$$/fd']);
  spec.process!.cwd = '/proc/self/fd/42';
  const r = runtsWithFds({ 42: host }, ['run', '--bundle', bundleFor(t, spec), newId('cwd')]);
  t.notMatch(r.stdout, /HOST-MARKER/, 'the host directory is not the cwd');
  t.equal(r.code, 1, 'refused');
  t.match(r.stderr, /cwd \/proc\/self\/fd\/42/);
});

t.test('class 4: a caller\'s leaked fds are not in the container, for run and exec', async (t) => {
  const host = scratchDir('host-fds');
  t.teardown(() => fs.rmSync(host, { recursive: true, force: true }));
  const r = runtsWithFds({ 25: host, 42: host, 7: host }, ['run', '--bundle', bundleFor(t, baseSpec(['sh', '-c', 'ls /proc/$$/fd; true'])), newId('leak')]);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['0', '1', '2'], 'only stdio inside');

  const id = newId('leakx');
  const spec = baseSpec(['sleep', '60']);
  t.teardown(() => runts(root, ['delete', '--force', id]));
  t.equal(runts(root, ['run', '-d', '--bundle', bundleFor(t, spec), id]).code, 0);
  const e = runtsWithFds({ 25: host, 42: host }, ['exec', id, 'sh', '-c', 'ls /proc/$$/fd; true']);
  t.equal(e.code, 0, e.stderr);
  t.same(e.stdout.trim().split('\n'), ['0', '1', '2'], 'only stdio inside the exec\'d process');
  const x = runtsWithFds({ 42: host }, ['exec', '--cwd', '/proc/self/fd/42', id, 'ls']);
  t.equal(x.code, 255, 'exec --cwd through a leaked fd is refused (exec failures exit 255, as runc)');
  t.notOk(x.stdout.includes(path.basename(host)), 'no host listing');
});

t.test('class 4: a preserved fd of a host directory is not accepted as cwd (verifyCwd)', async (t) => {
  const host = scratchDir('host-cwd');
  t.teardown(() => fs.rmSync(host, { recursive: true, force: true }));
  fs.writeFileSync(path.join(host, 'HOST-MARKER'), '');
  const spec = baseSpec(['ls']);
  spec.process!.cwd = '/proc/self/fd/3';
  const r = runtsWithFds({ 3: host }, ['run', '--preserve-fds', '1', '--bundle', bundleFor(t, spec), newId('vcwd')]);
  t.notMatch(r.stdout, /HOST-MARKER/);
  t.equal(r.code, 1);
  t.match(r.stderr, /cwd \/proc\/self\/fd\/3 is outside the container's root/);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('class 4: --preserve-fds never fills a gap with a runtime fd', async (t) => {
  const host = scratchDir('host-pfd');
  t.teardown(() => fs.rmSync(host, { recursive: true, force: true }));
  const spec = baseSpec(['sh', '-c', 'ls -l /proc/$$/fd']);
  const r = runtsWithFds({ 3: host }, ['run', '--preserve-fds', '4', '--bundle', bundleFor(t, spec), newId('gap')]);
  t.notMatch(r.stdout, /anon_inode|pipe:/, 'no epoll, eventfd or libuv pipe inside');
  t.equal(r.code, 1);
  t.match(r.stderr, /--preserve-fds 4: fd 4 is not open in the caller/);
  t.same(fs.readdirSync(root).filter((d) => d.startsWith('gap')), [], 'nothing left behind');
});

t.test('class 5: pre-existing cgroups: frozen is refused, non-empty gets runc\'s warning', async (t) => {
  const cgroupsPath = `/runts-hostile-${process.pid}`;
  const cg = openCgroup({ id: 'x', cgroupsPath, systemd: false });
  t.teardown(() => killAndDestroy(cg));
  cg.create();
  cg.freeze();
  const spec = baseSpec(['true']);
  spec.linux!.cgroupsPath = cgroupsPath;
  for (const cmd of ['run', 'create']) {
    const id = newId('frozen');
    t.teardown(() => runts(root, ['delete', '--force', id]));
    const r = runts(root, [cmd, '--bundle', bundleFor(t, spec), id], { timeoutMs: 15_000 });
    t.equal(r.code, 1, `${cmd} refuses, and does not hang`);
    t.match(r.stderr, /container's cgroup unexpectedly frozen/);
  }
  t.ok(cg.isFrozen(), 'the cgroup is left as it was');
  cg.thaw();

  const first = newId('first');
  const busy = baseSpec(['sleep', '60']);
  busy.linux!.cgroupsPath = cgroupsPath;
  t.teardown(() => runts(root, ['delete', '--force', first]));
  t.equal(runts(root, ['run', '-d', '--bundle', bundleFor(t, busy), first]).code, 0);
  const second = newId('second');
  t.teardown(() => runts(root, ['delete', '--force', second]));
  const r = runts(root, ['create', '--bundle', bundleFor(t, spec), second]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /container's cgroup is not empty: 1 process\(es\) found/);
});

/** Pid of the first child of `parent` whose command line starts with `command` ("" = any), once there is one (10 s at most). */
async function childOf(parent: number, command = ''): Promise<number> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === parent && fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').startsWith(command)) return Number(entry);
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no child${command ? ` ${command}` : ''} of ${parent} within 10 s`);
}

/** A process at exactly `pid` (via ns_last_pid), in a UTS namespace of its own named "recycled". */
async function processAtPid(pid: number): Promise<ReturnType<typeof spawn>> {
  for (let attempt = 0; attempt < 50; attempt++) {
    fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    const child = spawn('unshare', ['--uts', 'sh', '-c', 'hostname recycled && echo ready && exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
    if (child.pid === pid) {
      await new Promise((r) => child.stdout!.once('data', r));
      return child;
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  throw new Error(`could not get pid ${pid} back`);
}

t.test('class 8: exec never joins a process that took over the init\'s recycled pid', { skip: spawnSync('strace', ['-V']).status !== 0 ? 'needs strace' : false }, async (t) => {
  const id = newId('pid');
  t.teardown(() => runts(root, ['delete', '--force', id]));
  t.equal(runts(root, ['run', '-d', '--bundle', bundleFor(t, baseSpec(['sleep', '60'])), id]).code, 0);
  const initPid: number = JSON.parse(runts(root, ['state', id]).stdout).pid;
  // strace stops the exec's runts-init right after its execve: exec has already checked that the
  // container is running, and the init has not joined anything yet.
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const exec = spawn('strace', ['-f', '-qq', '-o', '/dev/null', '-P', '/proc/self/fd/4', '-e', 'trace=execve', '-e', 'inject=execve:signal=SIGSTOP',
    process.execPath, CLI, '--root', root, 'exec', id, 'hostname'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  exec.stdout!.on('data', (d) => (out += d));
  exec.stderr!.on('data', (d) => (err += d));
  const done = new Promise<number>((r) => exec.once('exit', (code) => r(code ?? 128)));
  // strace forks a short-lived probe of its own before the tracee: the child that runs node.
  const runtsPid = await childOf(exec.pid!, process.execPath);
  const stopped = await childOf(runtsPid, 'runts-init');
  // The container's init dies, and another process gets its pid.
  process.kill(initPid, 'SIGKILL');
  while (fs.existsSync(`/proc/${initPid}`)) await new Promise((r) => setTimeout(r, 10));
  const impostor = await processAtPid(initPid);
  t.teardown(() => impostor.kill('SIGKILL'));
  // A SIGCONT that lands while strace is still turning its injected SIGSTOP into a group stop is
  // lost (the stop comes after it): send it until the exec has finished, a bounded number of times.
  const settled = new Promise<void>((r) => exec.once('exit', () => r()));
  for (let tries = 0; tries < 100; tries++) {
    try {
      process.kill(stopped, 'SIGCONT');
    } catch {
      break; // gone
    }
    if (await Promise.race([settled.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100))])) break;
  }
  const code = await done;
  t.notMatch(out, /recycled/, 'the exec\'d process is not in the impostor\'s namespaces');
  t.equal(code, 255, 'exec fails (255, as runc)');
  t.match(err, /container's init exited/);
});
