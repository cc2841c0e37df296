/**
 * Helpers of the crash tests: run runts and SIGKILL it at a named step (killpoint.ts) or after a
 * delay, then list what a container left on the host — state, cgroup directories in every
 * hierarchy, processes, mounts under its bundle.
 */
import { spawn, spawnSync } from 'child_process';
import fs = require('fs');
import os = require('os');
import path = require('path');
import type { Test } from 'tap';
import type { Spec } from '../../src/config/types';
import { CLI, REPO, baseSpec, cleanupRoot, makeBundle, type Result } from './runts';

export const KILLPOINT = path.join(REPO, 'dist', 'test', 'helpers', 'killpoint.js');
export const SIGKILLED = 128 + os.constants.signals.SIGKILL;

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: `--require ${KILLPOINT}`, ...extra };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
}

function collect(run: (out: number, err: number) => number | Promise<number>): Promise<Result> | Result {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-crash-out-'));
  const out = fs.openSync(path.join(dir, 'out'), 'w+');
  const err = fs.openSync(path.join(dir, 'err'), 'w+');
  const finish = (code: number): Result => {
    fs.closeSync(out);
    fs.closeSync(err);
    const result = { code, stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'), stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8') };
    fs.rmSync(dir, { recursive: true, force: true });
    return result;
  };
  const code = run(out, err);
  return typeof code === 'number' ? finish(code) : code.then(finish);
}

function status(r: { status: number | null; signal: NodeJS.Signals | null }): number {
  return r.status ?? 128 + (r.signal ? os.constants.signals[r.signal] : 0);
}

/** Runs runts, SIGKILLed by itself at kill point `point` (`name` or `name#n`). */
export function runtsKilledAt(root: string, args: string[], point: string, timeoutMs = 30_000): Result {
  return collect((out, err) => status(spawnSync(process.execPath, [CLI, '--root', root, ...args], {
    env: env({ RUNTS_TEST_KILL_AT: point }),
    stdio: ['ignore', out, err],
    timeout: timeoutMs,
  }))) as Result;
}

/** Every kill point a full run of `args` passes, in order: each once (its first time), and every time (`sequence`). */
export function killPointsOf(root: string, args: string[]): { points: string[]; sequence: string[]; result: Result } {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'runts-steps-')), 'steps');
  const result = collect((out, err) => status(spawnSync(process.execPath, [CLI, '--root', root, ...args], {
    env: env({ RUNTS_TEST_STEP_LOG: log }),
    stdio: ['ignore', out, err],
    timeout: 30_000,
  }))) as Result;
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  return { points: [...new Set(lines)], sequence: lines, result };
}

/** Runs runts and SIGKILLs it `delayMs` after spawning it (or lets it finish first). */
export function runtsKilledAfter(root: string, args: string[], delayMs: number): Promise<Result> {
  return collect((out, err) => new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [CLI, '--root', root, ...args], { env: env({}), stdio: ['ignore', out, err] });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(status({ status: code, signal }));
    });
  })) as Promise<Result>;
}

/** Mount points of every cgroup hierarchy (v1 controllers and cgroup2). */
export function cgroupMounts(): string[] {
  const mounts: string[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [before, after] = line.split(' - ');
    if (!after) continue;
    const fstype = after.split(' ')[0];
    if (fstype === 'cgroup' || fstype === 'cgroup2') mounts.push(before.split(' ')[4]);
  }
  return [...new Set(mounts)];
}

/** A process as an intent or state.json names it. */
interface Ref {
  pid: number;
  startTime: number;
}

function startTime(pid: number): number | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** The processes the container's records (state.json, intents) name, read before a delete. */
export function recordedProcesses(root: string, id: string): Ref[] {
  const dir = path.join(root, id);
  const refs: Ref[] = [];
  const read = (file: string): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const state = read('state.json');
  if (state && typeof state.pid === 'number' && state.pid > 0) refs.push({ pid: state.pid, startTime: state.pidStartTime as number });
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    // no directory
  }
  for (const name of names.filter((n) => n === 'intent.json' || /^exec-intent\.\d+\.json$/.test(n))) {
    const intent = read(name) ?? {};
    for (const key of ['init', 'container', 'process']) {
      const ref = intent[key] as Ref | undefined;
      if (ref && ref.pid > 0) refs.push(ref);
    }
  }
  return refs;
}

export interface Traces {
  root: string;
  /** Every top-level cgroup directory whose name starts with this is the containers' (all hierarchies). */
  cgroupPrefix: string;
  bundle: string;
  /** A string only the containers' processes have in their command line. */
  marker?: string;
  /** Processes named by the records before the delete. */
  processes?: Ref[];
}

/** Everything of the container still on the host, one line each; [] when it is all gone. */
export function leftovers(t: Traces): string[] {
  const found: string[] = [];
  let names: string[] = [];
  try {
    names = fs.readdirSync(t.root);
  } catch {
    // no root: nothing
  }
  for (const name of names) found.push(`state: ${path.join(t.root, name)}`);
  for (const mount of cgroupMounts()) {
    for (const name of fs.readdirSync(mount)) if (name.startsWith(t.cgroupPrefix)) found.push(`cgroup: ${path.join(mount, name)}`);
  }
  for (const ref of t.processes ?? []) {
    if (startTime(ref.pid) === ref.startTime) found.push(`process: ${ref.pid} still runs`);
  }
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (t.marker && cmdline.includes(t.marker) && startTime(Number(pid)) !== undefined) found.push(`process: ${pid} ${cmdline.replace(/\0/g, ' ').trim()}`);
  }
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.includes(t.bundle)) found.push(`mount: ${line}`);
  }
  return found;
}

/**
 * The crash tests' bundle: one rootfs, and per container id a config running `sleep <marker>`
 * in the cgroup `cgroupsPath(id)` (`edit` adds to it). `t`'s teardown removes the root, every
 * cgroup directory whose name starts with `prefix` (and its `ctr` child) and the bundle.
 * `bundleFor` gives the bundle directory of an id.
 */
export function crashBundles(t: Test, o: { root: string; prefix: string; marker: string; cgroupsPath: (id: string) => string; edit?: (spec: Spec) => void }): { bundle: string; bundleFor: (id: string) => string } {
  const bundle = makeBundle(baseSpec(['sleep', o.marker]));
  t.teardown(() => {
    cleanupRoot(o.root);
    for (const mount of cgroupMounts()) {
      for (const name of fs.readdirSync(mount).filter((n) => n.startsWith(o.prefix))) {
        for (const sub of ['ctr', '']) fs.rmSync(path.join(mount, name, sub), { recursive: false, force: true });
      }
    }
    fs.rmSync(bundle, { recursive: true, force: true });
  });
  const bundleFor = (id: string): string => {
    const spec = baseSpec(['sleep', o.marker]);
    spec.linux!.cgroupsPath = o.cgroupsPath(id);
    o.edit?.(spec);
    spec.root = { path: path.join(bundle, 'rootfs'), readonly: true };
    const dir = path.join(bundle, 'configs', id);
    fs.mkdirSync(dir, { recursive: true });
    // Written aside and renamed in: workers contending for one id rewrite its config while
    // another worker's create may be reading it, and a truncated file there is the test's race.
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(spec));
    fs.renameSync(`${file}.${process.pid}.tmp`, file);
    return dir;
  };
  return { bundle, bundleFor };
}
