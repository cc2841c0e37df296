/**
 * Intent records: before a command changes the host it writes, atomically, into the container's
 * state directory what it is about to make or change. A runts killed at any instant (containerd
 * kills a runtime that overruns its timeout) thus leaves a record of exactly what may exist, and
 * `delete --force` — or the next command on the container — finishes or undoes it.
 *
 * Kept free of heavy imports: `state` and `list` read an intent only when state.json is missing
 * or unreadable.
 */
import { readdirSync } from 'fs';
import { join } from 'path';
import { readFileIfPresent, removeFile, writeFileAtomically } from '../base/files';
import { processStartTime } from '../base/procStat';
import type { LinuxResources } from '../config/types';

/** A process named by pid and /proc start time, so a recycled pid is never taken for it. */
export interface ProcessRef {
  pid: number;
  startTime: number;
}

/** What create is about to make, grown step by step; state.json replaces it once written. */
export interface CreateIntent {
  operation: 'create';
  /** The last step recorded, about to be taken (create's: CREATE_STEPS). */
  step: string;
  /** The runts process doing the create: while it lives the container is "creating". */
  owner: ProcessRef;
  ociVersion: string;
  id: string;
  bundle: string;
  rootfs: string;
  created: string;
  annotations: Record<string, string>;
  /** cgroup paths by controller, once the cgroup step is reached. */
  cgroupPaths?: Record<string, string>;
  /** Directories absent before create: the only ones a cleanup may remove. */
  cgroupMissing?: string[];
  /** The systemd unit about to be started (--systemd-cgroup). */
  cgroupUnit?: string;
  /** runts-init stage 1, once spawned. */
  init?: ProcessRef;
  /** The container's process (stage 2), once the init reported it. */
  container?: ProcessRef;
}

/** An update in flight: `before` restores, `after` completes. */
export interface UpdateIntent {
  operation: 'update';
  step: string;
  owner: ProcessRef;
  before: LinuxResources;
  after: LinuxResources;
}

/** A pause or resume in flight: the next locked command completes it. */
export interface FreezeIntent {
  operation: 'pause' | 'resume';
  step: string;
  owner: ProcessRef;
}

/** A start in flight (the fifo is opened and unlinked by the native side). */
export interface StartIntent {
  operation: 'start';
  step: string;
  owner: ProcessRef;
}

/** A delete in flight: a second delete finishes it. */
export interface DeleteIntent {
  operation: 'delete';
  step: string;
  owner: ProcessRef;
}

export type Intent = CreateIntent | UpdateIntent | FreezeIntent | StartIntent | DeleteIntent;

/** An exec in flight: its own file, as execs run concurrently with one another. */
export interface ExecIntent {
  operation: 'exec';
  step: string;
  owner: ProcessRef;
  /** runts-init for the exec, once spawned; the exec'd process once known. */
  init?: ProcessRef;
  process?: ProcessRef;
}

export const INTENT_FILE = 'intent.json';
const EXEC_INTENT = /^exec-intent\.\d+\.json$/;

export function intentPath(dir: string): string {
  return join(dir, INTENT_FILE);
}

export function writeIntent(dir: string, intent: Intent): void {
  writeFileAtomically(intentPath(dir), JSON.stringify(intent), 0o600);
}

/** The intent in `dir`, or undefined when there is none (or it cannot be parsed). */
export function readIntent(dir: string): Intent | undefined {
  return readJson(intentPath(dir)) as Intent | undefined;
}

export function clearIntent(dir: string): void {
  removeFile(intentPath(dir));
}

export function execIntentPath(dir: string, ownerPid = process.pid): string {
  return join(dir, `exec-intent.${ownerPid}.json`);
}

export function writeExecIntent(dir: string, intent: ExecIntent): void {
  writeFileAtomically(execIntentPath(dir, intent.owner.pid), JSON.stringify(intent), 0o600);
}

/** Every exec intent left in `dir` (live execs and killed ones). */
export function readExecIntents(dir: string): ExecIntent[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => EXEC_INTENT.test(n)).flatMap((n) => {
    const intent = readJson(join(dir, n)) as ExecIntent | undefined;
    return intent ? [intent] : [];
  });
}

function readJson(file: string): unknown {
  try {
    const text = readFileIfPresent(file);
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}


export function isRunning(ref: ProcessRef | undefined): boolean {
  return ref !== undefined && ref.pid > 0 && processStartTime(ref.pid) === ref.startTime;
}

/** This runts process, as an intent's owner. */
export function self(): ProcessRef {
  return { pid: process.pid, startTime: processStartTime(process.pid) ?? 0 };
}
