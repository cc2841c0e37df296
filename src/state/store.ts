/**
 * The state store: one directory per container under --root holding state.json, written
 * atomically (temp file + rename) so a reader sees the old or the new record, never a torn one.
 * Liveness is pid + start time, so a recycled pid never makes a dead container look alive.
 */
import { closeSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'fs';
import type { Dirent } from 'fs';
import { join } from 'path';
import type { GlobalOptions } from '../cli/context';
import { RuntimeError, describeSystemError } from '../base/errors';
import { writeFileAtomically } from '../base/files';
import type { ContainerStatus, Spec } from '../config/types';

export type { ContainerStatus };

/** What runts keeps about a container in <root>/<id>/state.json. */
export interface ContainerRecord {
  ociVersion: string;
  id: string;
  /** The container's init process, as seen from the host. */
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot) when the record was written. */
  pidStartTime: number;
  /** Absolute bundle directory. */
  bundle: string;
  /** Absolute rootfs path. */
  rootfs: string;
  /** RFC 3339 with nanoseconds, UTC, as Go's time.RFC3339Nano writes it. */
  created: string;
  annotations: Record<string, string>;
  /** The validated config.json. */
  config: Spec;
  // Add typed optional fields below as the runtime needs them.
  /** cgroup paths by controller ("" for the unified hierarchy). */
  cgroupPaths?: Record<string, string>;
  /** The cgroup directories create made: delete removes these and only these. */
  cgroupCreated?: string[];
  /** The systemd unit (a transient scope) holding the cgroup, under --systemd-cgroup. */
  cgroupUnit?: string;
  /** /proc/<pid>/ns/<type> paths of the namespaces the container joined or created. */
  namespacePaths?: Record<string, string>;
}

/** What `runc state` prints, fields in runc's order. */
export interface OciState {
  ociVersion: string;
  id: string;
  pid: number;
  status: ContainerStatus;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

/** runc's `^[\w+-\.]+$`: in Go `+-\.` is the range + , - . (and \w is ASCII only). */
const ID_PATTERN = /^[\w+,\-.]+$/;

export function validateId(id: string): void {
  if (id === '') throw new RuntimeError('container id cannot be empty');
  if (!ID_PATTERN.test(id) || id === '.' || id === '..') throw new RuntimeError('invalid container ID format');
}

export const CONTAINER_NOT_FOUND = 'container does not exist';
export const CONTAINER_EXISTS = 'container with given ID already exists';

export interface ProcStat {
  /** One-letter process state (R, S, D, Z, X …). */
  state: string;
  /** Field 22: start time in clock ticks after boot. */
  startTime: number;
}

/**
 * Reads /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, so the
 * fields are counted from the last ')'. Decoded as utf8 although comm is raw bytes: only the
 * ASCII fields after it are read, and the first latin1 decode in a process costs ~0.5 ms.
 */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const startTime = Number(fields[19]);
  if (!fields[0] || !Number.isSafeInteger(startTime)) return undefined;
  return { state: fields[0], startTime };
}

/** The start time to record for a freshly started pid, throwing when it is already gone. */
export function pidStartTime(pid: number): number {
  const stat = readProcStat(pid);
  if (!stat) throw new RuntimeError(`process ${pid} does not exist`);
  return stat.startTime;
}

