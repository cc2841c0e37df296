/**
 * The addon's mechanisms that create and exec lean on for speed: the init's sealed copy made and
 * spawned on a thread of its own (startInitSpawn, then collectInit collects it) and the reaping
 * of a child known to have exited without libuv's thread pool (reapExited).
 */
import t from 'tap';
import fs = require('fs');
import os = require('os');
import path = require('path');
import { spawnSync } from 'child_process';
import { native } from '../../src/native';
import { REPO } from '../helpers/runts';
import { pidStartTime } from '../../src/state/store';

function memfdsNamed(name: string): number[] {
  return fs.readdirSync('/proc/self/fd').map(Number).filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`) === `/memfd:${name} (deleted)`;
    } catch {
      return false; // the fd of the readdir itself
    }
  });
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A child of this process run from a sealed copy of `file`, as the init is started. */
function spawnCopy(file: string, args: string[], before = [0, 1, 2], after: number[] = []): number {
  const addon = native();
  addon.startInitSpawn(file, 'test-copy', path.basename(file), args, before, after);
  return addon.collectInit();
}

/** Waits for child `pid` to exit (at most 10 s) and reaps it. */
function waitGone(pid: number): unknown {
  const addon = native();
  let status = addon.reapExited(pid);
  for (let i = 0; i < 2000 && status === null; i++, sleepMs(5)) status = addon.reapExited(pid);
  return status;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-addon-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'binary');
const content = Buffer.alloc(3 * 1024 * 1024 + 17, 'runts');
fs.writeFileSync(file, content);

t.test('startInitSpawn runs a sealed copy, spawned on its own thread, with its fds in order', async (t) => {
  const addon = native();
  const out = path.join(dir, 'spawned');
  const outFd = fs.openSync(out, 'w');
  const afterFd = fs.openSync(file, 'r');
  // What the child sees: the file it runs, its fds 3 and 4, and whether fd 3 (the copy) takes a write.
  const script = [
    'readlink /proc/$$/exe',
    'readlink /proc/$$/fd/3',
    'readlink /proc/$$/fd/4',
    'stat -L -c %a /proc/$$/fd/3',
    'if printf x >> /proc/$$/fd/3; then echo writable; else echo sealed; fi',
    'sleep 0.3',
  ].join('; ');
  addon.startInitSpawn('/bin/sh', 'bg-sh', 'sh', ['-c', script], [0, outFd, 2], [afterFd]);
  // The JS thread only waits here: the child runs without any further call into the addon.
  let ran = false;
  for (let i = 0; i < 500 && !ran; i++, sleepMs(2)) ran = fs.statSync(out).size > 0;
  t.ok(ran, 'the init was spawned off the JS thread, before collectInit');
  const pid = addon.collectInit();
  fs.closeSync(outFd);
  fs.closeSync(afterFd);
  t.same(waitGone(pid), { code: 0, signal: null }, 'it ran to its end');
  const lines = fs.readFileSync(out, 'utf8').split('\n');
  t.equal(lines[0], '/memfd:bg-sh (deleted)', 'it runs from the memfd copy');
  t.equal(lines[1], '/memfd:bg-sh (deleted)', 'which is its fd right after `before`');
  t.equal(lines[2], file, 'then come the fds of `after`');
  t.equal(lines[3], '555', 'the copy is read-only');
  t.equal(lines[4], 'sealed', 'and takes no write');
  t.same(memfdsNamed('bg-sh'), [], 'the runtime kept no fd of the copy');
});

t.test('a spawn that failed fails collectInit with the step and errno', async (t) => {
  const addon = native();
  const missing = path.join(dir, 'missing');
  addon.startInitSpawn(missing, 'bg-missing', 'missing', [], [0, 1, 2], []);
  t.throws(() => addon.collectInit(), { message: new RegExp(`open ${missing}: .*ENOENT|open ${missing}: No such file`) });
  t.same(memfdsNamed('bg-missing'), [], 'no memfd left');
  t.throws(() => addon.collectInit(), /none was started/, 'and there is nothing more to collect');
});

t.test('one task short of a pids limit, the init still starts', { skip: process.getuid?.() !== 0 || !fs.existsSync('/sys/fs/cgroup/pids/cgroup.procs') ? 'needs root and the v1 pids controller' : false }, async (t) => {
  const cgroup = fs.mkdtempSync('/sys/fs/cgroup/pids/runts-addon-');
  t.teardown(() => fs.rmdirSync(cgroup));
  // A child node joins a pids cgroup with room for one more task, then spawns: the thread takes
  // that room and its spawn fails, or no thread can be made; either way the init must start.
  const child = [
    `const fs = require('fs');`,
    `const addon = require(${JSON.stringify(path.join(REPO, 'dist/src/native/index.js'))}).native();`,
    `fs.writeFileSync(${JSON.stringify(cgroup)} + '/cgroup.procs', String(process.pid));`,
    `const threads = () => fs.readdirSync('/proc/self/task').length;`,
    `fs.writeFileSync(${JSON.stringify(cgroup)} + '/pids.max', String(threads() + 1));`,
    `addon.startInitSpawn('/bin/sh', 'bg-limited', 'sh', ['-c', 'exit 5'], [0, 1, 2], []);`,
    `const pid = addon.collectInit();`,
    `let status = addon.reapExited(pid);`,
    `while (status === null) { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); status = addon.reapExited(pid); }`,
    `process.stdout.write(JSON.stringify(status));`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.signal, null, `not killed (a failed std::thread aborted): ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout || '{}'), { code: 5, signal: null }, 'the init ran');
});

