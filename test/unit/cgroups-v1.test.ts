/**
 * The v1 driver's write logic against a fake cgroupfs (real directories, file contents in a
 * map, every write recorded, chosen files refused with an errno). The real kernel is
 * exercised by test/integration/cgroups-v1.test.ts.
 */
import fs = require('fs');
import os = require('os');
import path = require('path');
import t from 'tap';
import type { CgroupIO } from '../../src/cgroups/fs';
import { V1Cgroup } from '../../src/cgroups/v1';
import { FakeIOBase } from '../helpers/fake-cgroupfs';

class FakeIO extends FakeIOBase implements CgroupIO {
  /** file → errno, or a function deciding per value. */
  readonly refuse = new Map<string, string | ((value: string) => string | undefined)>();
  /** freezer.state reads answer FREEZING this many times before FROZEN. */
  freezing = 0;

  write(dir: string, file: string, value: string): void {
    const full = this.record(dir, file, value);
    const rule = this.refuse.get(file);
    this.refuseWith(full, value, typeof rule === 'function' ? rule(value) : rule);
    if (file === 'devices.allow' || file === 'devices.deny') {
      // Good enough a model for the verification read: "a" resets, else append/remove.
      const list = this.files.get(path.join(dir, 'devices.list')) ?? 'a *:* rwm\n';
      let lines = list.split('\n').filter(Boolean);
      if (value === 'a') lines = file === 'devices.allow' ? ['a *:* rwm'] : [];
      else if (file === 'devices.allow') lines.push(value);
      else lines = lines.filter((l) => l !== value);
      this.files.set(path.join(dir, 'devices.list'), lines.join('\n') + '\n');
      return;
    }
    this.files.set(full, value);
  }

  read(dir: string, file: string): string | undefined {
    if (file === 'freezer.state' && this.freezing > 0 && this.files.get(path.join(dir, file)) === 'FROZEN') {
      this.freezing--;
      return 'FREEZING\n';
    }
    // A new v1 devices cgroup starts as its parent: allow-all here.
    if (file === 'devices.list') return this.files.get(path.join(dir, file)) ?? 'a *:* rwm\n';
    return this.files.get(path.join(dir, file));
  }
}

const CONTROLLERS = ['cpuset', 'devices', 'memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'freezer'];

function fake(t: { teardown(fn: () => void): void }, leaf = 'c1'): { root: string; io: FakeIO; paths: Record<string, string>; mounts: Record<string, string> } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cg1-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const io = new FakeIO(root);
  const paths: Record<string, string> = {};
  const mounts: Record<string, string> = {};
  for (const c of CONTROLLERS) {
    fs.mkdirSync(path.join(root, c));
    mounts[c] = path.join(root, c);
    paths[c] = path.join(root, c, leaf);
  }
  io.set('cpuset/cpuset.cpus', '0-3\n');
  io.set('cpuset/cpuset.mems', '0\n');
  io.set('devices/devices.list', 'a *:* rwm\n');
  return { root, io, paths, mounts };
}

function existing(root: string, io: FakeIO, paths: Record<string, string>): V1Cgroup {
  for (const dir of Object.values(paths)) fs.mkdirSync(dir, { recursive: true });
  return new V1Cgroup(paths, { io, created: [] });
}

t.test('create: cpuset inherited level by level, then resources; destroy removes what it made', async (t) => {
  const { root, io, mounts } = fake(t);
  const paths = Object.fromEntries(CONTROLLERS.map((c) => [c, path.join(root, c, 'pods', 'c1')]));
  const cg = new V1Cgroup(paths, { io, mountpoints: mounts, resources: { pids: { limit: 10 } } });
  cg.create();
  t.equal(io.get('cpuset/pods/cpuset.cpus'), '0-3');
  t.equal(io.get('cpuset/pods/c1/cpuset.cpus'), '0-3');
  t.equal(io.get('cpuset/pods/c1/cpuset.mems'), '0');
  t.equal(io.get('pids/pods/c1/pids.max'), '10');
  t.same(io.writes.filter((w) => w.startsWith('devices/')).slice(0, 2), ['devices/pods/c1/devices.deny=a', 'devices/pods/c1/devices.allow=b *:* m']);
  t.equal(cg.created.length, CONTROLLERS.length * 2);
  cg.destroy();
  for (const c of CONTROLLERS) t.notOk(fs.existsSync(path.join(root, c, 'pods')), `${c}: nothing left`);
  for (const c of CONTROLLERS) t.ok(fs.existsSync(path.join(root, c)), `${c}: mount untouched`);
});

