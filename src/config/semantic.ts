/**
 * Semantic checks on a config.json that already passed the JSON Schema: the rules a schema
 * cannot express (cross-field, host state, Linux name lists). Messages follow runc 1.1's
 * libcontainer/configs/validate and specconv where runc has one, always under a JSON pointer.
 *
 * Deliberate leniency, as runc: a relative mount destination is accepted and means relative
 * to "/" (config.md deprecates it); a missing process.user means uid 0 / gid 0.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDirectory } from '../base/files';
import type {
  LinuxIDMapping,
  LinuxNamespaceType,
  LinuxResources,
  LinuxSeccomp,
  Mount,
  POSIXRlimit,
  Process,
  Scheduler,
  Spec,
} from './types';
import { CAPABILITY_NAMES } from '../plan/capabilities';

export interface Problem {
  /** JSON pointer into the checked document, "/" for the root. */
  pointer: string;
  message: string;
}

/** Linux capabilities, index = capability number (CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40). */
export const CAPABILITIES: readonly string[] = CAPABILITY_NAMES;

/** Linux resource limits, index = RLIMIT_* number from <sys/resource.h>. */
export const RLIMITS: readonly string[] = [
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS',
  'RLIMIT_NPROC', 'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS',
  'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE', 'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
];

export const SECCOMP_ACTIONS: readonly string[] = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
];

/** libseccomp architecture names (2.5 list plus the later loongarch/m68k/sh ports). */
export const SECCOMP_ARCHES: readonly string[] = [
  'SCMP_ARCH_NATIVE', 'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
];

export const SECCOMP_FLAGS: readonly string[] = [
  'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
];

export const SECCOMP_OPERATORS: readonly string[] = [
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
];

/** IPC sysctls namespaced by an ipc namespace (besides the fs.mqueue.* prefix). */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall',
  'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

const TIME_NS_CLOCKS = new Set(['monotonic', 'boottime']);

/** A syscall has six argument registers. */
const SECCOMP_MAX_ARG_INDEX = 5;

/** uint64(-1): runc (and the clients behind it) send it for "swappiness not set". */
const SWAPPINESS_UNSET = 2 ** 64;

/** IFNAMSIZ - 1. */
const MAX_IFNAME_LENGTH = 15;

// ---------------------------------------------------------------- plumbing

/** Appends one reference token to a JSON pointer (RFC 6901 escaping). */
export function pointerJoin(base: string, ...tokens: (string | number)[]): string {
  let out = base === '/' ? '' : base;
  for (const token of tokens) out += '/' + String(token).replace(/~/g, '~0').replace(/\//g, '~1');
  return out === '' ? '/' : out;
}

class Findings {
  readonly problems: Problem[] = [];

  add(pointer: string, message: string): void {
    this.problems.push({ pointer: pointer === '' ? '/' : pointer, message });
  }
}

function requireAbsolute(out: Findings, pointer: string, value: string): void {
  if (!path.isAbsolute(value)) out.add(pointer, `must be an absolute path, got ${JSON.stringify(value)}`);
}

/** Namespaces of the config: type → path ('' when the runtime must create a new one). */
type NamespaceTable = Map<LinuxNamespaceType, string>;

function namespaceTable(spec: Spec): NamespaceTable {
  const table: NamespaceTable = new Map();
  for (const ns of spec.linux?.namespaces ?? []) if (!table.has(ns.type)) table.set(ns.type, ns.path ?? '');
  return table;
}

const isNew = (table: NamespaceTable, type: LinuxNamespaceType) => table.get(type) === '';

// ---------------------------------------------------------------- process

export function checkProcess(proc: Process, base: string): Problem[] {
  const out = new Findings();
  requireAbsolute(out, pointerJoin(base, 'cwd'), proc.cwd);
  if (proc.args?.[0] === '') out.add(pointerJoin(base, 'args', 0), 'must not be empty');
  checkEnv(out, pointerJoin(base, 'env'), proc.env ?? []);
  checkRlimits(out, pointerJoin(base, 'rlimits'), proc.rlimits ?? []);
  checkCapabilities(out, pointerJoin(base, 'capabilities'), proc);
  if (proc.scheduler) checkScheduler(out, pointerJoin(base, 'scheduler'), proc.scheduler);
  return out.problems;
}

function checkEnv(out: Findings, base: string, env: string[]): void {
  env.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    if (eq < 0) out.add(pointerJoin(base, i), `invalid environment variable ${JSON.stringify(entry)}: missing '='`);
    else if (eq === 0) out.add(pointerJoin(base, i), `invalid environment variable ${JSON.stringify(entry)}: name cannot be empty`);
  });
}