t.test('reapExited: null while the child runs, its status once it has exited', async (t) => {
  const addon = native();
  const running = spawnCopy('/bin/sleep', ['30']);
  t.equal(addon.reapExited(running), null, 'a running child is left alone');
  const pidfd = addon.pidfdOpen(running, pidStartTime(running));
  process.kill(running, 'SIGKILL');
  t.ok(addon.waitReadable(pidfd, 10_000), 'it exits');
  fs.closeSync(pidfd);
  t.same(addon.reapExited(running), { code: null, signal: 9 }, 'killed by SIGKILL');
  t.throws(() => addon.reapExited(running), /ECHILD|No child/, 'and it is reaped');

  const done = spawnCopy('/bin/sh', ['-c', 'exit 7']);
  t.same(waitGone(done), { code: 7, signal: null }, 'exit status 7');
});

t.test('waitExit: the status of a child, waited for on the event loop without a thread', async (t) => {
  // A child node runs it, so that the thread count is its own: libuv's pool, once started by a
  // first job, is four more threads for the rest of the process.
  const child = [
    `const fs = require('fs');`,
    `const addon = require(${JSON.stringify(path.join(REPO, 'dist/src/native/index.js'))}).native();`,
    `const threads = () => fs.readdirSync('/proc/self/task').length;`,
    `const before = threads();`,
    `const spawn = (file, args) => { addon.startInitSpawn(file, 'test-copy', file, args, [0, 1, 2], []); return addon.collectInit(); };`,
    `const exits = spawn('/bin/sh', ['-c', 'sleep 0.2; exit 3']);`,
    `const killed = spawn('/bin/sleep', ['30']);`,
    `const waits = [addon.waitExit(exits), addon.waitExit(killed)];`,
    `setTimeout(() => process.kill(killed, 'SIGTERM'), 50);`,
    `Promise.all(waits).then((statuses) => process.stdout.write(JSON.stringify({ statuses, before, after: threads() })));`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout || '{}') as { statuses: unknown[]; before: number; after: number };
  t.same(seen.statuses, [{ code: 3, signal: null }, { code: null, signal: 15 }], 'exit status 3, and SIGTERM');
  t.equal(seen.after, seen.before, "no thread was started (libuv's pool stayed down)");
});

