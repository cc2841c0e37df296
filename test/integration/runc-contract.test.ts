/**
 * Behaviours runc's own integration suite (v1.1.5, ../shared/runc-bats) relies on, kept here so
 * they stay fixed without the suite: exec's exit status and its --cgroup, exec into a created
 * container, kill --all after the init exited, where in-container hooks run, read-only /dev,
 * device rules runc accepts, sub-cgroups at delete --force, rootfsPropagation, a config
 * without a mount namespace, and struct keys in any case (Go's encoding/json).
 */
import fs = require('fs');
import path = require('path');
import t, { type Test } from 'tap';
import { probeHierarchy } from '../../src/cgroups/path';
import type { Spec } from '../../src/config/types';
import { baseSpec, cleanupRoot, makeBundle, runInContainer, runts, scratchDir } from '../helpers/runts';

const root = scratchDir('contract');
t.teardown(() => cleanupRoot(root));
const v1 = probeHierarchy().mode !== 'v2';
const BASE = `runts-contract-${process.pid}`;

/** rmdir that ignores what is not there (cgroup directories cannot be rm -r'ed). */
function rmdirQuietly(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // gone, or reported by the test
  }
}

function sleepMs(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitForStatus(id: string, status: string): string {
  let now = '';
  for (let i = 0; i < 250 && now !== status; i++) {
    now = JSON.parse(runts(root, ['state', id]).stdout || '{}').status;
    if (now !== status) sleepMs(20);
  }
  return now;
}

let counter = 0;
/** `run -d` of `spec` under a fresh id; the container is force-deleted when the test ends. */
function detached(t: Test, spec: Spec): string {
  const bundle = makeBundle(spec);
  const id = `contract${process.pid}-${counter++}`;
  t.teardown(() => {
    runts(root, ['delete', '--force', id]);
    fs.rmSync(bundle, { recursive: true, force: true });
  });
  const r = runts(root, ['run', '-d', '--bundle', bundle, id]);
  t.equal(r.code, 0, `run -d: ${r.stderr}`);
  return id;
}

t.test('exec: 255 when exec itself fails, the process status otherwise', async (t) => {
  const id = detached(t, baseSpec(['sleep', '300']));
  t.equal(runts(root, ['exec', id, 'false']).code, 1, "the process's own 1");
  t.equal(runts(root, ['exec', id, 'sh', '-c', 'exit 42']).code, 42);
  const cases: [string, string[], RegExp][] = [
    ['pid file in a missing directory', ['exec', '--pid-file', '/non-existent/directory', id, 'sleep', '123'], /exec failed: write pid file \/non-existent\/directory: no such file or directory/],
    ['no such binary', ['exec', id, 'no-such-binary'], /exec failed: .*executable file not found in \$PATH/],
    ['no such container', ['exec', 'no_such_container', 'true'], /exec failed: container does not exist/],
  ];
  for (const [name, args, message] of cases) {
    const r = runts(root, args);
    t.equal(r.code, 255, name);
    t.match(r.stderr, message, name);
    t.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
  }
  const left = runts(root, ['exec', id, 'ps', '-o', 'stat,args']).stdout.split('\n').filter((l) => /sleep 123$/.test(l) && !/^Z/.test(l.trim()));
  t.same(left, [], 'the process a failed pid file belonged to is gone');
});

t.test('exec into a paused container: 255 unless --ignore-paused', async (t) => {
  const id = detached(t, baseSpec(['sleep', '300']));
  t.equal(runts(root, ['pause', id]).code, 0);
  const r = runts(root, ['exec', id, 'echo', 'ok']);
  t.equal(r.code, 255);
  t.match(r.stderr, /cannot exec in a paused container/);
  t.equal(runts(root, ['resume', id]).code, 0);
});

t.test('exec into a created container runs in its namespaces and leaves it created', async (t) => {
  const bundle = makeBundle(baseSpec(['sleep', '300']));
  const id = `contract-created${process.pid}`;
  t.teardown(() => {
    runts(root, ['delete', '--force', id]);
    fs.rmSync(bundle, { recursive: true, force: true });
  });
  t.equal(runts(root, ['create', '--bundle', bundle, id]).code, 0);
  const pid = JSON.parse(runts(root, ['state', id]).stdout).pid as number;
  const r = runts(root, ['exec', id, 'sh', '-c', 'readlink /proc/self/ns/mnt; readlink /proc/self/ns/pid; hostname']);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), [fs.readlinkSync(`/proc/${pid}/ns/mnt`), fs.readlinkSync(`/proc/${pid}/ns/pid`), 'runts'], "the created init's namespaces");
  t.equal(JSON.parse(runts(root, ['state', id]).stdout).status, 'created', 'still created');
  t.equal(runts(root, ['start', id]).code, 0);
  t.equal(JSON.parse(runts(root, ['state', id]).stdout).status, 'running');
});

