/**
 * exec: a new process joins every namespace and the cgroup of a running container, with the
 * container's settings unless the request overrides them.
 */
import fs = require('fs');
import path = require('path');
import { cgroupFromPaths } from '../cgroups';
import { CgroupWriteError } from '../cgroups/fs';
import { isBelow, probeHierarchy } from '../cgroups/path';
import type { GlobalOptions } from '../cli/context';
import { RuntimeError, describeSystemError } from '../base/errors';
import { guardInheritedFds, initFds, spawnInitAhead, stopInit, type StartedInit } from '../init/process';
import type { Logger } from '../base/log';
import { native } from '../native';
import { buildExecPlan, initPart, planCgroupJoin, type Plan, type PlanCgroupJoin } from '../plan/plan';
import { forwardSeccompListener } from './seccompAgent';
import type { Process } from '../config/types';
import { openStore } from '../state/store';
import { readFileIfPresent, removeFile, writeFileAtomically } from '../base/files';
import { logPlanNotes, runInitSession } from '../init/session';
import { pidStartTime } from '../state/store';
import { execIntentPath, self, writeExecIntent, type ExecIntent } from './intent';
import { consoleMode, takeMaster } from './console';
import { waitInForeground } from './foreground';
import { requireAllowed, statusOf } from './status';

export interface ExecRequest {
  id: string;
  process: Process;
  detach: boolean;
  pidFile?: string;
  preserveFds: number;
  ignorePaused: boolean;
  consoleSocket?: string;
  /** --cgroup: sub-cgroup per controller ("" for every controller), relative to the container's. */
  subCgroups?: Record<string, string>;
}

/** Runs the process; returns its exit status in the foreground, 0 when detached. */
export async function execProcess(globals: GlobalOptions, request: ExecRequest, log: Logger): Promise<number> {
  const store = openStore(globals);
  const record = store.read(request.id);
  requireAllowed('exec', statusOf(store, record), request.id, { ignorePaused: request.ignorePaused });
  const console = consoleMode(request.process.terminal ?? false, request.consoleSocket, request.detach);

  // Before the pidfd is opened: it must not fill a gap among the fds a caller preserves.
  guardInheritedFds(request.preserveFds);
  // The namespaces are joined through a pidfd held from before the start-time check: if the
  // init dies and its pid is reused meanwhile, the join fails rather than land elsewhere.
  let pidfd: number;
  try {
    pidfd = native().pidfdOpen(record.pid, record.pidStartTime);
  } catch {
    throw new RuntimeError('cannot exec in a stopped container');
  }
  // Announced like create's steps (intent.ts), in a file of its own: execs run side by side.
  const intent: ExecIntent = { operation: 'exec', step: 'init', owner: self() };
  const dir = store.containerDir(request.id);
  const announce = (step: string, change: Partial<ExecIntent> = {}) => {
    try {
      writeExecIntent(dir, Object.assign(intent, change, { step }));
    } catch (err) {
      throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new RuntimeError('cannot exec in a stopped container') : err;
    }
  };
  const startAfterRuntimeExits = request.detach && console.kind === 'socket';
  let init: StartedInit;
  let plan: Plan;
  try {
    const pendingInit = spawnInitAhead(request.preserveFds, pidfd);
    try {
      plan = buildExecPlan(record.config, request.process, { nsPidfd: initFds(request.preserveFds).extra, preserveFds: request.preserveFds, startAfterRuntimeExits });
      logPlanNotes(plan, log);
      announce('init');
      init = pendingInit.collect();
    } catch (err) {
      await pendingInit.release();
      removeFile(execIntentPath(dir));
      throw err;
    }
  } finally {
    fs.closeSync(pidfd);
  }
  let pid = 0;
  let consoleMaster: number | undefined;
  let started = false;
  try {
    announce('cgroup-join', { init: { pid: init.pid, startTime: pidStartTime(init.pid) } });
    let cgroupJoin: PlanCgroupJoin | null = null;
    if (record.cgroupPaths) {
      const explicit = Object.keys(request.subCgroups ?? {}).length > 0;
      const paths = subCgroupPaths(record.cgroupPaths, request.subCgroups ?? {});
      // exec --cgroup keeps runc's error for a sub-cgroup that is not there (the runtime's join).
      const joinFiles = explicit ? undefined : cgroupFromPaths(paths).initJoinFiles?.();
      // Only pure v2 asks whether the cgroup delegated (the hybrid layout's unified one has no controllers).
      const delegated = joinFiles !== undefined && joinFiles.tasks.length === 0 && delegatesControllers(joinFiles.unified);
      cgroupJoin = joinFiles ? planCgroupJoin(joinFiles, record.config, { beforeSetup: true, exec: true, delegated }) : null;
      if (!cgroupJoin) joinCgroups(paths, init.pid, explicit ? undefined : record.pid);
    }
    init.channel.sendPlan({ ...initPart(plan), cgroupJoin });
    pid = runInitSession(init.channel, {
      pid: (child) => {
        pid = child;
        announce('process', { process: { pid: child, startTime: pidStartTime(child) } });
      },
      console: (fd) => (consoleMaster = takeMaster(console, fd)),
      seccompListener: (fd, child) =>
        forwardSeccompListener(fd, record.config, { ociVersion: record.ociVersion, id: record.id, status: 'running', pid: child, bundle: record.bundle, annotations: record.annotations }),
    });
    if (request.pidFile) writePidFile(request.pidFile, pid);
    started = true;
  } catch (err) {
    if (pid) process.kill(pid, 'SIGKILL');
    if (consoleMaster !== undefined) fs.closeSync(consoleMaster);
    throw err;
  } finally {
    // With startAfterRuntimeExits the process waits for this end to close: at exit.
    await stopInit(init, started && startAfterRuntimeExits);
    removeFile(execIntentPath(dir));
  }
  log.debug(`exec'd pid ${pid} in container ${request.id}`);
  if (request.detach) return 0;
  return waitInForeground(pid, consoleMaster);
}

