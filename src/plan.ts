/**
 * Turns a validated Spec into the Plan the native init executes: every path resolved, every
 * option parsed to flags, every name turned into a number. The init decides nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { planCapabilitySets, skippedCapabilitiesMessage } from './capabilities';
import { RuntimeError } from './errors';
import { RLIMITS } from './spec/semantic';
import { decideLsm, lsmProblems, probeLsmHost, takesMountContext, withMountContext, type LsmHost, type PlanLsm, type PlanNote } from './lsm';
import { MS, PROPAGATION_OPTIONS, parseMountOptions, type RecursiveAttributes } from './mountOptions';
import { planCpuAffinity, planIoPriority, planPersonality, planScheduler, type PlanCpuAffinity, type PlanScheduler } from './processSettings';
import { planSeccomp, type PlanSeccomp } from './seccomp';
import type { NamespaceType } from './native';
import type { Box, Hook, LinuxCapabilities, LinuxDevice, LinuxIDMapping, LinuxTimeOffset, Mount, Process, Spec } from './spec/types';

export interface PlanMount {
  destination: string;
  type: string;
  source: string;
  flags: number;
  propagation: number[];
  data: string;
  bind: boolean;
  /** The options as written in config.json, for error messages. */
  options: string;
  /** r* options: mount_setattr(AT_RECURSIVE) after the mount. */
  recursive: RecursiveAttributes | null;
  /** idmap/ridmap: uid_map/gid_map text of the user namespace the bind is idmapped with. */
  idmap: { uidMappings: string; gidMappings: string; recursive: boolean } | null;
  /** tmpcopyup: the tmpfs starts with a copy of what it covers. */
  copyUp: boolean;
  /** Bound (rbind) instead when the kernel refuses the mount with EPERM (user namespaces). */
  bindFallback: string;
}

export interface PlanDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface PlanSymlink {
  target: string;
  path: string;
  replace?: boolean;
}

export interface PlanProcess {
  args: string[];
  env: string[];
  cwd: string;
  terminal: boolean;
  consoleSize: Box | null;
  user: { uid: number; gid: number; additionalGids: number[] };
  umask: number | null;
  noNewPrivileges: boolean;
  capabilities: Record<keyof LinuxCapabilities, number[]>;
  /** soft/hard as decimal strings: RLIM_INFINITY does not fit a JS number. */
  rlimits: { type: string; resource: number; soft: string; hard: string }[];
  /** ioprio_set value: class << 13 | level. */
  ioPriority: number | null;
  scheduler: PlanScheduler | null;
  /** Only for exec'd processes: config.md says it does not apply to the container's init. */
  execCPUAffinity: PlanCpuAffinity | null;
}

/** What the init receives over its channel (native/init reads these keys). */
export interface InitPlan {
  namespaces: { type: NamespaceType; path?: string }[];
  timeOffsets: Record<string, LinuxTimeOffset> | null;
  rootfs: string;
  rootPropagation: number;
  propagationAfterPivot: number | null;
  readonlyRoot: boolean;
  noPivot: boolean;
  mounts: PlanMount[];
  devices: PlanDevice[];
  bindDevices: boolean;
  symlinks: PlanSymlink[];
  maskedPaths: string[];
  readonlyPaths: string[];
  hostname: string | null;
  domainname: string | null;
  sysctl: { path: string; value: string }[];
  oomScoreAdj: number | null;
  sessionKeyring: string | null;
  execFifo: string;
  preserveFds: number;
  setgroups: boolean;
  /** Write "deny" to the new user namespace's setgroups (an unprivileged runtime must). */
  denySetgroups?: boolean;
  /** A new network namespace gets lo up, as runc's "loopback" network does. */
  loopbackUp?: boolean;
  /** personality(2) domain, set right before execve. */
  personality?: number | null;
  /** AppArmor / SELinux attr writes (src/lsm.ts decides them). */
  lsm?: PlanLsm;
  /** Data of the tmpfs that masks a directory (the SELinux mount context, when there is one). */
  maskedPathData?: string;
  /** For the runtime's log, not read by the init: skipped capabilities, ignored labels. */
  notes?: PlanNote[];
  process: PlanProcess;
  /** linux.seccomp as src/seccomp.ts plans it; null: no filter. */
  seccomp: PlanSeccomp | null;
  /** Join a running container instead of setting one up. */
  exec: boolean;
  /** Hooks the init runs inside the container's namespaces. */
  hooks: { createContainer: Hook[]; startContainer: Hook[] };
}

