/**
 * "Is this container's cgroup frozen?" — how src/container/status.ts tells paused from running.
 * Kept apart from the drivers so `runts state` / `list` pay for two small reads, not for
 * loading the drivers.
 */
import { readFileSync } from 'fs';
import { sleepMs } from '../base/sleep';
import type { CgroupIO } from './fs';

/** Only what the probe needs (fs.ts stays unloaded on the hot path). */
const plainIO: Pick<CgroupIO, 'read'> = {
  read(dir, file) {
    try {
      return readFileSync(`${dir}/${file}`, 'utf8');
    } catch {
      return undefined;
    }
  },
};


/** v1 freezer: FROZEN by itself (not only through an ancestor); FREEZING waited out. */
export function v1FreezerFrozen(io: Pick<CgroupIO, 'read'>, dir: string): boolean {
  for (let i = 0; i < 1000; i++) {
    const state = io.read(dir, 'freezer.state')?.trim();
    if (state === undefined || state === 'THAWED') return false;
    if (state === 'FROZEN') {
      const self = io.read(dir, 'freezer.self_freezing')?.trim();
      return self === undefined || self === '1';
    }
    sleepMs(1);
  }
  return true;
}

/** v2: cgroup.freeze holds the requested state. */
export function v2Frozen(io: Pick<CgroupIO, 'read'>, dir: string): boolean {
  return io.read(dir, 'cgroup.freeze')?.trim() === '1';
}

/** Frozen-ness from stored cgroup paths; false when there is no cgroup or it is gone. */
export function isFrozenPaths(paths: Record<string, string> | undefined): boolean {
  if (!paths) return false;
  const keys = Object.keys(paths);
  try {
    if (keys.length === 1 && keys[0] === '') return v2Frozen(plainIO, paths['']);
    return paths.freezer !== undefined && v1FreezerFrozen(plainIO, paths.freezer);
  } catch {
    return false;
  }
}
