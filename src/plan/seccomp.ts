/**
 * linux.seccomp → the filter plan runts-init builds with libseccomp (native/init/seccomp.cc).
 * The runtime's half of SCMP_ACT_NOTIFY (handing the listener fd to linux.seccomp.listenerPath)
 * is src/container/seccompAgent.ts.
 *
 * Policy follows runc (libcontainer/specconv SetupSeccomp + libcontainer/seccomp):
 * - no defaultAction and no syscalls: seccomp stays off;
 * - SCMP_ACT_KILL is KILL_THREAD; ERRNO and TRACE without errnoRet return EPERM;
 * - one rule per syscall name; a rule whose action equals the default action is dropped;
 * - several conditions on the same argument index: one rule per condition (they OR) instead of
 *   one rule with all of them (they AND), as libseccomp refuses two comparisons of one argument;
 * - syscall names libseccomp does not know are ignored (the init skips them);
 * - flags: none given (the key absent) means SPEC_ALLOW when the kernel has it; given flags must
 *   be supported; TSYNC means nothing for a single-threaded init;
 * - runc's -ENOSYS stub: unless the default action lets calls through (ALLOW, LOG, TRACE),
 *   syscalls numbered above the highest one the profile names (per listed architecture) fail
 *   with ENOSYS rather than the default action, so a libc probing a syscall newer than the
 *   profile falls back instead of seeing EPERM.
 * Names (actions, operators, architectures, flags) are checked by config/semantic.ts first.
 */
import { RuntimeError } from '../base/errors';
import type { LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompOperator, Spec } from '../config/types';

/** libseccomp's action values (<seccomp.h>), which are the kernel's SECCOMP_RET_* values. */
export const SCMP_ACT = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0x00000000,
  TRAP: 0x00030000,
  NOTIFY: 0x7fc00000,
  ERRNO: 0x00050000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;

const EPERM = 1;
const ENOSYS = 38;

/** enum scmp_compare. */
export const SCMP_CMP: Record<LinuxSeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** SECCOMP_FILTER_FLAG_* bits of seccomp(2). */
export const SECCOMP_FILTER_FLAG = {
  TSYNC: 1 << 0,
  LOG: 1 << 1,
  SPEC_ALLOW: 1 << 2,
  NEW_LISTENER: 1 << 3,
  WAIT_KILLABLE_RECV: 1 << 5,
} as const;

/**
 * SCMP_ARCH_* → the name libseccomp's seccomp_arch_resolve_name() takes ("native": the build's
 * own architecture). Only what the linked libseccomp (2.5) knows: the later ports that
 * config/semantic.ts accepts as names (loongarch64, m68k, sh) are refused at plan time.
 */
export const SECCOMP_ARCH_NAMES: Record<string, string> = {
  SCMP_ARCH_NATIVE: 'native',
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
};

export interface PlanSeccompArg {
  index: number;
  op: number;
  /** uint64 as decimal strings: JS numbers stop being exact at 2^53. */
  value: string;
  valueTwo: string;
}

/** One block of linux.seccomp.syscalls: the same action and conditions for each of its names. */
export interface PlanSeccompRule {
  names: string[];
  action: number;
  /**
   * One seccomp_rule_add_array() per set and name; every condition of a set must hold. [[]]: an
   * unconditional rule; []: no rule (the action is the default one), the names only count for
   * the -ENOSYS stub.
   */
  conditionSets: PlanSeccompArg[][];
}