function checkRlimits(out: Findings, base: string, rlimits: POSIXRlimit[]): void {
  const seen = new Set<string>();
  rlimits.forEach((limit, i) => {
    if (!RLIMITS.includes(limit.type)) out.add(pointerJoin(base, i, 'type'), `wrong rlimit value: ${limit.type}`);
    else if (seen.has(limit.type)) out.add(pointerJoin(base, i, 'type'), `duplicated rlimit ${limit.type}`);
    seen.add(limit.type);
    if (limit.soft > limit.hard) out.add(pointerJoin(base, i), `soft limit ${limit.soft} exceeds hard limit ${limit.hard}`);
  });
}

const CAPABILITY_SETS = ['bounding', 'effective', 'inheritable', 'permitted', 'ambient'] as const;

function checkCapabilities(out: Findings, base: string, proc: Process): void {
  for (const set of CAPABILITY_SETS) {
    (proc.capabilities?.[set] ?? []).forEach((name, i) => {
      if (!CAPABILITIES.includes(name)) out.add(pointerJoin(base, set, i), `unknown capability ${JSON.stringify(name)}`);
    });
  }
}

/** The sched_setattr(2) constraints, as runc's validator applies them. */
function checkScheduler(out: Findings, base: string, s: Scheduler): void {
  const nice = s.nice ?? 0;
  if (nice < -20 || nice > 19) out.add(pointerJoin(base, 'nice'), `invalid scheduler.nice: ${nice} (want -20 to 19)`);
  const realtime = s.policy === 'SCHED_FIFO' || s.policy === 'SCHED_RR';
  if ((s.priority ?? 0) !== 0 && !realtime) {
    out.add(pointerJoin(base, 'priority'), 'scheduler.priority can only be specified for SCHED_FIFO or SCHED_RR policy');
  }
  const deadlineFields = (['runtime', 'deadline', 'period'] as const).filter((k) => (s[k] ?? 0) !== 0);
  if (deadlineFields.length > 0 && s.policy !== 'SCHED_DEADLINE') {
    out.add(pointerJoin(base, deadlineFields[0]), 'scheduler runtime/deadline/period can only be specified for SCHED_DEADLINE policy');
  }
}

// ---------------------------------------------------------------- resources

export function checkResources(res: LinuxResources, base: string): Problem[] {
  const out = new Findings();
  (res.blockIO?.weightDevice ?? []).forEach((dev, i) => {
    if (dev.weight === undefined && dev.leafWeight === undefined) {
      out.add(pointerJoin(base, 'blockIO', 'weightDevice', i), 'must specify at least one of weight or leafWeight');
    }
  });
  for (const [device, limits] of Object.entries(res.rdma ?? {})) {
    if (limits.hcaHandles === undefined && limits.hcaObjects === undefined) {
      out.add(pointerJoin(base, 'rdma', device), 'must specify at least one of hcaHandles or hcaObjects');
    }
  }
  const swappiness = res.memory?.swappiness;
  if (swappiness !== undefined && swappiness > 100 && swappiness !== SWAPPINESS_UNSET) {
    out.add(pointerJoin(base, 'memory', 'swappiness'), `invalid value ${swappiness}, valid memory swappiness range is 0-100`);
  }
  const cpu = res.cpu;
  if (cpu?.burst !== undefined && cpu.quota !== undefined && cpu.quota > 0 && cpu.burst > cpu.quota) {
    out.add(pointerJoin(base, 'cpu', 'burst'), `cpu burst ${cpu.burst} exceeds cpu quota ${cpu.quota}`);
  }
  return out.problems;
}

// ---------------------------------------------------------------- whole config

/** All semantic problems of a schema-valid config; `bundle` is the absolute bundle directory. */
export function checkSpec(spec: Spec, bundle: string): Problem[] {
  const out = new Findings();
  const namespaces = namespaceTable(spec);
  checkRootfs(out, spec, bundle);
  if (spec.process) out.problems.push(...checkProcess(spec.process, '/process'));
  else out.add('/', "must have required property 'process'");
  checkUts(out, spec, namespaces);
  checkMounts(out, spec, namespaces);
  checkHooks(out, spec);
  checkAnnotations(out, spec);
  checkNamespaces(out, spec);
  checkUserNamespace(out, spec, namespaces);
  checkTimeNamespace(out, spec, namespaces);
  checkSysctl(out, spec, namespaces);
  checkRestrictedPaths(out, spec, namespaces);
  checkDevices(out, spec);
  if (spec.linux?.seccomp) checkSeccomp(out, spec.linux.seccomp);
  if (spec.linux?.resources) out.problems.push(...checkResources(spec.linux.resources, '/linux/resources'));
  checkIntelRdt(out, spec);
  checkNetDevices(out, spec, namespaces);
  checkMemoryPolicy(out, spec);
  return out.problems;
}

