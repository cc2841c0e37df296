/**
 * Shared harness for the real-client integration tests (containerd, Docker, Podman driving
 * runts). Everything a test starts lives under one private temporary directory; everything it
 * starts is stopped by pid in its teardown, and only processes it started are signalled.
 *
 * The runtime under test is chosen by RUNTS_CLIENT_RUNTIME=runts|runc (default runts). Either
 * way the clients are pointed at a small wrapper script that appends its argv to a log, then
 * calls runts (or Debian's runc, to prove the harness itself). Tests assert that the wrapper
 * was called for every container, so a client that silently used runc fails.
 *
 * Each test file lists the checks that fail today for want of a runts feature (RUNTS_TODO):
 * under runts those are tap todos with the reason; RUNTS_CLIENT_STRICT=1 runs them for real.
 * RUNTS_CLIENT_KEEP=1 keeps the temp dir (daemon logs, the wrapper's call log) for a post-mortem.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import crypto = require('crypto');
import fs = require('fs');
import * as http2 from 'http2';
import net = require('net');
import os = require('os');
import path = require('path');
import type { Test } from 'tap';

import { CLI, REPO, childEnv as runtsChildEnv } from '../helpers/runts';

export { REPO };
export const RUNTS_CLI = CLI;
export const RUNC = '/usr/sbin/runc';
const IMAGE_DIR = path.join(REPO, 'fixtures', 'out', 'image');

export type RuntimeKind = 'runts' | 'runc';

export function runtimeUnderTest(): RuntimeKind {
  const v = (process.env.RUNTS_CLIENT_RUNTIME || 'runts').trim();
  if (v !== 'runts' && v !== 'runc') throw new Error(`RUNTS_CLIENT_RUNTIME must be runts or runc, not ${v}`);
  return v;
}

/** Why this client cannot be tested here, or undefined when it can. */
export function unavailable(binaries: string[]): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const missing = binaries.filter((b) => !fs.existsSync(b));
  if (missing.length) return `${missing.join(', ')} missing: run .ci/clients-setup`;
  if (runtimeUnderTest() === 'runts' && !fs.existsSync(RUNTS_CLI)) return 'dist/bundle/runts.js missing: build runts first';
  if (runtimeUnderTest() === 'runc' && !fs.existsSync(RUNC)) return 'runc missing: apt-get install runc';
  return undefined;
}

export interface ImageInfo {
  name: string;
  oci: string;
  docker: string;
}

