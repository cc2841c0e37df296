/**
 * runts' cgroup API. The container code opens a Cgroup at create time (openCgroup), stores its
 * `paths` (and `created`) in the container's state, and reopens it for later commands
 * (cgroupFromPaths). The driver is chosen by probing the host like runc: pure cgroup v2
 * (unified) → V2Cgroup; v1, or v1 with a cgroup2 mount at /sys/fs/cgroup/unified (hybrid) →
 * V1Cgroup, which in hybrid mode also joins the unified hierarchy (key "") as runc does.
 */
import { RuntimeError } from '../base/errors';
import path = require('path');
import type { LinuxDevice, LinuxResources, Spec } from '../config/types';
import { sleepMs } from '../base/sleep';
import { V1_CONTROLLERS, hybridUnifiedDir, probeHierarchy, resolveInner, v1Dir, v2Dir, type Hierarchy } from './path';
import type { Stats } from './stats';
import { V1Cgroup } from './v1';
import { V2Cgroup } from './v2';

export type { LinuxResources };
export type { Stats };

export interface CgroupOptions {
  id: string;
  cgroupsPath?: string;
  systemd: boolean;
  resources?: LinuxResources;
  /**
   * The config's `linux.devices`: a default allowed device whose path is listed here is left
   * out of the device rules (runc lets the config's entry take over).
   */
  devices?: LinuxDevice[];
  /** The config's annotations: `org.systemd.property.*` ones become unit properties under --systemd-cgroup. */
  annotations?: Record<string, string>;
  /** Under --systemd-cgroup on v2: the host uid that gets the container's cgroup (cgroupOwner). */
  ownerUid?: number;
  /** Receives warnings (ignored kernel memory settings …); silent when absent. */
  warn?: (msg: string) => void;
}

/** v1 `tasks` files, and the unified directory of the hybrid layout (or null). */
export interface InitJoinFiles {
  tasks: string[];
  unified: string | null;
}

/** What memory pressure a cgroup has seen, for `events` (oom notifications). */
export interface MemoryEvents {
  /** Times the cgroup hit its limit and the OOM path ran (v2 "oom"; v1 under_oom transitions are seen as this). */
  oom: number;
  /** Processes the OOM killer killed in the cgroup. */
  oomKill: number;
  /** v1 only: the cgroup is currently under OOM (its killer is disabled). */
  underOom: boolean;
}

export interface Cgroup {
  /** controller (or "" for the v2 / hybrid unified hierarchy) → absolute directory. */
  readonly paths: Record<string, string>;
  /** The directories create() made, parents before children; destroy() removes only these. */
  readonly created: string[];
  /** The systemd unit holding the cgroup (--systemd-cgroup); delete stops it. */
  readonly unit?: string;
  /**
   * True when the directories exist only from the first join() on (the systemd driver: its unit
   * starts with the container's init as its process), not from create().
   */
  readonly dirsMadeAtJoin?: boolean;
  /** mkdir every directory (v1 cpuset: cpus/mems copied from the parent first), apply resources. */
  create(): void;
  /**
   * create() in two halves (v1 hierarchies only): the directories, ready to take a process, then
   * the container's resources. A container process that joins after its setup lets the runtime
   * write them while the init sets up (create.ts); a failed write removes nothing by itself.
   */
  createDirectories?(): void;
  writeResources?(): void;
  /** Writes `pid` to cgroup.procs of every directory. */
  join(pid: number): void;
  /**
   * The files through which the container process can join by itself instead (planCgroupJoin in
   * src/plan/plan.ts says whether and when); absent for the systemd driver, whose unit starts
   * with the process.
   */
  initJoinFiles?(): InitJoinFiles;
  /**
   * Live update: only the given fields are written; on a refused write the earlier writes are
   * undone. `current` (the resources before the update) lets the systemd driver send a cpu
   * quota or period with the other half.
   */
  apply(resources: LinuxResources, current?: LinuxResources): void;
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** Every process in the container's cgroup and its sub-cgroups. */
  pids(): number[];
  /** runc's `events --stats` data (see stats.ts statsJson for the JSON shape). */
  stats(): Stats;
  memoryEvents(): MemoryEvents | undefined;
  /** True while the container's cgroup directory exists. */
  exists(): boolean;
  /** Kills nothing; rmdir every directory create() made (retrying EBUSY briefly), and only those. */
  destroy(): void;
  /** destroy() if the cgroup holds no process; false, with nothing removed, if it may hold one. */
  destroyIfEmpty?(): boolean;
}

/**
 * The host uid that owns a --systemd-cgroup container's cgroup on v2, as runc 1.1's systemd driver chowns it: when
 * the container has its own user namespace and a new cgroup namespace and mounts /sys/fs/cgroup
 * read-write, its root (the host uid that container uid 0 maps to) gets the directory and the
 * files the kernel lists as delegatable, so it can manage its own subtree. Otherwise none.
 */
