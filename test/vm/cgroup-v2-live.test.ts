/**
 * cgroup v2, live: runts on a real pure-v2 host with systemd as PID 1 (the VM of test/vm/run.sh;
 * `.ci/run` runs this file there). Every check reads the cgroup files from INSIDE the container
 * (its cgroup namespace shows its own cgroup as /sys/fs/cgroup), and the resource fields are
 * compared with what Debian's runc writes for the same config in the same VM. Runtime calls are
 * few on purpose: under TCG one container run costs seconds.
 */
import { spawn, spawnSync } from 'child_process';
import fs = require('fs');
import path = require('path');
import t from 'tap';
import type { LinuxResources, Spec } from '../../src/config/types';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir, type Result } from '../helpers/runts';

const RUNC = '/usr/sbin/runc';
const CLI = path.join(__dirname, '..', '..', 'bundle', 'runts.js');
const CGROUP2_SUPER_MAGIC = 0x63677270;
const onPureV2 = fs.statfsSync('/sys/fs/cgroup').type === CGROUP2_SUPER_MAGIC;
const MiB = 1024 * 1024;

/** The files every check prints, one `name=content` line each (newlines shown as ';'). */
const FILES = [
  'memory.max', 'memory.swap.max', 'memory.low', 'memory.high', 'memory.oom.group',
  'cpu.weight', 'cpu.max', 'cpuset.cpus', 'cpuset.mems', 'io.weight', 'io.max', 'pids.max', 'hugetlb.2MB.max',
];
const printFiles = (files: string[]) =>
  `for f in ${files.join(' ')}; do echo "$f=$(tr '\\n' ';' < /sys/fs/cgroup/$f)"; done`;

function parseFiles(out: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0 && /^[a-z0-9.]+$/i.test(line.slice(0, eq))) values[line.slice(0, eq)] = line.slice(eq + 1).replace(/;$/, '');
  }
  return values;
}

/** The virtio disk's major:minor, for the io throttles and the device rule. */
const [diskMajor, diskMinor] = fs.readFileSync('/sys/block/vda/dev', 'utf8').trim().split(':').map(Number);

function v2Spec(args: string[], resources: LinuxResources, cgroupMountRw = false): Spec {
  const spec = baseSpec(args);
  spec.linux!.namespaces!.push({ type: 'cgroup' });
  spec.linux!.resources = { ...spec.linux!.resources, ...resources };
  if (cgroupMountRw) {
    const m = spec.mounts!.find((x) => x.destination === '/sys/fs/cgroup')!;
    m.options = m.options!.filter((o) => o !== 'ro');
  }
  // The disk itself, for the eBPF device program to allow or deny.
  spec.mounts!.push({ destination: '/dev/vda', type: 'bind', source: '/dev/vda', options: ['bind'] });
  spec.root!.readonly = false;
  return spec;
}