/** runc refuses a config without root; the directory must exist (config.md "Root"). */
function checkRootfs(out: Findings, spec: Spec, bundle: string): void {
  if (!spec.root) return out.add('/', "must have required property 'root'");
  if (spec.root.path === '') return out.add('/root/path', 'must not be empty');
  const rootfs = path.resolve(bundle, spec.root.path);
  if (isDirectory(rootfs)) return;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(rootfs);
  } catch (err) {
    return out.add('/root/path', `invalid rootfs: stat ${rootfs}: ${describeErrno(err)}`);
  }
  if (!stat.isDirectory()) out.add('/root/path', `invalid rootfs: ${rootfs} is not a directory`);
}

function describeErrno(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'ENOTDIR') return 'not a directory';
  if (code === 'EACCES') return 'permission denied';
  return code ?? String(err);
}

function checkUts(out: Findings, spec: Spec, namespaces: NamespaceTable): void {
  if (namespaces.has('uts')) return;
  if (spec.hostname) out.add('/hostname', 'unable to set hostname without a private UTS namespace');
  if (spec.domainname) out.add('/domainname', 'unable to set domainname without a private UTS namespace');
}

function checkMounts(out: Findings, spec: Spec, namespaces: NamespaceTable): void {
  (spec.mounts ?? []).forEach((mount, i) => {
    const base = pointerJoin('/mounts', i);
    if (mount.destination === '') out.add(pointerJoin(base, 'destination'), 'must not be empty');
    checkIdmapMount(out, base, mount, namespaces.has('user'));
  });
}

/** config.md: idmap/ridmap and per-mount uidMappings/gidMappings. */
function checkIdmapMount(out: Findings, base: string, mount: Mount, hasUserNs: boolean): void {
  const options = mount.options ?? [];
  const hasUid = mount.uidMappings !== undefined;
  const hasGid = mount.gidMappings !== undefined;
  if (hasUid !== hasGid) {
    out.add(pointerJoin(base, hasUid ? 'gidMappings' : 'uidMappings'), 'uidMappings and gidMappings must be specified together');
  }
  if ((hasUid || hasGid) && !options.includes('bind') && !options.includes('rbind')) {
    out.add(base, "gidMappings/uidMappings is supported only for mounts with the option 'bind'");
  }
  const idmapOption = options.findIndex((o) => o === 'idmap' || o === 'ridmap');
  if (idmapOption >= 0 && !hasUid && !hasGid && !hasUserNs) {
    out.add(pointerJoin(base, 'options', idmapOption), `option ${options[idmapOption]} needs uidMappings/gidMappings or a user namespace`);
  } else if (idmapOption >= 0 && mount.type !== 'bind' && !options.includes('bind') && !options.includes('rbind')) {
    out.add(pointerJoin(base, 'options', idmapOption), `option ${options[idmapOption]} is supported only for bind mounts`);
  }
  if (mount.uidMappings) checkMappings(out, pointerJoin(base, 'uidMappings'), mount.uidMappings);
  if (mount.gidMappings) checkMappings(out, pointerJoin(base, 'gidMappings'), mount.gidMappings);
}

const HOOK_STAGES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

function checkHooks(out: Findings, spec: Spec): void {
  for (const stage of HOOK_STAGES) {
    (spec.hooks?.[stage] ?? []).forEach((hook, i) => requireAbsolute(out, pointerJoin('/hooks', stage, i, 'path'), hook.path));
  }
}

function checkAnnotations(out: Findings, spec: Spec): void {
  if (spec.annotations && Object.prototype.hasOwnProperty.call(spec.annotations, '')) {
    out.add('/annotations', 'keys must not be empty');
  }
}

function checkNamespaces(out: Findings, spec: Spec): void {
  const seen = new Set<string>();
  (spec.linux?.namespaces ?? []).forEach((ns, i) => {
    const base = pointerJoin('/linux/namespaces', i);
    if (seen.has(ns.type)) out.add(pointerJoin(base, 'type'), `duplicated namespace ${JSON.stringify(ns.type)}`);
    seen.add(ns.type);
    if (ns.path !== undefined) requireAbsolute(out, pointerJoin(base, 'path'), ns.path);
  });
}