export interface PlanOptions {
  id: string;
  rootfs: string;
  execFifo: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** Host cgroup directory per v1 controller (or "" for v2), bound under cgroup mounts. */
  cgroupPaths: Record<string, string>;
  /** The host's LSMs; probed when absent (tests pass their own). */
  lsmHost?: LsmHost;
}

const NAMESPACE_TYPES: Record<string, NamespaceType> = {
  pid: 'pid', network: 'network', mount: 'mount', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

/** The devices runc creates in every container whose /dev is not the host's. */
const DEFAULT_DEVICES: PlanDevice[] = [
  ['/dev/null', 1, 3], ['/dev/zero', 1, 5], ['/dev/full', 1, 7],
  ['/dev/tty', 5, 0], ['/dev/urandom', 1, 9], ['/dev/random', 1, 8],
].map(([p, major, minor]) => ({ path: p as string, type: 'c', major: major as number, minor: minor as number, fileMode: 0o666, uid: 0, gid: 0 }));


export function buildPlan(spec: Spec, opts: PlanOptions): InitPlan {
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw new RuntimeError('config.json: /process: a container needs a process to run');
  const namespaces = (linux.namespaces ?? []).map((n) => ({ type: NAMESPACE_TYPES[n.type], ...(n.path ? { path: n.path } : {}) }));
  const hasNamespace = (type: NamespaceType) => namespaces.some((n) => n.type === type);
  if (!hasNamespace('mount')) throw new RuntimeError('config.json: /linux/namespaces: runts needs a mount namespace');
  const newUserNamespace = namespaces.some((n) => n.type === 'user' && !n.path);
  const lsmHost = opts.lsmHost ?? probeLsmHost();
  // Host-dependent, so not in spec/semantic.ts (a config is valid or not whatever the host);
  // still refused before anything exists, where runc's validator refuses it.
  const lsmProblem = lsmProblems(proc, lsmHost)[0];
  if (lsmProblem) throw new RuntimeError(`config.json: ${lsmProblem.pointer}: ${lsmProblem.message}`);
  const lsmDecision = decideLsm({ ...proc, mountLabel: linux.mountLabel }, lsmHost);
  const newNetwork = namespaces.some((n) => n.type === 'network' && !n.path);
  const newIpc = namespaces.some((n) => n.type === 'ipc' && !n.path);
  const mounts = (spec.mounts ?? [])
    .flatMap((m) => planMounts(m, opts.cgroupPaths, spec))
    .map((m) => userNamespaceFallback(m, hasNamespace('user'), newNetwork, newIpc))
    .map((m) => (takesMountContext(m.type, m.bind) ? { ...m, data: withMountContext(m.data, lsmDecision.mountContext) } : m));
  const notes = [...capabilityNotes(proc), ...lsmDecision.notes];
  const devBoundFromHost = mounts.some((m) => m.destination === '/dev' && m.bind);
  const propagation = linux.rootfsPropagation ? PROPAGATION_OPTIONS[linux.rootfsPropagation] : null;
  return {
    namespaces,
    timeOffsets: linux.timeOffsets ?? null,
    rootfs: opts.rootfs,
    rootPropagation: propagation ?? MS.SLAVE | MS.REC,
    propagationAfterPivot: propagation,
    readonlyRoot: spec.root?.readonly ?? false,
    noPivot: opts.noPivot,
    mounts,
    devices: devBoundFromHost ? [] : [...DEFAULT_DEVICES, ...(linux.devices ?? []).map(planDevice)],
    // mknod is refused in any user namespace but the host's, joined or new (runc binds too).
    bindDevices: hasNamespace('user'),
    symlinks: devBoundFromHost ? [] : devSymlinks(mounts),
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    hostname: spec.hostname ?? null,
    domainname: spec.domainname ?? null,
    sysctl: Object.entries(linux.sysctl ?? {}).map(([key, value]) => ({ path: key.replace(/\./g, '/'), value })),
    oomScoreAdj: proc.oomScoreAdj ?? null,
    sessionKeyring: opts.noNewKeyring ? null : opts.id,
    execFifo: opts.execFifo,
    preserveFds: opts.preserveFds,
    setgroups: true,
    denySetgroups: newUserNamespace && process.geteuid?.() !== 0,
    loopbackUp: newNetwork,
    personality: planPersonality(linux.personality),
    lsm: lsmDecision.lsm,
    maskedPathData: withMountContext('', lsmDecision.mountContext),
    notes,
    process: { ...planProcess(proc), execCPUAffinity: null },
    seccomp: planSeccomp(spec),
    exec: false,
    hooks: { createContainer: spec.hooks?.createContainer ?? [], startContainer: spec.hooks?.startContainer ?? [] },
  };
}

/**
 * The plan for `exec`: join every namespace of the running container (its init's
 * /proc/<pid>/ns links), no rootfs work, no hooks, the process as given, under the
 * container's seccomp filter.
 */
export function buildExecPlan(container: Spec, namespacePaths: Record<string, string>, proc: Process, preserveFds: number): InitPlan {
  return {
    namespaces: Object.entries(namespacePaths).map(([type, nsPath]) => ({ type: NAMESPACE_TYPES[type], path: nsPath })),
    timeOffsets: null,
    rootfs: '',
    rootPropagation: 0,
    propagationAfterPivot: null,
    readonlyRoot: false,
    noPivot: false,
    mounts: [],
    devices: [],
    bindDevices: false,
    symlinks: [],
    maskedPaths: [],
    readonlyPaths: [],
    hostname: null,
    domainname: null,
    sysctl: [],
    oomScoreAdj: proc.oomScoreAdj ?? null,
    sessionKeyring: null,
    execFifo: '',
    preserveFds,
    setgroups: true,
    lsm: decideLsm(proc, probeLsmHost()).lsm,
    process: planProcess(proc),
    // runc gives an exec'd process the container's filter.
    seccomp: planSeccomp(container),
    exec: true,
    hooks: { createContainer: [], startContainer: [] },
  };
}

function planProcess(proc: Process): PlanProcess {
  return {
    args: proc.args ?? [],
    env: proc.env ?? [],
    cwd: proc.cwd,
    terminal: proc.terminal ?? false,
    consoleSize: proc.consoleSize ?? null,
    user: { uid: proc.user.uid, gid: proc.user.gid, additionalGids: proc.user.additionalGids ?? [] },
    umask: proc.user.umask ?? null,
    noNewPrivileges: proc.noNewPrivileges ?? false,
    capabilities: planCapabilities(proc.capabilities),
    rlimits: (proc.rlimits ?? []).map((r) => ({
      type: r.type,
      resource: RLIMITS.indexOf(r.type),
      soft: BigInt(r.soft).toString(),
      hard: BigInt(r.hard).toString(),
    })),
    ioPriority: planIoPriority(proc.ioPriority),
    scheduler: planScheduler(proc.scheduler),
    execCPUAffinity: planCpuAffinity(proc.execCPUAffinity),
  };
}

/** runc warns about capabilities it leaves out; the plan carries the line for the log. */
function capabilityNotes(proc: Process): PlanNote[] {
  const { skipped } = planCapabilitySets(proc.capabilities, lastCapability());
  return skipped.length > 0 ? [{ level: 'warning', msg: skippedCapabilitiesMessage(skipped) }] : [];
}

/**
 * In a user namespace the kernel refuses sysfs without a network namespace of its own and
 * mqueue without an IPC namespace of its own: the init then binds the host's (rbind, with the
 * mount's flags), as runc >= 1.2 and crun do.
 */
function userNamespaceFallback(m: PlanMount, userNamespace: boolean, newNetwork: boolean, newIpc: boolean): PlanMount {
  if (!userNamespace || m.bind) return m;
  if (m.type === 'sysfs' && !newNetwork) return { ...m, bindFallback: '/sys' };
  if (m.type === 'mqueue' && !newIpc) return { ...m, bindFallback: '/dev/mqueue' };
  return m;
}

function mappingText(mappings: LinuxIDMapping[] | undefined): string {
  return (mappings ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function planMounts(m: Mount, cgroupPaths: Record<string, string>, spec: Spec): PlanMount[] {
  const { flags, propagation, data, recursive, idmapRecursive, copyUp } = parseMountOptions(m.options);
  const destination = path.posix.resolve('/', m.destination);
  const type = m.type ?? '';
  const bind = type === 'bind' || (flags & MS.BIND) !== 0;
  // idmap without mappings of its own: the container's user namespace mappings (config.md).
  const idmap = bind && (idmapRecursive !== null || m.uidMappings !== undefined)
    ? {
      uidMappings: mappingText(m.uidMappings ?? spec.linux?.uidMappings),
      gidMappings: mappingText(m.gidMappings ?? spec.linux?.gidMappings),
      recursive: idmapRecursive ?? false,
    }
    : null;
  const base: PlanMount = {
    destination, type, source: m.source ?? '', flags, propagation, data: data.join(','), bind,
    options: (m.options ?? []).join(','), recursive, idmap, copyUp: copyUp && type === 'tmpfs', bindFallback: '',
  };
  if (base.bind) base.flags |= MS.BIND;
  if (type !== 'cgroup') return [base];
  const unifiedOnly = Object.keys(cgroupPaths).length === 1 && cgroupPaths[''] !== undefined;
  return unifiedOnly ? [cgroupV2Mount(base, cgroupPaths[''], spec)] : cgroupV1Mounts(base, cgroupPaths);
}

/**
 * On a pure v2 host a "cgroup" mount is a cgroup2 mount, as in runc: inside a cgroup namespace
 * it shows the container's own cgroup as its root. Where the kernel refuses it (a user namespace
 * without its own cgroup namespace: EPERM/EBUSY), the container's directory (with a cgroup
 * namespace) or the whole hierarchy is bound instead, again as runc does.
 */
function cgroupV2Mount(mount: PlanMount, containerDir: string, spec: Spec): PlanMount {
  const cgroupNamespace = spec.linux?.namespaces?.some((n) => n.type === 'cgroup') ?? false;
  return { ...mount, type: 'cgroup2', bindFallback: cgroupNamespace ? containerDir : '/sys/fs/cgroup' };
}

/**
 * A v1 "cgroup" mount becomes what runc makes of it: a writable tmpfs holding one bind per
 * controller of the container's own cgroup directories, each with the mount's options.
 */
function cgroupV1Mounts(mount: PlanMount, cgroupPaths: Record<string, string>): PlanMount[] {
  const tmpfs: PlanMount = { ...mount, type: 'tmpfs', source: 'tmpfs', flags: mount.flags & ~MS.RDONLY, data: 'mode=755', bind: false };
  const order = hostCgroupMountOrder();
  const rank = (controller: string) => order.indexOf(controller.replace(/^name=/, '')) >>> 0;
  const binds = Object.entries(cgroupPaths)
    .filter(([controller]) => controller !== '')
    .sort(([a], [b]) => rank(a) - rank(b))
    .map(([controller, dir]) => ({
      ...mount,
      destination: `${mount.destination}/${controller.replace(/^name=/, '')}`,
      type: 'bind',
      source: dir,
      flags: (mount.flags | MS.BIND | MS.REC) >>> 0,
      bind: true,
    }));
  return [tmpfs, ...binds];
}

/** The host's /sys/fs/cgroup/<name> mounts in mountinfo order: runc binds them in that order. */
function hostCgroupMountOrder(): string[] {
  const prefix = '/sys/fs/cgroup/';
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(prefix))
    .map((mountPoint) => mountPoint.slice(prefix.length));
}

function planDevice(d: LinuxDevice): PlanDevice {
  return {
    path: d.path, type: d.type, major: d.major ?? 0, minor: d.minor ?? 0,
    fileMode: d.fileMode ?? 0o666, uid: d.uid ?? 0, gid: d.gid ?? 0,
  };
}

function devSymlinks(mounts: PlanMount[]): PlanSymlink[] {
  const links: PlanSymlink[] = [
    { target: '/proc/self/fd', path: '/dev/fd' },
    { target: '/proc/self/fd/0', path: '/dev/stdin' },
    { target: '/proc/self/fd/1', path: '/dev/stdout' },
    { target: '/proc/self/fd/2', path: '/dev/stderr' },
  ];
  if (mounts.some((m) => m.destination === '/dev/pts')) links.push({ target: 'pts/ptmx', path: '/dev/ptmx', replace: true });
  return links;
}

let cachedLastCap: number | undefined;

/** The highest capability this kernel has; runc skips the others. */
function lastCapability(): number {
  if (cachedLastCap === undefined) {
    try {
      cachedLastCap = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    } catch {
      cachedLastCap = 40;
    }
  }
  return cachedLastCap;
}

function planCapabilities(caps: LinuxCapabilities | undefined): PlanProcess['capabilities'] {
  return planCapabilitySets(caps, lastCapability()).sets;
}