t.test('destroyIfEmpty: an empty cgroup goes whole, one whose process list directory refuses stays whole', async (t) => {
  const { root, io, mounts } = fake(t);
  const paths = Object.fromEntries(CONTROLLERS.map((c) => [c, path.join(root, c, 'c1')]));
  const cg = new V1Cgroup(paths, { io, mountpoints: mounts });
  cg.create();
  // A sub-cgroup, as a process would, makes the rmdir refuse.
  fs.mkdirSync(path.join(paths.pids, 'sub'));
  t.equal(cg.destroyIfEmpty(), false, 'refused where its processes are listed');
  for (const c of CONTROLLERS) t.ok(fs.existsSync(paths[c]), `${c}: left in place`);
  fs.rmdirSync(path.join(paths.pids, 'sub'));
  t.equal(cg.destroyIfEmpty(), true, 'emptied, it goes');
  for (const c of CONTROLLERS) t.notOk(fs.existsSync(paths[c]), `${c}: removed`);
  const found = existing(root, io, paths);
  t.equal(found.destroyIfEmpty(), false, 'directories create found made are not its to remove');
  for (const c of CONTROLLERS) t.ok(fs.existsSync(paths[c]), `${c}: still there`);
});

t.test('create refuses a directory at or outside a mount point', async (t) => {
  const { root, io, mounts } = fake(t);
  const paths = { ...Object.fromEntries(CONTROLLERS.map((c) => [c, path.join(root, c, 'x')])), memory: path.join(root, 'memory') };
  t.throws(() => new V1Cgroup(paths, { io, mountpoints: mounts }).create(), /is not below the memory mount/);
});

t.test('memory: limit/swap write order follows the current limit', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, paths);
  io.set('memory/c1/memory.limit_in_bytes', '9223372036854771712\n');
  io.set('memory/c1/memory.memsw.limit_in_bytes', '9223372036854771712\n');
  cg.apply({ memory: { limit: 100, swap: 200 } });
  t.same(io.writes, ['memory/c1/memory.limit_in_bytes=100', 'memory/c1/memory.memsw.limit_in_bytes=200'], 'shrinking: memory first');
  io.writes.length = 0;
  cg.apply({ memory: { limit: 300, swap: 600 } });
  t.same(io.writes, ['memory/c1/memory.memsw.limit_in_bytes=600', 'memory/c1/memory.limit_in_bytes=300'], 'growing: swap first');
  io.writes.length = 0;
  cg.apply({ memory: { limit: -1 } });
  t.same(io.writes, ['memory/c1/memory.memsw.limit_in_bytes=-1', 'memory/c1/memory.limit_in_bytes=-1'], 'unlimited memory unlimits swap');
  io.writes.length = 0;
  cg.apply({ memory: { reservation: 50, swappiness: 60, disableOOMKiller: true, useHierarchy: true, kernel: 1, kernelTCP: 2 } });
  t.same(io.writes, [
    'memory/c1/memory.soft_limit_in_bytes=50',
    'memory/c1/memory.oom_control=1',
    'memory/c1/memory.swappiness=60',
    'memory/c1/memory.use_hierarchy=1',
  ], 'kernel and kernelTCP ignored');
  t.throws(() => cg.apply({ memory: { swappiness: 101 } }), /invalid memory swappiness value: 101 \(valid range is 0-100\)/);
});

