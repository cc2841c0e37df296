/**
 * Where a container's cgroups live: host probing (v1, hybrid or unified, like runc) and
 * `linux.cgroupsPath` semantics of runc's cgroupfs driver:
 *   - absent: the container id, relative to runts' own cgroup (per v1 controller; on pure v2
 *     relative to the parent of runts' own cgroup, as runc's fs2 does);
 *   - absolute ("/a/b"): below each hierarchy's mount point;
 *   - relative ("a/b"): like absent, with the given path instead of the id.
 * runc silently clamps `..` at the root; runts refuses a path that would escape instead.
 */
import fs = require('fs');
import path = require('path');
import { RuntimeError } from '../base/errors';
import { selfMountinfo } from '../base/mountinfo';

export const CGROUP_ROOT = '/sys/fs/cgroup';
const CGROUP2_SUPER_MAGIC = 0x63677270;

export type CgroupMode = 'v1' | 'hybrid' | 'v2';

export interface Mount {
  /** Where the hierarchy is mounted. */
  mountpoint: string;
  /** The cgroup the mount shows as its root (mountinfo field 4), usually "/". */
  root: string;
}

export interface Hierarchy {
  mode: CgroupMode;
  /** v1 hierarchies by controller ("cpu", "memory", "name=systemd" …); empty on pure v2. */
  v1: Map<string, Mount>;
  /** The cgroup2 mount (pure v2, or hybrid's /sys/fs/cgroup/unified). */
  unified?: Mount;
  /** /proc/self/cgroup: controller ("" for v2) → runts' own cgroup path. */
  own: Map<string, string>;
}

/** The v1 controllers runc's fs driver manages, in runc's order. */
export const V1_CONTROLLERS = [
  'cpuset', 'devices', 'memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'hugetlb',
  'net_cls', 'net_prio', 'perf_event', 'freezer', 'rdma', 'misc', 'name=systemd',
] as const;

/** Parses /proc/self/mountinfo text into cgroup mounts. */
export function parseCgroupMounts(mountinfo: string): { v1: Map<string, Mount>; unified: Mount[] } {
  const v1 = new Map<string, Mount>();
  const unified: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const post = line.slice(sep + 3).split(' ');
    const [fstype, , superOptions = ''] = post;
    const mount = { root: unescapeMountinfo(pre[3]), mountpoint: unescapeMountinfo(pre[4]) };
    if (fstype === 'cgroup2') unified.push(mount);
    else if (fstype === 'cgroup') {
      for (const opt of superOptions.split(',')) {
        if ((V1_CONTROLLERS as readonly string[]).includes(opt) || opt.startsWith('name=')) {
          if (!v1.has(opt)) v1.set(opt, mount);
        }
      }
    }
  }
  return { v1, unified };
}

function unescapeMountinfo(s: string | undefined): string {
  return (s ?? '').replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses /proc/<pid>/cgroup: "id:controllers:path" lines. */
export function parseProcCgroup(text: string): Map<string, string> {
  const own = new Map<string, string>();
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    if (controllers === '') own.set('', p);
    else for (const c of controllers.split(',')) own.set(c, p);
  }
  return own;
}

/** Where the probe is kept: the binary's entry and the command bundles each have a copy of this module. */
const PROBED_KEY = Symbol.for('runts.cgroupHierarchy');
const shared = globalThis as { [PROBED_KEY]?: Hierarchy };

/** The host's cgroup layout, probed once per process like runc does (statfs of /sys/fs/cgroup). */
export function probeHierarchy(): Hierarchy {
  const probed = shared[PROBED_KEY];
  if (probed) return probed;
  const { v1, unified } = parseCgroupMounts(selfMountinfo());
  const own = parseProcCgroup(fs.readFileSync('/proc/self/cgroup', 'utf8'));
  let mode: CgroupMode;
  if (isCgroup2(CGROUP_ROOT)) mode = 'v2';
  else if (isCgroup2(path.join(CGROUP_ROOT, 'unified'))) mode = 'hybrid';
  else mode = 'v1';
  const unifiedMount = mode === 'v2'
    ? unified.find((m) => m.mountpoint === CGROUP_ROOT) ?? { mountpoint: CGROUP_ROOT, root: '/' }
    : mode === 'hybrid'
      ? unified.find((m) => m.mountpoint === path.join(CGROUP_ROOT, 'unified')) ?? { mountpoint: path.join(CGROUP_ROOT, 'unified'), root: '/' }
      : undefined;
  return (shared[PROBED_KEY] = { mode, v1: mode === 'v2' ? new Map() : v1, unified: unifiedMount, own });
}

