/**
 * Device access policy, shared by both drivers:
 *   - which rules a container gets (its `linux.resources.devices`, then runc's default
 *     allowed devices, minus defaults whose path the config lists in `linux.devices`);
 *   - the effective state those ordered rules produce, modelled on the kernel's v1 devices
 *     controller (a default — allow-all or deny-all — plus exceptions with r/w/m access);
 *   - v1: the writes to devices.allow / devices.deny that move a cgroup from its current state
 *     (read from devices.list) to that state without opening a window;
 *   - v2: the BPF_PROG_TYPE_CGROUP_DEVICE program that enforces the same state.
 * The native side only loads and attaches the instructions built here.
 */
import { RuntimeError } from '../base/errors';
import type { LinuxDevice, LinuxDeviceCgroup } from '../config/types';

export type DeviceType = 'a' | 'c' | 'b';

/** One rule; major/minor -1 is the wildcard "*". */
export interface DeviceRule {
  type: DeviceType;
  major: number;
  minor: number;
  /** Some of "rwm", each at most once. */
  access: string;
  allow: boolean;
}

const WILDCARD = -1;

function rule(type: DeviceType, major: number, minor: number, access: string, allow = true): DeviceRule {
  return { type, major, minor, access, allow };
}

/** runc's AllowedDevices with their paths (a config listing the path replaces the default). */
export const DEFAULT_ALLOWED: readonly { path?: string; rule: DeviceRule }[] = [
  { rule: rule('c', WILDCARD, WILDCARD, 'm') },
  { rule: rule('b', WILDCARD, WILDCARD, 'm') },
  { path: '/dev/null', rule: rule('c', 1, 3, 'rwm') },
  { path: '/dev/random', rule: rule('c', 1, 8, 'rwm') },
  { path: '/dev/full', rule: rule('c', 1, 7, 'rwm') },
  { path: '/dev/tty', rule: rule('c', 5, 0, 'rwm') },
  { path: '/dev/zero', rule: rule('c', 1, 5, 'rwm') },
  { path: '/dev/urandom', rule: rule('c', 1, 9, 'rwm') },
  // /dev/pts/* and /dev/ptmx
  { rule: rule('c', 136, WILDCARD, 'rwm') },
  { rule: rule('c', 5, 2, 'rwm') },
];

/** The config's rules in runc's terms: type defaults to "a", major/minor to "*". */
export function rulesFromSpec(devices: LinuxDeviceCgroup[] | undefined): DeviceRule[] {
  return (devices ?? []).map((d, i) => {
    const type = d.type === undefined || d.type === '' ? 'a' : d.type;
    if (type !== 'a' && type !== 'b' && type !== 'c') throw new RuntimeError(`invalid cgroup device type ${JSON.stringify(d.type)}`);
    if (d.access === undefined || d.access === '') throw new RuntimeError(`device access at ${i} field cannot be empty`);
    return rule(type, d.major ?? WILDCARD, d.minor ?? WILDCARD, normalizeAccess(d.access), d.allow);
  });
}

/** The full ordered rule list for a new container (runc's specconv CreateCgroupConfig). */
export function containerDeviceRules(devices: LinuxDeviceCgroup[] | undefined, linuxDevices?: LinuxDevice[]): DeviceRule[] {
  const listed = new Set((linuxDevices ?? []).map((d) => d.path));
  const defaults = DEFAULT_ALLOWED.filter((d) => d.path === undefined || !listed.has(d.path)).map((d) => ({ ...d.rule }));
  return [...rulesFromSpec(devices), ...defaults];
}

/**
 * The r, w and m of `access`, in that order. Other letters are ignored, as runc's device
 * permissions ignore them (its own tests write "rwa"); a rule left with none of the three
 * would mean nothing and is refused.
 */
function normalizeAccess(access: string): string {
  let out = '';
  for (const ch of 'rwm') if (access.includes(ch)) out += ch;
  if (out === '' && access !== '') throw new RuntimeError(`invalid device access ${JSON.stringify(access)}: none of r, w and m`);
  return out;
}

function union(a: string, b: string): string {
  return normalizeAccess(a + b);
}

function minus(a: string, b: string): string {
  let out = '';
  for (const ch of a) if (!b.includes(ch)) out += ch;
  return out;
}

function key(type: DeviceType, major: number, minor: number): string {
  return `${type} ${major === WILDCARD ? '*' : major}:${minor === WILDCARD ? '*' : minor}`;
}

/** "c 1:3 rwm", the kernel's v1 syntax. */
export function formatRule(r: Pick<DeviceRule, 'type' | 'major' | 'minor' | 'access'>): string {
  return `${key(r.type, r.major, r.minor)} ${r.access}`;
}

interface Exception {
  type: DeviceType;
  major: number;
  minor: number;
  access: string;
}

/**
 * The kernel's v1 devices model: a default and a set of exceptions. Rules apply in order as
 * the kernel applies writes to devices.allow / devices.deny; type "a" resets everything.
 */
export class DeviceState {
  defaultAllow = false;
  readonly exceptions = new Map<string, Exception>();

