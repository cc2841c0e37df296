/**
 * create: validate, plan, then start runts-init and walk it through the protocol until it
 * reports "created". Any failure undoes everything done so far: no state dir, no cgroup, no
 * process is left behind.
 */
import fs = require('fs');
import path = require('path');
import { cgroupOwner, checkPreexisting, openCgroup } from '../cgroups';
import type { GlobalOptions } from '../cli/context';
import { RuntimeError } from '../base/errors';
import { NAMESPACE_PROC_NAMES, idMapText } from '../base/formats';
import { runHooks } from './hooks';
import { spawnInitAhead, stopInit, type PendingInit } from '../init/process';
import type { Logger } from '../base/log';
import { native } from '../native';
import { buildPlan, initPart, joinCgroupBeforeSetup, namespacesAhead, planCgroupJoin } from '../plan/plan';
import { loadBundle } from '../config/validate';
import type { Spec, State } from '../config/types';
import { openStore, pidStartTime, rfc3339Nano, validateId, type ContainerRecord, type StateStore } from '../state/store';
import { consoleMode, takeMaster } from './console';
import { writeFileAtomically } from '../base/files';
import { forwardSeccompListener } from './seccompAgent';
import { logPlanNotes, runInitSession } from '../init/session';
import { clearIntent, self, writeIntent, type CreateIntent, type ProcessRef } from './intent';

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
  /**
   * run: the container's process is released (start's step) as soon as it stands in its cgroup,
   * and starts while runts records its state: run's poststart hooks follow create.
   */
  startAtOnce?: boolean;
}

export interface CreatedContainer {
  record: ContainerRecord;
  store: StateStore;
  /** The pty master to relay, when the process has a terminal and runts stays in the foreground. */
  consoleMaster?: number;
}

export async function createContainer(globals: GlobalOptions, request: CreateRequest, log: Logger): Promise<CreatedContainer> {
  validateId(request.id);
  const pendingInit = spawnInitAhead(request.preserveFds);
  try {
    return await setUp(globals, request, log, pendingInit);
  } finally {
    await pendingInit.release();
  }
}

