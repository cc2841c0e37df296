/**
 * The v2 driver against a temporary directory laid out like a cgroup2 tree. Directories are
 * real (create/destroy use mkdir/rmdir); file contents live in a map the fake IO keeps, which
 * also records every write in order and can refuse chosen files with an errno.
 */
import fs = require('fs');
import os = require('os');
import path = require('path');
import t from 'tap';
import type { CgroupIO } from '../../src/cgroups/fs';
import { goJson } from '../../src/base/formats';
import { statsJson } from '../../src/cgroups/stats';
import { V2Cgroup, blkioToIoWeight, sharesToWeight, swapToV2 } from '../../src/cgroups/v2';
import type { DeviceRule } from '../../src/cgroups/devices';
import { FakeIOBase } from '../helpers/fake-cgroupfs';
import type { LinuxResources } from '../../src/config/types';

class FakeIO extends FakeIOBase implements CgroupIO {
  readonly refuse = new Map<string, string>();

  write(dir: string, file: string, value: string): void {
    const full = this.record(dir, file, value);
    this.refuseWith(full, value, this.refuse.get(file));
    this.files.set(full, value);
    if (file === 'cgroup.freeze') this.files.set(path.join(dir, 'cgroup.events'), `populated 1\nfrozen ${value}\n`);
  }

  read(dir: string, file: string): string | undefined {
    return this.files.get(path.join(dir, file));
  }
}

function fakeTree(t: { teardown(fn: () => void): void }): { root: string; io: FakeIO } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cg2-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const io = new FakeIO(root);
  io.set('cgroup.controllers', 'cpuset cpu io memory hugetlb pids rdma misc\n');
  io.set('cgroup.subtree_control', '');
  return { root, io };
}

function open(root: string, io: FakeIO, dir: string, resources: LinuxResources, attached: DeviceRule[][] = []): V2Cgroup {
  return new V2Cgroup(path.join(root, dir), { mountpoint: root, io, resources, attachDevices: (_d, rules) => attached.push(rules) });
}

t.test('conversions', async (t) => {
  t.equal(sharesToWeight(2), 1);
  t.equal(sharesToWeight(1024), 39);
  t.equal(sharesToWeight(262144), 10000);
  t.equal(sharesToWeight(0), 0);
  t.equal(sharesToWeight(1), 1, 'clamped into range rather than underflowing');
  t.equal(blkioToIoWeight(10), 1);
  t.equal(blkioToIoWeight(500), 4950);
  t.equal(blkioToIoWeight(1000), 10000);
  t.equal(swapToV2(0, 0), undefined);
  t.equal(swapToV2(-1, 1000), 'max');
  t.equal(swapToV2(0, -1), 'max', 'unlimited memory, swap unset: unlimited swap');
  t.equal(swapToV2(3000, 1000), '2000');
  t.equal(swapToV2(1000, 1000), '0');
  t.throws(() => swapToV2(500, 1000), /memory\+swap limit should be >= memory limit/);
  t.throws(() => swapToV2(500, 0), /unable to set swap limit without memory limit/);
});

t.test('create: directories, controller delegation, every resource in runc fs2 order', async (t) => {
  const { root, io } = fakeTree(t);
  const attached: DeviceRule[][] = [];
  fs.mkdirSync(path.join(root, 'pods')); // exists before: not ours
  const cg = open(root, io, 'pods/c1', {
    pids: { limit: 42 },
    memory: { limit: 100_000_000, swap: 150_000_000, reservation: 50_000_000, swappiness: 10, disableOOMKiller: true, kernel: 5 },
    blockIO: {
      weight: 500, leafWeight: 300, weightDevice: [{ major: 8, minor: 0, weight: 200 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1000 }], throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2000 }],
      throttleReadIOPSDevice: [{ major: 8, minor: 16, rate: 30 }], throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 40 }],
    },
    cpu: { shares: 1024, quota: 50000, period: 100000, burst: 1000, idle: 1, cpus: '0-1', mems: '0' },
    hugepageLimits: [{ pageSize: '2MB', limit: 4194304 }],
    rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 100 } },
    unified: { 'memory.high': '90000000', 'pids.max': '50' },
    devices: [{ allow: false, access: 'rwm' }],
  }, attached);
  cg.create();
  t.same(cg.created, [path.join(root, 'pods/c1')], 'only the directory it made');
  t.same(cg.paths, { '': path.join(root, 'pods/c1') });
  const all = '+cpuset +cpu +io +memory +hugetlb +pids +rdma +misc';
  t.same(io.writes, [
    `cgroup.subtree_control=${all}`,
    `pods/cgroup.subtree_control=${all}`,
    'pods/c1/pids.max=42',
    'pods/c1/memory.swap.max=50000000',
    'pods/c1/memory.max=100000000',
    'pods/c1/memory.low=50000000',
    'pods/c1/io.weight=4950',
    'pods/c1/io.max=8:0 rbps=1000',
    'pods/c1/io.max=8:0 wbps=2000',
    'pods/c1/io.max=8:16 riops=30',
    'pods/c1/io.max=8:16 wiops=40',
    'pods/c1/cpu.weight=39',
    'pods/c1/cpu.idle=1',
    'pods/c1/cpu.max.burst=1000',
    'pods/c1/cpu.max=50000 100000',
    'pods/c1/cpuset.cpus=0-1',
    'pods/c1/cpuset.mems=0',
    'pods/c1/hugetlb.2MB.max=4194304',
    'pods/c1/hugetlb.2MB.rsvd.max=4194304',
    'pods/c1/rdma.max=mlx5_0 hca_handle=3 hca_object=100',
    'pods/c1/memory.high=90000000',
    'pods/c1/pids.max=50',
  ]);
  t.equal(attached.length, 1, 'device rules attached once');
  t.same(attached[0][0], { type: 'a', major: -1, minor: -1, access: 'rwm', allow: false });
  t.ok(attached[0].length > 5, 'runc default devices appended');
  cg.destroy();
  t.notOk(fs.existsSync(path.join(root, 'pods/c1')));
  t.ok(fs.existsSync(path.join(root, 'pods')), 'a directory it did not make stays');
});

