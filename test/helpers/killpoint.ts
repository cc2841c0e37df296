/**
 * Test-only kill points, preloaded into a runts process with NODE_OPTIONS=--require (see
 * crash.ts). Nothing in src/ knows about it and it is not in the package's files: the shipped
 * runts has no hook a caller could trip. It watches what runts does anyway —
 *  - `intent:<operation>:<step>`: right after an intent record announcing <step> is durably
 *    renamed into place (the step is announced, not yet taken);
 *  - `native:<fn>` / `native:<fn>:done`: right before a call into the addon, and right after;
 *  - `rename:<what>`: right after a rename (fs.renameSync, or the addon's writeFileAtomic):
 *    `staging-dir` (the state dir appears), `doomed-dir` (delete takes it away), or the target's
 *    base name (`state.json`, a pid file);
 *  - `rmdir:cgroup` / `rmdir:<base name>`: right after a directory is removed (under
 *    /sys/fs/cgroup, or elsewhere), through fs.rmdirSync or the addon;
 * and SIGKILLs its own process at the one named in RUNTS_TEST_KILL_AT (`name` or `name#n`, the
 * n-th time it is reached). With RUNTS_TEST_STEP_LOG=<file> every point reached is appended
 * there, one per line, so a test can list the points of a whole run.
 */
import fs = require('fs');
import path = require('path');

const target = process.env.RUNTS_TEST_KILL_AT ?? '';
const [killName, killNth = '1'] = target.split('#');
const stepLog = process.env.RUNTS_TEST_STEP_LOG;
const seen = new Map<string, number>();
const appendFileSync = fs.appendFileSync;
const readFileSync = fs.readFileSync;

function reach(name: string): void {
  const count = (seen.get(name) ?? 0) + 1;
  seen.set(name, count);
  if (stepLog) appendFileSync(stepLog, `${name}\n`);
  if (name === killName && count === Number(killNth)) process.kill(process.pid, 'SIGKILL');
}

const INTENT_FILE = /^(intent\.json|exec-intent\.\d+\.json)$/;

/** The point a rename reaches: through fs.renameSync, or inside the addon's writeFileAtomic. */
function renamed(from: fs.PathLike, to: fs.PathLike): void {
  const base = path.basename(String(to));
  if (INTENT_FILE.test(base)) {
    const intent = JSON.parse(readFileSync(to, 'utf8')) as { operation: string; step: string };
    reach(`intent:${intent.operation}:${intent.step}`);
  } else if (path.basename(String(from)).startsWith('~creating~')) {
    reach('rename:staging-dir');
  } else if (base.startsWith('~deleting~')) {
    reach('rename:doomed-dir');
  } else {
    reach(`rename:${base}`);
  }
}

const realRename = fs.renameSync;
(fs as { renameSync: typeof fs.renameSync }).renameSync = function renameSync(from: fs.PathLike, to: fs.PathLike): void {
  realRename(from, to);
  renamed(from, to);
};

/** The point a directory's removal reaches: through fs.rmdirSync, or the addon's rmdir and removeFlatDirectory. */
function removed(dir: fs.PathLike): void {
  reach(String(dir).startsWith('/sys/fs/cgroup/') ? 'rmdir:cgroup' : `rmdir:${path.basename(String(dir))}`);
}

const realRmdir = fs.rmdirSync;
(fs as { rmdirSync: typeof fs.rmdirSync }).rmdirSync = function rmdirSync(dir: fs.PathLike, options?: fs.RmDirOptions): void {
  realRmdir(dir, options);
  removed(dir);
};

const realDlopen = process.dlopen;
process.dlopen = function dlopen(module: { exports: Record<string, unknown> }, filename: string, ...rest: unknown[]): void {
  (realDlopen as (...args: unknown[]) => void)(module, filename, ...rest);
  for (const [name, fn] of Object.entries(module.exports)) {
    if (typeof fn !== 'function') continue;
    module.exports[name] = function (this: unknown, ...args: unknown[]) {
      reach(`native:${name}`);
      const result = (fn as (...a: unknown[]) => unknown).apply(this, args);
      if (name === 'writeFileAtomic') renamed(args[1] as string, args[0] as string);
      if ((name === 'rmdir' && result === '') || (name === 'removeFlatDirectory' && result === true)) removed(args[0] as string);
      reach(`native:${name}:done`);
      return result;
    };
  }
} as typeof process.dlopen;
