import { cgroupFromPaths, signalAll } from '../cgroups';
import { runHooks } from './hooks';
import type { Logger } from '../base/log';
import { sleepMs } from '../base/sleep';
import { RuntimeError } from '../base/errors';
import { CONTAINER_NOT_FOUND, isAlive, type ContainerRecord, type StateStore } from '../state/store';
import { requireAllowed, statusOf } from './status';

const GONE_POLL_MS = 5;
const GONE_TIMEOUT_MS = 10_000;

/** SIGKILLs every process of the container and waits until the init is gone. */
export function killAll(record: ContainerRecord): void {
  if (record.cgroupPaths) {
    const cgroup = cgroupFromPaths(record.cgroupPaths, record.cgroupCreated);
    signalAll(cgroup, 'SIGKILL');
    // A paused container's processes die only once thawed.
    if (cgroup.isFrozen()) cgroup.thaw();
  }
  try {
    process.kill(record.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  for (let waited = 0; isAlive(record) && waited < GONE_TIMEOUT_MS; waited += GONE_POLL_MS) sleepMs(GONE_POLL_MS);
}

/**
 * delete: remove a stopped (or created) container; `force` kills a running or paused one first.
 * A missing container is fine when forced, as with runc.
 */
export async function deleteContainer(store: StateStore, id: string, force: boolean, log: Logger): Promise<void> {
  if (!store.exists(id)) {
    if (force) return;
    throw new RuntimeError(CONTAINER_NOT_FOUND);
  }
  await store.withLock(id, () => {
    const record = store.read(id);
    if (!force) requireAllowed('delete', statusOf(store, record), id);
    destroyContainer(store, record, log);
  });
}

/** delete's work once the container is stopped (or being forced): processes, cgroups, state. */
export function destroyContainer(store: StateStore, record: ContainerRecord, log: Logger): void {
  if (isAlive(record)) killAll(record);
  if (record.cgroupPaths) cgroupFromPaths(record.cgroupPaths, record.cgroupCreated, record.cgroupUnit).destroy();
  store.remove(record.id);
  try {
    runHooks('poststop', record.config.hooks, { ociVersion: record.ociVersion, id: record.id, status: 'stopped', bundle: record.bundle, annotations: record.annotations });
  } catch (err) {
    log.warn((err as Error).message);
  }
}