t.test('destroyIfEmpty: only an empty cgroup create made goes', async (t) => {
  const { root, io } = fakeTree(t);
  const cg = open(root, io, 'pods/c1', {});
  cg.create();
  fs.mkdirSync(path.join(root, 'pods/c1/sub'));
  t.equal(cg.destroyIfEmpty(), false, 'a sub-cgroup (or a process) in it: refused');
  t.ok(fs.existsSync(path.join(root, 'pods/c1')), 'left in place');
  fs.rmdirSync(path.join(root, 'pods/c1/sub'));
  t.equal(cg.destroyIfEmpty(), true, 'emptied, it goes');
  t.notOk(fs.existsSync(path.join(root, 'pods')), 'with the parent it made');
  fs.mkdirSync(path.join(root, 'c'));
  t.equal(new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] }).destroyIfEmpty(), false, 'one it found made is not its to remove');
  t.ok(fs.existsSync(path.join(root, 'c')));
});

t.test('BFQ: io.bfq.weight takes the v1 weight as is, per-device weights when supported', async (t) => {
  const { root, io } = fakeTree(t);
  fs.mkdirSync(path.join(root, 'c'));
  io.set('c/io.bfq.weight', 'default 100\n');
  const cg = new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] });
  cg.apply({ blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 300 }] } });
  t.same(io.writes, ['c/io.bfq.weight=500', 'c/io.bfq.weight=8:0 300']);
});

t.test('cpu: period alone keeps the quota; quota -1 is max; realtime refused', async (t) => {
  const { root, io } = fakeTree(t);
  fs.mkdirSync(path.join(root, 'c'));
  io.set('c/cpu.max', '50000 100000\n');
  const cg = new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] });
  cg.apply({ cpu: { period: 200000 } });
  t.equal(io.get('c/cpu.max'), '50000 200000');
  cg.apply({ cpu: { quota: -1 } });
  t.equal(io.get('c/cpu.max'), 'max');
  t.throws(() => cg.apply({ cpu: { realtimeRuntime: 1000 } }), /realtime cpu settings .* not supported on cgroup v2/);
});

t.test('memory: checkBeforeUpdate, swap without accounting, unlimited', async (t) => {
  const { root, io } = fakeTree(t);
  fs.mkdirSync(path.join(root, 'c'));
  io.set('c/memory.current', '1000000\n');
  io.set('c/memory.max', 'max\n');
  const cg = new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] });
  t.throws(() => cg.apply({ memory: { limit: 500000, checkBeforeUpdate: true } }), /rejecting memory limit 500000 below current usage 1000000/);
  t.same(io.writes, [], 'nothing written');
  io.refuse.set('memory.swap.max', 'ENOENT');
  cg.apply({ memory: { limit: -1 } });
  t.same(io.writes, ['c/memory.swap.max=max', 'c/memory.max=max'], 'missing swap file tolerated for "max"');
  io.writes.length = 0;
  t.throws(() => cg.apply({ memory: { limit: 1000, swap: 5000 } }), /memory.swap.max/, 'but not for a real swap limit');
});

