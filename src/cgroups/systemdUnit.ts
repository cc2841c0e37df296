/**
 * The systemd cgroup driver's policy, as runc 1.1's libcontainer/cgroups/systemd has it: which
 * unit a container gets (`cgroupsPath` "slice:prefix:name" → `<prefix>-<name>.scope` in that
 * slice; default `system.slice:runts:<id>`), where its cgroup directories are, and which unit
 * properties (with their D-Bus types) express its resources. No D-Bus here: systemd.ts sends
 * what this file builds.
 */
import fs = require('fs');
import path = require('path');
import { RuntimeError } from '../base/errors';
import type { LinuxResources } from '../config/types';
import { DeviceState, type DeviceRule } from './devices';
import { blkioToIoWeight, sharesToWeight, swapToV2 } from './v2';

/** A unit property as StartTransientUnit / SetUnitProperties take it: name, D-Bus type, value. */
export interface UnitProperty {
  name: string;
  type: string;
  value: unknown;
}

export interface UnitPlace {
  /** The slice the unit goes into ("system.slice" when the path names none). */
  slice: string;
  /** "runts-<id>.scope", or the slice itself when the name ends in ".slice". */
  unit: string;
  /** The slice's cgroup path below a hierarchy's root, e.g. "/machine.slice/machine-pod.slice". */
  slicePath: string;
}

const DEFAULT_SLICE = 'system.slice';
const DEFAULT_PREFIX = 'runts';
const UINT64_MAX = (1n << 64n) - 1n;
/** The kernel's default cpu quota period (µs), v1 and v2 alike. */
const DEFAULT_CPU_PERIOD = 100000;

/** systemd's unit name characters (unit_name_is_valid): letters, digits and ":-_.\\@". */
const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+$/;

/** runc's ExpandSlice: "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice"; "-.slice" → "/". */
export function expandSlice(slice: string): string {
  const suffix = '.slice';
  if (slice.length < suffix.length || !slice.endsWith(suffix) || slice.includes('/')) throw new RuntimeError(`invalid slice name: ${slice}`);
  const name = slice.slice(0, -suffix.length);
  if (name === '-') return '/';
  let out = '';
  let prefix = '';
  for (const component of name.split('-')) {
    if (component === '') throw new RuntimeError(`invalid slice name: ${slice}`);
    out += `/${prefix}${component}${suffix}`;
    prefix += `${component}-`;
  }
  return out;
}

/** The unit a name gets: a scope unless the name asks for a slice (runc's getUnitName). */
export function unitName(prefix: string, name: string): string {
  return name.endsWith('.slice') ? name : `${prefix}-${name}.scope`;
}

/** `linux.cgroupsPath` for --systemd-cgroup: empty → system.slice:runts:<id>, else "slice:prefix:name". */
export function placeUnit(cgroupsPath: string | undefined, id: string): UnitPlace {
  let slice = '';
  let prefix = DEFAULT_PREFIX;
  let name = id;
  if (cgroupsPath !== undefined && cgroupsPath !== '') {
    const parts = cgroupsPath.split(':');
    if (parts.length !== 3) {
      throw new RuntimeError(`expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)} instead`);
    }
    [slice, prefix, name] = parts;
  }
  if (name === '') throw new RuntimeError(`cgroupsPath ${JSON.stringify(cgroupsPath)} names no unit`);
  const unit = unitName(prefix, name);
  if (!UNIT_NAME.test(unit) || unit.length > 255) throw new RuntimeError(`invalid systemd unit name ${JSON.stringify(unit)}`);
  slice = slice || DEFAULT_SLICE;
  return { slice, unit, slicePath: expandSlice(slice) };
}

/** The unit's cgroup v2 directory: the mount, the slice path, the unit (runc's initPath). */
export function unifiedUnitDir(mountpoint: string, place: UnitPlace): string {
  return path.join(mountpoint, place.slicePath, place.unit);
}

/**
 * A v1 hierarchy's directory for the unit: below the cgroup PID 1 is in (minus "init.scope",
 * where systemd ≥ 226 puts itself), then slice and unit (runc's getSubsystemPath).
 */
