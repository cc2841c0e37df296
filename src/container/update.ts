/**
 * update: apply new resource limits to a live container's cgroup, then store them. A refused
 * write undoes the writes before it (the drivers do), and the stored config changes only when
 * every write went through; a runts killed in between leaves an intent the next update
 * completes or undoes.
 */
import { containerCgroup } from '../cgroups/container';
import type { LinuxResources } from '../config/types';
import type { Logger } from '../base/log';
import type { StateStore } from '../state/store';
import { clearIntent, self, writeIntent } from './intent';
import { mergeResources, settleInterrupted } from './recover';
import { requireAllowed, statusOf } from './status';

export async function updateContainer(store: StateStore, id: string, resources: LinuxResources, log: Logger): Promise<void> {
  await store.withLock(id, () => {
    const record = store.read(id);
    settleInterrupted(store, record, log);
    requireAllowed('update', statusOf(store, record), id);
    const before = record.config.linux?.resources ?? {};
    const dir = store.containerDir(id);
    writeIntent(dir, { operation: 'update', step: 'apply', owner: self(), before, after: resources });
    containerCgroup(record).apply(resources, before);
    record.config.linux = record.config.linux ?? {};
    record.config.linux.resources = mergeResources(before, resources);
    writeIntent(dir, { operation: 'update', step: 'state', owner: self(), before, after: resources });
    store.write(record);
    clearIntent(dir);
  });
}
