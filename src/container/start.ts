import { runHooks } from './hooks';
import type { Logger } from '../base/log';
import { native } from '../native';
import type { ContainerRecord, StateStore } from '../state/store';
import { requireAllowed, statusOf } from './status';

/** Releases a created container's init into the user's process, then runs poststart hooks. */
export function startContainer(store: StateStore, record: ContainerRecord, log: Logger): void {
  requireAllowed('start', statusOf(store, record), record.id);
  const fifo = store.execFifoPath(record.id);
  // It unlinks the fifo itself, once it holds it open.
  native().releaseExecFifo(fifo, record.pid, record.pidStartTime);
  runPoststartHooks(record, log);
}

/** The poststart hooks of a container whose process was just released; a failed one is a warning. */
export function runPoststartHooks(record: ContainerRecord, log: Logger): void {
  try {
    runHooks('poststart', record.config.hooks, { ociVersion: record.ociVersion, id: record.id, status: 'running', pid: record.pid, bundle: record.bundle, annotations: record.annotations });
  } catch (err) {
    log.warn((err as Error).message);
  }
}