function writePidFile(file: string, pid: number): void {
  const target = path.resolve(file);
  try {
    writeFileAtomically(target, String(pid));
  } catch (err) {
    throw describeSystemError(`write pid file ${target}`, err);
  }
}

/**
 * runc 1.1's `exec --cgroup`: the container's cgroup directories with the requested sub-cgroup
 * appended, for every controller ("" key) or for the named ones; never above the container's.
 */
export function subCgroupPaths(paths: Record<string, string>, sub: Record<string, string>): Record<string, string> {
  const out = { ...paths };
  const entries = '' in sub ? Object.keys(paths).map((controller) => [controller, sub['']] as const) : Object.entries(sub);
  for (const [controller, relative] of entries) {
    const base = paths[controller];
    if (base === undefined) throw new RuntimeError(`unknown controller ${controller} in SubCgroupPaths`);
    const joined = path.posix.join(base, relative).replace(/(.)\/+$/, '$1');
    if (joined !== base && !joined.startsWith(`${base}/`)) throw new RuntimeError(`${relative} is not a sub cgroup path`);
    out[controller] = joined;
  }
  return out;
}

/** `--cgroup` arguments: `[<controller>[,<controller>…]:]<path>`; a bare path only alone. */
export function parseSubCgroups(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of args) {
    const parts = arg.split(':');
    if (parts.length > 2) throw new RuntimeError(`invalid --cgroup argument: ${arg}`);
    if (parts.length === 1) {
      if (args.length !== 1) throw new RuntimeError(`invalid --cgroup argument: ${arg} (missing <controller>: prefix)`);
      out[''] = arg;
    } else {
      for (const controller of parts[0].split(',')) out[controller] = parts[1];
    }
  }
  return out;
}

/**
 * Joins the container's cgroups. On v2, a container that delegated controllers below its own
 * cgroup (its processes moved to a leaf) can take no process there (EBUSY): like runc, the
 * process then joins the cgroup the container's init is in, if that lies inside the container's.
 */
function joinCgroups(paths: Record<string, string>, pid: number, initPid?: number): void {
  try {
    cgroupFromPaths(paths).join(pid);
  } catch (err) {
    const own = paths[''];
    const initDir = initPid && Object.keys(paths).length === 1 && own !== undefined && err instanceof CgroupWriteError && err.code === 'EBUSY'
      ? initCgroupDir(initPid, own)
      : undefined;
    if (initDir === undefined) throw new RuntimeError(`error adding pid ${pid} to cgroups: ${(err as Error).message}`);
    try {
      cgroupFromPaths({ '': initDir }).join(pid);
    } catch (again) {
      throw new RuntimeError(`error adding pid ${pid} to cgroups: ${(err as Error).message}; and to the init's ${initDir}: ${(again as Error).message}`);
    }
  }
}

/**
 * Whether the pure v2 cgroup `dir` handed controllers to cgroups below it, so that it takes no
 * process (EBUSY) and joinCgroups sends the exec'd one to the init's cgroup; also when it cannot
 * be read. A delegation that starts between this look and the clone fails the exec with EBUSY.
 */
function delegatesControllers(dir: string | null): boolean {
  const controllers = dir === null ? undefined : readFileIfPresent(path.join(dir, 'cgroup.subtree_control'));
  return controllers === undefined || controllers.trim() !== '';
}

/** The v2 directory of `initPid`'s cgroup when it is `own` or below it. */
function initCgroupDir(initPid: number, own: string): string | undefined {
  let line: string | undefined;
  try {
    line = fs.readFileSync(`/proc/${initPid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  } catch {
    return undefined;
  }
  const mount = probeHierarchy().unified?.mountpoint;
  if (!line || !mount) return undefined;
  const dir = path.posix.join(mount, line.slice(3));
  return dir === own || isBelow(dir, own) ? dir : undefined;
}
