/** kill: signal a container's init; with --all, every process left in its cgroup. */
import { native } from '../native';
import type { ContainerRecord, StateStore } from '../state/store';
import { requireAllowed, statusOf } from './status';

export function killContainer(store: StateStore, id: string, signal: number, all: boolean): void {
  const record = store.read(id);
  // --all signals whatever is left in the cgroup, so runc accepts it for a stopped container too.
  if (all && record.cgroupPaths) return signalEveryProcess(record, signal);
  requireAllowed('kill', statusOf(store, record), id);
  native().signalProcess(record.pid, record.pidStartTime, signal);
}

function signalEveryProcess(record: ContainerRecord, signal: number): void {
  // Required here only: `kill` without --all runs from the hot bundle, which leaves the cgroup
  // drivers out (src/cli/hotPath.ts); --all is handed to commandRunner, which has them.
  const { cgroupFromPaths, signalAll } = require('../cgroups') as typeof import('../cgroups');
  const cgroup = cgroupFromPaths(record.cgroupPaths!, record.cgroupCreated);
  if (cgroup.exists()) signalAll(cgroup, signal);
}