t.test('kill --all succeeds once the init has exited; a plain kill does not', async (t) => {
  const id = detached(t, baseSpec(['sleep', '300']));
  t.equal(runts(root, ['kill', id, 'KILL']).code, 0);
  t.equal(waitForStatus(id, 'stopped'), 'stopped');
  t.equal(runts(root, ['kill', '-a', id, '0']).code, 0, 'kill -a ID 0');
  const plain = runts(root, ['kill', id, '0']);
  t.equal(plain.code, 1);
  t.match(plain.stderr, /container not running/);
  t.equal(runts(root, ['delete', id]).code, 0);
});

t.test('createContainer hooks run from the rootfs with the process env; startContainer under the filter', async (t) => {
  const out = scratchDir('contract-hooks');
  t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));
  const spec = baseSpec(['true']);
  spec.process!.env!.push('MARK=from-process');
  spec.hooks = {
    // Host binaries (the container's root is not entered yet), a relative path from the cwd.
    createContainer: [
      { path: '/bin/sh', args: ['sh', '-c', `pwd > ${out}/cwd; echo "$MARK" > ${out}/env; test -x ./bin/busybox && echo found > ${out}/relative`] },
      { path: '/bin/sh', args: ['sh', '-c', `echo "[$MARK]" > ${out}/own-env`], env: ['OTHER=1'] },
    ],
  };
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const r = runts(root, ['run', '--bundle', bundle, `contract-hooks${process.pid}`]);
  t.equal(r.code, 0, r.stderr);
  t.equal(fs.readFileSync(`${out}/cwd`, 'utf8').trim(), fs.realpathSync(path.join(bundle, 'rootfs')), 'cwd: the rootfs');
  t.equal(fs.readFileSync(`${out}/relative`, 'utf8').trim(), 'found', "./bin is the rootfs' own");
  t.equal(fs.readFileSync(`${out}/env`, 'utf8').trim(), 'from-process', "no env of its own: the process's");
  t.equal(fs.readFileSync(`${out}/own-env`, 'utf8').trim(), '[]', 'an env of its own: only that');

  const filtered = baseSpec(['true']);
  filtered.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_KILL' }] };
  filtered.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'mkdir /dev/shm/foo'] }] };
  const killed = runInContainer(root, filtered);
  t.not(killed.code, 0);
  t.match(killed.stdout + killed.stderr, /error running hook #0 \(startContainer\): killed by signal: bad system call/, "runc's words");
});

t.test('a read-only /dev is mounted read-only after its devices are made', async (t) => {
  const spec = baseSpec(['sh', '-c', 'grep "^tmpfs /dev " /proc/mounts; test -c /dev/null && echo null; test -L /dev/fd && echo links; test -d /dev/pts && echo pts']);
  spec.mounts = spec.mounts!.map((m) => (m.destination === '/dev' ? { ...m, options: [...(m.options ?? []), 'ro'] } : m));
  const r = runInContainer(root, spec);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.match(lines[0], /^tmpfs \/dev tmpfs ro,/, '/dev is read-only');
  t.same(lines.slice(1), ['null', 'links', 'pts'], 'with its devices, links and /dev/pts');
});

t.test('device rules: letters other than r, w, m are ignored as runc does; update keeps them', async (t) => {
  const spec = baseSpec(['sh', '-c', 'while true; do head -c 1 /dev/kmsg 2>/dev/null && echo READ; echo x > /dev/null || echo NULL-DENIED; sleep 0.1; done']);
  spec.linux!.resources = { devices: [{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 11, access: 'rwa' }] };
  spec.linux!.devices = [{ path: '/dev/kmsg', type: 'c', major: 1, minor: 11 }];
  const id = detached(t, spec);
  for (let i = 0; i < 5; i++) t.equal(runts(root, ['update', '--pids-limit', '30', id]).code, 0, `update ${i}`);
  const r = runts(root, ['exec', id, 'sh', '-c', 'head -c 1 /dev/kmsg 2>&1; echo x > /dev/null && echo null-ok']);
  t.match(r.stdout, /Operation not permitted/, '/dev/kmsg stays denied');
  t.match(r.stdout, /null-ok/, '/dev/null stays allowed');
  const bad = baseSpec(['true']);
  bad.linux!.resources = { devices: [{ allow: true, type: 'c', major: 1, minor: 3, access: 'x' }] };
  const refused = runInContainer(root, bad);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /\/linux\/resources\/devices\/0\/access: must match pattern/, 'refused by validation');
});