export function v1UnitDir(mountpoint: string, pid1Cgroup: string, place: UnitPlace): string {
  let init = path.posix.normalize(pid1Cgroup || '/');
  if (init.endsWith('init.scope')) init = init.slice(0, -'init.scope'.length);
  return path.join(mountpoint, init, place.slicePath, place.unit);
}

// ---------------------------------------------------------------- properties

export type Layout = 'v2' | 'v1';

export interface PropertyContext {
  layout: Layout;
  /** systemd's version (Manager.Version's leading number), -1 when unknown. */
  version: number;
  /** Receives what cannot be expressed to systemd (it is still written to cgroupfs). */
  warn?: (message: string) => void;
  /** /proc/devices text, for "c 136:*"-style rules (read when absent). */
  procDevices?: string;
}

const prop = (name: string, type: string, value: unknown): UnitProperty => ({ name, type, value });
const u64 = (n: number): bigint => (n === -1 ? UINT64_MAX : BigInt(n));

/** systemd's Version string ("252.19-1~deb12u1", "v245.4-1.fc32") → 252 (runc's systemdVersionAtoi). */
export function systemdVersionNumber(version: string): number {
  const m = /^\d+/.exec(version.replace(/^["v]+/, ''));
  return m ? Number(m[0]) : -1;
}

/** What StartTransientUnit gets besides the resources (runc's Apply). */
export function unitProperties(place: UnitPlace, description: string, pid: number, layout: Layout): UnitProperty[] {
  const out = [prop('Description', 's', description)];
  if (place.unit.endsWith('.slice')) out.push(prop('Wants', 'as', [place.slice]));
  else out.push(prop('Slice', 's', place.slice), prop('Delegate', 'b', true));
  out.push(prop('PIDs', 'au', [pid]));
  out.push(
    prop('MemoryAccounting', 'b', true),
    prop('CPUAccounting', 'b', true),
    prop(layout === 'v2' ? 'IOAccounting' : 'BlockIOAccounting', 'b', true),
    prop('TasksAccounting', 'b', true),
    prop('DefaultDependencies', 'b', false),
  );
  return out;
}

/**
 * The unit properties for `r` (runc's genV1/genV2ResourcesProperties): the limits systemd
 * manages itself, so that it keeps them when it rewrites the cgroup (daemon-reload, another
 * property change). Everything else is written to cgroupfs by the fs drivers afterwards.
 * `devices` is the full ordered rule list (create only; update never changes devices).
 */
export function resourceProperties(r: LinuxResources, ctx: PropertyContext, devices?: DeviceRule[]): UnitProperty[] {
  const out: UnitProperty[] = devices ? deviceProperties(devices, ctx) : [];
  const mem = r.memory ?? {};
  const cpu = r.cpu ?? {};
  if (ctx.layout === 'v2') {
    if (mem.limit) out.push(prop('MemoryMax', 't', u64(mem.limit)));
    if (mem.reservation) out.push(prop('MemoryLow', 't', u64(mem.reservation)));
    const swap = swapToV2(mem.swap ?? 0, mem.limit ?? 0);
    // runc skips a zero swap limit (swap == limit); systemd would then put "max" back on its
    // next rewrite, so it is sent too.
    if (swap !== undefined) out.push(prop('MemorySwapMax', 't', swap === 'max' ? UINT64_MAX : BigInt(swap)));
    if (cpu.shares) out.push(prop('CPUWeight', 't', BigInt(sharesToWeight(cpu.shares))));
  } else {
    if (mem.limit) out.push(prop('MemoryLimit', 't', u64(mem.limit)));
    if (cpu.shares) out.push(prop('CPUShares', 't', BigInt(cpu.shares)));
  }
  out.push(...cpuQuotaProperties(cpu.quota ?? 0, cpu.period ?? 0, ctx));
  const blk = r.blockIO;
  if (ctx.layout === 'v2') out.push(...ioProperties(blk));
  else if (blk?.weight) out.push(prop('BlockIOWeight', 't', BigInt(blk.weight)));
  if (r.pids?.limit !== undefined && (r.pids.limit > 0 || r.pids.limit === -1)) out.push(prop('TasksMax', 't', u64(r.pids.limit)));
  out.push(...cpusetProperties(cpu.cpus, cpu.mems, ctx));
  if (ctx.layout === 'v2' && r.unified) out.push(...unifiedProperties(r.unified, ctx));
  return out;
}

/**
 * CPUQuotaPerSecUSec (and CPUQuotaPeriodUSec, systemd ≥ 242) for a quota/period pair, as runc
 * computes it: µs per second, rounded up to systemd's 1% (10 ms) steps; a zero or negative
 * quota with a period means unlimited.
 */
export function cpuQuotaProperties(quota: number, period: number, ctx: PropertyContext): UnitProperty[] {
  const out: UnitProperty[] = [];
  if (period !== 0) {
    if (ctx.version >= 242) out.push(prop('CPUQuotaPeriodUSec', 't', BigInt(period)));
  }
  if (quota !== 0 || period !== 0) {
    let perSec = UINT64_MAX;
    if (quota > 0) {
      let us = (BigInt(quota) * 1000000n) / BigInt(period || DEFAULT_CPU_PERIOD);
      if (us % 10000n !== 0n) us = (us / 10000n + 1n) * 10000n;
      perSec = us;
    }
    out.push(prop('CPUQuotaPerSecUSec', 't', perSec));
  }
  return out;
}

function cpusetProperties(cpus: string | undefined, mems: string | undefined, ctx: PropertyContext): UnitProperty[] {
  if (!cpus && !mems) return [];
  // AllowedCPUs / AllowedMemoryNodes need systemd ≥ 244; the fs driver writes cpuset anyway.
  if (ctx.version < 244) return [];
  const out: UnitProperty[] = [];
  if (cpus) out.push(prop('AllowedCPUs', 'ay', rangeToBits(cpus, 'resources.CPU.Cpus')));
  if (mems) out.push(prop('AllowedMemoryNodes', 'ay', rangeToBits(mems, 'resources.CPU.Mems')));
  return out;
}

/** IOWeight and the per-device io limits (by /dev/block/MAJ:MIN, which systemd resolves). */
function ioProperties(blk: LinuxResources['blockIO']): UnitProperty[] {
  if (!blk) return [];
  const out: UnitProperty[] = [];
  if (blk.weight) out.push(prop('IOWeight', 't', BigInt(blkioToIoWeight(blk.weight))));
  const device = (d: { major: number; minor: number }): string => `/dev/block/${d.major}:${d.minor}`;
  const weights = (blk.weightDevice ?? []).filter((d) => d.weight).map((d) => [device(d), BigInt(blkioToIoWeight(d.weight!))]);
  if (weights.length > 0) out.push(prop('IODeviceWeight', 'a(st)', weights));
  const limits: [keyof NonNullable<LinuxResources['blockIO']>, string][] = [
    ['throttleReadBpsDevice', 'IOReadBandwidthMax'], ['throttleWriteBpsDevice', 'IOWriteBandwidthMax'],
    ['throttleReadIOPSDevice', 'IOReadIOPSMax'], ['throttleWriteIOPSDevice', 'IOWriteIOPSMax'],
  ];
  for (const [field, name] of limits) {
    const list = (blk[field] as { major: number; minor: number; rate: number }[] | undefined) ?? [];
    if (list.length > 0) out.push(prop(name, 'a(st)', list.map((d) => [device(d), BigInt(d.rate)])));
  }
  return out;
}

/** runc's RangeToBits: "0-3,8" → the little-endian bitmask bytes systemd's AllowedCPUs takes. */
export function rangeToBits(list: string, what: string): number[] {
  const bits: number[] = [];
  const set = (n: number): void => {
    const byte = Math.floor(n / 8);
    while (bits.length <= byte) bits.push(0);
    bits[byte] |= 1 << (n % 8);
  };
  const num = (s: string): number => {
    if (!/^\d+$/.test(s) || Number(s) > 0xffffffff) throw new RuntimeError(`${what}=${JSON.stringify(list)} conversion error: invalid number ${JSON.stringify(s)}`);
    return Number(s);
  };
  for (const raw of list.split(',')) {
    const r = raw.trim();
    if (r === '') continue;
    const dash = r.indexOf('-');
    if (dash >= 0) {
      const start = num(r.slice(0, dash));
      const end = num(r.slice(dash + 1));
      if (start > end) throw new RuntimeError(`${what}=${JSON.stringify(list)} conversion error: invalid range: ${r}`);
      if (end - start > 65536) throw new RuntimeError(`${what}=${JSON.stringify(list)} conversion error: range too large: ${r}`);
      for (let i = start; i <= end; i++) set(i);
    } else set(num(r));
  }
  while (bits.length > 0 && bits[bits.length - 1] === 0) bits.pop();
  if (bits.length === 0) throw new RuntimeError(`${what}=${JSON.stringify(list)} conversion error: empty value`);
  return bits;
}

/** runc's unifiedResToSystemdProps: the cgroupfs keys systemd has properties for; the rest only go to cgroupfs. */
export function unifiedProperties(unified: Record<string, string>, ctx: PropertyContext): UnitProperty[] {
  const out: UnitProperty[] = [];
  const memoryNames: Record<string, string> = {
    'memory.high': 'MemoryHigh', 'memory.low': 'MemoryLow', 'memory.min': 'MemoryMin', 'memory.max': 'MemoryMax', 'memory.swap.max': 'MemorySwapMax',
  };
  for (const key of Object.keys(unified).sort()) {
    if (key.includes('/')) throw new RuntimeError(`unified resource ${JSON.stringify(key)} must be a file name (no slashes)`);
    if (key.split('.').length < 2) throw new RuntimeError(`unified resource ${JSON.stringify(key)} must be in the form CONTROLLER.PARAMETER`);
    const v = unified[key].trim();
    const uint = (): bigint => {
      if (v === 'max') return UINT64_MAX;
      if (!/^\d+$/.test(v) || BigInt(v) > UINT64_MAX) throw new RuntimeError(`unified resource ${JSON.stringify(key)} value conversion error: ${JSON.stringify(v)}`);
      return BigInt(v);
    };
    if (key === 'cpu.max') {
      const f = v.split(/\s+/);
      if (f.length < 1 || f.length > 2 || f[0] === '') throw new RuntimeError(`unified resource ${JSON.stringify(key)} value invalid: ${JSON.stringify(v)}`);
      const quota = f[0] === 'max' ? 0 : Number(f[0]);
      const period = f.length === 2 ? Number(f[1]) : DEFAULT_CPU_PERIOD;
      if (!Number.isSafeInteger(quota) || !Number.isSafeInteger(period) || period < 0) {
        throw new RuntimeError(`unified resource ${JSON.stringify(key)} value conversion error: ${JSON.stringify(v)}`);
      }
      out.push(...cpuQuotaProperties(quota, period, ctx));
    } else if (key === 'cpu.weight') {
      if (v === 'max') throw new RuntimeError(`unified resource ${JSON.stringify(key)} value conversion error: ${JSON.stringify(v)}`);
      out.push(prop('CPUWeight', 't', uint()));
    } else if (key === 'cpuset.cpus' || key === 'cpuset.mems') {
      if (ctx.version >= 244) out.push(prop(key === 'cpuset.cpus' ? 'AllowedCPUs' : 'AllowedMemoryNodes', 'ay', rangeToBits(v, `unified resource ${JSON.stringify(key)}`)));
    } else if (memoryNames[key]) {
      out.push(prop(memoryNames[key], 't', uint()));
    } else if (key === 'pids.max') {
      out.push(prop('TasksMax', 't', uint()));
    }
  }
  return out;
}

// ---------------------------------------------------------------- devices

/**
 * DevicePolicy/DeviceAllow for the rules (runc's generateDeviceProperties): "strict" with the
 * allowed devices — /dev/{char,block}/M:m for a device, "char-<group>" from /proc/devices for
 * a whole major, "char-*" for all. systemd has no deny list: an allow-all-but list becomes a
 * deny-all one here (the eBPF program / devices cgroup runts writes next holds the real rules).
 */
export function deviceProperties(rules: DeviceRule[], ctx: PropertyContext): UnitProperty[] {
  const state = DeviceState.fromRules(rules);
  if (state.defaultAllow) {
    if (state.exceptions.size === 0) return [prop('DevicePolicy', 's', 'auto'), prop('DeviceAllow', 'a(ss)', [])];
    ctx.warn?.('systemd does not support deny device rules: it gets a deny-all list, the cgroup gets the real rules');
    return [prop('DevicePolicy', 's', 'strict'), prop('DeviceAllow', 'a(ss)', [])];
  }
  const allow: [string, string][] = [];
  for (const e of state.sortedExceptions()) {
    const kind = e.type === 'b' ? 'block' : 'char';
    let entry: string;
    if (e.major === -1) {
      if (e.minor !== -1) {
        ctx.warn?.(`systemd does not support '*:n' device rules: ${e.type} *:${e.minor} ${e.access} is only in the cgroup`);
        continue;
      }
      entry = `${kind}-*`;
    } else if (e.minor === -1) {
      const group = deviceGroup(e.type, e.major, ctx);
      if (!group) {
        ctx.warn?.(`no device group for ${e.type} ${e.major}:* in /proc/devices: the rule is only in the cgroup`);
        continue;
      }
      entry = group;
    } else {
      entry = `/dev/${kind}/${e.major}:${e.minor}`;
      // systemd < 240 stat()s the path and drops the rule when it is missing.
      if (ctx.version >= 0 && ctx.version < 240 && !fs.existsSync(entry)) continue;
    }
    allow.push([entry, e.access]);
  }
  return [prop('DevicePolicy', 's', 'strict'), prop('DeviceAllow', 'a(ss)', []), prop('DeviceAllow', 'a(ss)', allow)];
}

function deviceGroup(type: 'a' | 'b' | 'c', major: number, ctx: PropertyContext): string | undefined {
  const text = ctx.procDevices ?? fs.readFileSync('/proc/devices', 'utf8');
  let section: 'b' | 'c' | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === 'Character devices:') section = 'c';
    else if (line === 'Block devices:') section = 'b';
    else if (section === type) {
      const m = /^(\d+)\s+(\S+)$/.exec(line);
      if (m && Number(m[1]) === major) return `${type === 'b' ? 'block' : 'char'}-${m[2]}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- annotations

const ANNOTATION_PREFIX = 'org.systemd.property.';

/**
 * Extra unit properties from `org.systemd.property.<Name>` annotations (runc's initSystemdProps):
 * the value in GVariant text form ("uint64 123", "true", "'text'", "[1, 2]"); a `…Sec` name
 * whose letter before "Sec" is lowercase is sent as `…USec` in microseconds.
 */
export function annotationProperties(annotations: Record<string, string> | undefined): UnitProperty[] {
  const out: UnitProperty[] = [];
  for (const key of Object.keys(annotations ?? {}).sort()) {
    if (!key.startsWith(ANNOTATION_PREFIX)) continue;
    let name = key.slice(ANNOTATION_PREFIX.length);
    if (name.length < 3 || !/^[A-Za-z]+$/.test(name)) throw new RuntimeError(`annotation ${key} name incorrect: ${name.length < 3 ? 'too short' : 'contains non-alphabetic character'}`);
    const text = annotations![key];
    let value: { type: string; value: unknown };
    try {
      value = parseGVariant(text);
    } catch (err) {
      throw new RuntimeError(`annotation ${key}=${text} value parse error: ${(err as Error).message}`);
    }
    const trimmed = name.slice(0, -3);
    if (name.endsWith('Sec') && /[a-z]$/.test(trimmed)) {
      if (!'ynqiuxtd'.includes(value.type)) throw new RuntimeError(`annotation ${key}=${text} value parse error: not a number`);
      name = `${trimmed}USec`;
      const n = value.value;
      value = { type: 't', value: typeof n === 'bigint' ? n * 1000000n : BigInt(Math.trunc(Number(n) * 1000000)) };
    }
    out.push(prop(name, value.type, value.value));
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  byte: 'y', int16: 'n', uint16: 'q', int32: 'i', uint32: 'u', int64: 'x', uint64: 't', double: 'd', boolean: 'b',
};

/** A GVariant text value (the subset annotations use): typed or plain numbers, booleans, strings, arrays. */
export function parseGVariant(text: string): { type: string; value: unknown } {
  const p = { s: text, i: 0 };
  const v = gvValue(p, undefined);
  skipSpace(p);
  if (p.i !== p.s.length) throw new Error(`unexpected ${JSON.stringify(p.s.slice(p.i))}`);
  return v;
}

function skipSpace(p: { s: string; i: number }): void {
  while (p.i < p.s.length && /\s/.test(p.s[p.i])) p.i++;
}

function gvValue(p: { s: string; i: number }, want: string | undefined): { type: string; value: unknown } {
  skipSpace(p);
  const rest = p.s.slice(p.i);
  const typed = /^(byte|int16|uint16|int32|uint32|int64|uint64|double|boolean)\s+/.exec(rest) ?? /^@([ynqiuxtdbs]|a[ynqiuxtdbs])\s+/.exec(rest);
  if (typed) {
    p.i += typed[0].length;
    return gvValue(p, TYPE_WORDS[typed[1]] ?? typed[1]);
  }
  const c = p.s[p.i];
  if (c === '[') {
    p.i++;
    const items: unknown[] = [];
    let element = want?.startsWith('a') ? want.slice(1) : undefined;
    skipSpace(p);
    if (p.s[p.i] === ']') {
      p.i++;
      if (!element) throw new Error('an empty array needs a type (e.g. @as [])');
      return { type: `a${element}`, value: items };
    }
    for (;;) {
      const item = gvValue(p, element);
      element = element ?? item.type;
      if (item.type !== element) throw new Error(`array of ${element} holds a ${item.type}`);
      items.push(item.value);
      skipSpace(p);
      if (p.s[p.i] === ',') p.i++;
      else if (p.s[p.i] === ']') {
        p.i++;
        return { type: `a${element}`, value: items };
      } else throw new Error('expected "," or "]"');
    }
  }
  if (c === "'" || c === '"') {
    let out = '';
    for (p.i++; p.i < p.s.length && p.s[p.i] !== c; p.i++) {
      if (p.s[p.i] === '\\' && p.i + 1 < p.s.length) p.i++;
      out += p.s[p.i];
    }
    if (p.s[p.i] !== c) throw new Error('unterminated string');
    p.i++;
    if (want && want !== 's') throw new Error(`a string is not a ${want}`);
    return { type: 's', value: out };
  }
  const word = /^(true|false)\b/.exec(rest);
  if (word) {
    p.i += word[0].length;
    if (want && want !== 'b') throw new Error(`${word[1]} is not a ${want}`);
    return { type: 'b', value: word[1] === 'true' };
  }
  const num = /^[-+]?(\d+(\.\d*)?([eE][-+]?\d+)?|\.\d+)/.exec(rest);
  if (num) {
    p.i += num[0].length;
    const float = /[.eE]/.test(num[0]);
    const type = want ?? (float ? 'd' : 'i');
    if (type === 'd') return { type, value: Number(num[0]) };
    if (float || !'ynqiuxt'.includes(type)) throw new Error(`${num[0]} is not a ${type}`);
    const big = BigInt(num[0]);
    const ranges: Record<string, [bigint, bigint]> = {
      y: [0n, 255n], n: [-32768n, 32767n], q: [0n, 65535n], i: [-(2n ** 31n), 2n ** 31n - 1n], u: [0n, 2n ** 32n - 1n],
      x: [-(2n ** 63n), 2n ** 63n - 1n], t: [0n, UINT64_MAX],
    };
    const [lo, hi] = ranges[type];
    if (big < lo || big > hi) throw new Error(`${num[0]} is out of range for ${type}`);
    return { type, value: type === 'x' || type === 't' ? big : Number(big) };
  }
  throw new Error(`cannot parse ${JSON.stringify(rest)}`);
}

/** The files below a cgroup that delegation hands over (/sys/kernel/cgroup/delegate, else the kernel's classic three). */
export function delegatedFiles(): string[] {
  try {
    const listed = fs.readFileSync('/sys/kernel/cgroup/delegate', 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    if (listed.length > 0) return listed;
  } catch {
    /* an older kernel: no list */
  }
  return ['cgroup.procs', 'cgroup.subtree_control', 'cgroup.threads'];
}
