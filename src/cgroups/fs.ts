/**
 * cgroupfs file access shared by the v1 and v2 drivers. Every write is one open + one write(2)
 * + close, without O_CREAT (a missing file is ENOENT, never a new regular file), and a refused
 * write becomes a RuntimeError naming the value and the file, as runc words it:
 * `failed to write "VALUE": write PATH: REASON`.
 */
import fs = require('fs');
import path = require('path');
import { getSystemErrorMap } from 'util';
import { RuntimeError } from '../base/errors';
import { readFileIfPresent } from '../base/files';
import { sleepMs } from '../base/sleep';
import { native } from '../native';

/** strerror(3) wording (what Go prints) for the errnos cgroupfs returns; libuv's otherwise. */
const STRERROR: Record<string, string> = {
  EINVAL: 'invalid argument',
  EBUSY: 'device or resource busy',
  ENOENT: 'no such file or directory',
  EPERM: 'operation not permitted',
  EACCES: 'permission denied',
  ENOSPC: 'no space left on device',
  ENODEV: 'no such device',
  ENOTSUP: 'operation not supported',
  EOPNOTSUPP: 'operation not supported',
  ERANGE: 'numerical result out of range',
  EEXIST: 'file exists',
  ENOTEMPTY: 'directory not empty',
  ESRCH: 'no such process',
  EROFS: 'read-only file system',
  E2BIG: 'argument list too long',
};

export function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && e.code && STRERROR[e.code]) return STRERROR[e.code];
  if (e && typeof e.errno === 'number') {
    const known = getSystemErrorMap().get(e.errno);
    if (known) return known[1];
  }
  return String((e && e.message) || err);
}

/** reason() for an errno's name alone, as the addon's mkdir and rmdir answer it ("ENAMETOOLONG"). */
function reasonOfCode(code: string): string {
  // Loaded on an error only: the os module costs a first call ~0.2 ms.
  const errno = (require('os') as typeof import('os')).constants.errno as Record<string, number | undefined>;
  return reason({ code, errno: errno[code] === undefined ? undefined : -errno[code]!, message: code });
}

/** A refused cgroup write; `errno` keeps the code so callers can react to EBUSY, EINVAL … */
export class CgroupWriteError extends RuntimeError {
  constructor(readonly file: string, readonly value: string, readonly code: string | undefined, why: string) {
    super(`failed to write ${JSON.stringify(value)}: write ${file}: ${why}`);
  }
}

/** Reads and writes of cgroup files; tests swap in a recorder. */
export interface CgroupIO {
  write(dir: string, file: string, value: string): void;
  /** The file's text, or undefined when it does not exist. Other errors throw. */
  read(dir: string, file: string): string | undefined;
  exists(dir: string, file: string): boolean;
}

export const realIO: CgroupIO = {
  write(dir, file, value) {
    const full = path.join(dir, file);
    try {
      native().writeExisting(full, value);
    } catch (err) {
      throw new CgroupWriteError(full, value, errnoCode(err), reason(err));
    }
  },
  read(dir, file) {
    const full = path.join(dir, file);
    try {
      return readFileIfPresent(full);
    } catch (err) {
      throw new RuntimeError(`read ${full}: ${reason(err)}`);
    }
  },
  exists(dir, file) {
    return fs.existsSync(path.join(dir, file));
  },
};

/**
 * Remembers the previous content of every single-value file written through it, so a failed
 * `update` can put back what it had changed (runc: "Setting back cgroup configs").
 */
export class UndoingIO implements CgroupIO {
  private readonly undo: { dir: string; file: string; value: string }[] = [];

  constructor(private readonly inner: CgroupIO, private readonly restorable: (file: string) => boolean) {}

  write(dir: string, file: string, value: string): void {
    let before: string | undefined;
    if (this.restorable(file)) {
      try {
        before = this.inner.read(dir, file)?.trim();
      } catch {
        before = undefined;
      }
    }
    this.inner.write(dir, file, value);
    if (before !== undefined && before !== '') this.undo.push({ dir, file, value: before });
  }