function runc(args: string[], cwd: string): Result {
  const r = spawnSync(RUNC, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

t.test('the VM is a pure cgroup v2 host with systemd as PID 1', async (t) => {
  t.ok(onPureV2, '/sys/fs/cgroup is cgroup2');
  t.equal(fs.readFileSync('/proc/1/comm', 'utf8').trim(), 'systemd');
});

const root = scratchDir('v2live');
t.teardown(() => cleanupRoot(root));

t.test('`runts spec` writes what `runc spec` writes on cgroup v2: the same bytes, with a cgroup namespace', async (t) => {
  const [ours, theirs] = [scratchDir('spec-runts'), scratchDir('spec-runc')];
  t.teardown(() => [ours, theirs].forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  t.equal(runts(root, ['spec'], { cwd: ours }).code, 0, 'runts spec exits 0');
  t.equal(runc(['spec'], theirs).code, 0, 'runc spec exits 0');
  const versionFree = (dir: string) => fs.readFileSync(path.join(dir, 'config.json'), 'utf8').replace(/"ociVersion": "[^"]*"/, '"ociVersion": ""');
  t.equal(versionFree(ours), versionFree(theirs), 'the same config.json apart from ociVersion');
  const spec = JSON.parse(versionFree(ours)) as Spec;
  t.ok(spec.linux?.namespaces?.some((n) => n.type === 'cgroup'), 'with a cgroup namespace, as on every v2 host');
});

t.test('every resource field lands in the cgroup2 files as runc writes it (v1 values converted as runc does)', async (t) => {
  const resources: LinuxResources = {
    memory: { limit: 64 * MiB, swap: 96 * MiB, reservation: 16 * MiB },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 77 },
    blockIO: {
      weight: 500,
      throttleReadBpsDevice: [{ major: diskMajor, minor: diskMinor, rate: MiB }],
      throttleWriteIOPSDevice: [{ major: diskMajor, minor: diskMinor, rate: 100 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }],
    unified: { 'memory.oom.group': '1', 'memory.high': String(48 * MiB) },
  };
  const script = `${printFiles(FILES)}; echo cgroup=$(cat /proc/self/cgroup); ` +
    `echo mount=$(grep ' /sys/fs/cgroup ' /proc/self/mountinfo | awk '{print $4, $5, $(NF-2)}'); ` +
    `echo disk=$(head -c 512 /dev/vda 2>/dev/null | wc -c)`;
  const spec = v2Spec(['sh', '-c', script], resources);
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));

  const ours = runts(root, ['run', '--bundle', bundle, 'fields'], { timeoutMs: 60_000 });
  t.equal(ours.code, 0, 'runts run exits 0', { stderr: ours.stderr });
  const theirs = runc(['--root', path.join(root, '.runc'), 'run', '--bundle', bundle, 'fields-runc'], bundle);
  t.equal(theirs.code, 0, 'runc run exits 0', { stderr: theirs.stderr });
  const got = parseFiles(ours.stdout);
  const want = parseFiles(theirs.stdout);

  t.same(got, want, 'runts and runc leave the same values in every file, and the same view');
  t.match(got, {
    'memory.max': String(64 * MiB),
    'memory.swap.max': String(32 * MiB), // OCI swap is memory+swap; v2 is swap alone
    'memory.low': String(16 * MiB),
    'memory.high': String(48 * MiB),
    'memory.oom.group': '1',
    'cpu.weight': '20', // shares 512
    'cpu.max': '50000 100000',
    'cpuset.cpus': '0',
    'cpuset.mems': '0',
    'io.weight': 'default 4950', // blkio weight 500: 1 + (500-10)*9999/990
    'io.max': `${diskMajor}:${diskMinor} rbps=${MiB} wbps=max riops=max wiops=100`,
    'pids.max': '77',
    'hugetlb.2MB.max': String(4 * MiB),
  });
  t.equal(got.cgroup, '0::/', 'a cgroup namespace rooted at the container\'s cgroup');
  t.match(got.mount, /^\/ \/sys\/fs\/cgroup cgroup2$/, 'its /sys/fs/cgroup is cgroup2 showing its own cgroup');
  t.equal(got.disk, '0', 'the eBPF device program denies the disk (not in the allowed devices)');
});

t.test('cpu burst and idle, written where runc 1.1 has no field', async (t) => {
  const spec = v2Spec(['sh', '-c', printFiles(['cpu.max', 'cpu.max.burst', 'cpu.idle'])], { cpu: { quota: 20000, period: 100000, burst: 10000, idle: 1 } });
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const r = runts(root, ['run', '--bundle', bundle, 'burst'], { timeoutMs: 60_000 });
  t.equal(r.code, 0, 'runts run exits 0', { stderr: r.stderr });
  t.match(parseFiles(r.stdout), { 'cpu.max': '20000 100000', 'cpu.max.burst': '10000', 'cpu.idle': '1' });
});

t.test('a running container: device rule, nested delegation, update of each field, pause, stats, delete', async (t) => {
  const spec = v2Spec(['sleep', '600'], {
    memory: { limit: 64 * MiB },
    pids: { limit: 77 },
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: diskMajor, minor: diskMinor, access: 'r' }],
  }, true);
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const id = 'live';
  const started = runts(root, ['run', '-d', '--bundle', bundle, id], { timeoutMs: 60_000 });
  t.equal(started.code, 0, 'run -d exits 0', { stderr: started.stderr });
  const state = JSON.parse(runts(root, ['state', id]).stdout || '{}');
  const hostDir = `/sys/fs/cgroup${fs.readFileSync(`/proc/${state.pid}/cgroup`, 'utf8').trim().replace(/^0::/, '')}`;
  t.match(hostDir, /^\/sys\/fs\/cgroup\/system\.slice\/live$/, 'beside the runtime\'s own cgroup, as runc\'s fs2 places it');

  // An exec'd process is born in the container's cgroup (clone3 CLONE_INTO_CGROUP): nobody
  // writes a pid into a cgroup.procs file, a write that waits out an RCU grace period.
  const trace = path.join(bundle, 'exec.trace');
  const traced = spawnSync('strace', ['-f', '-qq', '-y', '-e', 'trace=openat,write,clone3', '-o', trace,
    process.execPath, CLI, '--root', root, 'exec', id, 'cat', '/proc/self/cgroup'], { encoding: 'utf8', timeout: 120_000 });
  t.equal(traced.status, 0, 'exec under strace exits 0', { stderr: traced.stderr });
  t.equal(traced.stdout.trim(), '0::/', 'the exec\'d process is in the container\'s cgroup');
  const calls = fs.readFileSync(trace, 'utf8');
  t.match(calls, new RegExp(`openat\\([^,]*, "${hostDir}", O_RDONLY\\|O_CLOEXEC\\|O_DIRECTORY`), 'the init opened the container\'s cgroup');
  t.match(calls, /clone3\(\{flags=CLONE_PARENT\|CLONE_INTO_CGROUP, /, 'and cloned the process into it');
  t.notMatch(calls, /write\(\d+<[^>]*\/cgroup\.procs>/, 'no pid written into any cgroup.procs');

  // Nested delegation inside the container: move every process into a leaf, then the
  // container's own cgroup can hand controllers to a sub-cgroup it makes.
  const nest = runts(root, ['exec', id, 'sh', '-c',
    'echo disk=$(head -c 512 /dev/vda 2>/dev/null | wc -c); ' +
    'mkdir /sys/fs/cgroup/leaf && for p in $(cat /sys/fs/cgroup/cgroup.procs); do echo $p > /sys/fs/cgroup/leaf/cgroup.procs 2>/dev/null; done; ' +
    'echo +pids +memory > /sys/fs/cgroup/cgroup.subtree_control && mkdir /sys/fs/cgroup/sub && echo 5 > /sys/fs/cgroup/sub/pids.max && ' +
    'echo sub=$(cat /sys/fs/cgroup/sub/pids.max) control=$(cat /sys/fs/cgroup/sub/cgroup.controllers)'], { timeoutMs: 60_000 });
  t.equal(nest.code, 0, 'exec exits 0', { stderr: nest.stderr });
  t.match(nest.stdout, /^disk=512$/m, 'the device rule allows reading the disk');
  t.match(nest.stdout, /^sub=5 control=memory pids$/m, 'the container delegates pids and memory to its own sub-cgroup');
  t.equal(fs.readFileSync(path.join(hostDir, 'sub', 'pids.max'), 'utf8').trim(), '5', 'seen on the host below the container\'s cgroup');

  const resourcesFile = path.join(bundle, 'resources.json');
  fs.writeFileSync(resourcesFile, JSON.stringify({ unified: { 'memory.oom.group': '1' } }));
  const updated = runts(root, ['update', '--memory', String(100 * MiB), '--memory-swap', String(200 * MiB), '--memory-reservation', String(10 * MiB),
    '--cpu-share', '1024', '--cpu-quota', '20000', '--cpu-period', '50000', '--cpuset-cpus', '0', '--cpuset-mems', '0',
    '--pids-limit', '50', '--blkio-weight', '200', id]);
  t.equal(updated.code, 0, 'update with flags exits 0', { stderr: updated.stderr });
  const unified = runts(root, ['update', '-r', resourcesFile, id]);
  t.equal(unified.code, 0, 'update -r (unified) exits 0', { stderr: unified.stderr });
  // The container's own cgroup now delegates: exec joins the init's leaf instead, as runc does.
  const after = runts(root, ['exec', id, 'sh', '-c', `${printFiles(FILES)}; echo in=$(cat /proc/self/cgroup)`], { timeoutMs: 60_000 });
  t.equal(after.code, 0, 'exec exits 0', { stderr: after.stderr });
  t.match(after.stdout, /^in=0::\/leaf$/m, 'the exec\'d process is in the init\'s leaf');
  t.match(parseFiles(after.stdout), {
    'memory.max': String(100 * MiB),
    'memory.swap.max': String(100 * MiB),
    'memory.low': String(10 * MiB),
    'memory.oom.group': '1',
    'cpu.weight': '39', // shares 1024, as runc converts it
    'cpu.max': '20000 50000',
    'cpuset.cpus': '0',
    'pids.max': '50',
    'io.weight': 'default 1920', // blkio weight 200
  });

  t.equal(runts(root, ['pause', id]).code, 0, 'pause exits 0');
  t.equal(fs.readFileSync(path.join(hostDir, 'cgroup.freeze'), 'utf8').trim(), '1', 'cgroup.freeze is 1');
  t.match(fs.readFileSync(path.join(hostDir, 'cgroup.events'), 'utf8'), /^frozen 1$/m, 'the kernel reports the cgroup frozen');
  t.equal(JSON.parse(runts(root, ['state', id]).stdout).status, 'paused');
  t.equal(runts(root, ['resume', id]).code, 0, 'resume exits 0');
  t.match(fs.readFileSync(path.join(hostDir, 'cgroup.events'), 'utf8'), /^frozen 0$/m, 'thawed');

  const stats = runts(root, ['events', '--stats', id]);
  t.equal(stats.code, 0, 'events --stats exits 0', { stderr: stats.stderr });
  const data = JSON.parse(stats.stdout).data;
  t.equal(data.memory.usage.limit, 100 * MiB, 'memory limit from memory.max');
  t.ok(data.memory.usage.usage > 0, 'memory usage from memory.current');
  t.equal(data.pids.limit, 50, 'pids limit from pids.max');
  t.ok(data.pids.current >= 1, 'pids current from pids.current');
  t.ok(data.cpu.usage.total > 0, 'cpu usage from cpu.stat');

  // A threaded sub-cgroup (as runc's delete.bats makes one): its cgroup.procs cannot be read
  // (EOPNOTSUPP), and delete --force must still find and kill the process whose thread is there.
  const threaded = runts(root, ['exec', id, 'sh', '-c',
    'cd /sys/fs/cgroup && mkdir tdom && echo +pids > tdom/cgroup.subtree_control && mkdir tdom/thr && echo threaded > tdom/thr/cgroup.type || exit 1; ' +
    'sleep 600 </dev/null >/dev/null 2>&1 & p=$!; echo $p > tdom/cgroup.procs && echo $p > tdom/thr/cgroup.threads && ' +
    'echo type=$(cat tdom/thr/cgroup.type) threads=$(cat tdom/thr/cgroup.threads)'], { timeoutMs: 60_000 });
  t.equal(threaded.code, 0, 'exec exits 0', { stderr: threaded.stderr });
  t.match(threaded.stdout, /^type=threaded threads=\d+$/m, 'a process\'s thread is in a threaded sub-cgroup');
  const sleeper = Number(fs.readFileSync(path.join(hostDir, 'tdom', 'thr', 'cgroup.threads'), 'utf8').trim() || 0);
  t.ok(sleeper > 0, 'seen on the host');

  const deleted = runts(root, ['delete', '--force', id], { timeoutMs: 60_000 });
  t.equal(deleted.code, 0, 'delete --force exits 0', { stderr: deleted.stderr });
  t.notOk(fs.existsSync(hostDir), 'the container\'s cgroup, with the sub-cgroups made inside (the threaded one too), is gone');
  t.notOk(fs.existsSync(`/proc/${sleeper}`), 'the process in the threaded sub-cgroup is gone');
});

t.test('an OOM kill shows in memory.events and as an "oom" event', async (t) => {
  const spec = v2Spec(['sh', '-c', 'while [ ! -e /go ]; do sleep 0.1; done; tail /dev/zero; sleep 600'], { memory: { limit: 16 * MiB, swap: 16 * MiB } });
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const id = 'oom';
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, id], { timeoutMs: 60_000 }).code, 0, 'run -d exits 0');
  const events = spawn(process.execPath, [CLI, '--root', root, 'events', '--interval', '1s', id], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void events.kill('SIGKILL'));
  let seen = '';
  const oom = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 90_000);
    events.stdout.on('data', (d: Buffer) => {
      const first = seen === '';
      seen += d.toString();
      if (first) fs.writeFileSync(path.join(bundle, 'rootfs', 'go'), ''); // events is watching: let the hog start
      if (/"type":"oom"/.test(seen)) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  t.ok(oom, 'events prints {"type":"oom"}', { seen: seen.slice(-500) });
  const stats = JSON.parse(runts(root, ['events', '--stats', id]).stdout || '{}');
  t.equal(stats.data?.memory?.usage?.limit, 16 * MiB, 'stats read the limit from memory.max');
  const state = JSON.parse(runts(root, ['state', id]).stdout || '{}');
  const hostDir = `/sys/fs/cgroup${fs.readFileSync(`/proc/${state.pid}/cgroup`, 'utf8').trim().replace(/^0::/, '')}`;
  t.match(fs.readFileSync(path.join(hostDir, 'memory.events'), 'utf8'), /^oom_kill [1-9]/m, 'memory.events counts the kill');
  t.equal(runts(root, ['delete', '--force', id], { timeoutMs: 60_000 }).code, 0, 'delete --force exits 0');
});
