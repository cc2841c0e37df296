/** pause and resume: freeze and thaw every process of a container through its cgroup. */
import { containerCgroup } from '../cgroups/container';
import type { StateStore } from '../state/store';
import { requireAllowed, statusOf } from './status';

export async function pauseContainer(store: StateStore, id: string): Promise<void> {
  await store.withLock(id, () => {
    const record = store.read(id);
    requireAllowed('pause', statusOf(store, record), id);
    containerCgroup(record).freeze();
  });
}

export async function resumeContainer(store: StateStore, id: string): Promise<void> {
  await store.withLock(id, () => {
    const record = store.read(id);
    requireAllowed('resume', statusOf(store, record), id);
    containerCgroup(record).thaw();
  });
}
