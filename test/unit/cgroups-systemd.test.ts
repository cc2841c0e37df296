import t from 'tap';
import { containerDeviceRules } from '../../src/cgroups/devices';
import {
  annotationProperties, cpuQuotaProperties, deviceProperties, expandSlice, parseGVariant, placeUnit, rangeToBits,
  resourceProperties, systemdVersionNumber, unifiedProperties, unifiedUnitDir, unitProperties, v1UnitDir, type PropertyContext, type UnitProperty,
} from '../../src/cgroups/systemdUnit';

const UINT64_MAX = (1n << 64n) - 1n;
const v2: PropertyContext = { layout: 'v2', version: 252 };
const v1: PropertyContext = { layout: 'v1', version: 252 };

/** name → value, the last one winning (as systemd applies them in order). */
function byName(props: UnitProperty[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of props) out[p.name] = p.value;
  return out;
}

t.test('slices expand as systemd nests them (runc ExpandSlice)', async (t) => {
  t.equal(expandSlice('system.slice'), '/system.slice');
  t.equal(expandSlice('machine-pod-x.slice'), '/machine.slice/machine-pod.slice/machine-pod-x.slice');
  t.equal(expandSlice('-.slice'), '/');
  for (const bad of ['.slice', 'a--b.slice', '-a.slice', 'a-.slice', 'a/b.slice', 'system', 'slice']) {
    t.throws(() => expandSlice(bad), { message: `invalid slice name: ${bad}` }, bad);
  }
});

t.test('cgroupsPath "slice:prefix:name" names the scope; empty means system.slice:runts:<id>', async (t) => {
  t.same(placeUnit(undefined, 'c1'), { slice: 'system.slice', unit: 'runts-c1.scope', slicePath: '/system.slice' });
  t.same(placeUnit('', 'c1'), { slice: 'system.slice', unit: 'runts-c1.scope', slicePath: '/system.slice' });
  t.same(placeUnit('machine-pod.slice:cri-containerd:abc', 'c1'), {
    slice: 'machine-pod.slice', unit: 'cri-containerd-abc.scope', slicePath: '/machine.slice/machine-pod.slice',
  });
  t.same(placeUnit(':libpod:abc', 'c1').slice, 'system.slice', 'an empty slice is the default one');
  t.equal(placeUnit('system.slice:x:pod.slice', 'c1').unit, 'pod.slice', 'a name ending in .slice is a slice unit');
  t.throws(() => placeUnit('/a/b', 'c1'), /expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/a\/b" instead/);
  t.throws(() => placeUnit('a:b:c:d', 'c1'), /expected cgroupsPath to be of format/);
  t.throws(() => placeUnit('system.slice:p:', 'c1'), /names no unit/);
  t.throws(() => placeUnit('system.slice:p:a/../b', 'c1'), /invalid systemd unit name "p-a\/..\/b.scope"/, 'no path tricks through the name');
  t.throws(() => placeUnit('system.slice:p q:n', 'c1'), /invalid systemd unit name/);
});

t.test('the unit directories: v2 below the mount, v1 below PID 1’s cgroup minus init.scope', async (t) => {
  const place = placeUnit('machine-pod.slice:p:n', 'x');
  t.equal(unifiedUnitDir('/sys/fs/cgroup', place), '/sys/fs/cgroup/machine.slice/machine-pod.slice/p-n.scope');
  t.equal(v1UnitDir('/sys/fs/cgroup/memory', '/init.scope', place), '/sys/fs/cgroup/memory/machine.slice/machine-pod.slice/p-n.scope');
  t.equal(v1UnitDir('/sys/fs/cgroup/memory', '/', place), '/sys/fs/cgroup/memory/machine.slice/machine-pod.slice/p-n.scope');
  t.equal(v1UnitDir('/sys/fs/cgroup/cpuset', '/lxc/ct1', place), '/sys/fs/cgroup/cpuset/lxc/ct1/machine.slice/machine-pod.slice/p-n.scope');
});

t.test('the unit: a delegated scope in its slice holding the init, with accounting on', async (t) => {
  const scope = byName(unitProperties(placeUnit('machine.slice:p:n', 'x'), 'runts container x', 4242, 'v2'));
  t.same(scope, {
    Description: 'runts container x', Slice: 'machine.slice', Delegate: true, PIDs: [4242], MemoryAccounting: true, CPUAccounting: true,
    IOAccounting: true, TasksAccounting: true, DefaultDependencies: false,
  });
  const v1scope = byName(unitProperties(placeUnit('', 'x'), 'd', 1, 'v1'));
  t.equal(v1scope.BlockIOAccounting, true, 'v1 accounts block io under its v1 name');
  t.notOk('IOAccounting' in v1scope);
  const slice = byName(unitProperties(placeUnit('system.slice:p:pod.slice', 'x'), 'd', 1, 'v2'));
  t.same(slice.Wants, ['system.slice'], 'a slice unit wants its parent instead');
  t.notOk('Slice' in slice || 'Delegate' in slice);
});

t.test('v2 resources become MemoryMax, MemorySwapMax, CPUWeight, CPUQuota…, IO…, TasksMax, AllowedCPUs', async (t) => {
  const props = resourceProperties({
    memory: { limit: 64 << 20, reservation: 32 << 20, swap: 96 << 20 },
    cpu: { shares: 512, quota: 25000, period: 100000, cpus: '0-1,3', mems: '0' },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
    pids: { limit: 77 },
  }, v2);
  t.same(byName(props), {
    MemoryMax: 67108864n, MemoryLow: 33554432n, MemorySwapMax: 33554432n, CPUWeight: 20n, CPUQuotaPeriodUSec: 100000n,
    CPUQuotaPerSecUSec: 250000n, IOWeight: 4950n, IOReadBandwidthMax: [['/dev/block/8:0', 1048576n]], TasksMax: 77n,
    AllowedCPUs: [0b1011], AllowedMemoryNodes: [1],
  });
  t.same(props.map((p) => [p.name, p.type]).filter(([n]) => n === 'AllowedCPUs' || n === 'IOReadBandwidthMax' || n === 'MemoryMax'),
    [['MemoryMax', 't'], ['IOReadBandwidthMax', 'a(st)'], ['AllowedCPUs', 'ay']]);
  const unlimited = byName(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 } }, v2));
  t.same(unlimited, { MemoryMax: UINT64_MAX, MemorySwapMax: UINT64_MAX, TasksMax: UINT64_MAX }, '-1 is infinity, and unlimited memory frees swap too');
  t.same(byName(resourceProperties({ memory: { limit: 1 << 20, swap: 1 << 20 } }, v2)).MemorySwapMax, 0n, 'swap equal to the limit: no swap at all');
  t.throws(() => resourceProperties({ memory: { swap: 1 << 20 } }, v2), /unable to set swap limit without memory limit/);
  t.throws(() => resourceProperties({ memory: { limit: 2 << 20, swap: 1 << 20 } }, v2), /memory\+swap limit should be >= memory limit/);
  t.same(resourceProperties({ pids: { limit: 0 } }, v2), [], 'zero means unset');
});

