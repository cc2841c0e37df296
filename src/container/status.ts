/**
 * A container's status (runtime.md) and the operations each status allows: the one place where
 * "container not running" and its siblings are written, with runc 1.1.5's wording.
 *
 * The status is read from facts, never stored: a create intent whose owner still runs
 * (creating), the init alive (pid + start time, so a reused pid does not count), its exec fifo
 * present (created, waiting for `start`), its cgroup frozen (paused). The freezer probe lives here, not in the state store, so the store needs no cgroup
 * code and `state`/`list` load only src/cgroups/frozen.ts.
 *
 *   creating ─create─▶ created ─start─▶ running ◀─resume─ paused
 *                         │               │  └──pause──▶─┘  │
 *                         └───────────────┴──(init exits)──▶ stopped ─delete─▶ (gone)
 */
import { existsSync } from 'fs';
import { RuntimeError } from '../base/errors';
import { isFrozenPaths } from '../cgroups/frozen';
import type { ContainerStatus } from '../config/types';
import { isAlive, type ContainerRecord, type StateStore } from '../state/store';
import { isRunning } from './intent';

export type { ContainerStatus };

/** Tells whether the container's cgroup is frozen (tests pass their own). */
export type FrozenProbe = (record: Pick<ContainerRecord, 'cgroupPaths'>) => boolean;

export const cgroupFrozen: FrozenProbe = (record) => isFrozenPaths(record.cgroupPaths);

/** The runtime.md status of a recorded container. */
export function statusOf(store: StateStore, record: ContainerRecord, frozen: FrozenProbe = cgroupFrozen): ContainerStatus {
  // A record read from a create intent: creating while that create runs, stopped once it died.
  if (record.creating) return isRunning(record.creating.owner) ? 'creating' : 'stopped';
  if (!isAlive(record)) return 'stopped';
  if (existsSync(store.execFifoPath(record.id))) return 'created';
  if (frozen(record)) return 'paused';
  return 'running';
}

/** youki's ContainerStatus::can_*: which operation each status allows. */
export const can = {
  start: (s: ContainerStatus) => s === 'created',
  /** runc freezes a created container too. */
  pause: (s: ContainerStatus) => s === 'running' || s === 'created',
  resume: (s: ContainerStatus) => s === 'paused',
  /** kill (without --all), update, events: anything with a live init. */
  signal: (s: ContainerStatus) => s !== 'stopped' && s !== 'creating',
  /** A created init waits for `start` with its namespaces set up: runc lets a process join it. */
  exec: (s: ContainerStatus, ignorePaused: boolean) => s === 'running' || s === 'created' || (s === 'paused' && ignorePaused),
  /** Without --force (with it, any status): not while the init runs. */
  delete: (s: ContainerStatus) => s !== 'running' && s !== 'paused',
};

export type Operation = 'start' | 'pause' | 'resume' | 'kill' | 'update' | 'events' | 'exec' | 'delete';

const CONTAINER_NOT_RUNNING = 'container not running';

/** runc's refusal of `operation` on a container in `status`. */
function refusal(operation: Operation, status: ContainerStatus, id: string): string {
  switch (operation) {
    case 'start':
      return status === 'stopped' ? 'cannot start a container that has stopped' : `cannot start an already ${status} container`;
    case 'pause':
    case 'kill':
    case 'update':
      return CONTAINER_NOT_RUNNING;
    case 'resume':
      return 'container not paused';
    case 'events':
      return `container with id ${id} is not running`;
    case 'exec':
      return status === 'paused' ? 'cannot exec in a paused container (use --ignore-paused to override)' : `cannot exec in a ${status} container`;
    case 'delete':
      return `cannot delete container ${id} that is not stopped: ${status}`;
  }
}

/** Throws runc's error unless `operation` is allowed on a container in `status`. */
export function requireAllowed(operation: Operation, status: ContainerStatus, id: string, options: { ignorePaused?: boolean } = {}): void {
  const allowed =
    operation === 'exec' ? can.exec(status, options.ignorePaused ?? false)
    : operation === 'kill' || operation === 'update' || operation === 'events' ? can.signal(status)
    : can[operation](status);
  if (!allowed) throw new RuntimeError(refusal(operation, status, id));
}
