/**
 * Settles what a killed update, pause or resume left half-done, from its intent record. Run by
 * the next command that changes the container (update, pause, resume), under the lock.
 */
import { containerCgroup } from '../cgroups/container';
import type { Logger } from '../base/log';
import type { LinuxResources } from '../config/types';
import type { ContainerRecord, StateStore } from '../state/store';
import { clearIntent, isRunning, readIntent } from './intent';
import { statusOf } from './status';

export function settleInterrupted(store: StateStore, record: ContainerRecord, log: Logger): void {
  if (record.creating) return;
  const dir = store.containerDir(record.id);
  const intent = readIntent(dir);
  if (!intent || intent.operation === 'create' || isRunning(intent.owner)) return;
  const cgroup = () => containerCgroup(record);
  switch (intent.operation) {
    case 'update':
      // Completed when the whole update still goes through; otherwise every write is undone.
      try {
        cgroup().apply(intent.after, intent.before);
        record.config.linux = record.config.linux ?? {};
        record.config.linux.resources = mergeResources(intent.before, intent.after);
        record.interruptedUpdate = 'completed';
      } catch {
        cgroup().apply(intent.before);
        record.interruptedUpdate = 'rolled back';
      }
      store.write(record);
      log.warn(`an interrupted update of container ${record.id} was ${record.interruptedUpdate}`);
      break;
    case 'pause':
      if (statusOf(store, record) !== 'stopped') cgroup().freeze();
      break;
    case 'resume':
      if (statusOf(store, record) !== 'stopped') cgroup().thaw();
      break;
  }
  clearIntent(dir);
}

/** The stored resources after an update: the given fields replace the old ones. */
export function mergeResources(old: LinuxResources, update: LinuxResources): LinuxResources {
  const out: LinuxResources = { ...old };
  if (update.memory) out.memory = { ...old.memory, ...update.memory };
  if (update.cpu) out.cpu = { ...old.cpu, ...update.cpu };
  if (update.blockIO) out.blockIO = { ...old.blockIO, ...update.blockIO };
  if (update.pids) out.pids = { ...old.pids, ...update.pids };
  if (update.unified) out.unified = { ...old.unified, ...update.unified };
  return out;
}
