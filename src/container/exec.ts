/**
 * exec: a new process joins every namespace and the cgroup of a running container, with the
 * container's settings unless the request overrides them.
 */
import * as fs from 'fs';
import * as path from 'path';
import { frozenProbe } from '../cgroups/container';
import { cgroupFromPaths } from '../cgroups';
import type { GlobalOptions } from '../context';
import { RuntimeError } from '../errors';
import { guardInheritedFds, initFds, startInit, stopInit } from '../initProcess';
import type { Logger } from '../log';
import { native } from '../native';
import { buildExecPlan, initPart } from '../plan';
import { forwardSeccompListener } from '../seccomp';
import type { Process } from '../spec/types';
import { openStore } from '../state';
import { writeFileAtomically } from '../files';
import { logPlanNotes, runInitSession } from './session';
import { consoleMode, takeMaster } from './console';
import { waitInForeground } from './foreground';

export interface ExecRequest {
  id: string;
  process: Process;
  detach: boolean;
  pidFile?: string;
  preserveFds: number;
  ignorePaused: boolean;
  consoleSocket?: string;
}

/** Runs the process; returns its exit status in the foreground, 0 when detached. */
export async function execProcess(globals: GlobalOptions, request: ExecRequest, log: Logger): Promise<number> {
  const store = openStore(globals, frozenProbe);
  const record = store.read(request.id);
  const status = store.status(record);
  if (status === 'paused' && !request.ignorePaused) throw new RuntimeError('cannot exec in a paused container (use --ignore-paused to override)');
  if (status !== 'running' && status !== 'paused') throw new RuntimeError(`cannot exec in a ${status} container`);
  const console = consoleMode(request.process.terminal ?? false, request.consoleSocket, request.detach);

  guardInheritedFds(request.preserveFds);

  // The namespaces are joined through a pidfd held from before the start-time check: if the
  // init dies and its pid is reused meanwhile, the join fails rather than land elsewhere.
  let pidfd: number;
  try {
    pidfd = native().pidfdOpen(record.pid, record.pidStartTime);
  } catch {
    throw new RuntimeError('cannot exec in a stopped container');
  }
  const plan = buildExecPlan(record.config, request.process, { nsPidfd: initFds(request.preserveFds).extra, preserveFds: request.preserveFds });
  logPlanNotes(plan, log);
  let init: ReturnType<typeof startInit>;
  try {
    init = startInit(['inherit', 'inherit', 'inherit'], request.preserveFds, pidfd);
  } finally {
    fs.closeSync(pidfd);
  }
  let pid = 0;
  let consoleMaster: number | undefined;
  try {
    if (record.cgroupPaths) cgroupFromPaths(record.cgroupPaths).join(init.child.pid!);
    init.channel.send(initPart(plan));
    pid = runInitSession(init.channel, {
      pid: (child) => (pid = child),
      console: (fd) => (consoleMaster = takeMaster(console, fd)),
      seccompListener: (fd, child) =>
        forwardSeccompListener(fd, record.config, { ociVersion: record.ociVersion, id: record.id, status: 'running', pid: child, bundle: record.bundle, annotations: record.annotations }),
    });
  } catch (err) {
    if (pid) process.kill(pid, 'SIGKILL');
    if (consoleMaster !== undefined) fs.closeSync(consoleMaster);
    throw err;
  } finally {
    await stopInit(init);
  }
  if (request.pidFile) writeFileAtomically(path.resolve(request.pidFile), String(pid));
  log.debug(`exec'd pid ${pid} in container ${request.id}`);
  if (request.detach) return 0;
  return waitInForeground(pid, consoleMaster);
}