  read(dir: string, file: string): string | undefined {
    return this.inner.read(dir, file);
  }

  exists(dir: string, file: string): boolean {
    return this.inner.exists(dir, file);
  }

  /** Writes the remembered values back, newest first; returns the messages of failed writes. */
  rollback(): string[] {
    const failures: string[] = [];
    for (const step of this.undo.reverse()) {
      try {
        this.inner.write(step.dir, step.file, step.value);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    this.undo.length = 0;
    return failures;
  }
}

/** A number in a cgroup file: "max" (v2) becomes 2^64-1 as runc reports it. */
export const MAX_UINT64 = (1n << 64n) - 1n;

export function parseUint(text: string | undefined): bigint {
  if (text === undefined) return 0n;
  const t = text.trim();
  if (t === 'max') return MAX_UINT64;
  if (!/^-?\d+$/.test(t)) return 0n;
  const v = BigInt(t);
  // The kernel prints some negative values for "unlimited" (e.g. -1 in cfs_quota_us).
  return v < 0n ? 0n : v;
}

/** `key value` lines (memory.stat, cpu.stat, memory.events …) as bigints. */
export function parseKeyValues(text: string | undefined): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const line of (text ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^\d+$/.test(value)) out.set(key, BigInt(value));
  }
  return out;
}

/**
 * mkdir -p that reports which directories it made (deepest last), so destroy removes those
 * and only those.
 */
export function mkdirTracked(dir: string, created: string[]): void {
  // mkdir first, parents only when it says they are missing: one call per directory where an
  // existence check of it and of its parent came before each.
  if (mkdirOnce(dir, created, true)) return;
  mkdirTracked(path.dirname(dir), created);
  mkdirOnce(dir, created, false);
}

/** mkdir of `dir`, recorded in `created` if made; false when its parent is missing and `parentMayMiss`. */
function mkdirOnce(dir: string, created: string[], parentMayMiss: boolean): boolean {
  const code = native().mkdir(dir, 0o755);
  if (code === '') created.push(dir);
  else if (code === 'ENOENT' && parentMayMiss && path.dirname(dir) !== dir) return false;
  else if (code !== 'EEXIST') throw new RuntimeError(`mkdir ${dir}: ${reasonOfCode(code)}`);
  return true;
}

/**
 * rmdir retried while the kernel still reports the cgroup busy (the last task is exiting).
 * A directory already gone is fine. Returns the error message when it could not be removed.
 */
export function rmdirRetry(dir: string, timeoutMs = 1000): string | undefined {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
    const code = native().rmdir(dir);
    if (code === '' || code === 'ENOENT') return undefined;
    if ((code !== 'EBUSY' && code !== 'EAGAIN') || Date.now() >= deadline) return `rmdir ${dir}: ${reasonOfCode(code)}`;
    sleepMs(wait);
  }
}

/**
 * Every pid in `dir`'s cgroup.procs and in all its sub-cgroups, sorted and unique. A v2 cgroup
 * of type "threaded" (made inside a delegated container) refuses to list its processes
 * (EOPNOTSUPP): its threads are read instead, each counted as the process it belongs to.
 */
export function allPids(dir: string): number[] {
  const pids = new Set<number>();
  const walk = (d: string): void => {
    let text: string;
    try {
      text = fs.readFileSync(path.join(d, 'cgroup.procs'), 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT') return;
      if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw new RuntimeError(`read ${path.join(d, 'cgroup.procs')}: ${reason(err)}`);
      text = threadOwners(d).join('\n');
    }
    for (const line of text.split('\n')) if (line) pids.add(Number(line));
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return [...pids].sort((a, b) => a - b);
}

/** The processes (thread group ids) of the threads in a threaded cgroup's cgroup.threads; a thread gone meanwhile is skipped. */
function threadOwners(dir: string): number[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, 'cgroup.threads'), 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw new RuntimeError(`read ${path.join(dir, 'cgroup.threads')}: ${reason(err)}`);
  }
  const owners: number[] = [];
  for (const tid of text.split('\n')) {
    if (!tid) continue;
    try {
      const tgid = /^Tgid:\s*(\d+)$/m.exec(fs.readFileSync(`/proc/${tid}/status`, 'utf8'));
      if (tgid) owners.push(Number(tgid[1]));
    } catch {
      // exited meanwhile
    }
  }
  return owners;
}

