/**
 * The addon's mechanisms that create and exec lean on for speed: the init's sealed copy made on
 * a thread of its own (startSealedCopy, then sealedCopy collects it) and the reaping of a child
 * known to have exited without libuv's thread pool (reapExited).
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

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-addon-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'binary');
const content = Buffer.alloc(3 * 1024 * 1024 + 17, 'runts');
fs.writeFileSync(file, content);

t.test('startSealedCopy copies on its own thread; sealedCopy hands over that copy, sealed', async (t) => {
  const addon = native();
  t.same(memfdsNamed('bg-copy'), [], 'no copy yet');
  addon.startSealedCopy(file, 'bg-copy');
  // The JS thread only waits here: the copy appears without any further call into the addon.
  let made: number[] = [];
  for (let i = 0; i < 500 && made.length === 0; i++, sleepMs(10)) made = memfdsNamed('bg-copy');
  t.equal(made.length, 1, 'the memfd was made off the JS thread');
  const fd = addon.sealedCopy(file, 'bg-copy');
  t.same([fd], made, 'sealedCopy returned that very fd');
  t.ok(fs.readFileSync(`/proc/self/fd/${fd}`).equals(content), 'with the whole file in it');
  const writable = fs.openSync(`/proc/self/fd/${fd}`, 'r+');
  t.throws(() => fs.writeSync(writable, 'x'), /EPERM/, 'and no one can write it');
  fs.closeSync(writable);
  t.equal(fs.fstatSync(fd).mode & 0o777, 0o555);
  const again = addon.sealedCopy(file, 'bg-copy');
  t.not(fs.fstatSync(again).ino, fs.fstatSync(fd).ino, 'a second sealedCopy makes a copy of its own');
  fs.closeSync(again);
  fs.closeSync(fd);
});

t.test('a background copy of another file or name is not handed over', async (t) => {
  const addon = native();
  const other = path.join(dir, 'other');
  fs.writeFileSync(other, 'other');
  addon.startSealedCopy(other, 'bg-other');
  const fd = addon.sealedCopy(file, 'bg-other');
  t.ok(fs.readFileSync(`/proc/self/fd/${fd}`).equals(content), 'the file asked for');
  fs.closeSync(fd);
  const pending = addon.sealedCopy(other, 'bg-other');
  t.equal(fs.readFileSync(`/proc/self/fd/${pending}`, 'utf8'), 'other', 'the background copy waits for its own call');
  fs.closeSync(pending);
});

t.test('a background copy that failed fails its sealedCopy with the step and errno', async (t) => {
  const addon = native();
  const missing = path.join(dir, 'missing');
  addon.startSealedCopy(missing, 'bg-missing');
  t.throws(() => addon.sealedCopy(missing, 'bg-missing'), { message: new RegExp(`open ${missing}: .*ENOENT|open ${missing}: No such file`) });
  t.same(memfdsNamed('bg-missing'), [], 'no memfd left');
});

t.test('where no thread can be made (a pids limit), sealedCopy makes the copy itself', { skip: process.getuid?.() !== 0 || !fs.existsSync('/sys/fs/cgroup/pids/cgroup.procs') ? 'needs root and the v1 pids controller' : false }, async (t) => {
  const cgroup = fs.mkdtempSync('/sys/fs/cgroup/pids/runts-addon-');
  t.teardown(() => fs.rmdirSync(cgroup));
  // A child node joins a pids cgroup that holds just its threads, then asks for a background copy.
  const child = [
    `const fs = require('fs');`,
    `const addon = require(${JSON.stringify(path.join(REPO, 'dist/src/native/index.js'))}).native();`,
    `fs.writeFileSync(${JSON.stringify(cgroup)} + '/cgroup.procs', String(process.pid));`,
    `const threads = () => fs.readdirSync('/proc/self/task').length;`,
    `fs.writeFileSync(${JSON.stringify(cgroup)} + '/pids.max', String(threads()));`,
    `const before = threads();`,
    `addon.startSealedCopy(${JSON.stringify(file)}, 'bg-limited');`,
    `const fd = addon.sealedCopy(${JSON.stringify(file)}, 'bg-limited');`,
    `process.stdout.write(JSON.stringify({ before, after: threads(), size: fs.fstatSync(fd).size, mode: fs.fstatSync(fd).mode & 0o777 }));`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['-e', child], { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.signal, null, `not killed (a failed std::thread aborted): ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
  t.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout || '{}') as { before: number; after: number; size: number; mode: number };
  t.equal(seen.after, seen.before, 'no thread was made');
  t.same([seen.size, seen.mode], [content.length, 0o555], 'and the copy is whole and sealed');
});

t.test('reapExited: null while the child runs, its status once it has exited', async (t) => {
  const addon = native();
  const running = addon.spawnInit('/bin/sleep', 'sleep', ['30'], [0, 1, 2]);
  t.equal(addon.reapExited(running), null, 'a running child is left alone');
  const pidfd = addon.pidfdOpen(running, pidStartTime(running));
  process.kill(running, 'SIGKILL');
  t.ok(addon.waitReadable(pidfd, 10_000), 'it exits');
  fs.closeSync(pidfd);
  t.same(addon.reapExited(running), { code: null, signal: 9 }, 'killed by SIGKILL');
  t.throws(() => addon.reapExited(running), /ECHILD|No child/, 'and it is reaped');

  const done = addon.spawnInit('/bin/sh', 'sh', ['-c', 'exit 7'], [0, 1, 2]);
  let status = addon.reapExited(done);
  for (let i = 0; i < 1000 && status === null; i++, sleepMs(5)) status = addon.reapExited(done);
  t.same(status, { code: 7, signal: null }, 'exit status 7');
});

t.test('waitExit: the status of a child, waited for on the event loop without a thread', async (t) => {
  // A child node runs it, so that the thread count is its own: libuv's pool, once started by a
  // first job, is four more threads for the rest of the process.
  const child = [
    `const fs = require('fs');`,
    `const addon = require(${JSON.stringify(path.join(REPO, 'dist/src/native/index.js'))}).native();`,
    `const threads = () => fs.readdirSync('/proc/self/task').length;`,
    `const before = threads();`,
    `const exits = addon.spawnInit('/bin/sh', 'sh', ['-c', 'sleep 0.2; exit 3'], [0, 1, 2]);`,
    `const killed = addon.spawnInit('/bin/sleep', 'sleep', ['30'], [0, 1, 2]);`,
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
    `const pid = addon.spawnInit('/bin/sh', 'sh', ['-c', 'trap "exit 7" USR1; while :; do sleep 0.05; done'], [0, 1, 2]);`,
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