function checkUserNamespace(out: Findings, spec: Spec, namespaces: NamespaceTable): void {
  const linux = spec.linux ?? {};
  const kinds = [
    ['uidMappings', 'uid', linux.uidMappings],
    ['gidMappings', 'gid', linux.gidMappings],
  ] as const;
  for (const [field, kind, mappings] of kinds) {
    const pointer = pointerJoin('/linux', field);
    if (!namespaces.has('user') && mappings !== undefined) {
      out.add(pointer, "user namespace mappings specified, but USER namespace isn't enabled in the config");
    } else if (isNew(namespaces, 'user') && (mappings ?? []).length === 0) {
      out.add(pointer, `user namespaces enabled, but no ${kind} mappings found`);
    }
    if (mappings) checkMappings(out, pointer, mappings);
  }
}

/** The largest valid ID: (uid_t)-1 means "no ID" to the kernel. */
const MAX_ID = 4294967294;

/** [first, last] ID ranges of this process's own user namespace, as the "inside" column of /proc/self/<kind>_map. */
function ownIdRanges(kind: 'uid' | 'gid'): [number, number][] {
  try {
    return fs.readFileSync(`/proc/self/${kind}_map`, 'utf8').trim().split('\n').map((line) => {
      const [inside, , count] = line.trim().split(/\s+/).map(Number);
      return [inside, inside + count - 1] as [number, number];
    });
  } catch {
    return [[0, MAX_ID]];
  }
}

/** Whether [first, last] lies inside the union of `ranges`. */
function covered(first: number, last: number, ranges: [number, number][]): boolean {
  let next = first;
  for (const [lo, hi] of [...ranges].sort((a, b) => a[0] - b[0])) {
    if (lo > next) break;
    if (hi >= next) next = hi + 1;
    if (next > last) return true;
  }
  return next > last;
}

/** The kernel refuses empty ranges and ranges overlapping on either side of the mapping. */
function checkMappings(out: Findings, base: string, mappings: LinuxIDMapping[]): void {
  const kind = /gidMappings$/.test(base) ? 'gid' : 'uid';
  mappings.forEach((m, i) => {
    if (m.size === 0) return out.add(pointerJoin(base, i, 'size'), 'must be at least 1');
    if (m.containerID + m.size - 1 > MAX_ID) {
      return out.add(pointerJoin(base, i), `container IDs ${m.containerID}-${m.containerID + m.size - 1} exceed the ID range (0-${MAX_ID})`);
    }
    if (m.hostID + m.size - 1 > MAX_ID) {
      return out.add(pointerJoin(base, i), `host IDs ${m.hostID}-${m.hostID + m.size - 1} exceed the ID range (0-${MAX_ID})`);
    }
    if (!covered(m.hostID, m.hostID + m.size - 1, ownIdRanges(kind))) {
      return out.add(pointerJoin(base, i), `host IDs ${m.hostID}-${m.hostID + m.size - 1} are not mapped in the runtime's user namespace (/proc/self/${kind}_map)`);
    }
    for (let j = 0; j < i; j++) {
      const other = mappings[j];
      if (rangesOverlap(m.containerID, other.containerID, m.size, other.size)) {
        return out.add(pointerJoin(base, i), `container IDs overlap with ${pointerJoin(base, j)}`);
      }
      if (rangesOverlap(m.hostID, other.hostID, m.size, other.size)) {
        return out.add(pointerJoin(base, i), `host IDs overlap with ${pointerJoin(base, j)}`);
      }
    }
  });
}

function rangesOverlap(startA: number, startB: number, sizeA: number, sizeB: number): boolean {
  return sizeB > 0 && startA < startB + sizeB && startB < startA + sizeA;
}

function checkTimeNamespace(out: Findings, spec: Spec, namespaces: NamespaceTable): void {
  const offsets = spec.linux?.timeOffsets;
  if (offsets === undefined) return;
  if (!isNew(namespaces, 'time')) {
    out.add('/linux/timeOffsets', 'time namespace offsets specified, but no new time namespace is requested in the config');
  }
  for (const clock of Object.keys(offsets)) {
    if (!TIME_NS_CLOCKS.has(clock)) {
      out.add(pointerJoin('/linux/timeOffsets', clock), `unknown clock ${JSON.stringify(clock)} (want monotonic or boottime)`);
    }
  }
}

