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

export async function pauseContainer(store: StateStore, id: string, log: Logger): Promise<void> {
  await store.withLock(id, () => {
    const record = store.read(id);
    settleInterrupted(store, record, log);
    requireAllowed('pause', statusOf(store, record), id);
    writeIntent(store.containerDir(id), { operation: 'pause', step: 'freeze', owner: self() });
    containerCgroup(record).freeze();
    clearIntent(store.containerDir(id));
  });
}

export async function resumeContainer(store: StateStore, id: string, log: Logger): Promise<void> {
  await store.withLock(id, () => {
    const record = store.read(id);
    settleInterrupted(store, record, log);
    requireAllowed('resume', statusOf(store, record), id);
    writeIntent(store.containerDir(id), { operation: 'resume', step: 'thaw', owner: self() });
    containerCgroup(record).thaw();
    clearIntent(store.containerDir(id));
  });
}
