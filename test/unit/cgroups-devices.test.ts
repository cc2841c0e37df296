import t from 'tap';
import {
  DEFAULT_ALLOWED, DeviceState, containerDeviceRules, deviceProgram, encodeProgram, formatRule, rulesFromSpec, runProgram,
  v1Transition, type DeviceRule,
} from '../../src/cgroups/devices';

const deny = (type: 'a' | 'b' | 'c', major = -1, minor = -1, access = 'rwm'): DeviceRule => ({ type, major, minor, access, allow: false });
const allow = (type: 'a' | 'b' | 'c', major = -1, minor = -1, access = 'rwm'): DeviceRule => ({ type, major, minor, access, allow: true });

t.test('spec rules: defaults for type, major, minor; access checked', async (t) => {
  t.same(rulesFromSpec([{ allow: false, access: 'rwm' }]), [deny('a')]);
  t.same(rulesFromSpec([{ allow: true, type: 'c', major: 1, access: 'wr' }]), [allow('c', 1, -1, 'rw')]);
  t.throws(() => rulesFromSpec([{ allow: true, type: 'c' }]), /device access at 0 field cannot be empty/);
  t.throws(() => rulesFromSpec([{ allow: true, type: 'x', access: 'r' }]), /invalid cgroup device type "x"/);
  t.same(rulesFromSpec([{ allow: false, type: 'c', major: 1, minor: 11, access: 'rwa' }]), [deny('c', 1, 11, 'rw')], 'other letters ignored, as runc does');
  t.throws(() => rulesFromSpec([{ allow: true, type: 'c', access: 'x' }]), /invalid device access "x": none of r, w and m/);
});

t.test('container rules append runc defaults, minus those linux.devices lists', async (t) => {
  const all = containerDeviceRules([{ allow: false, access: 'rwm' }]);
  t.equal(all.length, 1 + DEFAULT_ALLOWED.length);
  t.same(all[0], deny('a'));
  t.ok(all.some((r) => r.type === 'c' && r.major === 1 && r.minor === 3));
  t.notOk(all.some((r) => r.type === 'c' && r.major === 10 && r.minor === 200), 'no /dev/net/tun by default');
  const withNull = containerDeviceRules([], [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }]);
  t.notOk(withNull.some((r) => r.major === 1 && r.minor === 3), 'the config entry replaces the default /dev/null');
  t.ok(withNull.some((r) => r.major === 1 && r.minor === 5));
});

t.test('emulator: ordered rules, merges, resets', async (t) => {
  const s = DeviceState.fromRules([deny('a'), allow('c', 1, 3, 'r'), allow('c', 1, 3, 'w'), allow('c', 1, 5), deny('c', 1, 5, 'm')]);
  t.equal(s.defaultAllow, false);
  t.same(s.sortedExceptions().map((e) => formatRule(e)), ['c 1:3 rw', 'c 1:5 rw']);
  const reset = DeviceState.fromRules([deny('a'), allow('c', 1, 3), allow('a')]);
  t.equal(reset.defaultAllow, true);
  t.equal(reset.exceptions.size, 0);
  const black = DeviceState.fromRules([allow('a'), deny('b', 8, 0, 'w')]);
  t.same(black.sortedExceptions().map((e) => formatRule(e)), ['b 8:0 w']);
  // Empty list: deny-all, as runc's emulator starts.
  t.equal(DeviceState.fromRules([]).defaultAllow, false);
});

t.test('emulator refuses punching a hole in a wildcard exception', async (t) => {
  t.throws(() => DeviceState.fromRules([deny('a'), allow('c', -1, -1, 'm'), deny('c', 5, 1, 'rwm')]), /cannot punch a hole/);
  t.doesNotThrow(() => DeviceState.fromRules([deny('a'), allow('c', -1, -1, 'm'), deny('c', 5, 1, 'rw')]));
});

t.test('devices.list parsing', async (t) => {
  const allowAll = DeviceState.fromList('a *:* rwm\n');
  t.equal(allowAll.defaultAllow, true);
  const list = DeviceState.fromList('c 1:3 rwm\nc 136:* rwm\nb *:* m\n');
  t.equal(list.defaultAllow, false);
  t.same(list.sortedExceptions().map((e) => formatRule(e)), ['b *:* m', 'c 1:3 rwm', 'c 136:* rwm']);
});