t.test('memory: EBUSY becomes runc\'s usage message', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, paths);
  io.set('memory/c1/memory.usage_in_bytes', '300000\n');
  io.set('memory/c1/memory.max_usage_in_bytes', '400000\n');
  io.refuse.set('memory.limit_in_bytes', 'EBUSY');
  t.throws(() => cg.apply({ memory: { limit: 4096 } }), /unable to set memory limit to 4096 \(current usage: 300000, peak usage: 400000\)/);
});

t.test('cpu: shares read back, period retried after quota on EINVAL, realtime, burst, idle', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, paths);
  io.refuse.set('cpu.cfs_period_us', (v) => (io.get('cpu/c1/cpu.cfs_quota_us') === undefined && v === '10000' ? 'EINVAL' : undefined));
  cg.apply({ cpu: { shares: 512, period: 10000, quota: 5000, burst: 100, idle: 0, realtimePeriod: 1000000, realtimeRuntime: 950 } });
  t.same(io.writes, [
    'cpu/c1/cpu.shares=512',
    'cpu/c1/cpu.cfs_period_us=10000',
    'cpu/c1/cpu.cfs_burst_us=100',
    'cpu/c1/cpu.cfs_quota_us=5000',
    'cpu/c1/cpu.cfs_period_us=10000',
    'cpu/c1/cpu.idle=0',
    'cpu/c1/cpu.rt_period_us=1000000',
    'cpu/c1/cpu.rt_runtime_us=950',
  ]);
  // The kernel clamps shares: runc reports the bound.
  const clamp = new FakeIO(root);
  Object.assign(clamp, { files: io.files });
  const real = clamp.write.bind(clamp);
  clamp.write = (dir, file, value) => real(dir, file, file === 'cpu.shares' ? String(Math.max(2, Number(value))) : value);
  const cg2 = new V1Cgroup(paths, { io: clamp, created: [] });
  t.throws(() => cg2.apply({ cpu: { shares: 1 } }), /the minimum allowed cpu-shares is 2/);
});

t.test('pids, cpuset, blkio (bfq or cfq names), hugetlb with and without rsvd', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, { ...paths, hugetlb: path.join(root, 'hugetlb', 'c1') });
  io.refuse.set('hugetlb.2MB.rsvd.limit_in_bytes', 'ENOENT');
  cg.apply({
    pids: { limit: -1 },
    cpu: { cpus: '1', mems: '0' },
    blockIO: {
      weight: 300, leafWeight: 200, weightDevice: [{ major: 8, minor: 0, weight: 100, leafWeight: 50 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1 }], throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 3 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 4 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }, { pageSize: '1GB', limit: 0 }],
  });
  t.same(io.writes, [
    'cpuset/c1/cpuset.cpus=1',
    'cpuset/c1/cpuset.mems=0',
    'pids/c1/pids.max=max',
    'blkio/c1/blkio.bfq.weight=300',
    'blkio/c1/blkio.leaf_weight=200',
    'blkio/c1/blkio.bfq.weight_device=8:0 100',
    'blkio/c1/blkio.leaf_weight_device=8:0 50',
    'blkio/c1/blkio.throttle.read_bps_device=8:0 1',
    'blkio/c1/blkio.throttle.write_bps_device=8:0 2',
    'blkio/c1/blkio.throttle.read_iops_device=8:0 3',
    'blkio/c1/blkio.throttle.write_iops_device=8:0 4',
    'hugetlb/c1/hugetlb.2MB.limit_in_bytes=2097152',
    'hugetlb/c1/hugetlb.2MB.rsvd.limit_in_bytes=2097152',
    'hugetlb/c1/hugetlb.1GB.limit_in_bytes=0',
  ]);
  io.writes.length = 0;
  io.set('blkio/c1/blkio.weight', '500\n');
  cg.apply({ blockIO: { weight: 400, weightDevice: [{ major: 8, minor: 0, weight: 10 }] } });
  t.same(io.writes, ['blkio/c1/blkio.weight=400', 'blkio/c1/blkio.weight_device=8:0 10'], 'CFQ names where the kernel has them');
});

