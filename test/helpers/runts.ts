/**
 * Integration-test helpers: a private --root per test, bundles on a fresh copy of the busybox
 * fixture rootfs, and the compiled runts CLI run as a child process.
 */
import { spawn, spawnSync } from 'child_process';
import fs = require('fs');
import os = require('os');
import path = require('path');
import type { Spec } from '../../src/config/types';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(REPO, 'dist', 'bundle', 'runts.js');
export const FIXTURE_ROOTFS = path.join(REPO, 'fixtures', 'out', 'rootfs');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment for a runts child: this one, minus what would change how node starts. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** A scratch directory removed at the end of the test run. */
export function scratchDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `runts-${prefix}-`));
}

/** The default config runc writes, made to run `args` without a terminal. */
export function baseSpec(args: string[]): Spec {
  // Built from `runc spec`'s shape, written out here so tests do not depend on runc.
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        effective: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        ambient: ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runts',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
    ],
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      maskedPaths: ['/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/** A bundle dir holding config.json and its own copy of the fixture rootfs. */
export function makeBundle(spec: Spec, dir = scratchDir('bundle')): string {
  if (!fs.existsSync(path.join(FIXTURE_ROOTFS, '.built'))) throw new Error('fixture rootfs missing: run `npm run fixtures`');
  fs.cpSync(FIXTURE_ROOTFS, path.join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec, null, 2));
  return dir;
}

/** makeBundle for one test: the bundle is removed when the test ends. */
export function bundleFor(t: { teardown(fn: () => void): void }, spec: Spec): string {
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  return bundle;
}

/**
 * Runs the runts CLI to completion. Output goes through files, not pipes: a detached
 * container inherits runts' stdio and would keep a pipe open long after runts exits.
 */
export function runts(root: string, args: string[], opts: { input?: string; cwd?: string; timeoutMs?: number } = {}): Result {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-out-'));
  const out = fs.openSync(path.join(dir, 'out'), 'w+');
  const err = fs.openSync(path.join(dir, 'err'), 'w+');
  try {
    const r = spawnSync(process.execPath, [CLI, '--root', root, ...args], {
      input: opts.input,
      cwd: opts.cwd,
      env: childEnv(),
      stdio: ['pipe', out, err],
      timeout: opts.timeoutMs ?? 30_000,
    });
    return {
      code: r.status ?? 128 + (r.signal ? os.constants.signals[r.signal] : 0),
      stdout: fs.readFileSync(path.join(dir, 'out'), 'utf8'),
      stderr: fs.readFileSync(path.join(dir, 'err'), 'utf8'),
    };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Starts the runts CLI without waiting, for run/signal tests. */
export function spawnRunts(root: string, args: string[], opts: { cwd?: string } = {}) {
  return spawn(process.execPath, [CLI, '--root', root, ...args], { cwd: opts.cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Force-deletes every container left under `root`, then removes it. For t.teardown. */
export function cleanupRoot(root: string): void {
  let ids: string[] = [];
  try {
    ids = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const id of ids) runts(root, ['delete', '--force', id]);
  fs.rmSync(root, { recursive: true, force: true });
}

/** Runs `args` in a fresh container to completion and returns what it printed. */
export function runInContainer(root: string, spec: Spec, id = `t${process.pid}${Math.floor(Math.random() * 1e6)}`): Result {
  const bundle = makeBundle(spec);
  try {
    return runts(root, ['run', '--bundle', bundle, id]);
  } finally {
    fs.rmSync(bundle, { recursive: true, force: true });
  }
}