t.test('v1 resources use the v1 property names', async (t) => {
  t.same(byName(resourceProperties({ memory: { limit: 1 << 20, swap: 2 << 20 }, cpu: { shares: 512 }, blockIO: { weight: 300 }, pids: { limit: 9 } }, v1)), {
    MemoryLimit: 1048576n, CPUShares: 512n, BlockIOWeight: 300n, TasksMax: 9n,
  });
});

t.test('CPUQuotaPerSecUSec rounds up to 10 ms steps; period needs systemd 242, cpusets 244', async (t) => {
  t.same(byName(cpuQuotaProperties(5000, 50000, v2)), { CPUQuotaPeriodUSec: 50000n, CPUQuotaPerSecUSec: 100000n });
  t.same(byName(cpuQuotaProperties(33333, 0, v2)), { CPUQuotaPerSecUSec: 340000n }, '333330 µs/s → 340000');
  t.same(byName(cpuQuotaProperties(-1, 100000, v2)), { CPUQuotaPeriodUSec: 100000n, CPUQuotaPerSecUSec: UINT64_MAX });
  t.same(byName(cpuQuotaProperties(5000, 50000, { layout: 'v2', version: 241 })), { CPUQuotaPerSecUSec: 100000n });
  t.same(cpuQuotaProperties(0, 0, v2), []);
  t.same(resourceProperties({ cpu: { cpus: '1' } }, { layout: 'v2', version: 243 }), []);
});

t.test('rangeToBits: cpu lists as systemd’s little-endian bitmask', async (t) => {
  t.same(rangeToBits('0', 'x'), [1]);
  t.same(rangeToBits('0-3,8', 'x'), [15, 1]);
  t.same(rangeToBits(' 9 , ,1', 'x'), [2, 2], 'spaces and empty elements are allowed, like runc');
  t.throws(() => rangeToBits('', 'resources.CPU.Cpus'), /resources.CPU.Cpus="" conversion error: empty value/);
  t.throws(() => rangeToBits('3-1', 'x'), /invalid range: 3-1/);
  t.throws(() => rangeToBits('a', 'x'), /invalid number "a"/);
});

