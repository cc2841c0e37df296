/**
 * update: apply new resource limits to a live container's cgroup, then store them. A refused
 * write undoes the writes before it (the drivers do), and the stored config changes only when
 * every write went through.
 */
import { containerCgroup } from '../cgroups/container';
import type { LinuxResources } from '../config/types';
import type { StateStore } from '../state/store';
import { requireAllowed, statusOf } from './status';

export async function updateContainer(store: StateStore, id: string, resources: LinuxResources): Promise<void> {
  await store.withLock(id, () => {
    const record = store.read(id);
    requireAllowed('update', statusOf(store, record), id);
    containerCgroup(record).apply(resources, record.config.linux?.resources);
    record.config.linux = record.config.linux ?? {};
    record.config.linux.resources = merge(record.config.linux.resources ?? {}, resources);
    store.write(record);
  });
}

/** The stored config after the update: the given fields replace the old ones. */
function merge(old: LinuxResources, update: LinuxResources): LinuxResources {
  const out: LinuxResources = { ...old };
  if (update.memory) out.memory = { ...old.memory, ...update.memory };
  if (update.cpu) out.cpu = { ...old.cpu, ...update.cpu };
  if (update.blockIO) out.blockIO = { ...old.blockIO, ...update.blockIO };
  if (update.pids) out.pids = { ...old.pids, ...update.pids };
  if (update.unified) out.unified = { ...old.unified, ...update.unified };
  return out;
}