export interface PlanSeccomp {
  defaultAction: number;
  /** seccomp_arch_resolve_name() names to add beside the native one. */
  architectures: string[];
  /** SECCOMP_FILTER_FLAG_* the config asks for: the init fails when the kernel lacks one. */
  flags: number;
  /** Flags taken only when the kernel has them (runc's default SPEC_ALLOW). */
  flagsIfSupported: number;
  /** A rule uses SCMP_ACT_NOTIFY: load with NEW_LISTENER and hand the fd to the runtime. */
  notify: boolean;
  /** libseccomp's binary-tree optimisation, as runc turns it on for long profiles. */
  optimize: boolean;
  rules: PlanSeccompRule[];
  /**
   * Prefix runc's -ENOSYS stub: per listed architecture, syscalls above the highest one named in
   * `rules` get ENOSYS.
   */
  enosysStub: boolean;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** runc turns on libseccomp's binary tree above this many syscall rules. */
const OPTIMIZE_ABOVE = 32;

function fail(pointer: string, message: string): never {
  throw new RuntimeError(`config.json: ${pointer}: ${message}`);
}

/** The libseccomp value of an action; errnoRet keeps its low 16 bits, as runc's int16 cast. */
export function actionValue(action: LinuxSeccompAction, errnoRet: number | undefined, pointer: string): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return SCMP_ACT.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return SCMP_ACT.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return SCMP_ACT.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (SCMP_ACT.ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (SCMP_ACT.TRACE | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return SCMP_ACT.ALLOW;
    case 'SCMP_ACT_LOG':
      return SCMP_ACT.LOG;
    case 'SCMP_ACT_NOTIFY':
      return SCMP_ACT.NOTIFY;
    default:
      return fail(pointer, `string ${String(action)} is not a valid action for seccomp`);
  }
}

/** A uint64 from JSON: JSON.parse already rounded values above 2^53; clamp instead of wrapping. */
function uint64(value: number | undefined): string {
  if (value === undefined) return '0';
  const big = BigInt(Math.trunc(value));
  return (big > UINT64_MAX ? UINT64_MAX : big < 0n ? 0n : big).toString();
}

function planArg(arg: LinuxSeccompArg, pointer: string): PlanSeccompArg {
  const op = SCMP_CMP[arg.op];
  if (op === undefined) fail(`${pointer}/op`, `string ${arg.op} is not a valid operator for seccomp`);
  return { index: arg.index, op, value: uint64(arg.value), valueTwo: uint64(arg.valueTwo) };
}

/** runc's rule: conditions on distinct arguments AND in one rule; repeats split into one rule each. */
function conditionGroups(args: PlanSeccompArg[]): PlanSeccompArg[][] {
  if (args.length === 0) return [[]];
  const indexes = new Set(args.map((a) => a.index));
  return indexes.size === args.length ? [args] : args.map((a) => [a]);
}

function planFlags(seccomp: LinuxSeccomp, notify: boolean): { flags: number; flagsIfSupported: number } {
  if (seccomp.flags === undefined) return { flags: 0, flagsIfSupported: SECCOMP_FILTER_FLAG.SPEC_ALLOW };
  let flags = 0;
  for (const flag of seccomp.flags) {
    switch (flag) {
      case 'SECCOMP_FILTER_FLAG_LOG':
        flags |= SECCOMP_FILTER_FLAG.LOG;
        break;
      case 'SECCOMP_FILTER_FLAG_SPEC_ALLOW':
        flags |= SECCOMP_FILTER_FLAG.SPEC_ALLOW;
        break;
      case 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV':
        // Only means something for a filter with a listener; the kernel refuses it alone.
        if (notify) flags |= SECCOMP_FILTER_FLAG.WAIT_KILLABLE_RECV;
        break;
      case 'SECCOMP_FILTER_FLAG_TSYNC':
        // runc: the init is single-threaded at this point; TSYNC would change nothing.
        break;
      default:
        fail('/linux/seccomp/flags', `string ${String(flag)} is not a valid flag for seccomp`);
    }
  }
  return { flags, flagsIfSupported: 0 };
}

/** The seccomp section of the init plan, or null when the container gets no filter. */
export function planSeccomp(spec: Spec): PlanSeccomp | null {
  const seccomp = spec.linux?.seccomp;
  if (!seccomp) return null;
  const syscalls = seccomp.syscalls ?? [];
  if (!seccomp.defaultAction && syscalls.length === 0) return null;
  const base = '/linux/seccomp';

  const defaultAction = actionValue(seccomp.defaultAction, seccomp.defaultErrnoRet, `${base}/defaultAction`);
  if (defaultAction === SCMP_ACT.NOTIFY) fail(`${base}/defaultAction`, 'SCMP_ACT_NOTIFY cannot be used as default action');

  const architectures = (seccomp.architectures ?? []).map((arch, i) => {
    const name = SECCOMP_ARCH_NAMES[arch];
    if (name === undefined) fail(`${base}/architectures/${i}`, `string ${arch} is not a valid arch for seccomp (not known to the linked libseccomp)`);
    return name;
  });

  let notify = false;
  let count = 0;
  const rules: PlanSeccompRule[] = syscalls.map((call, i) => {
    const pointer = `${base}/syscalls/${i}`;
    const action = actionValue(call.action, call.errnoRet, `${pointer}/action`);
    const args = (call.args ?? []).map((arg, j) => planArg(arg, `${pointer}/args/${j}`));
    call.names.forEach((name, j) => {
      if (name === '') fail(`${pointer}/names/${j}`, 'empty string is not a valid syscall');
      if (action === SCMP_ACT.NOTIFY && name === 'write') fail(`${pointer}/names/${j}`, 'SCMP_ACT_NOTIFY cannot be used for the write syscall');
    });
    count += call.names.length;
    if (action === SCMP_ACT.NOTIFY && call.names.length > 0) notify = true;
    // libseccomp refuses a rule that repeats the default action; runc drops it silently.
    return { names: call.names, action, conditionSets: action === defaultAction ? [] : conditionGroups(args) };
  });
  if (notify && !seccomp.listenerPath) fail(`${base}/listenerPath`, 'SCMP_ACT_NOTIFY requires a listenerPath');

  const permissiveDefault = ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(seccomp.defaultAction);
  const defaultIsEnosys = defaultAction === ((SCMP_ACT.ERRNO | ENOSYS) >>> 0);
  return {
    defaultAction,
    architectures,
    ...planFlags(seccomp, notify),
    notify,
    optimize: count > OPTIMIZE_ABOVE,
    rules,
    enosysStub: !permissiveDefault && !defaultIsEnosys && architectures.length > 0,
  };
}