t.test('unified: file names only, missing controller named', async (t) => {
  const { root, io } = fakeTree(t);
  fs.mkdirSync(path.join(root, 'c'));
  io.set('c/cgroup.controllers', 'memory pids\n');
  const cg = new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] });
  t.throws(() => cg.apply({ unified: { '../x': '1' } }), /must be a file name \(no slashes\)/);
  io.refuse.set('io.latency', 'ENOENT');
  t.throws(() => cg.apply({ unified: { 'io.latency': '8:0 target=10' } }), /unified resource "io.latency" can't be set: controller "io" not available/);
  io.refuse.set('nodot', 'ENOENT');
  t.throws(() => cg.apply({ unified: { nodot: '1' } }), /must be in the form CONTROLLER.PARAMETER/);
  io.refuse.set('memory.high', 'EINVAL');
  t.throws(() => cg.apply({ unified: { 'memory.high': 'bogus' } }), /unable to set unified resource "memory.high": failed to write "bogus"/);
  t.throws(() => cg.apply({ network: { classID: 5 } }), /net_cls/);
});

t.test('apply undoes earlier writes when a later one is refused', async (t) => {
  const { root, io } = fakeTree(t);
  fs.mkdirSync(path.join(root, 'c'));
  io.set('c/pids.max', 'max\n');
  io.set('c/memory.max', '200000000\n');
  io.set('c/cpu.weight', '100\n');
  io.refuse.set('cpuset.cpus', 'EINVAL');
  const cg = new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] });
  t.throws(() => cg.apply({ pids: { limit: 5 }, memory: { limit: 1000000 }, cpu: { shares: 512, cpus: '9' } }), /failed to write "9": write .*cpuset.cpus: einval/);
  t.equal(io.get('c/pids.max'), 'max');
  t.equal(io.get('c/memory.max'), '200000000');
  t.equal(io.get('c/cpu.weight'), '100');
});

t.test('freeze and thaw through cgroup.freeze / cgroup.events', async (t) => {
  const { root, io } = fakeTree(t);
  fs.mkdirSync(path.join(root, 'c'));
  io.set('c/cgroup.freeze', '0\n');
  io.set('c/cgroup.events', 'populated 1\nfrozen 0\n');
  const cg = new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] });
  t.equal(cg.isFrozen(), false);
  cg.freeze();
  t.equal(cg.isFrozen(), true);
  cg.thaw();
  t.equal(cg.isFrozen(), false);
});

t.test('create refuses a directory outside the mount and cleans up after a failure', async (t) => {
  const { root, io } = fakeTree(t);
  t.throws(() => new V2Cgroup('/elsewhere/c', { mountpoint: root, io }).create(), /not below the cgroup2 mount/);
  io.refuse.set('pids.max', 'EINVAL');
  const cg = open(root, io, 'a/b', { pids: { limit: 3 } });
  t.throws(() => cg.create(), /failed to write "3"/);
  t.notOk(fs.existsSync(path.join(root, 'a')), 'every directory create made is gone');
});

t.test('stats: runc fs2 mapping and JSON shape', async (t) => {
  const { root, io } = fakeTree(t);
  fs.mkdirSync(path.join(root, 'c'));
  io.set('c/pids.current', '3\n');
  io.set('c/pids.max', 'max\n');
  io.set('c/memory.stat', 'anon 4096\nfile 8192\nkernel 100\n');
  io.set('c/memory.current', '12288\n');
  io.set('c/memory.max', '1048576\n');
  io.set('c/memory.peak', '20000\n');
  io.set('c/memory.events', 'low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n');
  io.set('c/memory.swap.current', '0\n');
  io.set('c/memory.swap.max', 'max\n');
  io.set('c/io.stat', '8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n');
  io.set('c/cpu.stat', 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 7\n');
  const cg = new V2Cgroup(path.join(root, 'c'), { mountpoint: root, io, created: [] });
  const json = JSON.parse(goJson(statsJson(cg.stats())));
  t.same(json.cpu, { usage: { total: 1500000, kernel: 500000, user: 1000000 }, throttling: { periods: 4, throttledPeriods: 1, throttledTime: 7000 } });
  t.same(json.pids, { current: 3 });
  t.equal(json.memory.cache, 8192);
  t.same(json.memory.usage, { limit: 1048576, usage: 12288, max: 20000, failcnt: 2 });
  t.equal(goJson(statsJson(cg.stats())).includes('"swap":{"limit":18446744073709551615,"usage":12288,"failcnt":0}'), true, 'max as 2^64-1, exactly');
  t.same(json.blkio, {
    ioServiceBytesRecursive: [{ major: 8, op: 'Read', value: 4096 }, { major: 8, op: 'Write' }],
    ioServicedRecursive: [{ major: 8, op: 'Read', value: 1 }, { major: 8, op: 'Write' }],
  });
  t.same(cg.memoryEvents(), { oom: 1, oomKill: 1, underOom: false });
  t.equal(json.network_interfaces, null);
});
