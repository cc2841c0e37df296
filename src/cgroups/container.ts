/**
 * Glue between the state store and the cgroup drivers for the commands (update, pause,
 * resume, ps, events, kill --all).
 */
import { RuntimeError } from '../base/errors';
import type { ContainerRecord } from '../state/store';
import { cgroupFromPaths, type Cgroup } from './index';

/** The record's cgroup bookkeeping; `cgroupCreated` is what create() made (if stored). */
type CgroupRecord = Pick<ContainerRecord, 'id' | 'cgroupPaths'> & { cgroupCreated?: string[]; cgroupUnit?: string };

export function containerCgroup(record: CgroupRecord): Cgroup {
  const paths = record.cgroupPaths;
  if (!paths || Object.keys(paths).length === 0) throw new RuntimeError(`container ${record.id} has no cgroup`);
  return cgroupFromPaths(paths, record.cgroupCreated, record.cgroupUnit);
}