  static fromRules(rules: DeviceRule[]): DeviceState {
    const s = new DeviceState();
    for (const r of rules) s.apply(r);
    return s;
  }

  /** The state devices.list shows: "a *:* rwm" means allow-all (its deny exceptions are not listed). */
  static fromList(list: string): DeviceState {
    const s = new DeviceState();
    for (const line of list.split('\n')) {
      const m = /^([abc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(line.trim());
      if (!m) continue;
      const num = (x: string): number => (x === '*' ? WILDCARD : Number(x));
      s.apply(rule(m[1] as DeviceType, num(m[2]), num(m[3]), m[4], true));
    }
    return s;
  }

  apply(r: DeviceRule): void {
    if (r.type === 'a') {
      this.defaultAllow = r.allow;
      this.exceptions.clear();
      return;
    }
    // A rule with the default's action removes access from exceptions; the other one adds.
    if (r.allow === this.defaultAllow) this.remove(r);
    else this.add(r);
  }

  private add(r: DeviceRule): void {
    const k = key(r.type, r.major, r.minor);
    const old = this.exceptions.get(k);
    this.exceptions.set(k, { type: r.type, major: r.major, minor: r.minor, access: union(old?.access ?? '', r.access) });
  }

  private remove(r: DeviceRule): void {
    // The kernel silently ignores removing part of a wildcard exception; runc refuses instead
    // of letting a user believe a hole was punched. So do we.
    const wider: [number, number][] = [[WILDCARD, r.minor], [r.major, WILDCARD], [WILDCARD, WILDCARD]];
    for (const [major, minor] of wider) {
      if (major === r.major && minor === r.minor) continue;
      const w = this.exceptions.get(key(r.type, major, minor));
      if (w && minus(w.access, minus(w.access, r.access)) !== '') {
        throw new RuntimeError(`device rule ${formatRule(r)} (${r.allow ? 'allow' : 'deny'}) cannot punch a hole in the wildcard rule ${formatRule(w)}`);
      }
    }
    const k = key(r.type, r.major, r.minor);
    const old = this.exceptions.get(k);
    if (!old) return;
    const left = minus(old.access, r.access);
    if (left === '') this.exceptions.delete(k);
    else old.access = left;
  }

  /** Exceptions in a stable order (type, major, minor; wildcards first). */
  sortedExceptions(): Exception[] {
    return [...this.exceptions.values()].sort(byDevice);
  }

  equals(other: DeviceState): boolean {
    if (this.defaultAllow !== other.defaultAllow || this.exceptions.size !== other.exceptions.size) return false;
    for (const [k, e] of this.exceptions) if (other.exceptions.get(k)?.access !== e.access) return false;
    return true;
  }
}

/**
 * Type, major, minor order. Plain code-unit comparison: localeCompare would start ICU's
 * collator, ~10 ms on every create.
 */
function byDevice(a: Exception, b: Exception): number {
  return (a.type < b.type ? -1 : a.type > b.type ? 1 : 0) || a.major - b.major || a.minor - b.minor;
}

/** One write of a v1 transition. */
export interface DeviceWrite {
  file: 'devices.allow' | 'devices.deny';
  value: string;
}

/**
 * The v1 writes that turn `current` into `target`. A reset ("a" to devices.deny or
 * devices.allow) is written only when the default changes or the current state is an
 * allow-all one (whose deny exceptions devices.list does not show); otherwise only the
 * differences are written, so a running container never sees a deny-all window.
 */
export function v1Transition(current: DeviceState, target: DeviceState): DeviceWrite[] {
  const writes: DeviceWrite[] = [];
  const addFile = target.defaultAllow ? 'devices.deny' : 'devices.allow';
  const dropFile = target.defaultAllow ? 'devices.allow' : 'devices.deny';
  let old: Map<string, Exception> = current.exceptions;
  if (current.defaultAllow || current.defaultAllow !== target.defaultAllow) {
    writes.push({ file: target.defaultAllow ? 'devices.allow' : 'devices.deny', value: 'a' });
    old = new Map();
  }
  for (const e of [...old.values()].sort(byDevice)) {
    const dropped = minus(e.access, target.exceptions.get(key(e.type, e.major, e.minor))?.access ?? '');
    if (dropped) writes.push({ file: dropFile, value: formatRule({ ...e, access: dropped }) });
  }
  for (const e of target.sortedExceptions()) {
    const gained = minus(e.access, old.get(key(e.type, e.major, e.minor))?.access ?? '');
    if (gained) writes.push({ file: addFile, value: formatRule({ ...e, access: gained }) });
  }
  return writes;
}

// ---------------------------------------------------------------- eBPF (cgroup v2)

// struct bpf_cgroup_dev_ctx { u32 access_type /* (access << 16) | type */; u32 major; u32 minor; }
const BPF_DEVCG_ACC_MKNOD = 1;
const BPF_DEVCG_ACC_READ = 2;
const BPF_DEVCG_ACC_WRITE = 4;
const BPF_DEVCG_DEV_BLOCK = 1;
const BPF_DEVCG_DEV_CHAR = 2;

// Opcodes (linux/bpf_common.h, linux/bpf.h).
const LDX_MEM_W = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU_AND_K = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU_RSH_K = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU_MOV_K = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU_MOV_X = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_JNE_X = 0x5d; // BPF_JMP | BPF_JNE | BPF_X
const JMP_EXIT = 0x95; // BPF_JMP | BPF_EXIT

export interface BpfInsn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

const R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5;

function insn(code: number, dst: number, src: number, off: number, imm: number): BpfInsn {
  return { code, dst, src, off, imm };
}

function accessBits(access: string): number {
  let bits = 0;
  if (access.includes('r')) bits |= BPF_DEVCG_ACC_READ;
  if (access.includes('w')) bits |= BPF_DEVCG_ACC_WRITE;
  if (access.includes('m')) bits |= BPF_DEVCG_ACC_MKNOD;
  return bits;
}

/**
 * The device program for the state `rules` produce: load type, access, major, minor from the
 * context; one block per exception, each falling through to the next on a mismatch and
 * returning the exception's verdict on a match; then the default verdict. Exceptions all
 * carry the action opposite to the default, so their order does not matter.
 */
export function deviceProgram(rules: DeviceRule[]): BpfInsn[] {
  const state = DeviceState.fromRules(rules);
  const out: BpfInsn[] = [
    insn(LDX_MEM_W, R2, R1, 0, 0),
    insn(ALU_AND_K, R2, 0, 0, 0xffff),
    insn(LDX_MEM_W, R3, R1, 0, 0),
    insn(ALU_RSH_K, R3, 0, 0, 16),
    insn(LDX_MEM_W, R4, R1, 4, 0),
    insn(LDX_MEM_W, R5, R1, 8, 0),
  ];
  const verdict = state.defaultAllow ? 0 : 1;
  for (const e of state.sortedExceptions()) {
    const bits = accessBits(e.access);
    const block: BpfInsn[] = [];
    // Offsets are patched below once the block length is known: "-1" marks "to the next block".
    block.push(insn(JMP_JNE_K, R2, 0, -1, e.type === 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK));
    if (bits !== (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
      // Every requested access must be among the exception's: (R3 & bits) == R3.
      block.push(insn(ALU_MOV_X, R1, R3, 0, 0));
      block.push(insn(ALU_AND_K, R1, 0, 0, bits));
      block.push(insn(JMP_JNE_X, R1, R3, -1, 0));
    }
    if (e.major !== WILDCARD) block.push(insn(JMP_JNE_K, R4, 0, -1, e.major | 0));
    if (e.minor !== WILDCARD) block.push(insn(JMP_JNE_K, R5, 0, -1, e.minor | 0));
    block.push(insn(ALU_MOV_K, R0, 0, 0, verdict));
    block.push(insn(JMP_EXIT, 0, 0, 0, 0));
    block.forEach((ins, i) => {
      if ((ins.code === JMP_JNE_K || ins.code === JMP_JNE_X) && ins.off === -1) ins.off = block.length - (i + 1);
    });
    out.push(...block);
  }
  out.push(insn(ALU_MOV_K, R0, 0, 0, state.defaultAllow ? 1 : 0));
  out.push(insn(JMP_EXIT, 0, 0, 0, 0));
  return out;
}

/** struct bpf_insn[] as the kernel reads it (little-endian: dst in the low nibble). */
export function encodeProgram(insns: BpfInsn[]): Buffer {
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((ins, i) => {
    buf.writeUInt8(ins.code, i * 8);
    buf.writeUInt8(((ins.src & 0xf) << 4) | (ins.dst & 0xf), i * 8 + 1);
    buf.writeInt16LE(ins.off, i * 8 + 2);
    buf.writeInt32LE(ins.imm | 0, i * 8 + 4);
  });
  return buf;
}

/** Evaluates a program the way the kernel would, for unit tests: returns 1 (allow) or 0. */
export function runProgram(insns: BpfInsn[], ctx: { type: 'c' | 'b'; access: string; major: number; minor: number }): number {
  const mem = [((accessBits(ctx.access) << 16) | (ctx.type === 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK)) >>> 0, ctx.major >>> 0, ctx.minor >>> 0];
  const r = new Array<number>(11).fill(0);
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, dst, src, off, imm } = insns[pc];
    switch (code) {
      case LDX_MEM_W: r[dst] = mem[off / 4]; break;
      case ALU_AND_K: r[dst] = (r[dst] & imm) >>> 0; break;
      case ALU_RSH_K: r[dst] = r[dst] >>> imm; break;
      case ALU_MOV_K: r[dst] = imm >>> 0; break;
      case ALU_MOV_X: r[dst] = r[src] >>> 0; break;
      case JMP_JNE_K: if (r[dst] !== imm >>> 0) pc += off; break;
      case JMP_JNE_X: if (r[dst] !== r[src]) pc += off; break;
      case JMP_EXIT: return r[R0];
      default: throw new Error(`unknown opcode 0x${code.toString(16)}`);
    }
  }
  throw new Error('program fell off its end');
}
