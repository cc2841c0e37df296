/**
 * pause and resume: freeze and thaw every process of a container through its cgroup. Each
 * announces itself with an intent first, so a runts killed half-way is settled by the next
 * command on the container.
 */
import { containerCgroup } from '../cgroups/container';
import type { Logger } from '../base/log';
import type { StateStore } from '../state/store';
import { clearIntent, self, writeIntent } from './intent';
import { settleInterrupted } from './recover';
import { requireAllowed, statusOf } from './status';

export function pauseContainer(store: StateStore, id: string, log: Logger): Promise<void> {
  return setFrozen(store, id, log, 'pause');
}

export function resumeContainer(store: StateStore, id: string, log: Logger): Promise<void> {
  return setFrozen(store, id, log, 'resume');
}

async function setFrozen(store: StateStore, id: string, log: Logger, operation: 'pause' | 'resume'): Promise<void> {
  await store.withLock(id, () => {
    const record = store.read(id);
    settleInterrupted(store, record, log);
    requireAllowed(operation, statusOf(store, record), id);
    const cgroup = containerCgroup(record);
    writeIntent(store.containerDir(id), operation === 'pause' ? { operation, step: 'freeze', owner: self() } : { operation, step: 'thaw', owner: self() });
    if (operation === 'pause') cgroup.freeze();
    else cgroup.thaw();
    clearIntent(store.containerDir(id));
  });
}