/** The offline busybox image (fixtures/image/build-image.js), built if missing. */
export function image(): ImageInfo {
  const stampFile = path.join(IMAGE_DIR, 'image.json');
  const r1 = spawnSync('bash', [path.join(REPO, 'fixtures', 'build-rootfs.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r1.status !== 0) throw new Error('fixtures/build-rootfs.sh failed');
  const r2 = spawnSync(process.execPath, [path.join(REPO, 'fixtures', 'image', 'build-image.js')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r2.status !== 0) throw new Error('fixtures/image/build-image.js failed');
  return JSON.parse(fs.readFileSync(stampFile, 'utf8'));
}

export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = runtsChildEnv(extra);
  delete env.DOCKER_HOST;
  delete env.CONTAINER_HOST;
  delete env.CONTAINERD_ADDRESS;
  delete env.CONTAINERD_NAMESPACE;
  return env;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor(pred: () => boolean | Promise<boolean>, ms = 10_000, step = 50): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > end) return false;
    await sleep(step);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** the command line, for assertion messages */
  cmd: string;
}

/** "cmd args: code, stderr" in one line, for assertion messages. */
export function describe(r: Result): string {
  // The telling lines: the first errors (a Node stack's message comes first) and the last line.
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  const picked = [...new Set([...lines.filter((l) => /error|fatal|denied|failed|not found|killed after/i.test(l)).slice(0, 3), ...lines.slice(-1)])];
  const err = picked.join(' | ').slice(0, 1000);
  return `${r.cmd} → ${r.code}${err ? `: ${err}` : ''}`;
}

/**
 * Runs a command to completion. Output goes through files, not pipes: a daemon or monitor the
 * command starts (conmon, a shim) may inherit its stdio and keep a pipe open forever.
 */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; cwd?: string } = {},
): Promise<Result> {
  if (shuttingDown) return { code: 125, stdout: '', stderr: 'not run: the test is shutting down', ms: 0, cmd: [cmd, ...args].join(' ') };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-clients-out-'));
  outputDirs.add(dir);
  const out = fs.openSync(path.join(dir, 'out'), 'w+');
  const err = fs.openSync(path.join(dir, 'err'), 'w+');
  let input: number | 'ignore' = 'ignore';
  if (opts.input !== undefined) {
    fs.writeFileSync(path.join(dir, 'in'), opts.input);
    input = fs.openSync(path.join(dir, 'in'), 'r');
  } else {
    input = fs.openSync('/dev/null', 'r');
  }
  const started = Date.now();
  const line = [cmd, ...args].join(' ');
  try {
    const child = spawn(cmd, args, { env: opts.env ?? childEnv(), cwd: opts.cwd, stdio: [input, out, err] });
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const code: number = await new Promise((resolve) => {
      child.on('error', () => resolve(127));
      child.on('exit', (c, s) => resolve(c ?? 128 + (s ? os.constants.signals[s] : 0)));
    });
    clearTimeout(timer);
    const stderr = fs.readFileSync(path.join(dir, 'err'), 'utf8') + (timedOut ? `\n[killed after ${timeoutMs} ms]` : '');
    return { code, stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'), stderr, ms: Date.now() - started, cmd: line };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    if (typeof input === 'number') fs.closeSync(input);
    fs.rmSync(dir, { recursive: true, force: true });
    outputDirs.delete(dir);
  }
}

/** run()'s output dirs still in use, for the last-resort cleanup. */
const outputDirs = new Set<string>();
/** Set by the last-resort cleanup: no command starts after it. */
let shuttingDown = false;

/** Quotes for /bin/sh. */
export function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs a command on a fresh pseudo-terminal (util-linux `script`), for clients that want a
 * terminal on their own stdin before they allocate one for the container (ctr -t).
 */
export function runOnPty(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Result> {
  const line = [cmd, ...args].map(shQuote).join(' ');
  return run('script', ['-q', '-e', '-c', line, '/dev/null'], opts);
}

// ---------------------------------------------------------------------------------------------
// The runtime wrapper

export interface RuntimeCall {
  /** pid of the wrapper shell (and of the runtime it runs) */
  pid: number;
  argv: string[];
  /** the exit code when it was not 0 */
  exit?: number;
  /** the --log file's last lines after a failure */
  logTail: string[];
}

export class RuntimeWrapper {
  readonly path: string;
  readonly logFile: string;

  constructor(
    dir: string,
    readonly kind: RuntimeKind,
  ) {
    this.path = path.join(dir, kind);
    this.logFile = path.join(dir, `${kind}-calls.log`);
    const target = kind === 'runts' ? `${shQuote(process.execPath)} ${shQuote(RUNTS_CLI)}` : shQuote(RUNC);
    // One printf per line (an O_APPEND write) so concurrent calls do not interleave. The
    // runtime is not exec'd: the wrapper waits for it to note a failure and the --log tail.
    const script = `#!/bin/sh
# Test wrapper (test/clients/lib.ts): logs each call, then runs ${kind}.
unset NODE_EXTRA_CA_CERTS
log=${shQuote(this.logFile)}
line="CALL $$"
for a in "$@"; do line="$line	$a"; done
printf '%s\\n' "$line" >> "$log"
${target} "$@"
rc=$?
if [ "$rc" -ne 0 ]; then
  lf=
  prev=
  for a in "$@"; do
    [ "$prev" = --log ] && lf=$a
    case "$a" in --log=*) lf=\${a#--log=} ;; esac
    prev=$a
  done
  out="EXIT $$ $rc"
  if [ -n "$lf" ] && [ -f "$lf" ]; then
    out="$out
$(tail -n 3 "$lf" | sed "s/^/LOG $$	/")"
  fi
  printf '%s\\n' "$out" >> "$log"
fi
exit $rc
`;
    fs.writeFileSync(this.path, script, { mode: 0o755 });
    fs.writeFileSync(this.logFile, '');
  }

  calls(): RuntimeCall[] {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return [];
    }
    const byPid = new Map<number, RuntimeCall>();
    const calls: RuntimeCall[] = [];
    for (const line of text.split('\n')) {
      if (line.startsWith('CALL ')) {
        const [head, ...argv] = line.split('\t');
        const pid = Number(head.slice(5));
        const call = { pid, argv, logTail: [] };
        byPid.set(pid, call);
        calls.push(call);
      } else if (line.startsWith('EXIT ')) {
        const [, pid, code] = line.split(' ');
        const c = byPid.get(Number(pid));
        if (c) c.exit = Number(code);
      } else if (line.startsWith('LOG ')) {
        const tab = line.indexOf('\t');
        const c = byPid.get(Number(line.slice(4, tab)));
        if (c) c.logTail.push(line.slice(tab + 1));
      }
    }
    return calls;
  }

  /** The runtime command (create, start, kill …) of a call: the first non-option word. */
  static command(argv: string[]): string {
    const withValue = new Set(['--root', '--log', '--log-format', '--criu']);
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (withValue.has(a)) {
        i++;
        continue;
      }
      if (a.startsWith('-')) continue;
      return a;
    }
    return '';
  }

  /** Calls for one container id (the id is the last argument, or before kill's signal). */
  callsFor(id: string): RuntimeCall[] {
    return this.calls().filter((c) => c.argv.includes(id));
  }

  commandsFor(id: string): string[] {
    return this.callsFor(id).map((c) => RuntimeWrapper.command(c.argv));
  }

  /** The create call's --bundle and --root for a container. */
  createInfo(id: string): { bundle?: string; root: string } | undefined {
    const c = this.callsFor(id).find((x) => RuntimeWrapper.command(x.argv) === 'create');
    if (!c) return undefined;
    const opt = (name: string) => {
      const i = c.argv.indexOf(name);
      if (i >= 0) return c.argv[i + 1];
      const eq = c.argv.find((a) => a.startsWith(`${name}=`));
      return eq?.slice(name.length + 1);
    };
    return { bundle: opt('--bundle'), root: opt('--root') ?? (this.kind === 'runts' ? '/run/runts' : '/run/runc') };
  }

  /** Every failed call, one line each with the runtime's last log line: for the lead. */
  failures(): string[] {
    return this.calls()
      .filter((c) => c.exit !== undefined)
      .map((c) => {
        const cmd = RuntimeWrapper.command(c.argv);
        const shown = c.argv.map((a) => (a.length > 60 ? `…${a.slice(-24)}` : a)).join(' ');
        const log = c.logTail.length ? ` ⇒ ${c.logTail[c.logTail.length - 1]}` : '';
        return `${this.kind} ${cmd} exit ${c.exit}: ${shown}${log}`;
      });
  }

  /** Force-deletes, through the runtime itself, every container it was asked to create. */
  cleanup(): void {
    const seen = new Set<string>();
    for (const c of this.calls()) {
      if (RuntimeWrapper.command(c.argv) !== 'create') continue;
      const id = c.argv[c.argv.length - 1];
      const info = this.createInfo(id);
      const key = `${info?.root}\0${id}`;
      if (seen.has(key) || !info) continue;
      seen.add(key);
      if (!fs.existsSync(path.join(info.root, id))) continue;
      const argv = ['--root', info.root, 'delete', '--force', id];
      if (this.kind === 'runts') spawnSync(process.execPath, [RUNTS_CLI, ...argv], { env: childEnv(), stdio: 'ignore', timeout: 20_000 });
      else spawnSync(RUNC, argv, { stdio: 'ignore', timeout: 20_000 });
    }
  }
}

