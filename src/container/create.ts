/**
 * create: validate, plan, then start runts-init and walk it through the protocol until it
 * reports "created". Any failure undoes everything done so far: no state dir, no cgroup, no
 * process is left behind.
 */
import * as fs from 'fs';
import * as path from 'path';
import { checkPreexisting, openCgroup } from '../cgroups';
import type { GlobalOptions } from '../cli/context';
import { RuntimeError } from '../base/errors';
import { NAMESPACE_PROC_NAMES, idMapText } from '../base/formats';
import { runHooks } from './hooks';
import { guardInheritedFds, startInit, stopInit } from '../init/process';
import type { Logger } from '../base/log';
import { native } from '../native';
import { buildPlan, initPart } from '../plan/plan';
import { loadBundle } from '../config/validate';
import type { Spec, State } from '../config/types';
import { nowRfc3339Nano, openStore, pidStartTime, validateId, type ContainerRecord, type StateStore } from '../state/store';
import { consoleMode, takeMaster } from './console';
import { writeFileAtomically } from '../base/files';
import { forwardSeccompListener } from './seccompAgent';
import { logPlanNotes, runInitSession } from '../init/session';

export interface CreateRequest {
  id: string;
  bundle: string;
  pidFile?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  consoleSocket?: string;
  /** No runts stays to relay a terminal (create, run --detach). */
  detached: boolean;
}

export interface CreatedContainer {
  record: ContainerRecord;
  store: StateStore;
  /** The pty master to relay, when the process has a terminal and runts stays in the foreground. */
  consoleMaster?: number;
}

export async function createContainer(globals: GlobalOptions, request: CreateRequest, log: Logger): Promise<CreatedContainer> {
  validateId(request.id);
  guardInheritedFds(request.preserveFds);
  const { spec, bundle, rootfs } = loadBundle(request.bundle);
  const console = consoleMode(spec.process?.terminal ?? false, request.consoleSocket, request.detached);
  const store = openStore(globals);
  const cgroup = openCgroup({
    id: request.id,
    cgroupsPath: spec.linux?.cgroupsPath,
    systemd: globals.systemdCgroup,
    resources: spec.linux?.resources,
    devices: spec.linux?.devices,
    annotations: spec.annotations,
    warn: (message) => log.warn(message),
  });
  const plan = buildPlan(spec, {
    id: request.id,
    rootfs,
    bundle,
    execFifo: store.execFifoPath(request.id),
    noPivot: request.noPivot,
    noNewKeyring: request.noNewKeyring,
    preserveFds: request.preserveFds,
    cgroupPaths: cgroup.paths,
  });

  logPlanNotes(plan, log);
  checkPreexisting(cgroup, (message) => log.warn(message));

  const undo = new UndoList();
  store.reserve(request.id);
  undo.push(() => store.remove(request.id));
  try {
    native().mkfifo(store.execFifoPath(request.id), 0o622);
    cgroup.create();
    undo.push(() => cgroup.destroy());
    let consoleMaster: number | undefined;
    const init = startInit(['inherit', 'inherit', 'inherit'], request.preserveFds);
    undo.push(() => stopInit(init));
    // A new cgroup namespace is rooted where the init stands when it unshares it: then the init
    // must join first. Otherwise it joins once set up, so the kernel memory of its namespaces
    // and mounts is the runtime's one-time cost and a small memory limit still starts.
    // A real-time process may not join a v1 cpu cgroup after the fact either.
    const joinBeforeSetup =
      (spec.linux?.namespaces?.some((n) => n.type === 'cgroup' && !n.path) ?? false) || REALTIME_POLICIES.has(spec.process?.scheduler?.policy ?? '');
    if (joinBeforeSetup) cgroup.join(init.child.pid!);
    init.channel.sendPlan(initPart(plan));
    const pid = runInitSession(init.channel, {
      pid: (child) => undo.push(() => killAndReap(child)),
      console: (fd) => {
        consoleMaster = takeMaster(console, fd);
        if (consoleMaster !== undefined) undo.push(() => fs.closeSync(consoleMaster!));
      },
      usermap: (child) => writeIdMappings(child, spec),
      hook: (_name, child) => {
        const state: State = { ociVersion: spec.ociVersion, id: request.id, status: 'creating', pid: child, bundle, annotations: spec.annotations };
        runHooks('prestart', spec.hooks, state);
        runHooks('createRuntime', spec.hooks, state);
        return { state: JSON.stringify(state) };
      },
      seccompListener: (fd, child) =>
        forwardSeccompListener(fd, spec, { ociVersion: spec.ociVersion, id: request.id, status: 'creating', pid: child, bundle, annotations: spec.annotations }),
    });
    if (!joinBeforeSetup) cgroup.join(pid);
    await stopInit(init);
    const record: ContainerRecord = {
      ociVersion: spec.ociVersion,
      id: request.id,
      pid,
      pidStartTime: pidStartTime(pid),
      bundle,
      rootfs,
      created: nowRfc3339Nano(),
      annotations: spec.annotations ?? {},
      config: spec,
      cgroupPaths: cgroup.paths,
      cgroupCreated: cgroup.created,
      cgroupUnit: cgroup.unit,
      namespacePaths: namespacePaths(spec, pid),
    };
    store.write(record);
    if (request.pidFile) writeFileAtomically(path.resolve(request.pidFile), String(pid));
    log.debug(`created container ${request.id} with init pid ${pid}`);
    return { record, store, consoleMaster };
  } catch (err) {
    await undo.run(log);
    throw err;
  }
}

const REALTIME_POLICIES = new Set(['SCHED_FIFO', 'SCHED_RR', 'SCHED_DEADLINE']);

/** Steps to take back, newest first, when create fails half-way. */
class UndoList {
  private readonly steps: (() => void | Promise<void>)[] = [];
  push(step: () => void | Promise<void>): void {
    this.steps.push(step);
  }
  async run(log: Logger): Promise<void> {
    for (const step of this.steps.reverse()) {
      try {
        await step();
      } catch (err) {
        log.warn(`cleaning up a failed create: ${(err as Error).message}`);
      }
    }
  }
}

export async function killAndReap(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await native().waitExit(pid);
}

function writeIdMappings(pid: number, spec: Spec): void {
  try {
    fs.writeFileSync(`/proc/${pid}/uid_map`, idMapText(spec.linux?.uidMappings));
    fs.writeFileSync(`/proc/${pid}/gid_map`, idMapText(spec.linux?.gidMappings));
  } catch (err) {
    throw new RuntimeError(`write user namespace mappings: ${(err as Error).message}`);
  }
}

function namespacePaths(spec: Spec, pid: number): Record<string, string> {
  const paths: Record<string, string> = {};
  for (const ns of spec.linux?.namespaces ?? []) paths[ns.type] = ns.path ?? `/proc/${pid}/ns/${NAMESPACE_PROC_NAMES[ns.type]}`;
  return paths;
}