t.test('a resource whose controller is not mounted, unified on v1, bad page size', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, paths);
  t.throws(() => cg.apply({ network: { classID: 0x100001 } }), /cannot set net_cls limit: the net_cls cgroup controller is not mounted/);
  t.throws(() => cg.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }), /cannot set hugetlb limit/);
  t.throws(() => cg.apply({ unified: { 'memory.high': '1' } }), /cannot use unified on cgroup v1/);
  t.throws(() => cg.apply({ rdma: { mlx: { hcaHandles: 1 } } }), /cannot set rdma limit/);
  const withNet = existing(root, io, { ...paths, net_cls: path.join(root, 'net_cls', 'c1'), net_prio: path.join(root, 'net_prio', 'c1') });
  io.writes.length = 0;
  withNet.apply({ network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 5 }, { name: 'lo', priority: 2 }] } });
  t.same(io.writes, ['net_cls/c1/net_cls.classid=1048577', 'net_prio/c1/net_prio.ifpriomap=eth0 5', 'net_prio/c1/net_prio.ifpriomap=lo 2']);
});

t.test('apply restores earlier values when a later write is refused', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, paths);
  io.set('cpuset/c1/cpuset.cpus', '0-3\n');
  io.set('memory/c1/memory.limit_in_bytes', '1000000\n');
  io.set('pids/c1/pids.max', 'max\n');
  io.refuse.set('blkio.bfq.weight', 'EINVAL');
  t.throws(() => cg.apply({ cpu: { cpus: '1' }, memory: { limit: 500000 }, pids: { limit: 4 }, blockIO: { weight: 5 } }), /failed to write "5": write .*blkio.bfq.weight: einval/);
  t.equal(io.get('cpuset/c1/cpuset.cpus'), '0-3');
  t.equal(io.get('memory/c1/memory.limit_in_bytes'), '1000000');
  t.equal(io.get('pids/c1/pids.max'), 'max');
});

t.test('devices: verified after writing', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, paths);
  io.set('devices/c1/devices.list', 'a *:* rwm\n');
  cg.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 4, minor: 1, access: 'rw' }] });
  t.match(io.get('devices/c1/devices.list'), /c 4:1 rw/);
  io.writes.length = 0;
  cg.apply({ devices: [{ allow: false, access: 'rwm' }] });
  t.same(io.writes, ['devices/c1/devices.deny=c 4:1 rw'], 'a deny-all to deny-all update writes only the difference');
  io.refuse.set('devices.allow', (v) => (v === 'c 7:7 r' ? 'EPERM' : undefined));
  t.throws(() => cg.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 7, minor: 7, access: 'r' }] }), /failed to write "c 7:7 r"/);
});

t.test('freezer: retries FREEZING, self_freezing decides paused', async (t) => {
  const { root, io, paths } = fake(t);
  const cg = existing(root, io, paths);
  io.set('freezer/c1/freezer.state', 'THAWED\n');
  io.freezing = 3;
  cg.freeze();
  t.equal(io.writes.filter((w) => w === 'freezer/c1/freezer.state=FROZEN').length, 4);
  io.set('freezer/c1/freezer.self_freezing', '1\n');
  t.equal(cg.isFrozen(), true);
  io.set('freezer/c1/freezer.self_freezing', '0\n');
  t.equal(cg.isFrozen(), false, 'frozen by an ancestor only');
  cg.thaw();
  t.equal(cg.isFrozen(), false);
  const noFreezer = existing(root, io, { devices: paths.devices });
  t.throws(() => noFreezer.freeze(), /freezer cgroup controller is not mounted/);
  t.equal(noFreezer.isFrozen(), false);
});

t.test('destroy without a created list removes the leaves only', async (t) => {
  const { root, io, paths } = fake(t, 'a/b');
  for (const dir of Object.values(paths)) fs.mkdirSync(dir, { recursive: true });
  new V1Cgroup(paths, { io }).destroy();
  for (const c of CONTROLLERS) {
    t.notOk(fs.existsSync(path.join(root, c, 'a', 'b')));
    t.ok(fs.existsSync(path.join(root, c, 'a')));
  }
});