/** sysctl(8) accepts "/" as separator; runc normalises "net/ipv4/conf/eth0.100/x" to dots. */
function normaliseSysctl(key: string): string {
  const first = key.search(/[./]/);
  if (first < 0 || key[first] === '.') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** Only sysctls isolated by a namespace the container has are allowed (runc's rule). */
function checkSysctl(out: Findings, spec: Spec, namespaces: NamespaceTable): void {
  for (const rawKey of Object.keys(spec.linux?.sysctl ?? {})) {
    const key = normaliseSysctl(rawKey);
    const problem = sysctlProblem(key, namespaces);
    if (problem) out.add(pointerJoin('/linux/sysctl', rawKey), problem);
  }
}

function sysctlProblem(key: string, namespaces: NamespaceTable): string | undefined {
  const quoted = JSON.stringify(key);
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) {
    return namespaces.has('ipc') ? undefined : `sysctl ${quoted} is not allowed in the hosts ipc namespace`;
  }
  if (key.startsWith('net.')) return netSysctlProblem(quoted, namespaces.get('network'));
  if (namespaces.has('uts')) {
    if (key === 'kernel.domainname') return undefined;
    if (key === 'kernel.hostname') return `sysctl ${quoted} is not allowed as it conflicts with the OCI "hostname" field`;
  }
  return `sysctl ${quoted} is not in a separate kernel namespace`;
}

function netSysctlProblem(quoted: string, netnsPath: string | undefined): string | undefined {
  if (netnsPath === '') return undefined;
  if (netnsPath !== undefined) {
    try {
      if (!isHostNetns(netnsPath)) return undefined;
    } catch (err) {
      return `invalid netns path: stat ${netnsPath}: ${describeErrno(err)}`;
    }
  }
  return `sysctl ${quoted} not allowed in host network namespace`;
}

/** "Host" means the runtime's current network namespace, compared by device and inode. */
function isHostNetns(nsPath: string): boolean {
  const mine = fs.statSync('/proc/self/ns/net', { bigint: true });
  const theirs = fs.statSync(nsPath, { bigint: true });
  return mine.dev === theirs.dev && mine.ino === theirs.ino;
}

function checkRestrictedPaths(out: Findings, spec: Spec, namespaces: NamespaceTable): void {
  let any = false;
  for (const field of ['maskedPaths', 'readonlyPaths'] as const) {
    (spec.linux?.[field] ?? []).forEach((p, i) => {
      any = true;
      requireAbsolute(out, pointerJoin('/linux', field, i), p);
    });
  }
  if (any && !namespaces.has('mount')) {
    out.add('/linux/namespaces', 'unable to restrict sys entries without a private MNT namespace');
  }
}

function checkDevices(out: Findings, spec: Spec): void {
  (spec.linux?.devices ?? []).forEach((dev, i) => {
    const base = pointerJoin('/linux/devices', i);
    requireAbsolute(out, pointerJoin(base, 'path'), dev.path);
    if (dev.type === 'p') return;
    for (const field of ['major', 'minor'] as const) {
      if (dev[field] === undefined) out.add(base, `must have required property '${field}' for device type ${JSON.stringify(dev.type)}`);
    }
  });
}

function checkSeccomp(out: Findings, seccomp: LinuxSeccomp): void {
  const base = '/linux/seccomp';
  checkSeccompAction(out, base, seccomp.defaultAction, 'defaultAction', seccomp.defaultErrnoRet, 'defaultErrnoRet');
  if (seccomp.defaultAction === 'SCMP_ACT_NOTIFY') {
    out.add(pointerJoin(base, 'defaultAction'), 'SCMP_ACT_NOTIFY cannot be used as default action');
  }
  checkNames(out, pointerJoin(base, 'architectures'), seccomp.architectures, SECCOMP_ARCHES, 'arch');
  checkNames(out, pointerJoin(base, 'flags'), seccomp.flags, SECCOMP_FLAGS, 'flag');
  if (seccomp.listenerMetadata !== undefined && !seccomp.listenerPath) {
    out.add(pointerJoin(base, 'listenerMetadata'), 'listenerMetadata requires listenerPath');
  }
  (seccomp.syscalls ?? []).forEach((rule, i) => {
    const ruleBase = pointerJoin(base, 'syscalls', i);
    checkSeccompAction(out, ruleBase, rule.action, 'action', rule.errnoRet, 'errnoRet');
    if (rule.action === 'SCMP_ACT_NOTIFY') checkNotifyRule(out, ruleBase, rule.names, seccomp.listenerPath);
    (rule.args ?? []).forEach((arg, j) => {
      const argBase = pointerJoin(ruleBase, 'args', j);
      if (arg.index > SECCOMP_MAX_ARG_INDEX) out.add(pointerJoin(argBase, 'index'), `must be at most ${SECCOMP_MAX_ARG_INDEX}`);
      checkNames(out, argBase, [arg.op], SECCOMP_OPERATORS, 'operator', 'op');
    });
  });
}

function checkSeccompAction(out: Findings, base: string, action: string, field: string, errnoRet: number | undefined, errnoField: string): void {
  checkNames(out, base, [action], SECCOMP_ACTIONS, 'action', field);
  if (errnoRet !== undefined && action !== 'SCMP_ACT_ERRNO' && action !== 'SCMP_ACT_TRACE') {
    out.add(pointerJoin(base, errnoField), `${errnoField} is only supported with SCMP_ACT_ERRNO and SCMP_ACT_TRACE, not ${action}`);
  }
}

/** Notifying on write(2) would deadlock the runtime sending the seccomp fd (runc forbids it too). */
function checkNotifyRule(out: Findings, base: string, names: string[], listenerPath: string | undefined): void {
  if (!listenerPath) out.add(pointerJoin(base, 'action'), 'SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath');
  if (names.includes('write')) out.add(pointerJoin(base, 'names'), 'SCMP_ACT_NOTIFY cannot be used for the write syscall');
}

/**
 * Reports each entry of `values` not in `known` as "string X is not a valid <what> for seccomp".
 * With `field`, `values` holds the single value of that property of `base`.
 */
function checkNames(out: Findings, base: string, values: string[] | undefined, known: readonly string[], what: string, field?: string): void {
  (values ?? []).forEach((value, i) => {
    if (known.includes(value)) return;
    const pointer = field === undefined ? pointerJoin(base, i) : pointerJoin(base, field);
    out.add(pointer, `string ${value} is not a valid ${what} for seccomp`);
  });
}

function checkIntelRdt(out: Findings, spec: Spec): void {
  const closID = spec.linux?.intelRdt?.closID;
  if (closID !== undefined && (closID === '.' || closID === '..' || closID.includes('/'))) {
    out.add('/linux/intelRdt/closID', `invalid intelRdt.ClosID ${JSON.stringify(closID)}`);
  }
}

function checkNetDevices(out: Findings, spec: Spec, namespaces: NamespaceTable): void {
  const devices = spec.linux?.netDevices;
  if (devices === undefined) return;
  const names = Object.entries(devices);
  if (names.length > 0 && !namespaces.has('network')) {
    out.add('/linux/netDevices', 'unable to move network devices without a private NET namespace');
  }
  for (const [hostName, dev] of names) {
    const base = pointerJoin('/linux/netDevices', hostName);
    if (!isValidIfName(hostName)) out.add(base, `invalid network device name ${JSON.stringify(hostName)}`);
    if (dev.name !== undefined && !isValidIfName(dev.name)) {
      out.add(pointerJoin(base, 'name'), `invalid network device name ${JSON.stringify(dev.name)}`);
    }
  }
}

/** The kernel's dev_valid_name(): 1-15 bytes, not "." or "..", no "/", ":" or whitespace. */
function isValidIfName(name: string): boolean {
  if (name === '' || name === '.' || name === '..') return false;
  return Buffer.byteLength(name) <= MAX_IFNAME_LENGTH && !/[/:\s]/.test(name);
}

/** set_mempolicy(2): which modes take a node mask. */
function checkMemoryPolicy(out: Findings, spec: Spec): void {
  const policy = spec.linux?.memoryPolicy;
  if (!policy) return;
  const hasNodes = (policy.nodes ?? '').trim() !== '';
  if ((policy.mode === 'MPOL_DEFAULT' || policy.mode === 'MPOL_LOCAL') && hasNodes) {
    out.add('/linux/memoryPolicy/nodes', `${policy.mode} does not take nodes`);
  }
  const needsNodes = ['MPOL_BIND', 'MPOL_INTERLEAVE', 'MPOL_WEIGHTED_INTERLEAVE', 'MPOL_PREFERRED_MANY'];
  if (needsNodes.includes(policy.mode) && !hasNodes) {
    out.add('/linux/memoryPolicy', `${policy.mode} requires nodes`);
  }
}