function isCgroup2(dir: string): boolean {
  try {
    return fs.statfsSync(dir).type === CGROUP2_SUPER_MAGIC;
  } catch {
    return false;
  }
}

export interface InnerPath {
  /** Normalised, without a leading slash; never empty, never containing "..". */
  inner: string;
  absolute: boolean;
}

/**
 * The cgroup path a container asks for, normalised: `.` and empty components dropped, `..`
 * resolved lexically. A `..` that would climb above the start (the hierarchy root for an
 * absolute path, runts' own cgroup for a relative one) is refused, as is a path naming that
 * start itself: a container never shares the root or runts' cgroup.
 */
export function resolveInner(cgroupsPath: string | undefined, id: string): InnerPath {
  if (cgroupsPath === undefined || cgroupsPath === '') {
    return { inner: checkedComponents(id, id).join('/'), absolute: false };
  }
  if (cgroupsPath.includes('\0')) throw new RuntimeError('cgroupsPath must not contain a NUL byte');
  const absolute = cgroupsPath.startsWith('/');
  const parts = checkedComponents(cgroupsPath, cgroupsPath);
  if (parts.length === 0) {
    throw new RuntimeError(`cgroupsPath ${JSON.stringify(cgroupsPath)} names ${absolute ? 'the root cgroup' : "runts' own cgroup"}: give the container a cgroup of its own`);
  }
  return { inner: parts.join('/'), absolute };
}

function checkedComponents(p: string, shown: string): string[] {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new RuntimeError(`cgroupsPath ${JSON.stringify(shown)} escapes the cgroup hierarchy`);
      out.pop();
    } else out.push(part);
  }
  return out;
}

/**
 * The v1 directory of `controller` for `inner`: below the mount point for an absolute path,
 * else below runts' own cgroup in that hierarchy (runc's subsysPath).
 */
export function v1Dir(h: Hierarchy, controller: string, mount: Mount, want: InnerPath): string {
  if (want.absolute) return path.join(mount.mountpoint, want.inner);
  return path.join(mount.mountpoint, relativeToMount(h.own.get(controller) ?? '/', mount.root), want.inner);
}

/** The hybrid-mode unified directory: same rule as the v1 controllers. */
export function hybridUnifiedDir(h: Hierarchy, want: InnerPath): string {
  const mount = h.unified!;
  if (want.absolute) return path.join(mount.mountpoint, want.inner);
  return path.join(mount.mountpoint, relativeToMount(h.own.get('') ?? '/', mount.root), want.inner);
}

/**
 * The pure-v2 directory: absolute below the mount, relative below the *parent* of runts' own
 * cgroup (runc's fs2 defaultDirPath: the own cgroup has processes, so it cannot delegate).
 */
export function v2Dir(h: Hierarchy, want: InnerPath): string {
  const mount = h.unified!;
  if (want.absolute) return path.join(mount.mountpoint, want.inner);
  const own = relativeToMount(h.own.get('') ?? '/', mount.root);
  return path.join(mount.mountpoint, path.posix.dirname(path.posix.join('/', own)), want.inner);
}

function relativeToMount(cgroup: string, mountRoot: string): string {
  const rel = path.posix.relative(mountRoot, cgroup);
  // Outside the mount's view (another cgroup namespace): fall back to the mount root.
  return rel.startsWith('..') ? '' : rel;
}

/** True when `dir` lies strictly below `root` (both absolute). */
export function isBelow(dir: string, root: string): boolean {
  const rel = path.relative(root, dir);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}
