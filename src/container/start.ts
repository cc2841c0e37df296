import { rmSync } from 'fs';
import { RuntimeError } from '../base/errors';
import { runHooks } from './hooks';
import type { Logger } from '../base/log';
import { native } from '../native';
import type { ContainerRecord, StateStore } from '../state/store';

/** Releases a created container's init into the user's process, then runs poststart hooks. */
export function startContainer(store: StateStore, record: ContainerRecord, log: Logger): void {
  const status = store.status(record);
  if (status === 'stopped') throw new RuntimeError('cannot start a container that has stopped');
  if (status !== 'created') throw new RuntimeError(`cannot start an already ${status} container`);
  const fifo = store.execFifoPath(record.id);
  native().releaseExecFifo(fifo, record.pid, record.pidStartTime);
  rmSync(fifo, { force: true });
  try {
    runHooks('poststart', record.config.hooks, { ociVersion: record.ociVersion, id: record.id, status: 'running', pid: record.pid, bundle: record.bundle, annotations: record.annotations });
  } catch (err) {
    log.warn((err as Error).message);
  }
}