t.test('delete --force removes the sub-cgroups made inside the container cgroup', { skip: !v1 && 'v1 host only' }, async (t) => {
  const spec = baseSpec(['sleep', '300']);
  spec.linux!.cgroupsPath = `/${BASE}/subs`;
  const id = detached(t, spec);
  const dirs = ['memory', 'freezer'].map((c) => `/sys/fs/cgroup/${c}/${BASE}/subs`);
  t.teardown(() => {
    for (const d of dirs) for (const sub of [`${d}/foo/bar`, `${d}/foo`, d, path.dirname(d)]) rmdirQuietly(sub);
  });
  const exec = runts(root, ['exec', '-d', id, 'sleep', '300']);
  t.equal(exec.code, 0, exec.stderr);
  const sleeper = runts(root, ['exec', id, 'sh', '-c', "ps -o pid,args | awk '$2 == \"sleep\" && $1 != 1 { print $1 }'"]).stdout.trim();
  const hostPid = fs.readFileSync(`${dirs[0]}/cgroup.procs`, 'utf8').trim().split('\n').find((p) => fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep') && fs.readFileSync(`/proc/${p}/status`, 'utf8').includes(`NSpid:\t${p}\t${sleeper}`));
  t.ok(hostPid, 'the exec\'d sleep, seen from the host');
  for (const d of dirs) {
    fs.mkdirSync(`${d}/foo/bar`, { recursive: true });
    fs.writeFileSync(`${d}/foo/bar/cgroup.procs`, hostPid!);
  }
  const r = runts(root, ['delete', '--force', id]);
  t.equal(r.code, 0, r.stderr);
  t.not(runts(root, ['state', id]).code, 0, 'the container is gone');
  for (const d of dirs) t.notOk(fs.existsSync(d), `${d} and its sub-cgroups removed`);
});

t.test('exec --cgroup joins a sub-cgroup of the container, never above it', { skip: !v1 && 'v1 host only' }, async (t) => {
  const spec = baseSpec(['sleep', '300']);
  spec.linux!.cgroupsPath = `/${BASE}/exec`;
  const id = detached(t, spec);
  const memory = `/sys/fs/cgroup/memory/${BASE}/exec`;
  t.teardown(() => {
    rmdirQuietly(`${memory}/submem`);
    rmdirQuietly(path.dirname(memory));
  });
  const fails: [string[], RegExp][] = [
    [['--cgroup', '..'], / \.\. is not a sub cgroup path/],
    [['--cgroup', 'nonexistent'], / adding pid .*\/nonexistent\/cgroup\.procs: no such file /],
    [['--cgroup', 'whaaat:/'], /unknown controller whaaat/],
  ];
  for (const [flags, message] of fails) {
    const r = runts(root, ['exec', ...flags, id, 'true']);
    t.equal(r.code, 255, flags.join(' '));
    t.match(r.stderr, message, flags.join(' '));
  }
  fs.mkdirSync(`${memory}/submem`);
  const r = runts(root, ['exec', '--cgroup', 'memory:submem', id, 'cat', '/proc/self/cgroup']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`:memory:/${BASE}/exec/submem$`, 'm'), 'memory: the sub-cgroup');
  t.match(r.stdout, new RegExp(`:pids:/${BASE}/exec$`, 'm'), "the other controllers: the container's");
});

t.test('every rootfsPropagation value starts, with that propagation on the root', async (t) => {
  // A slave of a private host "/" has no master to show: then it reads as private.
  const notShared = /^(?!.*shared:)(?!.*unbindable)/;
  const expected: Record<string, RegExp> = {
    private: /^(?!.*(shared|master):)/, rprivate: /^(?!.*(shared|master):)/,
    slave: notShared, rslave: notShared, shared: /shared:/, rshared: /shared:/,
    unbindable: /unbindable/, runbindable: /unbindable/,
  };
  for (const [value, pattern] of Object.entries(expected)) {
    const spec = baseSpec(['sh', '-c', "awk '$5 == \"/\" { $1 = $2 = $3 = $4 = \"\"; print }' /proc/self/mountinfo"]);
    spec.linux!.rootfsPropagation = value as NonNullable<Spec['linux']>['rootfsPropagation'];
    const r = runInContainer(root, spec);
    t.equal(r.code, 0, `${value}: ${r.stderr}`);
    t.match(r.stdout.split(' - ')[0], pattern, value);
  }
});