/** True when the record's init still runs: same pid, same start time, not a zombie. */
export function isAlive(record: Pick<ContainerRecord, 'pid' | 'pidStartTime'>): boolean {
  if (!(record.pid > 0)) return false;
  const stat = readProcStat(record.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X' && stat.startTime === record.pidStartTime;
}

/** Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped. */
export function rfc3339Nano(epochNanos: bigint): string {
  const seconds = new Date(Number(epochNanos / 1_000_000n)).toISOString().slice(0, 19);
  const fraction = (epochNanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${seconds}${fraction ? '.' + fraction : ''}Z`;
}

/** The current time for `created` (microsecond resolution is what Node offers). */
export function nowRfc3339Nano(): string {
  const micros = Math.round((performance.timeOrigin + performance.now()) * 1000);
  return rfc3339Nano(BigInt(micros) * 1000n);
}

function sortedCopy(map: Record<string, string>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(map).sort()) sorted[key] = map[key];
  return sorted;
}

/**
 * The object `runc state` / `runc list --format json` print. runc shows pid 0 once stopped,
 * leaves out empty annotations, and prints owner "" in `state` (only `list` fills it).
 */
export function ociState(record: ContainerRecord, status: ContainerStatus, owner = ''): OciState {
  const annotations = record.annotations ?? {};
  return {
    ociVersion: record.ociVersion,
    id: record.id,
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    ...(Object.keys(annotations).length > 0 ? { annotations: sortedCopy(annotations) } : {}),
    owner,
  };
}

function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

export class StateStore {
  constructor(readonly root: string) {}

  containerDir(id: string): string {
    validateId(id);
    return join(this.root, id);
  }

  statePath(id: string): string {
    return join(this.containerDir(id), 'state.json');
  }

  /** The fifo the created init blocks on until `start`. */
  execFifoPath(id: string): string {
    return join(this.containerDir(id), 'exec.fifo');
  }

  lockPath(id: string): string {
    return join(this.containerDir(id), '.lock');
  }

  /** True when the container directory exists (even before its record is written). */
  exists(id: string): boolean {
    return existsSync(this.containerDir(id));
  }

  /**
   * Creates the container directory; of several concurrent callers exactly one succeeds,
   * the others get runc's "container with given ID already exists".
   */
  reserve(id: string): string {
    const dir = this.containerDir(id);
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
      mkdirSync(dir, { mode: 0o711 });
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new RuntimeError(CONTAINER_EXISTS);
      throw describeSystemError(`create state directory ${dir}`, err);
    }
    return dir;
  }

  /** Replaces state.json atomically: write a temp file in the same directory, rename it. */
  write(record: ContainerRecord): void {
    const target = this.statePath(record.id);
    try {
      writeFileAtomically(target, JSON.stringify(record), 0o600);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new RuntimeError(CONTAINER_NOT_FOUND);
      throw describeSystemError(`write ${target}`, err);
    }
  }

  read(id: string): ContainerRecord {
    const file = this.statePath(id);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) throw new RuntimeError(CONTAINER_NOT_FOUND);
      throw describeSystemError(`read ${file}`, err);
    }
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch (err) {
      throw new RuntimeError(`${file}: invalid state: ${(err as Error).message}`);
    }
  }

  /** Deletes the container directory and everything in it; a missing one is fine. */
  remove(id: string): void {
    rmSync(this.containerDir(id), { recursive: true, force: true });
  }

  /** Ids of every container directory, sorted as runc lists them. */
  list(): string[] {
    let entries: Dirent[];
    try {
      entries = readdirSync(this.root, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw describeSystemError(`read ${this.root}`, err);
    }
    return entries
      .filter((e) => e.isDirectory() && ID_PATTERN.test(e.name) && e.name !== '.' && e.name !== '..')
      .map((e) => e.name)
      .sort();
  }

  /** uid owning the container directory: `runc list` shows it as OWNER. */
  ownerUid(id: string): number {
    return statSync(this.containerDir(id)).uid;
  }

  /**
   * Runs `fn` holding an exclusive flock on <root>/<id>/.lock, so commands on one container
   * do not interleave. The lock is released (fd closed) when `fn` settles.
   */
  async withLock<T>(id: string, fn: () => T | Promise<T>): Promise<T> {
    if (!this.exists(id)) throw new RuntimeError(CONTAINER_NOT_FOUND);
    const fd = this.lock(id);
    try {
      return await fn();
    } finally {
      closeSync(fd);
    }
  }

  private lock(id: string): number {
    try {
      // Required here, not at the top: state and list never lock, so never load the addon module.
      const { native } = require('../native') as typeof import('../native');
      return native().lockFile(this.lockPath(id));
    } catch (err) {
      if (!this.exists(id)) throw new RuntimeError(CONTAINER_NOT_FOUND);
      throw describeSystemError(`lock ${this.lockPath(id)}`, err);
    }
  }
}

/** The store under --root. A record's status is read by src/container/status.ts. */
export function openStore(globals: Pick<GlobalOptions, 'root'>): StateStore {
  return new StateStore(globals.root);
}