async function setUp(globals: GlobalOptions, request: CreateRequest, log: Logger, pendingInit: PendingInit): Promise<CreatedContainer> {
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
    ownerUid: globals.systemdCgroup ? cgroupOwner(spec) : undefined,
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
  const joinBeforeSetup = joinCgroupBeforeSetup(spec, plan, cgroup.paths, cgroup.dirsMadeAtJoin ?? false);
  const joinFiles = cgroup.initJoinFiles?.();
  const selfJoin = joinFiles ? planCgroupJoin(joinFiles, spec, { beforeSetup: joinBeforeSetup, exec: false }) : null;
  const ahead = namespacesAhead(plan, joinBeforeSetup);
  const initPlan = { ...initPart(plan), cgroupJoin: selfJoin, namespacesAhead: ahead };
  // The init makes its namespaces while the steps below make the state dir and the cgroup.
  if (ahead) pendingInit.sendPlanAhead(initPlan);

  // Every step below that makes something to undo outside the state dir (a cgroup directory, a
  // process) is recorded in the intent first (see intent.ts): a runts killed anywhere leaves what
  // `delete --force` needs to remove exactly what was made. The others add nothing to the record:
  // rewriting it for them cost create ~0.5 ms.
  const intent: CreateIntent = {
    operation: 'create',
    step: 'state-dir',
    owner: self(),
    ociVersion: spec.ociVersion,
    id: request.id,
    bundle,
    rootfs,
    created: rfc3339Nano(native().realtimeNanos()),
    annotations: spec.annotations ?? {},
  };
  const dir = store.containerDir(request.id);
  const announce = (step: CreateStep, change: Partial<CreateIntent>) => writeIntent(dir, Object.assign(intent, change, { step }));
  const undo = new UndoList();
  // A failed write of resources the init is not waiting for is kept until the container process
  // is known, so that undoing the create kills it too; it is the error create reports.
  let resourcesFailed: unknown;
  const lockFd = store.reserve(request.id, intent);
  undo.push(() => store.remove(request.id));
  try {
    native().mkfifo(store.execFifoPath(request.id), 0o622);
    // A container process that joins its v1 cgroups only after its setup runs nothing of the
    // container's before "created": its resources can be written while the init sets up. The
    // init's stop at the hook point (answered only once they are written) keeps it out of the
    // cgroup until then: a device rule list is rewritten through a deny-all.
    const writeResourcesLater = selfJoin?.tasksAt === 'setup-done' ? cgroup.writeResources?.bind(cgroup) : undefined;
    announce('cgroup', { cgroupPaths: cgroup.paths, cgroupMissing: missingDirectories(Object.values(cgroup.paths)), cgroupUnit: cgroup.unit });
    if (writeResourcesLater) cgroup.createDirectories!();
    else cgroup.create();
    undo.push(() => cgroup.destroy());
    let consoleMaster: number | undefined;
    const init = pendingInit.collect();
    undo.push(() => stopInit(init));
    // createContainer hooks run inside the init, each bounded by its own timeout when it has one.
    const inInitHooks = spec.hooks?.createContainer ?? [];
    if (init.channel.timeoutMs > 0) {
      init.channel.timeoutMs = inInitHooks.some((h) => !h.timeout) ? 0 : init.channel.timeoutMs + inInitHooks.reduce((sum, h) => sum + h.timeout! * 1000, 0);
    }
    announce('init-started', { cgroupMissing: [...cgroup.created], init: processRef(init.pid) });
    if (joinBeforeSetup && !selfJoin) cgroup.join(init.pid);
    if (ahead) init.channel.send({ type: 'proceed' });
    else init.channel.sendPlan(initPlan);
    try {
      writeResourcesLater?.();
    } catch (err) {
      resourcesFailed = err;
    }
    const pid = runInitSession(init.channel, {
      pid: (child) => {
        undo.push(() => killAndReap(child));
        announce('container-process', { container: processRef(child) });
        if (resourcesFailed) throw resourcesFailed;
      },
      console: (fd) => {
        consoleMaster = takeMaster(console, fd);
        if (consoleMaster !== undefined) undo.push(() => fs.closeSync(consoleMaster!));
      },
      usermap: (child) => {
        writeIdMappings(child, spec);
      },
      hook: (_name, child) => {
        const state: State = { ociVersion: spec.ociVersion, id: request.id, status: 'creating', pid: child, bundle, annotations: spec.annotations };
        runHooks('prestart', spec.hooks, state);
        runHooks('createRuntime', spec.hooks, state);
        return { state: JSON.stringify(state) };
      },
      seccompListener: (fd, child) =>
        forwardSeccompListener(fd, spec, { ociVersion: spec.ociVersion, id: request.id, status: 'creating', pid: child, bundle, annotations: spec.annotations }),
    });
    if (!joinBeforeSetup && !selfJoin) cgroup.join(pid);
    const startTime = pidStartTime(pid);
    if (request.startAtOnce) native().releaseExecFifo(store.execFifoPath(request.id), pid, startTime);
    await stopInit(init);
    const record: ContainerRecord = {
      ociVersion: spec.ociVersion,
      id: request.id,
      pid,
      pidStartTime: startTime,
      bundle,
      rootfs,
      created: intent.created,
      annotations: spec.annotations ?? {},
      config: spec,
      cgroupPaths: cgroup.paths,
      cgroupCreated: cgroup.created,
      cgroupUnit: cgroup.unit,
      namespacePaths: namespacePaths(spec, pid),
    };
    store.write(record);
    clearIntent(dir);
    if (request.pidFile) writeFileAtomically(path.resolve(request.pidFile), String(pid));
    log.debug(`created container ${request.id} with init pid ${pid}`);
    return { record, store, consoleMaster };
  } catch (err) {
    await undo.run(log);
    throw resourcesFailed ?? err;
  } finally {
    fs.closeSync(lockFd);
  }
}

/** The steps create records in its intent, in order (state-dir by StateStore.reserve). */
export const CREATE_STEPS = ['state-dir', 'cgroup', 'init-started', 'container-process'] as const;
export type CreateStep = (typeof CREATE_STEPS)[number];

function processRef(pid: number): ProcessRef {
  return { pid, startTime: pidStartTime(pid) };
}

/** Of `dirs`, every directory (ancestors included) that does not exist yet, parents first. */
function missingDirectories(dirs: string[]): string[] {
  const missing = new Set<string>();
  for (const dir of dirs) {
    const chain: string[] = [];
    for (let d = dir; !fs.existsSync(d) && path.dirname(d) !== d; d = path.dirname(d)) chain.unshift(d);
    for (const d of chain) missing.add(d);
  }
  return [...missing];
}

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