t.test('unified keys systemd knows become properties (the cgroups.bats unified case)', async (t) => {
  t.same(byName(unifiedProperties({
    'memory.min': '131072', 'memory.low': '524288', 'memory.high': '5242880', 'memory.max': '10485760', 'memory.swap.max': '20971520',
    'pids.max': '99', 'cpu.max': '10000 100000', 'cpu.weight': '42', 'memory.oom.group': '1', 'io.weight': 'default 100',
  }, v2)), {
    CPUQuotaPeriodUSec: 100000n, CPUQuotaPerSecUSec: 100000n, CPUWeight: 42n, MemoryHigh: 5242880n, MemoryLow: 524288n,
    MemoryMax: 10485760n, MemoryMin: 131072n, MemorySwapMax: 20971520n, TasksMax: 99n,
  });
  t.same(byName(unifiedProperties({ 'memory.max': 'max', 'cpu.max': 'max' }, v2)), {
    CPUQuotaPeriodUSec: 100000n, CPUQuotaPerSecUSec: UINT64_MAX, MemoryMax: UINT64_MAX,
  });
  t.throws(() => unifiedProperties({ 'memory.max': '1G' }, v2), /unified resource "memory.max" value conversion error: "1G"/);
  t.throws(() => unifiedProperties({ '../x': '1' }, v2), /must be a file name/);
  t.throws(() => unifiedProperties({ cpu: '1' }, v2), /CONTROLLER.PARAMETER/);
  const both = byName(resourceProperties({ cpu: { shares: 3333 }, unified: { 'cpu.weight': '42' } }, v2));
  t.equal(both.CPUWeight, 42n, 'unified comes last and wins, as in cgroupfs');
});

const PROC_DEVICES = 'Character devices:\n  1 mem\n  5 /dev/tty\n  5 /dev/console\n136 pts\n\nBlock devices:\n  8 sd\n259 blkext\n';

t.test('device rules become DevicePolicy=strict and DeviceAllow entries systemd understands', async (t) => {
  const props = deviceProperties(containerDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: -1 as unknown as number, access: 'r' }]), { ...v2, procDevices: PROC_DEVICES });
  t.same(props.map((p) => p.name), ['DevicePolicy', 'DeviceAllow', 'DeviceAllow'], 'the list is emptied, then filled');
  t.equal(props[0].value, 'strict');
  t.same(props[2].value, [
    ['block-*', 'm'], ['block-sd', 'r'], ['char-*', 'm'], ['/dev/char/1:3', 'rwm'], ['/dev/char/1:5', 'rwm'], ['/dev/char/1:7', 'rwm'],
    ['/dev/char/1:8', 'rwm'], ['/dev/char/1:9', 'rwm'], ['/dev/char/5:0', 'rwm'], ['/dev/char/5:2', 'rwm'], ['char-pts', 'rwm'],
  ]);
  t.equal(props[2].type, 'a(ss)');
  t.same(byName(deviceProperties(containerDeviceRules([{ allow: true, access: 'rwm' }]), v2)), { DevicePolicy: 'auto', DeviceAllow: [] }, 'allow-all');
  const warnings: string[] = [];
  const deny = deviceProperties(containerDeviceRules([{ allow: true, access: 'rwm' }, { allow: false, type: 'c', major: 10, minor: 200, access: 'rwm' }]), { ...v2, warn: (m) => warnings.push(m) });
  t.same(byName(deny), { DevicePolicy: 'strict', DeviceAllow: [] }, 'a deny list cannot be told to systemd: deny-all there');
  t.match(warnings[0], /does not support deny device rules/);
});

t.test('org.systemd.property.* annotations become properties; …Sec becomes …USec', async (t) => {
  t.same(annotationProperties({
    'org.systemd.property.TimeoutStopSec': 'uint64 7',
    'org.systemd.property.CollectMode': "'inactive-or-failed'",
    'org.systemd.property.CPUWeight': '@t 42',
    'org.systemd.property.RuntimeMaxSec': '1.5',
    'other.annotation': 'x',
  }), [
    { name: 'CPUWeight', type: 't', value: 42n },
    { name: 'CollectMode', type: 's', value: 'inactive-or-failed' },
    { name: 'RuntimeMaxUSec', type: 't', value: 1500000n },
    { name: 'TimeoutStopUSec', type: 't', value: 7000000n },
  ]);
  t.throws(() => annotationProperties({ 'org.systemd.property.Ab': 'true' }), /annotation org.systemd.property.Ab name incorrect: too short/);
  t.throws(() => annotationProperties({ 'org.systemd.property.Foo_Bar': 'true' }), /non-alphabetic/);
  t.throws(() => annotationProperties({ 'org.systemd.property.TimeoutStopSec': "'x'" }), /value parse error: not a number/);
  t.throws(() => annotationProperties({ 'org.systemd.property.Foo': 'uint64 -1' }), /value parse error: -1 is out of range for t/);
  t.same(parseGVariant("['a', 'b']"), { type: 'as', value: ['a', 'b'] });
  t.same(parseGVariant('@au []'), { type: 'au', value: [] });
  t.same(parseGVariant('false'), { type: 'b', value: false });
  t.same(parseGVariant('12'), { type: 'i', value: 12 }, 'an untyped integer is an int32, as godbus parses it');
});

t.test("systemd's Version string to a number", async (t) => {
  t.equal(systemdVersionNumber('252.19-1~deb12u1'), 252);
  t.equal(systemdVersionNumber('v245.4-1.fc32'), 245);
  t.equal(systemdVersionNumber('"245"'), 245);
  t.equal(systemdVersionNumber('unknown'), -1);
});
