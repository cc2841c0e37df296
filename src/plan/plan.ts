/**
 * Turns a validated Spec into the Plan the native init executes: every path resolved, every
 * option parsed to flags, every name turned into a number. The init decides nothing.
 */
import fs = require('fs');
import path = require('path');
import { planCapabilitySets, skippedCapabilitiesMessage } from './capabilities';
import { RuntimeError } from '../base/errors';
import { idMapText } from '../base/formats';
import { selfMountinfo } from '../base/mountinfo';
import { RLIMITS } from '../config/semantic';
import { decideLsm, lsmProblems, probeLsmHost, takesMountContext, withMountContext, type LsmHost, type PlanLsm, type PlanNote } from './lsm';
import { MS, PROPAGATION_OPTIONS, parseMountOptions, type RecursiveAttributes } from './mountOptions';
import { planCpuAffinity, planIoPriority, planPersonality, planScheduler, type PlanCpuAffinity, type PlanScheduler } from './processSettings';
import { planSeccomp, type PlanSeccomp } from './seccomp';
import type { InitJoinFiles } from '../cgroups';
import type { NamespaceType } from '../native';
import type { Box, Hook, LinuxCapabilities, LinuxDevice, LinuxTimeOffset, Mount, Process, Spec } from '../config/types';

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
  replace: boolean;
}