t.test('waitExit of a process that is not a child rejects, as waitpid does', async (t) => {
  await t.rejects(native().waitExit(1), /waitpid: .*(ECHILD|No child)/);
});

t.test('forwardSignals: what runts receives goes on to the process, until stopped', async (t) => {
  // In a child node: a SIGUSR1 sent to it reaches its child, which exits 7 on it; once stopped,
  // no handle is left to keep the child node's event loop alive, and it ends by itself.
  const child = [
    `const addon = require(${JSON.stringify(path.join(REPO, 'dist/src/native/index.js'))}).native();`,
    `addon.startInitSpawn('/bin/sh', 'test-copy', 'sh', ['-c', 'trap "exit 7" USR1; while :; do sleep 0.05; done'], [0, 1, 2], []);`,
    `const pid = addon.collectInit();`,
    `const stop = addon.forwardSignals(pid, ['SIGUSR1', 'SIGTERM']);`,
    `setTimeout(() => process.kill(process.pid, 'SIGUSR1'), 200);`,
    `addon.waitExit(pid).then((status) => { stop(); stop(); process.stdout.write(JSON.stringify(status)); });`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.signal, null, 'the child node was not killed (nor timed out)');
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout || '{}'), { code: 7, signal: null }, 'the signal reached the process');
  t.throws(() => native().forwardSignals(1, ['SIGKILL' as NodeJS.Signals]), /EINVAL|Invalid argument/, 'a signal outside the set is refused');
});

t.test('writeExisting: one write into a file that must exist, truncating it; errors carry their code', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-write-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'value');
  fs.writeFileSync(file, 'a longer old value');
  native().writeExisting(file, '42');
  t.equal(fs.readFileSync(file, 'utf8'), '42', 'replaced whole');
  const missing = t.throws(() => native().writeExisting(path.join(dir, 'missing'), '1')) as NodeJS.ErrnoException;
  t.equal(missing.code, 'ENOENT', `a missing file is not created: ${missing.message}`);
  t.notOk(fs.existsSync(path.join(dir, 'missing')));
});

t.test('mkdir and rmdir answer with the errno\'s name; removeFlatDirectory removes a directory of files', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-rm-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  t.equal(native().mkdir(path.join(dir, 'empty'), 0o750), '', 'made');
  t.equal(fs.statSync(path.join(dir, 'empty')).mode & 0o777, 0o750 & ~process.umask(), 'with its mode, less the umask');
  t.equal(native().mkdir(path.join(dir, 'empty'), 0o750), 'EEXIST', 'there already');
  t.equal(native().mkdir(path.join(dir, 'no', 'parent'), 0o750), 'ENOENT', 'no parent: not made');
  fs.mkdirSync(path.join(dir, 'full'));
  fs.writeFileSync(path.join(dir, 'full', 'f'), 'x');
  t.equal(native().rmdir(path.join(dir, 'empty')), '', 'removed');
  t.equal(native().rmdir(path.join(dir, 'empty')), 'ENOENT', 'already gone');
  t.equal(native().rmdir(path.join(dir, 'full')), 'ENOTEMPTY', 'refused, without an exception');

  const flat = path.join(dir, 'state');
  fs.mkdirSync(flat);
  for (const name of ['state.json', '.lock', 'intent.json']) fs.writeFileSync(path.join(flat, name), name);
  fs.symlinkSync('/etc/passwd', path.join(flat, 'link'));
  t.equal(native().removeFlatDirectory(flat), true, 'files and a symlink: all gone');
  t.notOk(fs.existsSync(flat));
  t.ok(fs.existsSync('/etc/passwd'), 'a symlink is removed, never followed');
  t.equal(native().removeFlatDirectory(flat), true, 'a directory already gone is fine');
  fs.mkdirSync(path.join(flat, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(flat, 'file'), 'x');
  t.equal(native().removeFlatDirectory(flat), false, 'a subdirectory: left to the caller');
  t.same(fs.readdirSync(flat), ['sub'], 'with the files gone');
});
