/**
 * exec: a new process joins every namespace and the cgroup of a running container, with the
 * container's settings unless the request overrides them.
 */
import * as path from 'path';
import { frozenProbe } from '../cgroups/container';
import { cgroupFromPaths } from '../cgroups';
import type { GlobalOptions } from '../context';
import { RuntimeError } from '../errors';
import { startInit, stopInit } from '../initProcess';
import type { Logger } from '../log';
import { native } from '../native';
import { buildExecPlan } from '../plan';
import type { Process } from '../spec/types';
import { openStore } from '../state';
import { writeFileAtomically } from './files';
import { runInitSession } from './session';
import { forwardSignals } from './signals';

export interface ExecRequest {
  id: string;
  process: Process;
  detach: boolean;
  pidFile?: string;
  preserveFds: number;
  ignorePaused: boolean;
}

/** Runs the process; returns its exit status in the foreground, 0 when detached. */
export async function execProcess(globals: GlobalOptions, request: ExecRequest, log: Logger): Promise<number> {
  const store = openStore(globals, frozenProbe);
  const record = store.read(request.id);
  const status = store.status(record);
  if (status === 'paused' && !request.ignorePaused) throw new RuntimeError('cannot exec in a paused container (use --ignore-paused to override)');
  if (status !== 'running' && status !== 'paused') throw new RuntimeError(`cannot exec in a ${status} container`);
  if (request.process.terminal) throw new RuntimeError('exec: terminals are not supported yet');

  const plan = buildExecPlan(record.namespacePaths ?? {}, request.process, request.preserveFds);
  const init = startInit(['inherit', 'inherit', 'inherit'], request.preserveFds);
  let pid = 0;
  try {
    if (record.cgroupPaths) cgroupFromPaths(record.cgroupPaths).join(init.child.pid!);
    init.channel.send(plan);
    pid = runInitSession(init.channel, { pid: (child) => (pid = child) });
  } catch (err) {
    if (pid) process.kill(pid, 'SIGKILL');
    throw err;
  } finally {
    await stopInit(init);
  }
  if (request.pidFile) writeFileAtomically(path.resolve(request.pidFile), String(pid));
  log.debug(`exec'd pid ${pid} in container ${request.id}`);
  if (request.detach) return 0;
  const stopForwarding = forwardSignals(pid);
  const exit = await native().waitExit(pid);
  stopForwarding();
  return exit.code ?? 128 + (exit.signal ?? 0);
}