/** Asserts the client created and started container `id` through the wrapper. */
export function assertThroughWrapper(t: Test, w: RuntimeWrapper, id: string, expect: string[] = ['create', 'start']): boolean {
  const cmds = w.commandsFor(id);
  const missing = expect.filter((c) => !cmds.includes(c));
  return t.same(missing, [], `the client called ${w.kind} (through the test wrapper) for ${expect.join(', ')} of ${id.slice(0, 12)}; saw: ${cmds.join(' ') || 'nothing'}`);
}

// ---------------------------------------------------------------------------------------------
// Daemons

/** Every daemon a test started: the process 'exit' hook kills those still running. */
const startedDaemons: Daemon[] = [];

export class Daemon {
  readonly child: ChildProcess;
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    readonly logFile: string,
    env: NodeJS.ProcessEnv = childEnv(),
  ) {
    const log = fs.openSync(logFile, 'a');
    const devnull = fs.openSync('/dev/null', 'r');
    // Its own process group: a ^C meant for tap does not hit it; the test stops it by pid.
    this.child = spawn(cmd, args, { env, stdio: [devnull, log, log], detached: true });
    startedDaemons.push(this);
    fs.closeSync(log);
    fs.closeSync(devnull);
    this.exitPromise = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
      this.child.on('error', () => {
        this.exited = { code: 127, signal: null };
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** The last lines of its log, for failure messages. */
  tail(n = 15): string {
    return this.log().trim().split('\n').slice(-n).join('\n');
  }

  async waitExit(ms: number): Promise<boolean> {
    if (this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
    try {
      return await Promise.race([this.exitPromise.then(() => true), expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`. Resolves with whether it exited on the SIGTERM. */
  async stop(graceMs = 15_000): Promise<{ clean: boolean; code: number | null; signal: NodeJS.Signals | null; ms: number }> {
    const started = Date.now();
    if (!this.exited) this.child.kill('SIGTERM');
    let clean = await this.waitExit(graceMs);
    if (!clean) {
      this.child.kill('SIGKILL');
      await this.waitExit(5_000);
      clean = false;
    }
    return { clean, code: this.exited?.code ?? null, signal: this.exited?.signal ?? null, ms: Date.now() - started };
  }
}

/** Waits until a unix socket accepts connections (the daemon is up). */
export async function waitForSocket(sock: string, d: Daemon, ms = 30_000): Promise<void> {
  const ok = await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        if (d.exited || !fs.existsSync(sock)) return resolve(false);
        const c = net.connect(sock);
        c.on('connect', () => {
          c.destroy();
          resolve(true);
        });
        c.on('error', () => resolve(false));
      }),
    ms,
    100,
  );
  if (!ok) throw new Error(`${d.name} did not come up on ${sock}${d.exited ? ` (exited ${JSON.stringify(d.exited)})` : ''}:\n${d.tail()}`);
}

// ---------------------------------------------------------------------------------------------
// Host-side observation: processes, mounts, cgroups

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  mountPoint: string;
  root: string;
  fstype: string;
  source: string;
  superOptions: string;
}

export function mounts(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const [pre, post] = line.split(' - ');
    const f = pre.split(' ');
    const g = (post ?? '').split(' ');
    out.push({ root: unescapeMount(f[3]), mountPoint: unescapeMount(f[4]), fstype: g[0], source: unescapeMount(g[1] ?? ''), superOptions: g[2] ?? '' });
  }
  return out;
}

export function mountsUnder(dir: string): string[] {
  return mounts()
    .map((m) => m.mountPoint)
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/** Mount points whose path mentions `needle` (a container id, a rootfs path). */
export function mountsMentioning(needle: string): string[] {
  return mounts()
    .filter((m) => m.mountPoint.includes(needle))
    .map((m) => m.mountPoint);
}

/** Lazily unmounts everything under `dir`, deepest first. */
export function unmountUnder(dir: string): void {
  for (let round = 0; round < 5; round++) {
    const points = [...new Set(mountsUnder(dir))].sort((a, b) => b.length - a.length);
    if (points.length === 0) return;
    for (const p of points) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
  }
}

export interface ProcInfo {
  pid: number;
  state: string;
  startTime: string;
  cmdline: string;
}

export function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    return { pid, state: rest[0], startTime: rest[19], cmdline };
  } catch {
    return undefined;
  }
}

/** True while `pid` (with this start time) is a live, non-zombie process. */
export function alive(pid: number, startTime?: string): boolean {
  const p = procInfo(pid);
  if (!p || p.state === 'Z' || p.state === 'X') return false;
  return startTime === undefined || p.startTime === startTime;
}

/** Live processes whose command line contains `needle` (never this test process). */
export function processesMentioning(needle: string): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const p = procInfo(pid);
    if (p && p.state !== 'Z' && p.cmdline.includes(needle)) out.push(p);
  }
  return out;
}

/** Kills (SIGKILL) the given processes, which the caller started. */
export function killAll(procs: ProcInfo[]): void {
  for (const p of procs) {
    if (!alive(p.pid, p.startTime)) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

interface CgroupMount {
  dir: string;
  /** controller names (cpu, memory, name=systemd…); empty for cgroup2 */
  controllers: string[];
  v2: boolean;
  root: string;
}

export function cgroupMounts(): CgroupMount[] {
  return mounts()
    .filter((m) => m.fstype === 'cgroup' || m.fstype === 'cgroup2')
    .map((m) => ({
      dir: m.mountPoint,
      v2: m.fstype === 'cgroup2',
      root: m.root,
      controllers: m.fstype === 'cgroup' ? m.superOptions.split(',').filter((o) => !['rw', 'ro', 'relatime', 'noexec', 'nosuid', 'nodev', 'clone_children', 'noprefix'].includes(o) && !o.startsWith('release_agent')) : [],
    }));
}

/** Host directories of every cgroup `pid` is in: { cpu: '/sys/fs/cgroup/cpu/x/y', unified: … }. */
export function cgroupDirs(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return out;
  }
  const ms = cgroupMounts();
  for (const line of text.trim().split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , ctrls, cgPath] = m;
    const mount = ctrls === '' ? ms.find((x) => x.v2) : ms.find((x) => !x.v2 && ctrls.split(',').every((c) => x.controllers.includes(c)));
    if (!mount) continue;
    const rel = mount.root !== '/' && cgPath.startsWith(mount.root) ? cgPath.slice(mount.root.length) : cgPath;
    out[ctrls === '' ? 'unified' : ctrls] = path.join(mount.dir, rel);
  }
  return out;
}

/** cpu.shares (v1) or the matching cpu.weight (v2) the container's cgroup shows. */
export function readCpuShares(dirs: Record<string, string>): { file: string; value: string; expect: (shares: number) => string } {
  const v1 = Object.entries(dirs).find(([k]) => k.split(',').includes('cpu'));
  if (v1) {
    const file = path.join(v1[1], 'cpu.shares');
    return { file, value: safeRead(file), expect: (s) => String(s) };
  }
  const file = path.join(dirs.unified ?? '/nonexistent', 'cpu.weight');
  return { file, value: safeRead(file), expect: (s) => String(1 + Math.floor(((s - 2) * 9999) / 262142)) };
}

/** 'FROZEN' / 'THAWED' from the freezer (v1) or cgroup.freeze (v2). */
export function readFreezer(dirs: Record<string, string>): string {
  const v1 = Object.entries(dirs).find(([k]) => k.split(',').includes('freezer'));
  if (v1) return safeRead(path.join(v1[1], 'freezer.state'));
  const v = safeRead(path.join(dirs.unified ?? '/nonexistent', 'cgroup.freeze'));
  return v === '1' ? 'FROZEN' : v === '0' ? 'THAWED' : v;
}

export function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (e) {
    return `<${(e as NodeJS.ErrnoException).code ?? 'error'}>`;
  }
}

/**
 * Removes a cgroup tree (a path relative to every hierarchy, e.g. `/runts-clients-docker-42`)
 * that this test made the client use as its parent: thaws it, kills the processes left in it
 * (they are the test's containers), then removes the directories deepest first. Also removes
 * what a client made of it where no hierarchy is mounted: Podman's cgroupfs manager makes
 * `<controller>/<parent>/conmon/tasks` as plain files under a tmpfs /sys/fs/cgroup for every
 * controller it knows, mounted or not.
 */
export async function removeCgroupTree(rel: string): Promise<void> {
  await waitFor(() => removeCgroupTreeOnce(rel), 5_000, 100);
}

/** One synchronous pass of removeCgroupTree; true when nothing is left. */
export function removeCgroupTreeOnce(rel: string): boolean {
  let left = false;
  for (const m of cgroupMounts()) {
    const top = path.join(m.dir, rel);
    if (!fs.existsSync(top)) continue;
    const dirs: string[] = [];
    const walk = (d: string) => {
      dirs.push(d);
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
    };
    try {
      walk(top);
    } catch {
      left = true;
      continue;
    }
    for (const d of dirs) {
      if (m.controllers.includes('freezer')) {
        try {
          fs.writeFileSync(path.join(d, 'freezer.state'), 'THAWED');
        } catch {
          /* ignore */
        }
      }
      for (const pid of safeRead(path.join(d, 'cgroup.procs')).split('\n').filter((x) => /^\d+$/.test(x))) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (const d of dirs.sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') left = true;
      }
    }
  }
  const mounted = new Set(cgroupMounts().map((m) => m.dir));
  // Only under a tmpfs /sys/fs/cgroup (v1, hybrid): on pure v2 its entries are cgroups.
  for (const name of mounted.has(CGROUP_ROOT) ? [] : safeReaddir(CGROUP_ROOT)) {
    const dir = path.join(CGROUP_ROOT, name);
    if (!mounted.has(dir)) fs.rmSync(path.join(dir, rel), { recursive: true, force: true });
  }
  return !left;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

function safeReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export function cgroupTreeExists(rel: string): string[] {
  return cgroupMounts()
    .map((m) => path.join(m.dir, rel))
    .filter((d) => fs.existsSync(d));
}

// ---------------------------------------------------------------------------------------------
// One container's footprint on the host, recorded while it runs, checked after rm

export interface Footprint {
  id: string;
  pid: number;
  startTime?: string;
  stateDir: string;
  bundle?: string;
  rootfs?: string;
  cgroups: string[];
}

export function footprint(w: RuntimeWrapper, id: string, pid: number): Footprint {
  const info = w.createInfo(id);
  let rootfs: string | undefined;
  if (info?.bundle) {
    try {
      const spec = JSON.parse(fs.readFileSync(path.join(info.bundle, 'config.json'), 'utf8'));
      const p = spec.root?.path as string | undefined;
      if (p) rootfs = path.resolve(info.bundle, p);
    } catch {
      /* bundle not readable */
    }
  }
  return {
    id,
    pid,
    startTime: procInfo(pid)?.startTime,
    stateDir: path.join(info?.root ?? (w.kind === 'runts' ? '/run/runts' : '/run/runc'), id),
    bundle: info?.bundle,
    rootfs,
    cgroups: Object.values(cgroupDirs(pid)).filter((d) => !cgroupMounts().some((m) => m.dir === d)),
  };
}

/** Asserts that nothing of a removed container is left on the host. */
export async function assertNoFootprint(t: Test, f: Footprint, extraProcNeedles: string[] = []): Promise<void> {
  await waitFor(() => !alive(f.pid, f.startTime) && processesMentioning(f.id).length === 0, 10_000);
  t.notOk(alive(f.pid, f.startTime), `the container's init (pid ${f.pid}) is gone`);
  const procs = [f.id, ...extraProcNeedles].flatMap((n) => processesMentioning(n));
  t.same(
    procs.map((p) => `${p.pid} ${p.cmdline.slice(0, 120)}`),
    [],
    'no process (shim, monitor, runtime) mentions the container any more',
  );
  t.notOk(fs.existsSync(f.stateDir), `the runtime's state dir ${f.stateDir} is gone`);
  const leftMounts = [...mountsMentioning(f.id), ...(f.rootfs ? mountsMentioning(f.rootfs) : [])];
  t.same([...new Set(leftMounts)], [], 'no mount of the container is left in the host mount table');
  t.ok(f.cgroups.length > 0, `its cgroups were recorded (${f.cgroups.length})`);
  t.same(
    f.cgroups.filter((d) => fs.existsSync(d)),
    [],
    'its cgroup directories are removed',
  );
}

// ---------------------------------------------------------------------------------------------
// The per-client scaffold: a temp dir, the wrapper, the todo table

export interface Scaffold {
  dir: string;
  wrapper: RuntimeWrapper;
  kind: RuntimeKind;
  /** a cgroup path relative to each hierarchy that this run's containers live under */
  cgroupParent: string;
  /** tap options for a check: todo (with the missing runts feature) when listed for runts */
  opts(check: string): { todo?: string; timeout: number };
  /** containerd instances (grpc address, namespace) whose shims the cleanup must account for */
  containerds: { address: string; ns: string }[];
}

export function scaffold(client: string, runtsTodo: Record<string, string>): Scaffold {
  const kind = runtimeUnderTest();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `runts-clients-${client}-`));
  fs.chmodSync(dir, 0o755);
  const wrapper = new RuntimeWrapper(dir, kind);
  const cgroupParent = `/runts-clients-${client}-${process.pid}`;
  // Last resort when the process ends before the async teardown ran (tap's timeout ends with
  // SIGALRM then SIGKILL within a second, ^C, an uncaught error): synchronous kills by pid, the
  // cgroup parent, unmounts, the runtime's containers, the temp dir; daemons first (fastest).
  const lastResort = () => {
    shuttingDown = true;
    if (!fs.existsSync(dir)) return;
    for (const d of startedDaemons) if (!d.exited) d.child.kill('SIGKILL');
    killAll(processesMentioning(dir));
    for (let i = 0; i < 20 && !removeCgroupTreeOnce(cgroupParent); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 25);
    unmountUnder(dir);
    wrapper.cleanup();
    removeShimSockets(scaffoldObj);
    for (const d of outputDirs) fs.rmSync(d, { recursive: true, force: true });
    if (process.env.RUNTS_CLIENT_KEEP !== '1') fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', lastResort);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const) {
    process.once(sig, () => {
      lastResort();
      process.exit(128 + os.constants.signals[sig]);
    });
  }
  const scaffoldObj: Scaffold = {
    dir,
    wrapper,
    kind,
    cgroupParent,
    containerds: [],
    opts(check: string) {
      // RUNTS_CLIENT_STRICT=1 runs the todo checks for real: to see whether a feature landed.
      const todo = kind === 'runts' && process.env.RUNTS_CLIENT_STRICT !== '1' ? runtsTodo[check] : undefined;
      return todo ? { todo: `runts: ${todo}`, timeout: 60_000 } : { timeout: 60_000 };
    },
  };
  return scaffoldObj;
}

/**
 * containerd 1.6 puts each shim's socket in /run/containerd/s/<sha256(address/ns/id)> whatever
 * its config says; a shim that had to be killed leaves it behind: remove those of this run.
 */
export function removeShimSockets(s: Scaffold): void {
  const ids = new Set(s.wrapper.calls().filter((c) => RuntimeWrapper.command(c.argv) === 'create').map((c) => c.argv[c.argv.length - 1]));
  for (const { address, ns } of s.containerds) {
    for (const id of ids) {
      const sock = path.join('/run/containerd/s', crypto.createHash('sha256').update(path.join(address, ns, id)).digest('hex'));
      if (processesMentioning(sock).length === 0) fs.rmSync(sock, { force: true });
    }
  }
}

/** Comments the runtime's failed calls (with their json error line) into the TAP output. */
export function reportFailures(t: Test, s: Scaffold, daemons: Daemon[]): void {
  const fails = s.wrapper.failures();
  t.comment(`${s.kind}: ${s.wrapper.calls().length} runtime calls through the wrapper, ${fails.length} failed`);
  for (const f of fails) t.comment(f);
  const pattern = new RegExp(`(level=(error|fatal)|"level":"error").*(${s.kind}|OCI|runtime|shim)`, 'i');
  for (const d of daemons) {
    const lines = d
      .log()
      .split('\n')
      .filter((l) => pattern.test(l));
    const uniq = [...new Set(lines.map((l) => l.replace(/^time="[^"]*" /, '').replace(/[0-9a-f]{64}/g, '<id>')))];
    if (uniq.length) t.comment(`${d.name} log, error lines about the runtime (${uniq.length} distinct):`);
    for (const l of uniq.slice(0, 25)) t.comment(`  ${l.slice(0, 400)}`);
  }
}

/**
 * Teardown shared by every client: containers through the runtime, processes that mention the
 * temp dir (shims, conmon, the daemons' helpers: all started by this test), the daemons by pid,
 * the cgroup parent, mounts under the temp dir, the temp dir.
 */
export async function teardown(s: Scaffold, daemons: Daemon[], extra: () => Promise<void> = async () => {}): Promise<void> {
  try {
    await extra();
  } catch {
    /* keep cleaning */
  }
  s.wrapper.cleanup();
  // Every daemon this process started, last started first (dockerd before its containerd),
  // including one whose start failed half-way and never reached the caller.
  for (const d of new Set([...startedDaemons].reverse().concat(daemons))) if (!d.exited) await d.stop(10_000);
  killAll(processesMentioning(s.dir));
  await removeCgroupTree(s.cgroupParent);
  unmountUnder(s.dir);
  removeShimSockets(s);
  if (process.env.RUNTS_CLIENT_KEEP === '1') return;
  for (let i = 0; i < 3; i++) {
    try {
      fs.rmSync(s.dir, { recursive: true, force: true });
      return;
    } catch {
      unmountUnder(s.dir);
      await sleep(200);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// containerd (the containerd test's daemon, and Docker's when a system containerd would be
// picked up instead of a private one)

export const CONTAINERD = '/usr/bin/containerd';

/** Starts containerd from a generated config.toml with every path under `dir`. */
export async function startContainerd(dir: string, name = 'containerd'): Promise<{ daemon: Daemon; sock: string; config: string }> {
  fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const sock = path.join(dir, 'containerd.sock');
  const config = path.join(dir, 'config.toml');
  fs.writeFileSync(
    config,
    `# generated by test/clients/lib.ts: everything private to this test run
version = 2
root = "${dir}/root"
state = "${dir}/state"
temp = "${dir}/tmp"
# no CRI: nothing here needs Kubernetes' plugin (and it would set up CNI networking)
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "${sock}"

[ttrpc]
  address = "${sock}.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""
`,
  );
  const daemon = new Daemon(name, CONTAINERD, ['--config', config], path.join(dir, `${name}.log`));
  await waitForSocket(sock, daemon);
  return { daemon, sock, config };
}

/**
 * How often the "exec -t of a process that exits at once" check repeats (RUNTS_SHORT_TTY_RUNS).
 * runts lost that output in 4 of 101 tries while its exec'd process could run before runts
 * returned; it now waits for runts to exit (proved directly in test/integration/terminal.test.ts).
 * On a machine loaded well past its cores, containerd 1.6's shim can still process the exit
 * before its copy of the pty has drained (ctr then logs "resize pty error"): 200 tries lost 5
 * with runc and 7 with runts there, so the default stays small.
 */
export const SHORT_TTY_RUNS = Number(process.env.RUNTS_SHORT_TTY_RUNS ?? 10);

/** Waits briefly for the test's processes to go, then asserts none and no mount is left. */
export async function assertNothingLeft(t: Test, s: Scaffold, processMessage: string): Promise<void> {
  await waitFor(() => processesMentioning(s.dir).length === 0, 5_000);
  t.same(
    processesMentioning(s.dir).map((p) => `${p.pid} ${p.cmdline.slice(0, 100)}`),
    [],
    processMessage,
  );
  t.same(mountsUnder(s.dir), [], 'no mount left under the temp dir');
}

// ---------------------------------------------------------------------------------------------
// The container checks Docker and Podman share: the same CLI verbs, the same expectations

export interface DockerLikeCli {
  /** 'docker' or 'podman', as the assertion messages name it */
  name: string;
  /** runs the CLI with its private globals and environment */
  cli: (args: string[], opts?: { timeoutMs?: number }) => Promise<Result>;
  /** flags for every `run` */
  runFlags: string[];
  /** the loaded image's name, known once the client's first test has run */
  imageName: () => string;
  /** the container id from `run -d`'s stdout */
  parseId: (stdout: string) => string;
  /** the flags the runtime's exec call must carry for `exec -t`, and that assertion's message */
  execTty: { flags: string[]; message: string };
  /** whether `top` asks the runtime (ps), so the host pid and the ps call are checked too */
  topCallsRuntime: boolean;
  /** the CLI arguments that remove the detached container (before its id) */
  rm: string[];
}

/**
 * Registers, in this order: run, exit code, tty run, detached run, exec, exec -t, exec -t of a
 * short process, top, update, pause/unpause, stop, rm. One detached container serves the checks
 * from exec to rm.
 */
export function dockerLikeContainerTests(t: Test, s: Scaffold, c: DockerLikeCli): void {
  const { cli, runFlags } = c;
  const inspect = async (id: string, fmt: string) => (await cli(['inspect', '-f', fmt, id])).stdout.trim();
  const cidFile = (name: string) => path.join(s.dir, `${name}.cid`);
  const cid = (name: string) => safeRead(cidFile(name));

  t.test('run: the container output is captured', s.opts('run'), async (t) => {
    const r = await cli(['run', '--rm', '--cidfile', cidFile('run'), ...runFlags, c.imageName(), 'sh', '-c', 'echo hello from $(cat /proc/1/comm)']);
    t.equal(r.code, 0, describe(r));
    t.equal(r.stdout.trim(), 'hello from sh');
    assertThroughWrapper(t, s.wrapper, cid('run'), ['create', 'start', 'delete']);
  });

  t.test('exit code propagates', s.opts('exit-code'), async (t) => {
    const r = await cli(['run', '--rm', '--cidfile', cidFile('exit'), ...runFlags, c.imageName(), 'sh', '-c', 'exit 7']);
    t.equal(r.code, 7, describe(r));
    assertThroughWrapper(t, s.wrapper, cid('exit'));
  });

  t.test('tty run', s.opts('tty'), async (t) => {
    const r = await cli(['run', '--rm', '-t', '--cidfile', cidFile('tty'), ...runFlags, c.imageName(), 'sh', '-c', 'tty; sleep 0.3']);
    t.equal(r.code, 0, describe(r));
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the container sees a terminal');
    const create = s.wrapper.callsFor(cid('tty')).find((x) => RuntimeWrapper.command(x.argv) === 'create');
    t.ok(create?.argv.includes('--console-socket'), 'create got a --console-socket');
    assertThroughWrapper(t, s.wrapper, cid('tty'));
  });

  // One detached container serves exec, top, update, pause, stop and rm.
  let id = '';
  let pid = 0;
  let fp: Footprint | undefined;

  t.test('detached run', s.opts('detached'), async (t) => {
    const r = await cli(['run', '-d', ...runFlags, c.imageName(), 'sleep', '1000']);
    t.equal(r.code, 0, describe(r));
    id = c.parseId(r.stdout);
    t.match(id, /^[0-9a-f]{64}$/, `${c.name} printed the container id`);
    t.equal(await inspect(id, '{{.State.Status}}'), 'running');
    pid = Number(await inspect(id, '{{.State.Pid}}'));
    t.ok(pid > 0 && alive(pid), `init pid ${pid} is alive on the host`);
    fp = footprint(s.wrapper, id, pid);
    t.ok(fp.cgroups.some((d) => d.includes(s.cgroupParent)), `the container runs in its cgroup (${fp.cgroups[0]})`);
    assertThroughWrapper(t, s.wrapper, id);
  });

  t.test('exec', s.opts('exec'), async (t) => {
    const r = await cli(['exec', id, 'sh', '-c', 'echo exec sees $(cat /proc/1/comm); exit 3']);
    t.equal(r.code, 3, `the exec's exit code comes back: ${describe(r)}`);
    t.equal(r.stdout.trim(), 'exec sees sleep', "the exec runs in the container's pid namespace");
    assertThroughWrapper(t, s.wrapper, id, ['exec']);
  });

  t.test('exec with a tty', s.opts('exec-tty'), async (t) => {
    const r = await cli(['exec', '-t', id, 'sh', '-c', 'tty; sleep 0.3']);
    t.equal(r.code, 0, describe(r));
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the exec sees a terminal');
    const exec = s.wrapper.callsFor(id).filter((x) => RuntimeWrapper.command(x.argv) === 'exec');
    t.ok(exec.some((x) => c.execTty.flags.every((f) => x.argv.includes(f))), c.execTty.message);
  });

  t.test('exec with a tty keeps the output of a process that exits at once', { ...s.opts('exec-tty-short'), timeout: 60_000 + SHORT_TTY_RUNS * 3_000 }, async (t) => {
    const lost: string[] = [];
    for (let i = 0; i < SHORT_TTY_RUNS; i++) {
      const r = await cli(['exec', '-t', id, 'tty']);
      if (!/\/dev\/pts\/\d+/.test(r.stdout)) lost.push(`run ${i}: ${describe(r)} stdout ${JSON.stringify(r.stdout.slice(0, 80))}`);
    }
    t.same(lost, [], `\`exec -t ID tty\` printed its tty in all ${SHORT_TTY_RUNS} runs`);
  });

  t.test('top', s.opts('ps'), async (t) => {
    const r = await cli(['top', id]);
    t.equal(r.code, 0, describe(r));
    t.match(r.stdout, /sleep 1000/, 'lists the container process');
    if (c.topCallsRuntime) {
      t.match(r.stdout, new RegExp(`\\b${pid}\\b`), 'with its host pid');
      assertThroughWrapper(t, s.wrapper, id, ['ps']);
    }
  });

  t.test('update cpu shares, seen in the cgroup', s.opts('update'), async (t) => {
    const before = readCpuShares(cgroupDirs(pid));
    const r = await cli(['update', '--cpu-shares', '512', id]);
    t.equal(r.code, 0, describe(r));
    const after = readCpuShares(cgroupDirs(pid));
    t.equal(after.value, after.expect(512), `${after.file} (was ${before.value})`);
    assertThroughWrapper(t, s.wrapper, id, ['update']);
  });

  t.test('pause and unpause', s.opts('pause'), async (t) => {
    const p = await cli(['pause', id]);
    t.equal(p.code, 0, describe(p));
    t.equal(await inspect(id, '{{.State.Status}}'), 'paused');
    t.equal(readFreezer(cgroupDirs(pid)), 'FROZEN', 'the freezer cgroup is FROZEN');
    const u = await cli(['unpause', id]);
    t.equal(u.code, 0, describe(u));
    t.equal(await inspect(id, '{{.State.Status}}'), 'running');
    t.equal(readFreezer(cgroupDirs(pid)), 'THAWED', 'the freezer cgroup is THAWED');
    assertThroughWrapper(t, s.wrapper, id, ['pause', 'resume']);
  });

  t.test('stop: SIGTERM, then SIGKILL after the grace time', s.opts('stop'), async (t) => {
    // sleep as pid 1 has no TERM handler: it outlives the SIGTERM and the 1 s grace.
    const r = await cli(['stop', '-t', '1', id]);
    t.equal(r.code, 0, describe(r));
    t.ok(r.ms >= 900 && r.ms < 15_000, `stop waited for the grace time, then killed (${r.ms} ms)`);
    t.equal(await inspect(id, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
    const kills = s.wrapper.callsFor(id).filter((x) => RuntimeWrapper.command(x.argv) === 'kill');
    t.same(
      kills.map((x) => x.argv[x.argv.length - 1]),
      ['15', '9'],
      'the runtime got kill 15 then kill 9',
    );
  });

  t.test('rm leaves no state, mount, cgroup or process', s.opts('rm'), async (t) => {
    if (!fp) return t.fail('no detached container was recorded');
    const r = await cli([...c.rm, id]);
    t.equal(r.code, 0, describe(r));
    await assertNoFootprint(t, fp);
    const ps = await cli(['ps', '-aq']);
    t.equal(ps.stdout.trim(), '', `${c.name} lists no container`);
  });
}

// ---------------------------------------------------------------------------------------------
// Podman with private paths (no daemon): every command gets --root, --runroot, --tmpdir,
// --network-config-dir under the scaffold's dir, config files from there (an empty
// registries.conf: nothing can be pulled), --runtime the wrapper, file events.

export const PODMAN = '/usr/bin/podman';
export const CONMON = '/usr/bin/conmon';

function hardLimit(name: string): number {
  const line = fs
    .readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  const hard = line?.slice(name.length).trim().split(/\s+/)[1];
  return hard === undefined || hard === 'unlimited' ? Infinity : Number(hard);
}

export function podmanSetup(s: Scaffold, cgroupManager: 'cgroupfs' | 'systemd'): { podman: (args: string[], opts?: { timeoutMs?: number }) => Promise<Result>; root: string } {
  const root = path.join(s.dir, 'root');
  const runroot = path.join(s.dir, 'runroot');
  const tmpdir = path.join(s.dir, 'tmp');
  const netdir = path.join(s.dir, 'net');
  for (const d of [tmpdir, netdir]) fs.mkdirSync(d, { recursive: true });
  const nofile = Math.min(1024, hardLimit('Max open files'));
  const nproc = Math.min(4096, hardLimit('Max processes'));
  fs.writeFileSync(
    path.join(s.dir, 'containers.conf'),
    `# generated by test/clients/lib.ts podmanSetup
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]

[engine]
cgroup_manager = "${cgroupManager}"
events_logger = "file"
events_logfile_path = "${s.dir}/events.log"
tmp_dir = "${tmpdir}"
volume_path = "${s.dir}/volumes"

[network]
network_config_dir = "${netdir}"
`,
  );
  fs.writeFileSync(
    path.join(s.dir, 'storage.conf'),
    `[storage]
driver = "overlay"
runroot = "${runroot}"
graphroot = "${root}"
`,
  );
  fs.writeFileSync(path.join(s.dir, 'registries.conf'), '# no registries: nothing is ever pulled\n');
  const env = childEnv({
    CONTAINERS_CONF: path.join(s.dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: path.join(s.dir, 'storage.conf'),
    CONTAINERS_REGISTRIES_CONF: path.join(s.dir, 'registries.conf'),
    XDG_CONFIG_HOME: path.join(s.dir, 'xdg-config'),
    XDG_DATA_HOME: path.join(s.dir, 'xdg-data'),
  });
  const globals = [
    '--root', root,
    '--runroot', runroot,
    '--tmpdir', tmpdir,
    '--network-config-dir', netdir,
    '--storage-driver', 'overlay',
    '--runtime', s.wrapper.path,
    '--cgroup-manager', cgroupManager,
    '--events-backend', 'file',
  ];
  const podman = (args: string[], opts: { timeoutMs?: number } = {}) => run(PODMAN, [...globals, ...args], { env, ...opts });
  return { podman, root };
}

/**
 * containerd's Tasks.Update over gRPC (HTTP/2 on the unix socket), encoded by hand: the request
 * is { container_id = 1; resources = 2 (google.protobuf.Any) }, and the Any carries the
 * runtime-spec LinuxResources as JSON under containerd's type URL for it.
 */
export async function tasksUpdate(sock: string, ns: string, id: string, resources: object): Promise<{ code: number; message: string }> {
  const varint = (n: number) => {
    const b: number[] = [];
    while (n > 127) {
      b.push((n & 127) | 128);
      n >>>= 7;
    }
    b.push(n);
    return Buffer.from(b);
  };
  const field = (no: number, buf: Buffer) => Buffer.concat([varint((no << 3) | 2), varint(buf.length), buf]);
  const any = Buffer.concat([
    field(1, Buffer.from('types.containerd.io/opencontainers/runtime-spec/1/LinuxResources')),
    field(2, Buffer.from(JSON.stringify(resources))),
  ]);
  const msg = Buffer.concat([field(1, Buffer.from(id)), field(2, any)]);
  const frame = Buffer.alloc(5);
  frame.writeUInt32BE(msg.length, 1);
  const client = http2.connect('http://localhost', { createConnection: () => net.connect(sock) });
  try {
    return await new Promise((resolve, reject) => {
      client.on('error', reject);
      const req = client.request({
        ':method': 'POST',
        ':path': '/containerd.services.tasks.v1.Tasks/Update',
        'content-type': 'application/grpc',
        te: 'trailers',
        'containerd-namespace': ns,
      });
      let headers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => (headers = h));
      req.on('trailers', (h) => (headers = { ...headers, ...h }));
      req.on('data', () => {});
      req.on('error', reject);
      req.on('end', () =>
        resolve({ code: Number(headers['grpc-status'] ?? -1), message: decodeURIComponent(String(headers['grpc-message'] ?? '')) }),
      );
      req.setTimeout(30_000, () => req.close());
      req.end(Buffer.concat([frame, msg]));
    });
  } finally {
    client.close();
  }
}