export interface PlanHook {
  path: string;
  args: string[];
  /** null: none of its own, the hook gets the process's env (as runc's init runs it). */
  env: string[] | null;
  /** Seconds; 0: no timeout. */
  timeout: number;
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

/**
 * What the init receives over its channel. native/init reads every key and fails on a missing
 * or mistyped one (test/unit/plan-keys.test.ts keeps both sides the same set).
 */
export interface InitPlan {
  /** path "": a new namespace of that type (exec: the container init's, through nsPidfd). */
  namespaces: { type: NamespaceType; path: string }[];
  /** exec: the init's fd of a pidfd of the container's init, whose namespaces it joins. */
  nsPidfd: number | null;
  timeOffsets: { monotonic: LinuxTimeOffset | null; boottime: LinuxTimeOffset | null } | null;
  rootfs: string;
  /** false: no mount namespace of its own; the init only chroots into the rootfs. */
  /** False: the container shares the runtime's mount namespace (chroot, no mounts). */
  mountNamespace: boolean;
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
  /** The host's /proc/sys/kernel/cap_last_cap: the init never reads it through the container. */
  lastCap: number;
  /** Write "deny" to the new user namespace's setgroups (an unprivileged runtime must). */
  denySetgroups: boolean;
  /** A new network namespace gets lo up, as runc's "loopback" network does. */
  loopbackUp: boolean;
  /** personality(2) domain, set right before execve. */
  personality: number | null;
  /** AppArmor / SELinux attr writes (src/plan/lsm.ts decides them). */
  lsm: PlanLsm;
  /** Data of the tmpfs that masks a directory (the SELinux mount context, when there is one). */
  maskedPathData: string;
  process: PlanProcess;
  /** linux.seccomp as src/plan/seccomp.ts plans it; null: no filter. */
  seccomp: PlanSeccomp | null;
  /** Join a running container instead of setting one up. */
  exec: boolean;
  /**
   * exec -d with a terminal: the process is exec'd only once the runtime has let go of the
   * channel (exited). containerd's shim takes the pty master after the runtime returns; a
   * process that ran and exited before that lost its output.
   */
  startAfterRuntimeExits: boolean;
  /** Hooks the init runs inside the container's namespaces. */
  hooks: { createContainer: PlanHook[]; startContainer: PlanHook[] };
  /** The cgroups the container process joins by itself (planCgroupJoin); null: the runtime joins it. */
  cgroupJoin: PlanCgroupJoin | null;
  /**
   * create: the init makes its namespaces on receipt of the plan, while the runtime still makes
   * the state dir, the exec fifo and the cgroup directories, and opens those once told "proceed"
   * (namespacesAhead).
   */
  namespacesAhead: boolean;
}

/**
 * The container process joins its cgroups by itself (native/init/cgroups.cc): a pid the runtime
 * writes into cgroup.procs waits out an RCU grace period in the kernel (4-25 ms here), a process
 * moving itself through a v1 `tasks` file or being cloned into a v2 cgroup does not.
 * "init": stage 1, before its namespaces; "clone": stage 2 is born there; "setup-done": stage 2,
 * after its mounts and pivot, before it drops privileges.
 */
export interface PlanCgroupJoin {
  /** The `tasks` file of each v1 hierarchy's directory (host paths). */
  tasks: string[];
  tasksAt: 'init' | 'setup-done';
  /** The unified hierarchy's directory (pure v2, or the hybrid layout's). */
  unified: string | null;
  unifiedAt: 'init' | 'clone' | 'setup-done';
  /**
   * Stage 2 makes the new cgroup namespace (exec: joins the container's), once it is born in its
   * cgroup, rather than stage 1.
   */
  cgroupNamespaceByChild: boolean;
}

/** The plan and what only the runtime reads of it (its log lines). */
export interface Plan extends InitPlan {
  /** Skipped capabilities, ignored labels: logged by the runtime, never sent to the init. */
  notes: PlanNote[];
}

/** The part of a plan that goes to the init. */
export function initPart(plan: Plan): InitPlan {
  const { notes: _notes, ...init } = plan;
  return init;
}

/**
 * Whether the init must be in its cgroup before it sets up its namespaces and mounts, rather
 * than joined once it is set up (which keeps the kernel memory of its namespaces and mounts the
 * runtime's one-time cost, so a small memory limit still starts):
 * - a new cgroup namespace is rooted where the init stands when it unshares it;
 * - a real-time process may not join a v1 cpu cgroup after the fact;
 * - `dirsMadeAtJoin` (the systemd driver: the unit, and with it its cgroup directories, starts
 *   with its first process) while a v1 "cgroup" mount binds those directories into the
 *   container: they must exist before the init mounts them.
 */
export function joinCgroupBeforeSetup(spec: Spec, plan: Pick<InitPlan, 'mounts'>, cgroupPaths: Record<string, string>, dirsMadeAtJoin: boolean): boolean {
  if (spec.linux?.namespaces?.some((n) => n.type === 'cgroup' && !n.path)) return true;
  if (REALTIME_POLICIES.has(spec.process?.scheduler?.policy ?? '')) return true;
  if (!dirsMadeAtJoin) return false;
  const dirs = new Set(Object.values(cgroupPaths));
  return plan.mounts.some((m) => m.bind && dirs.has(m.source));
}

/**
 * Whether create's init may make its namespaces before the state dir, the exec fifo and the
 * cgroup directories exist (the runtime makes them meanwhile: ~1 ms off create). Only where the
 * init can open those afterwards as the host's (the cgroup files through the host's "/" it
 * kept, the exec fifo by its path from stage 2) and nothing of the cgroup has to come first:
 * - no user namespace: the init's credentials would no longer open the host's files;
 * - no mount namespace joined by path: the fifo's path would be that namespace's;
 * - no cgroup join before setup (joinCgroupBeforeSetup): it precedes the namespaces;
 * - no idmapped mount: its source tree is opened with the namespaces, and may be one of those.
 */
export function namespacesAhead(plan: Pick<InitPlan, 'namespaces' | 'mounts'>, joinBeforeSetup: boolean): boolean {
  if (joinBeforeSetup) return false;
  if (plan.namespaces.some((n) => n.type === 'user' || (n.type === 'mount' && n.path))) return false;
  return !plan.mounts.some((m) => m.idmap);
}

const REALTIME_POLICIES = new Set(['SCHED_FIFO', 'SCHED_RR', 'SCHED_DEADLINE']);

/**
 * When each part of a self join (PlanCgroupJoin) happens, or null where the runtime joins the pid.
 * - Before setup (joinCgroupBeforeSetup: a new cgroup namespace is rooted where its maker stands):
 *   v1 by stage 1, the unified hierarchy at birth, and the cgroup namespace then made by stage 2.
 * - Otherwise v1 joins after setup, so the kernel memory of the init's namespaces and mounts stays
 *   the runtime's; the unified hierarchy of the hybrid layout, which has no controllers to
 *   charge, at birth. Pure v2 keeps the runtime's join after setup for that memory.
 * - A user namespace: CLONE_INTO_CGROUP would check the container's credentials against the
 *   host's cgroup files, so the unified part goes through a file stage 1 opened as root (pure v2:
 *   the runtime's join, as before).
 * - exec joins in stage 1 (it sets nothing up), and is born in the unified cgroup, then joins the
 *   container's cgroup namespace (a clone into a cgroup outside the cloner's cgroup namespace
 *   fails where cgroup2 has nsdelegate). On pure v2 the runtime joins instead with a user
 *   namespace, and where the container's cgroup takes no process (`delegated`: it handed
 *   controllers to cgroups below it, and exec.ts sends the process to its init's cgroup).
 */
export function planCgroupJoin(
  files: InitJoinFiles,
  spec: Spec,
  moment: { beforeSetup: boolean; exec: boolean; delegated?: boolean },
): PlanCgroupJoin | null {
  const namespaces = spec.linux?.namespaces ?? [];
  const userNamespace = namespaces.some((n) => n.type === 'user');
  const newCgroupNamespace = namespaces.some((n) => n.type === 'cgroup' && !n.path);
  const pureV2 = files.tasks.length === 0;
  const join = (tasksAt: PlanCgroupJoin['tasksAt'], unifiedAt: PlanCgroupJoin['unifiedAt'], cgroupNamespaceByChild = false): PlanCgroupJoin =>
    ({ tasks: files.tasks, tasksAt, unified: files.unified, unifiedAt, cgroupNamespaceByChild });
  if (moment.exec) {
    if (pureV2 && (userNamespace || moment.delegated)) return null;
    if (userNamespace) return join('init', 'init');
    // A process cloned into its cgroup joins the container's cgroup namespace once born.
    return join('init', 'clone', namespaces.some((n) => n.type === 'cgroup'));
  }
  if (userNamespace) {
    if (pureV2) return null;
    return moment.beforeSetup ? join('init', 'init') : join('setup-done', 'setup-done');
  }
  if (moment.beforeSetup) return join('init', 'clone', newCgroupNamespace);
  return pureV2 ? null : join('setup-done', 'clone');
}

export interface PlanOptions {
  id: string;
  rootfs: string;
  /** Relative bind sources are the bundle's (runc resolves them there). */
  bundle?: string;
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


export function buildPlan(spec: Spec, opts: PlanOptions): Plan {
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw new RuntimeError('config.json: /process: a container needs a process to run');
  const namespaces = (linux.namespaces ?? []).map((n) => ({ type: NAMESPACE_TYPES[n.type], path: n.path ?? '' }));
  const hasNamespace = (type: NamespaceType) => namespaces.some((n) => n.type === type);
  const mountNamespace = hasNamespace('mount');
  if (!mountNamespace) refuseHostMountWork(spec);
  const newUserNamespace = namespaces.some((n) => n.type === 'user' && !n.path);
  const lsmHost = opts.lsmHost ?? probeLsmHost();
  // Host-dependent, so not in config/semantic.ts (a config is valid or not whatever the host);
  // still refused before anything exists, where runc's validator refuses it.
  const lsmProblem = lsmProblems(proc, lsmHost)[0];
  if (lsmProblem) throw new RuntimeError(`config.json: ${lsmProblem.pointer}: ${lsmProblem.message}`);
  const lsmDecision = decideLsm({ ...proc, mountLabel: linux.mountLabel }, lsmHost);
  const newNetwork = namespaces.some((n) => n.type === 'network' && !n.path);
  const newIpc = namespaces.some((n) => n.type === 'ipc' && !n.path);
  const mounts = (spec.mounts ?? [])
    .flatMap((m) => planMounts(m, opts.cgroupPaths, spec, opts.bundle))
    .map((m) => userNamespaceFallback(m, hasNamespace('user'), newNetwork, newIpc))
    .map((m) => (takesMountContext(m.type, m.bind) ? { ...m, data: withMountContext(m.data, lsmDecision.mountContext) } : m));
  const notes = [...capabilityNotes(proc), ...lsmDecision.notes];
  const devBoundFromHost = mounts.some((m) => m.destination === '/dev' && m.bind);
  const propagation = linux.rootfsPropagation ? PROPAGATION_OPTIONS[linux.rootfsPropagation] : null;
  return {
    namespaces,
    nsPidfd: null,
    timeOffsets: linux.timeOffsets ? { monotonic: linux.timeOffsets.monotonic ?? null, boottime: linux.timeOffsets.boottime ?? null } : null,
    rootfs: opts.rootfs,
    mountNamespace,
    // An unbindable "/" would refuse the bind of the rootfs onto itself (runc 1.1.5 fails so):
    // unbindable is applied once the rootfs is "/", after the pivot, like every value.
    rootPropagation: propagation !== null && (propagation & MS.UNBINDABLE) === 0 ? propagation : MS.SLAVE | MS.REC,
    propagationAfterPivot: propagation,
    // runc makes the root read-only only in a mount namespace of the container's own.
    readonlyRoot: mountNamespace && (spec.root?.readonly ?? false),
    noPivot: opts.noPivot,
    mounts,
    // Without a mount namespace /dev is the rootfs directory itself: nothing is made in it.
    devices: devBoundFromHost || !mountNamespace ? [] : [...DEFAULT_DEVICES, ...(linux.devices ?? []).map(planDevice)],
    // mknod is refused in any user namespace but the host's, joined or new (runc binds too).
    bindDevices: hasNamespace('user'),
    symlinks: devBoundFromHost || !mountNamespace ? [] : devSymlinks(mounts),
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
    lastCap: lastCapability(),
    denySetgroups: newUserNamespace && process.geteuid?.() !== 0,
    loopbackUp: newNetwork,
    personality: planPersonality(linux.personality),
    lsm: lsmDecision.lsm,
    maskedPathData: withMountContext('', lsmDecision.mountContext),
    notes,
    process: { ...planProcess(proc), execCPUAffinity: null },
    seccomp: planSeccomp(spec),
    exec: false,
    startAfterRuntimeExits: false,
    hooks: { createContainer: planHooks(spec.hooks?.createContainer), startContainer: planHooks(spec.hooks?.startContainer) },
    cgroupJoin: null,
    namespacesAhead: false,
  };
}

function planHooks(hooks: Hook[] | undefined): PlanHook[] {
  return (hooks ?? []).map((h) => ({ path: h.path, args: h.args ?? [], env: h.env ?? null, timeout: h.timeout ?? 0 }));
}

export interface ExecPlanOptions {
  /** The init's fd number of the pidfd of the container's init (checked by the runtime). */
  nsPidfd: number;
  preserveFds: number;
  /** See InitPlan.startAfterRuntimeExits. */
  startAfterRuntimeExits?: boolean;
  /** The host's LSMs; probed when absent (tests pass their own). */
  lsmHost?: LsmHost;
}

/**
 * The plan for `exec`: join every namespace of the running container through a pidfd of its
 * init (never by /proc/<pid> path: a recycled pid must not be joined), no rootfs work, no
 * hooks, the process as given, under the container's seccomp filter.
 */
export function buildExecPlan(container: Spec, proc: Process, opts: ExecPlanOptions): Plan {
  const types = (container.linux?.namespaces ?? []).map((n) => NAMESPACE_TYPES[n.type]);
  const lsm = decideLsm(proc, opts.lsmHost ?? probeLsmHost());
  return {
    namespaces: [...new Set(types)].map((type) => ({ type, path: '' })),
    nsPidfd: opts.nsPidfd,
    timeOffsets: null,
    rootfs: '',
    mountNamespace: types.includes(NAMESPACE_TYPES.mount),
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
    preserveFds: opts.preserveFds,
    setgroups: true,
    lastCap: lastCapability(),
    denySetgroups: false,
    loopbackUp: false,
    personality: null,
    lsm: lsm.lsm,
    maskedPathData: '',
    notes: [],
    process: planProcess(proc),
    // runc gives an exec'd process the container's filter.
    seccomp: planSeccomp(container),
    exec: true,
    startAfterRuntimeExits: opts.startAfterRuntimeExits ?? false,
    hooks: { createContainer: [], startContainer: [] },
    cgroupJoin: null,
    namespacesAhead: false,
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

/**
 * A container without a mount namespace of its own runs chrooted into its rootfs in the
 * runtime's mount namespace (as runc runs it). runc still mounts the config's mounts there,
 * after making the runtime's "/" rslave: both would outlive the container on the host, so
 * runts refuses mounts in that case (a deliberate difference, README).
 */
function refuseHostMountWork(spec: Spec): void {
  const linux = spec.linux ?? {};
  // runc's validator wording.
  if ((linux.maskedPaths?.length ?? 0) > 0 || (linux.readonlyPaths?.length ?? 0) > 0)
    throw new RuntimeError('config.json: /linux: unable to restrict sys entries without a private MNT namespace');
  if ((spec.mounts?.length ?? 0) > 0)
    throw new RuntimeError("config.json: /mounts: mounts need a mount namespace of the container's own (none in /linux/namespaces): runts does not mount into the runtime's");
  if (linux.rootfsPropagation) throw new RuntimeError('config.json: /linux/rootfsPropagation: needs a mount namespace of the container\'s own');
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

function planMounts(m: Mount, cgroupPaths: Record<string, string>, spec: Spec, bundle: string | undefined): PlanMount[] {
  const { flags, propagation, data, recursive, idmapRecursive, copyUp } = parseMountOptions(m.options);
  const destination = path.posix.resolve('/', m.destination);
  const type = m.type ?? '';
  const bind = type === 'bind' || (flags & MS.BIND) !== 0;
  // idmap without mappings of its own: the container's user namespace mappings (config.md).
  const idmap = bind && (idmapRecursive !== null || m.uidMappings !== undefined)
    ? {
      uidMappings: idMapText(m.uidMappings ?? spec.linux?.uidMappings),
      gidMappings: idMapText(m.gidMappings ?? spec.linux?.gidMappings),
      recursive: idmapRecursive ?? false,
    }
    : null;
  const source = bind && m.source && bundle ? path.resolve(bundle, m.source) : m.source ?? '';
  const base: PlanMount = {
    destination, type, source, flags, propagation, data: data.join(','), bind,
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
  return selfMountinfo()
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
    { target: '/proc/self/fd', path: '/dev/fd', replace: false },
    { target: '/proc/self/fd/0', path: '/dev/stdin', replace: false },
    { target: '/proc/self/fd/1', path: '/dev/stdout', replace: false },
    { target: '/proc/self/fd/2', path: '/dev/stderr', replace: false },
  ];
  if (mounts.some((m) => m.destination === '/dev/pts')) links.push({ target: 'pts/ptmx', path: '/dev/ptmx', replace: true });
  return links;
}

let cachedLastCap: number | undefined;

/**
 * The highest capability this kernel has (runc skips the others), read here on the host: the
 * init drops the bounding set up to it and must not learn it from a /proc the container shapes.
 */
function lastCapability(): number {
  if (cachedLastCap === undefined) {
    const text = fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim();
    if (!/^\d+$/.test(text) || Number(text) > 63) throw new RuntimeError(`unexpected /proc/sys/kernel/cap_last_cap: ${JSON.stringify(text)}`);
    cachedLastCap = Number(text);
  }
  return cachedLastCap;
}

function planCapabilities(caps: LinuxCapabilities | undefined): PlanProcess['capabilities'] {
  return planCapabilitySets(caps, lastCapability()).sets;
}
