/**
 * A head start on the kernel's wait at a container's first cgroup join. Every write to a
 * cgroup.procs file takes cgroup_threadgroup_rwsem for writing, and the first writer after a
 * quiet spell waits for an RCU grace period (rcu_sync_enter): 4-25 ms on a 250 Hz kernel, the
 * largest single cost of create and exec. Writing runts' own pid into the cgroup it is already
 * in moves nothing, but starts that wait on a background thread while runts goes on with its
 * work; the container's join shares the grace period if it comes while that wait lasts, and is
 * free within a grace period after it. Best effort: a failure only loses the head start.
 * With the fs driver, create, run and exec mostly make no such write (PlanCgroupJoin) and skip
 * it; the systemd driver still starts its unit with the init's pid.
 */
import path = require('path');
import { native } from '../native';
import { probeHierarchy } from './path';

/**
 * Only where runts itself will write a pid (create and run with the systemd driver): elsewhere
 * the container process joins without the lock (PlanCgroupJoin), and a head start would only
 * hold cgroup_mutex through its wait, which create's mkdirs and a clone into a cgroup take too.
 */
export function warmCgroupAttach(): void {
  try {
    const h = probeHierarchy();
    const [controller, mount] = h.unified ? ['', h.unified] : [...h.v1][0] ?? [];
    const own = controller === undefined ? undefined : h.own.get(controller);
    if (!mount || own === undefined) return;
    const relative = path.posix.relative(mount.root, own);
    if (relative.startsWith('..')) return;
    native().writeFileInBackground(path.join(mount.mountpoint, relative, 'cgroup.procs'), String(process.pid));
  } catch {
    // no head start
  }
}