/** Joins `pid` to the cgroup at `dir` (cgroup.procs), with runc's wording on failure. */
export function writePid(io: CgroupIO, dir: string, pid: number): void {
  // A freshly forked pid can be refused with EINVAL for a moment on v1; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      io.write(dir, 'cgroup.procs', String(pid));
      return;
    } catch (err) {
      if (!(err instanceof CgroupWriteError) || err.code !== 'EINVAL' || attempt >= 5) throw err;
      sleepMs(1);
    }
  }
}

/**
 * Writes `value`; when the kernel refuses it with EINVAL and `canRetry`, returns true instead
 * of throwing, for the caller to write it again once the value it depends on is in.
 */
export function writeOrRetryLater(io: CgroupIO, dir: string, file: string, value: string, canRetry: boolean): boolean {
  try {
    io.write(dir, file, value);
    return false;
  } catch (err) {
    if (!(err instanceof CgroupWriteError) || err.code !== 'EINVAL' || !canRetry) throw err;
    return true;
  }
}

/**
 * Runs `set` with writes recorded; when it throws, the files in `restorable` it changed get
 * their previous values back, and a failed restore is added to the error.
 */
export function setWithRollback(io: CgroupIO, restorable: ReadonlySet<string>, set: (io: CgroupIO) => void): void {
  const undo = new UndoingIO(io, (f) => restorable.has(f));
  try {
    set(undo);
  } catch (err) {
    const failed = undo.rollback();
    if (failed.length > 0) (err as Error).message += ` (and restoring the previous values failed: ${failed.join('; ')})`;
    throw err;
  }
}

/** Removes cgroup directories, children before parents; returns the messages of those left. */
export function removeCgroupDirs(dirs: readonly string[], leaves: readonly string[] = []): string[] {
  const isLeaf = new Set(leaves);
  const failures: string[] = [];
  const remove = (dir: string) => {
    const failed = rmdirRetry(dir);
    if (failed) failures.push(failed);
  };
  for (const dir of new Set(deepestFirst(dirs))) {
    if (rmdirAtOnce(dir)) continue;
    // Sub-cgroups the container made inside its own (cgroupns, a writable cgroup mount) go first:
    // runc removes them too, and the container's directory cannot go while they exist. Looked for
    // only once the directory refused to go: a readdir of every hierarchy cost each delete ~0.5 ms.
    if (isLeaf.has(dir)) deepestFirst(subDirectories(dir)).forEach(remove);
    remove(dir);
  }
  return failures;
}

function deepestFirst(dirs: readonly string[]): string[] {
  return [...dirs].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : a > b ? -1 : 0));
}

/**
 * Whether the directory a cgroup's processes are listed from, one of those it may remove, went
 * with one rmdir: an empty cgroup's then go without reading it (~0.3 ms of each delete); a
 * refusal (a process, or a sub-cgroup, in it) removed nothing.
 */
export function emptyCgroupRemoved(processListDir: string | undefined, removable: readonly string[]): boolean {
  return processListDir !== undefined && removable.includes(processListDir) && rmdirAtOnce(processListDir);
}

/** One rmdir: true once `dir` is gone; false when it is still there (busy, or another error rmdirRetry reports). */
function rmdirAtOnce(dir: string): boolean {
  const code = native().rmdir(dir);
  return code === '' || code === 'ENOENT';
}

/** Every directory below `dir` (not `dir` itself); none when it is gone. */
function subDirectories(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory()).flatMap((e) => {
    const sub = path.join(dir, e.name);
    return [sub, ...subDirectories(sub)];
  });
}
