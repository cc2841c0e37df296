/** Resources of real containers: proven by effect inside, by the cgroup files, and by cleanup. */
import fs = require('fs');
import path = require('path');
import t from 'tap';
import { probeHierarchy } from '../../src/cgroups/path';
import { baseSpec, cleanupRoot, makeBundle, runInContainer, runts, scratchDir } from '../helpers/runts';

const root = scratchDir('root');
t.teardown(() => cleanupRoot(root));
const v1 = probeHierarchy().mode !== 'v2';
const BASE = `/runts-ct-${process.pid}`;
t.teardown(() => {
  for (const controller of ['memory', 'pids', 'cpu', 'freezer', 'devices', 'cpuset', 'blkio', 'cpuacct', 'systemd']) fs.rmSync(`/sys/fs/cgroup/${controller}${BASE}`, { recursive: false, force: true });
});

function sleepMs(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

t.test('limits are visible inside and enforced', { skip: !v1 && 'v1 host only' }, async (t) => {
  const spec = baseSpec(['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares; for i in 1 2 3 4 5 6 7 8; do sleep 1 & done 2>&1; wait']);
  spec.linux!.cgroupsPath = `${BASE}/limits`;
  spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 32 << 20 }, pids: { limit: 5 }, cpu: { shares: 512 } };
  const r = runInContainer(root, spec);
  t.match(r.stdout, /^33554432\n5\n512\n/, 'memory, pids and cpu files seen from inside');
  t.match(r.stdout + r.stderr, /can't fork|Resource temporarily unavailable/, 'the pids limit refuses a fork');
  t.notOk(fs.existsSync(`/sys/fs/cgroup/memory${BASE}/limits`), 'delete removed the cgroup');
});

t.test('a memory limit OOM-kills a process that goes over it', { skip: !v1 && 'v1 host only' }, async (t) => {
  const spec = baseSpec(['sh', '-c', 'x=$(head -c 50000000 /dev/zero | tr "\\0" a); echo survived']);
  spec.linux!.cgroupsPath = `${BASE}/oom`;
  spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 16 << 20, swap: 16 << 20 } };
  const r = runInContainer(root, spec);
  t.notMatch(r.stdout, /survived/, 'the allocation did not survive');
});

t.test('the devices cgroup denies what the rules deny (runc always allows its default devices)', async (t) => {
  const spec = baseSpec(['sh', '-c', 'echo x > /dev/null && echo null-ok; head -c1 /dev/fuse > /dev/null 2>&1 || echo fuse-denied']);
  spec.linux!.devices = [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229 }];
  spec.linux!.resources = { devices: [{ allow: false, access: 'rwm' }] };
  const r = runInContainer(root, spec);
  t.match(r.stdout, /null-ok/, 'default devices stay allowed, as with runc');
  t.match(r.stdout, /fuse-denied/, 'a created but not allowed device cannot be opened');
});

t.test('pause freezes, state says paused, resume thaws; update changes live values; kill --all', async (t) => {
  const bundle = makeBundle(baseSpec(['sh', '-c', 'sleep 300 & sleep 300']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, 'pz']).code, 0);
  const state = () => JSON.parse(runts(root, ['state', 'pz']).stdout);
  const pid = state().pid;
  t.equal(runts(root, ['pause', 'pz']).code, 0);
  t.equal(state().status, 'paused');
  t.match(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'), /\) [DT] /, 'the init is frozen (D/T)');
  t.equal(runts(root, ['pause', 'pz']).code, 1, 'pausing a paused container fails');
  t.equal(runts(root, ['resume', 'pz']).code, 0);
  t.equal(state().status, 'running');
  t.equal(runts(root, ['resume', 'pz']).code, 1, 'resuming a running container fails');

  const ps = runts(root, ['ps', '--format', 'json', 'pz']);
  const pids = JSON.parse(ps.stdout) as number[];
  t.ok(pids.includes(pid) && pids.length >= 2, 'ps lists the init and its child');
  if (v1) {
    t.equal(runts(root, ['update', '--cpu-share', '256', '--pids-limit', '42', 'pz']).code, 0);
    const cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
    const cpuPath = cgroup.match(/:cpu:(.*)$/m)![1];
    const pidsPath = cgroup.match(/:pids:(.*)$/m)![1];
    t.equal(fs.readFileSync(`/sys/fs/cgroup/cpu${cpuPath}/cpu.shares`, 'utf8').trim(), '256');
    t.equal(fs.readFileSync(`/sys/fs/cgroup/pids${pidsPath}/pids.max`, 'utf8').trim(), '42');
    const stats = JSON.parse(runts(root, ['events', '--stats', 'pz']).stdout);
    t.match(stats, { type: 'stats', id: 'pz' }, 'events --stats prints runc-shaped JSON');
  }
  t.equal(runts(root, ['kill', '--all', 'pz', 'KILL']).code, 0);
  for (let i = 0; i < 100 && state().status !== 'stopped'; i++) sleepMs(20);
  t.equal(state().status, 'stopped');
  for (const p of pids) t.notOk(fs.existsSync(`/proc/${p}/stat`) && !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8')), `pid ${p} gone`);
  t.equal(runts(root, ['delete', 'pz']).code, 0);
  t.notOk(fs.readdirSync(root).includes('pz'));
});

t.test('delete --force of a paused container kills every process and leaves nothing', async (t) => {
  const bundle = makeBundle(baseSpec(['sh', '-c', 'sleep 300 & sleep 300']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, 'pzd']).code, 0);
  const pids = JSON.parse(runts(root, ['ps', '--format', 'json', 'pzd']).stdout) as number[];
  t.equal(runts(root, ['pause', 'pzd']).code, 0);
  t.equal(runts(root, ['delete', '--force', 'pzd']).code, 0);
  for (const p of pids) t.notOk(fs.existsSync(`/proc/${p}/stat`) && !/\) Z /.test(fs.readFileSync(`/proc/${p}/stat`, 'utf8')), `pid ${p} gone`);
  t.notOk(fs.readdirSync(root).includes('pzd'));
});

t.test('bad cgroup input fails before anything is created', async (t) => {
  const spec = baseSpec(['true']);
  spec.linux!.cgroupsPath = '../../escape';
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const r = runts(root, ['create', '--bundle', bundle, 'esc']);
  t.equal(r.code, 1);
  t.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.notOk(fs.existsSync(path.join(root, 'esc')));
  t.equal(runts(root, ['update', '--cpu-share', '10', 'ghost']).code, 1, 'update of an unknown container');
});