t.test("without a mount namespace the process runs chrooted in the runtime's mount namespace", async (t) => {
  const spec = baseSpec(['sh', '-c', 'ls /']);
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'mount');
  spec.mounts = [];
  spec.linux!.maskedPaths = [];
  spec.linux!.readonlyPaths = [];
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  fs.writeFileSync(path.join(bundle, 'rootfs', 'marker-in-rootfs'), '');
  const id = `contract-nomnt${process.pid}`;
  t.equal(runts(root, ['create', '--bundle', bundle, id]).code, 0);
  const pid = JSON.parse(runts(root, ['state', id]).stdout).pid as number;
  t.equal(fs.readlinkSync(`/proc/${pid}/ns/mnt`), fs.readlinkSync('/proc/self/ns/mnt'), "the runtime's mount namespace");
  t.equal(fs.readlinkSync(`/proc/${pid}/root`), fs.realpathSync(path.join(bundle, 'rootfs')), 'chrooted into the rootfs');
  t.notMatch(fs.readFileSync('/proc/self/mountinfo', 'utf8'), bundle, 'nothing mounted on the host for it');
  t.equal(runts(root, ['start', id]).code, 0);
  t.equal(waitForStatus(id, 'stopped'), 'stopped');
  t.equal(runts(root, ['delete', id]).code, 0);

  const withMounts = baseSpec(['true']);
  withMounts.linux!.namespaces = withMounts.linux!.namespaces!.filter((n) => n.type !== 'mount');
  withMounts.linux!.maskedPaths = [];
  withMounts.linux!.readonlyPaths = [];
  const refused = runInContainer(root, withMounts);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /mounts need a mount namespace of the container's own/);
  const masked = baseSpec(['true']);
  masked.linux!.namespaces = masked.linux!.namespaces!.filter((n) => n.type !== 'mount');
  const maskedRefused = runInContainer(root, masked);
  t.equal(maskedRefused.code, 1);
  t.match(maskedRefused.stderr, /unable to restrict sys entries without a private MNT namespace/);
});

t.test('struct keys in any case, as Go decodes them: config, exec --process, update -r (update.bats "resources.CPU")', async (t) => {
  const { process: proc, linux, ...rest } = baseSpec(['sleep', '300']);
  const { args, cwd: _cwd, ...procRest } = proc!;
  const config = {
    ...rest,
    Process: { ...procRest, Args: ['false'], CWD: '/tmp' },
    // A later key for the same field is decoded into what the earlier one left: args replaced, CWD kept.
    process: { args },
    // linux.resources (the device rule), then Resources: merged, as Go does.
    Linux: { ...linux, Resources: { Pids: { Limit: 64 } } },
  };
  const id = detached(t, config as unknown as Spec);
  const pid = JSON.parse(runts(root, ['state', id]).stdout).pid as number;
  t.equal(path.basename(fs.readlinkSync(`/proc/${pid}/cwd`)), 'tmp', 'Process.CWD applied');
  t.equal(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'), 'sleep\0' + '300\0', 'the later process.args won');
  const cgroups = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  const file = (controller: string, v1File: string, v2File: string) =>
    v1
      ? fs.readFileSync(`/sys/fs/cgroup/${controller}${cgroups.match(new RegExp(`:${controller}:(.*)$`, 'm'))![1]}/${v1File}`, 'utf8').trim()
      : fs.readFileSync(`/sys/fs/cgroup${cgroups.match(/^0::(.*)$/m)![1]}/${v2File}`, 'utf8').trim();
  t.equal(file('pids', 'pids.max', 'pids.max'), '64', 'Linux.Resources.Pids.Limit applied');

  const dir = scratchDir('keys');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const procFile = path.join(dir, 'process.json');
  fs.writeFileSync(procFile, JSON.stringify({ Args: ['sh', '-c', 'echo "$X $(pwd) $(id -u)"'], Cwd: '/dev', Env: ['PATH=/bin:/usr/bin', 'X=folded'], User: { UID: 1000, GID: 1000 } }));
  const exec = runts(root, ['exec', '--process', procFile, id]);
  t.equal(exec.code, 0, exec.stderr);
  t.equal(exec.stdout, 'folded /dev 1000\n', 'exec --process read Args, Cwd, Env and User');

  const update = runts(root, ['update', '-r', '-', id], { input: '{"Memory": {"Limit": 33554432}, "pids": {"LIMIT": 20}, "CPU": {"Shares": 512}}' });
  t.equal(update.code, 0, update.stderr);
  t.equal(update.stderr, '', 'nothing ignored: every key was recognised');
  t.equal(file('memory', 'memory.limit_in_bytes', 'memory.max'), '33554432');
  t.equal(file('pids', 'pids.max', 'pids.max'), '20');
  if (v1) t.equal(file('cpu', 'cpu.shares', ''), '512');
});