t.test('v1 transition from a fresh (allow-all) cgroup resets first', async (t) => {
  const target = DeviceState.fromRules(containerDeviceRules([{ allow: false, access: 'rwm' }]));
  const writes = v1Transition(DeviceState.fromList('a *:* rwm'), target);
  t.same(writes[0], { file: 'devices.deny', value: 'a' });
  t.ok(writes.slice(1).every((w) => w.file === 'devices.allow'));
  t.ok(writes.some((w) => w.value === 'c 1:3 rwm'));
  t.ok(writes.some((w) => w.value === 'c 136:* rwm'));
});

t.test('v1 transition between deny-all states writes only the differences', async (t) => {
  const current = DeviceState.fromList('c 1:3 rwm\nc 1:5 rwm\nc 4:1 rw\n');
  const target = DeviceState.fromRules([deny('a'), allow('c', 1, 3), allow('c', 4, 1, 'r'), allow('b', 8, 0, 'r')]);
  t.same(v1Transition(current, target), [
    { file: 'devices.deny', value: 'c 1:5 rwm' },
    { file: 'devices.deny', value: 'c 4:1 w' },
    { file: 'devices.allow', value: 'b 8:0 r' },
  ]);
  t.same(v1Transition(current, DeviceState.fromList('c 1:3 rwm\nc 1:5 rwm\nc 4:1 rw\n')), [], 'no writes when equal');
});

t.test('v1 transition to an allow-all target', async (t) => {
  const target = DeviceState.fromRules([allow('a'), deny('c', 5, 1)]);
  t.same(v1Transition(DeviceState.fromList('c 1:3 rwm'), target), [
    { file: 'devices.allow', value: 'a' },
    { file: 'devices.deny', value: 'c 5:1 rwm' },
  ]);
});

t.test('eBPF program: same verdicts as the emulated rules', async (t) => {
  const rules = containerDeviceRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'b', major: 8, minor: 0, access: 'r' }]);
  const prog = deviceProgram(rules);
  const verdict = (type: 'c' | 'b', major: number, minor: number, access: string): number => runProgram(prog, { type, major, minor, access });
  t.equal(verdict('c', 1, 3, 'rw'), 1, '/dev/null rw allowed');
  t.equal(verdict('c', 1, 3, 'm'), 1);
  t.equal(verdict('c', 4, 1, 'r'), 0, 'tty1 denied');
  t.equal(verdict('c', 4, 1, 'm'), 1, 'mknod of any char device allowed');
  t.equal(verdict('c', 136, 7, 'rw'), 1, 'pts');
  t.equal(verdict('b', 8, 0, 'r'), 1, 'sda read');
  t.equal(verdict('b', 8, 0, 'w'), 0, 'sda write denied');
  t.equal(verdict('b', 8, 0, 'rw'), 0, 'read+write needs both');
  t.equal(verdict('b', 8, 1, 'r'), 0);

  const black = deviceProgram([allow('a'), deny('c', 1, 3, 'w')]);
  t.equal(runProgram(black, { type: 'c', major: 1, minor: 3, access: 'r' }), 1);
  t.equal(runProgram(black, { type: 'c', major: 1, minor: 3, access: 'w' }), 0);
  t.equal(runProgram(black, { type: 'b', major: 7, minor: 0, access: 'rwm' }), 1);

  const none = deviceProgram([]);
  t.same(none.length, 8, 'prologue + default deny');
  t.equal(runProgram(none, { type: 'c', major: 1, minor: 3, access: 'r' }), 0);
});

t.test('eBPF encoding: struct bpf_insn little-endian layout', async (t) => {
  const buf = encodeProgram(deviceProgram([deny('a'), allow('c', 1, 3)]));
  t.equal(buf.length % 8, 0);
  // First instruction: r2 = *(u32 *)(r1 + 0) → code 0x61, dst 2 | src 1 << 4.
  t.same([...buf.subarray(0, 8)], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
  // Last: exit.
  t.equal(buf[buf.length - 8], 0x95);
  // The block for c 1:3 rwm: jne r2, 2 (+4); jne r4, 1 (+3); jne r5, 3 (+2); r0 = 1; exit.
  const block = buf.subarray(6 * 8, 11 * 8);
  t.same([block[0], block[1], block.readInt16LE(2), block.readInt32LE(4)], [0x55, 0x02, 4, 2]);
  t.same([block[8], block[9], block.readInt16LE(10), block.readInt32LE(12)], [0x55, 0x04, 3, 1]);
});
