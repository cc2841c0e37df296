/**
 * The state store: one directory per container under --root holding state.json, written
 * atomically (temp file + rename) so a reader sees the old or the new record, never a torn one.
 * Liveness is pid + start time, so a recycled pid never makes a dead container look alive.
 */
import { closeSync, existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'fs';
import type { Dirent } from 'fs';
import { join } from 'path';
import type { GlobalOptions } from '../cli/context';
import { RuntimeError, describeSystemError, isTimeout } from '../base/errors';
import { readFileIfPresent, removeDirectory, writeFileAtomically } from '../base/files';
import { utcDateTime } from '../base/formats';
import { readProcStat, processStartTime } from '../base/procStat';
import { readIntent, writeIntent, type CreateIntent } from '../container/intent';
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
  /**
   * Set by read() (never stored) when there is no state.json yet: the record stands for a
   * create in flight, "creating" while its runts lives and "stopped" once it died.
   */
  creating?: CreateIntent;
  /** How the last update that was interrupted was settled: "completed" or "rolled back". */
  interruptedUpdate?: 'completed' | 'rolled back';
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

/** Names under --root no container id can take (`~` is outside the id pattern). */
const STAGING_PREFIX = '~creating~';
const DELETING_PREFIX = '~deleting~';
/** How long a command waits for another one on the same container (a dead holder's lock is freed at once). */
const LOCK_TIMEOUT_MS = 30_000;

export { readProcStat, type ProcStat } from '../base/procStat';

export const CONTAINER_NOT_FOUND = 'container does not exist';
export const CONTAINER_EXISTS = 'container with given ID already exists';


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
  const seconds = utcDateTime(Number(epochNanos / 1_000_000_000n));
  const fraction = (epochNanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${seconds}${fraction ? '.' + fraction : ''}Z`;
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
  /** @param lockTimeoutMs how long a command waits for another one holding the container's lock. */
  constructor(readonly root: string, private readonly lockTimeoutMs = LOCK_TIMEOUT_MS) {}

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
   * Makes the container directory, already locked and holding `intent`: it is built under a
   * staging name no id can take and renamed into place, so the directory never exists without
   * its intent record and a held lock. Of several concurrent callers exactly one succeeds, the
   * others get runc's "container with given ID already exists". Returns the lock's fd.
   */
  reserve(id: string, intent: CreateIntent): number {
    const dir = this.containerDir(id);
    const addon = this.nativeAddon();
    // There already but on a host's first create; its parents are made through Node then.
    const rootMade = addon.mkdir(this.root, 0o700);
    if (rootMade !== '' && rootMade !== 'EEXIST') {
      try {
        mkdirSync(this.root, { recursive: true, mode: 0o700 });
      } catch (err) {
        throw describeSystemError(`create state directory ${this.root}`, err);
      }
    }
    if (existsSync(dir)) throw new RuntimeError(CONTAINER_EXISTS);
    this.sweepStaging(id);
    const staging = join(this.root, `${STAGING_PREFIX}${id}~${process.pid}`);
    let lockFd: number | undefined;
    try {
      const made = addon.mkdir(staging, 0o711);
      if (made !== '') throw Object.assign(new Error(`mkdir ${staging}: ${made}`), { code: made });
      lockFd = addon.lockFile(join(staging, '.lock'));
      writeIntent(staging, intent);
      renameSync(staging, dir);
      return lockFd;
    } catch (err) {
      if (lockFd !== undefined) closeSync(lockFd);
      removeDirectory(staging);
      if (isErrno(err, 'ENOTEMPTY') || isErrno(err, 'EEXIST')) throw new RuntimeError(CONTAINER_EXISTS);
      throw describeSystemError(`create state directory ${dir}`, err);
    }
  }

  /** Removes staging directories of `id` left by a create killed before it renamed them. */
  sweepStaging(id: string): void {
    let names: string[];
    try {
      names = readdirSync(this.root);
    } catch {
      return;
    }
    const prefix = `${STAGING_PREFIX}${id}~`;
    for (const name of names) {
      if (!name.startsWith(prefix) && !name.startsWith(`${DELETING_PREFIX}${id}~`)) continue;
      // The name ends in the pid of the runts that made it: a live one is still at work.
      if (processStartTime(Number(name.slice(name.lastIndexOf('~') + 1))) !== undefined) continue;
      removeDirectory(join(this.root, name));
    }
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

  /**
   * The container's record. Without a readable state.json, a create's intent stands in for it
   * (see ContainerRecord.creating); with neither, the container does not exist for reading.
   */
  read(id: string): ContainerRecord {
    const file = this.statePath(id);
    let text: string | undefined;
    try {
      text = readFileIfPresent(file);
    } catch (err) {
      throw describeSystemError(`read ${file}`, err);
    }
    if (text === undefined) return this.provisional(id, CONTAINER_NOT_FOUND);
    try {
      return JSON.parse(text) as ContainerRecord;
    } catch (err) {
      return this.provisional(id, `${file}: invalid state: ${(err as Error).message}`);
    }
  }

  /** A record built from a create intent, for a container whose state.json is not there. */
  private provisional(id: string, otherwise: string): ContainerRecord {
    const intent = readIntent(this.containerDir(id));
    if (intent?.operation !== 'create') throw new RuntimeError(otherwise);
    return {
      ociVersion: intent.ociVersion,
      id,
      pid: intent.container?.pid ?? 0,
      pidStartTime: intent.container?.startTime ?? 0,
      bundle: intent.bundle,
      rootfs: intent.rootfs,
      created: intent.created,
      annotations: intent.annotations,
      config: { ociVersion: intent.ociVersion },
      cgroupPaths: intent.cgroupPaths,
      cgroupCreated: intent.cgroupMissing,
      cgroupUnit: intent.cgroupUnit,
      creating: intent,
    };
  }

  /**
   * Deletes the container directory and everything in it; a missing one is fine. The directory
   * is first renamed out of the id's way, so a delete killed half-way never leaves a partial
   * container (the leftover is swept by the next create or delete of the id).
   */
  remove(id: string): void {
    const dir = this.containerDir(id);
    const doomed = join(this.root, `${DELETING_PREFIX}${id}~${process.pid}`);
    try {
      renameSync(dir, doomed);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      removeDirectory(dir);
      return;
    }
    removeDirectory(doomed);
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
      return this.nativeAddon().lockFile(this.lockPath(id), this.lockTimeoutMs);
    } catch (err) {
      if (!this.exists(id)) throw new RuntimeError(CONTAINER_NOT_FOUND);
      if (isTimeout(err)) throw new RuntimeError(`timed out after ${this.lockTimeoutMs / 1000}s waiting for the lock of container ${id} (${this.lockPath(id)}): another runts holds it`);
      throw describeSystemError(`lock ${this.lockPath(id)}`, err);
    }
  }

  /** Required here, not at the top: state and list never lock, so never load the addon module. */
  private nativeAddon(): import('../native').NativeAddon {
    return (require('../native') as typeof import('../native')).native();
  }
}

/** The store under --root. A record's status is read by src/container/status.ts. */
export function openStore(globals: Pick<GlobalOptions, 'root'>): StateStore {
  return new StateStore(globals.root);
}