export function cgroupOwner(spec: Spec): number | undefined {
  const namespaces = spec.linux?.namespaces ?? [];
  if (!namespaces.some((n) => n.type === 'user') || !namespaces.some((n) => n.type === 'cgroup' && !n.path)) return undefined;
  const cgroupMount = (spec.mounts ?? []).filter((m) => path.posix.normalize(m.destination) === '/sys/fs/cgroup').pop();
  if (!cgroupMount || (cgroupMount.options ?? []).includes('ro')) return undefined;
  const root = (spec.linux?.uidMappings ?? []).find((m) => m.containerID <= 0 && 0 < m.containerID + m.size);
  return root ? root.hostID - root.containerID : undefined;
}

/** The Cgroup for a new container. Throws RuntimeError for an escaping path or a bad unit name. */
export function openCgroup(opts: CgroupOptions): Cgroup {
  if (opts.systemd) return systemdDriver().openSystemdCgroup(opts);
  const want = resolveInner(opts.cgroupsPath, opts.id);
  const h = probeHierarchy();
  const options = { resources: opts.resources, linuxDevices: opts.devices, warn: opts.warn };
  if (h.mode === 'v2') {
    if (!h.unified) throw new RuntimeError('cgroup v2 hierarchy not found');
    return new V2Cgroup(v2Dir(h, want), { ...options, mountpoint: h.unified.mountpoint });
  }
  return new V1Cgroup(v1Paths(h, want), { ...options, mountpoints: v1Mountpoints(h) });
}

function v1Paths(h: Hierarchy, want: ReturnType<typeof resolveInner>): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const controller of V1_CONTROLLERS) {
    const mount = h.v1.get(controller);
    if (mount) paths[controller] = v1Dir(h, controller, mount, want);
  }
  if (!paths.devices) throw new RuntimeError('the devices cgroup controller is not mounted: refusing to run a container without device isolation');
  if (h.mode === 'hybrid' && h.unified) paths[''] = hybridUnifiedDir(h, want);
  return paths;
}

function v1Mountpoints(h: Hierarchy): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [controller, mount] of h.v1) out[controller] = mount.mountpoint;
  if (h.mode === 'hybrid' && h.unified) out[''] = h.unified.mountpoint;
  return out;
}

/** The systemd driver, loaded only for --systemd-cgroup containers. */
function systemdDriver(): typeof import('./systemd') {
  return require('./systemd') as typeof import('./systemd');
}

/**
 * runc 1.1.5's checks on a cgroup that is there before the container: processes in it get a
 * warning (runc will refuse them from 1.2), a frozen one is refused — its init would freeze on
 * joining and create would wait forever.
 */
export function checkPreexisting(cgroup: Cgroup, warn: (msg: string) => void): void {
  if (cgroup.exists()) {
    const pids = cgroup.pids();
    if (pids.length > 0) {
      warn(`container's cgroup is not empty: ${pids.length} process(es) found`);
      warn("DEPRECATED: running container in a non-empty cgroup won't be supported in runc 1.2; https://github.com/opencontainers/runc/issues/3132");
    }
  }
  if (cgroup.isFrozen()) throw new RuntimeError("container's cgroup unexpectedly frozen");
}

/**
 * The Cgroup of an existing container from its stored paths. Without `created`, destroy()
 * removes the leaf directories only (runc's behaviour). With `unit` (a --systemd-cgroup
 * container), update and destroy go through systemd.
 */
export function cgroupFromPaths(paths: Record<string, string>, created?: string[], unit?: string): Cgroup {
  if (unit) return systemdDriver().reopenSystemdCgroup(unit, paths);
  const keys = Object.keys(paths);
  if (keys.length === 1 && keys[0] === '') return new V2Cgroup(paths[''], { created });
  return new V1Cgroup(paths, { created });
}

export { isFrozenPaths } from './frozen';

/**
 * `kill --all`: freeze, signal every process, thaw — so nothing forks past the signal (runc's
 * signalAllProcesses). SIGKILL also works on a frozen cgroup; other signals are delivered on thaw.
 */
export function signalAll(cgroup: Cgroup, signal: NodeJS.Signals | number): number[] {
  let froze = false;
  try {
    if (!cgroup.isFrozen()) {
      cgroup.freeze();
      froze = true;
    }
  } catch {
    froze = false;
  }
  const pids = cgroup.pids();
  try {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  } finally {
    if (froze) cgroup.thaw();
  }
  return pids;
}

/** Waits until the cgroup holds no process (after a SIGKILL), up to `timeoutMs`. */
export function waitEmpty(cgroup: Cgroup, timeoutMs = 5000): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cgroup.pids().length === 0) return true;
    if (Date.now() >= deadline) return false;
    sleepMs(5);
  }
}
