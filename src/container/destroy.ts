import { cgroupFromPaths, signalAll } from '../cgroups';
import { runHooks } from './hooks';
import type { Logger } from '../base/log';
import fs = require('fs');
import { native } from '../native';
import { RuntimeError, isRuntimeError } from '../base/errors';
import { CONTAINER_NOT_FOUND, isAlive, type ContainerRecord, type StateStore } from '../state/store';
import { removeCgroupDirs } from '../cgroups/fs';
import { isRunning, readExecIntents, self, writeIntent, type ProcessRef } from './intent';
import { requireAllowed, statusOf } from './status';

const GONE_TIMEOUT_MS = 10_000;

/** SIGKILLs every process of the container and waits until the init is gone. */
export function killAll(record: ContainerRecord): void {
  if (record.cgroupPaths && ownsCgroup(record)) {
    const cgroup = cgroupFromPaths(record.cgroupPaths, record.cgroupCreated);
    // As runc: when the container has a pid namespace of its own, its init's death takes every
    // process in it (and the init is reaped only once they are gone), so freezing the cgroup to
    // signal each process is needed only without one, or for a create cut short.
    if (!ownsPidNamespace(record) || record.creating || !isAlive(record)) signalAll(cgroup, 'SIGKILL');
    else kill(record.pid);
    // A paused container's processes die only once thawed.
    if (cgroup.isFrozen()) cgroup.thaw();
  }
  killAndWait(record.pid, record.pidStartTime);
}

function kill(pid: number): void {
  try {
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * SIGKILLs the process `pid` started at `startTime`, if it is still that one, and waits (at most
 * GONE_TIMEOUT_MS) on its pidfd until it has exited: no polling interval added to every delete.
 */
function killAndWait(pid: number, startTime: number): void {
  if (!(pid > 0)) return;
  let pidfd: number;
  try {
    pidfd = native().pidfdOpen(pid, startTime);
  } catch {
    return; // gone, or the pid is another process's now
  }
  try {
    kill(pid);
    native().waitReadable(pidfd, GONE_TIMEOUT_MS);
  } finally {
    fs.closeSync(pidfd);
  }
}

function ownsPidNamespace(record: ContainerRecord): boolean {
  return record.config?.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path) ?? false;
}

/**
 * delete: remove a stopped (or created) container; `force` kills a running or paused one first.
 * A missing container is fine when forced, as with runc.
 */
export async function deleteContainer(store: StateStore, id: string, force: boolean, log: Logger): Promise<void> {
  store.sweepStaging(id);
  if (!store.exists(id)) {
    if (force) return;
    throw new RuntimeError(CONTAINER_NOT_FOUND);
  }
  await store.withLock(id, () => {
    let record: ContainerRecord;
    try {
      record = store.read(id);
    } catch (err) {
      // Neither a state nor a create intent (or state.json unreadable): nothing was started
      // from this directory that a record would name, so the directory is all there is.
      if (!force && !(isRuntimeError(err) && err.message === CONTAINER_NOT_FOUND)) throw err;
      store.remove(id);
      return;
    }
    if (!force) requireAllowed('delete', statusOf(store, record), id);
    destroyContainer(store, record, log);
  });
}

/**
 * A container whose create was cut short may stand in a cgroup that was there before it, with
 * other processes: only a cgroup create made is emptied wholesale.
 */
function ownsCgroup(record: ContainerRecord): boolean {
  if (!record.creating) return true;
  const made = new Set(record.cgroupCreated ?? []);
  return Object.values(record.cgroupPaths ?? {}).every((dir) => made.has(dir));
}

/** SIGKILLs a process named in an intent, if it is still that process, and waits for it. */
function killRef(ref: ProcessRef | undefined): void {
  if (ref && isRunning(ref)) killAndWait(ref.pid, ref.startTime);
}

/**
 * delete's work once the container is stopped (or being forced): processes, cgroups, state.
 * Every step can be run again: a delete killed half-way is finished by the next one, which
 * reads the same record (state.json, or the create intent) until the directory goes at the end.
 */
export function destroyContainer(store: StateStore, record: ContainerRecord, log: Logger): void {
  const dir = store.containerDir(record.id);
  // One record says a delete is in flight; the steps below add nothing to it, and rewriting it for
  // each cost ~0.2 ms. A create intent is the record itself here: it must not be overwritten.
  if (!record.creating) writeIntent(dir, { operation: 'delete', step: 'kill', owner: self() });
  killRef(record.creating?.init);
  for (const exec of readExecIntents(dir)) {
    killRef(exec.init);
    killRef(exec.process);
  }
  if (isAlive(record) || record.creating) killAll(record);
  if (record.creating && !record.cgroupUnit) {
    // Only what create found missing, deepest first; never below a cgroup that was there.
    for (const failure of removeCgroupDirs(record.cgroupCreated ?? [])) log.warn(failure);
  } else if (record.cgroupPaths) {
    const cgroup = cgroupFromPaths(record.cgroupPaths, record.cgroupCreated, record.cgroupUnit);
    // Its own processes are dead by now: any left belong to another container that was given
    // the same cgroup (or systemd unit), which keeps it. runc logs the failed removal and goes on.
    if (!cgroup.destroyIfEmpty?.()) {
      const others = cgroup.pids();
      if (others.length > 0) log.warn(`cgroup of container ${record.id} still holds ${others.length} process(es) of another container: left in place`);
      else cgroup.destroy();
    }
  }
  store.remove(record.id);
  if (record.creating) return;
  try {
    runHooks('poststop', record.config.hooks, { ociVersion: record.ociVersion, id: record.id, status: 'stopped', bundle: record.bundle, annotations: record.annotations });
  } catch (err) {
    log.warn((err as Error).message);
  }
}
