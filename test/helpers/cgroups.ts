/**
 * Helpers the cgroup integration tests (v1 and v2 drivers on the host's real hierarchies) share:
 * waiting for a child process, and the teardown of a cgroup a test created.
 */
import type { ChildProcess } from 'child_process';
import { waitEmpty, type Cgroup } from '../../src/cgroups';

/** Resolves once `child` has exited (at once when it already has). */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Thaws `cg`, SIGKILLs its processes, waits for it to empty and removes its directories. Never
 * throws: a directory left behind is for the test's final leftover check to report.
 */
export function killAndDestroy(cg: Cgroup): void {
  try {
    if (cg.isFrozen()) cg.thaw();
  } catch {
    // ignore
  }
  for (const pid of cg.pids()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  waitEmpty(cg, 5000);
  try {
    cg.destroy();
  } catch {
    // reported by the leftover check
  }
}
