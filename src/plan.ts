/**
 * Turns a validated Spec into the Plan the native init executes: every path resolved, every
 * option parsed to flags, every name turned into a number. The init decides nothing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { capabilityNumber } from './capabilities';
import { RuntimeError } from './errors';
import { MS, PROPAGATION_OPTIONS, parseMountOptions } from './mountOptions';
import { planSeccomp, type PlanSeccomp } from './seccomp';
import type { NamespaceType } from './native';
import type { Hook, LinuxCapabilities, LinuxDevice, LinuxTimeOffset, Mount, Process, Spec } from './spec/types';

export interface PlanMount {
  destination: string;
  type: string;
  source: string;
  flags: number;
  propagation: number[];
  data: string;
  bind: boolean;
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
  user: { uid: number; gid: number; additionalGids: number[] };
  umask: number | null;
  noNewPrivileges: boolean;
  capabilities: Record<keyof LinuxCapabilities, number[]>;
  /** soft/hard as decimal strings: RLIM_INFINITY does not fit a JS number. */
  rlimits: { type: string; resource: number; soft: string; hard: string }[];
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
}

const NAMESPACE_TYPES: Record<string, NamespaceType> = {
  pid: 'pid', network: 'network', mount: 'mount', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup', time: 'time',
};

/** The devices runc creates in every container whose /dev is not the host's. */
const DEFAULT_DEVICES: PlanDevice[] = [
  ['/dev/null', 1, 3], ['/dev/zero', 1, 5], ['/dev/full', 1, 7],
  ['/dev/tty', 5, 0], ['/dev/urandom', 1, 9], ['/dev/random', 1, 8],
].map(([p, major, minor]) => ({ path: p as string, type: 'c', major: major as number, minor: minor as number, fileMode: 0o666, uid: 0, gid: 0 }));

const RLIMITS = [
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS', 'RLIMIT_NPROC',
  'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS', 'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
];

export function buildPlan(spec: Spec, opts: PlanOptions): InitPlan {
  const linux = spec.linux ?? {};
  const proc = spec.process;
  if (!proc) throw new RuntimeError('config.json: /process: a container needs a process to run');
  if (proc.terminal) throw new RuntimeError('config.json: /process/terminal: terminals are not supported yet; set it to false');
  const namespaces = (linux.namespaces ?? []).map((n) => ({ type: NAMESPACE_TYPES[n.type], ...(n.path ? { path: n.path } : {}) }));
  const hasNamespace = (type: NamespaceType) => namespaces.some((n) => n.type === type);
  if (!hasNamespace('mount')) throw new RuntimeError('config.json: /linux/namespaces: runts needs a mount namespace');
  const newUserNamespace = namespaces.some((n) => n.type === 'user' && !n.path);
  const mounts = (spec.mounts ?? []).flatMap((m) => planMounts(m, opts.cgroupPaths));
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
    bindDevices: newUserNamespace,
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
    process: planProcess(proc),
    seccomp: planSeccomp(spec),
    exec: false,
    hooks: { createContainer: spec.hooks?.createContainer ?? [], startContainer: spec.hooks?.startContainer ?? [] },
  };
}

/**
 * The plan for `exec`: join every namespace of the running container (its init's
 * /proc/<pid>/ns links), no rootfs work, no hooks, the process as given.
 */
export function buildExecPlan(namespacePaths: Record<string, string>, proc: Process, preserveFds: number): InitPlan {
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
    process: planProcess(proc),
    // Not yet: runc gives an exec'd process the container's filter (planSeccomp of its config).
    seccomp: null,
    exec: true,
    hooks: { createContainer: [], startContainer: [] },
  };
}

function planProcess(proc: Process): PlanProcess {
  return {
    args: proc.args ?? [],
    env: proc.env ?? [],
    cwd: proc.cwd,
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
  };
}

function planMounts(m: Mount, cgroupPaths: Record<string, string>): PlanMount[] {
  const { flags, propagation, data } = parseMountOptions(m.options);
  const destination = path.posix.resolve('/', m.destination);
  const type = m.type ?? '';
  const base = { destination, type, source: m.source ?? '', flags, propagation, data: data.join(','), bind: type === 'bind' || (flags & MS.BIND) !== 0 };
  if (base.bind) base.flags |= MS.BIND;
  return type === 'cgroup' ? cgroupV1Mounts(base, cgroupPaths) : [base];
}

/**
 * A v1 "cgroup" mount becomes what runc makes of it: a writable tmpfs holding one bind per
 * controller of the container's own cgroup directories, each with the mount's options.
 */
function cgroupV1Mounts(mount: PlanMount, cgroupPaths: Record<string, string>): PlanMount[] {
  const tmpfs: PlanMount = { ...mount, type: 'tmpfs', source: 'tmpfs', flags: mount.flags & ~MS.RDONLY, data: 'mode=755', bind: false };
  const binds = Object.entries(cgroupPaths)
    .filter(([controller]) => controller !== '')
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

let lastCapability: number | undefined;

/** Capabilities this kernel has; runc skips the others. */
function kernelHasCapability(cap: number): boolean {
  if (lastCapability === undefined) {
    try {
      lastCapability = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    } catch {
      lastCapability = 40;
    }
  }
  return cap >= 0 && cap <= lastCapability;
}

function planCapabilities(caps: LinuxCapabilities | undefined): PlanProcess['capabilities'] {
  const numbers = (names: string[] | undefined) => (names ?? []).map(capabilityNumber).filter(kernelHasCapability);
  return {
    bounding: numbers(caps?.bounding),
    effective: numbers(caps?.effective),
    permitted: numbers(caps?.permitted),
    inheritable: numbers(caps?.inheritable),
    ambient: numbers(caps?.ambient),
  };
}
