import t from 'tap';
import { spawn, spawnSync } from 'child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, fstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { formatTable } from '../../src/cli/commands/list';
import {
  StateStore, isAlive, ociState, readProcStat, rfc3339Nano, validateId,
  type ContainerRecord,
} from '../../src/state/store';
import { statusOf } from '../../src/container/status';
import type { CreateIntent } from '../../src/container/intent';
import { childEnv } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';

const DIST = resolve(__dirname, '..', '..');
const CLI = join(DIST, 'bundle', 'runts.js');
const STATE_JS = join(DIST, 'src', 'state', 'store.js');
const ADDON = resolve(__dirname, '..', '..', '..', 'build', 'Release', 'runts.node');

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-state-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function record(id: string, pid: number, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    ociVersion: '1.2.0',
    id,
    pid,
    pidStartTime: pid > 0 ? readProcStat(pid)?.startTime ?? 0 : 0,
    bundle: '/b',
    rootfs: '/b/rootfs',
    created: '2026-11-24T20:59:09.243793788Z',
    annotations: {},
    config: { ociVersion: '1.2.0' },
    ...extra,
  };
}

/** Runs `code` in a node child (with STATE_JS as `S`) and resolves with its stdout. */
function nodeChild(code: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-e', `const S = require(${JSON.stringify(STATE_JS)});\n${code}`], { env: childEnv() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('error', fail);
    child.on('close', () => done(out));
  });
}

t.test('container ids as runc accepts them', async (t) => {
  for (const good of ['a', 'abc-DEF_1.2+3', 'a,b', '...', 'a..b', '-x']) t.doesNotThrow(() => validateId(good), good);
  t.throws(() => validateId(''), { message: 'container id cannot be empty' });
  for (const bad of ['.', '..', 'a/b', '/abs', 'a b', 'é', 'a:b', 'a\nb', '../x']) {
    t.throws(() => validateId(bad), { message: 'invalid container ID format' }, JSON.stringify(bad));
  }
  const store = new StateStore(scratch(t));
  t.throws(() => store.read('../etc'), { message: 'invalid container ID format' }, 'never a path');
});

/** A create intent as create writes it first, owned by this process. */
function createIntent(id: string): CreateIntent {
  return {
    operation: 'create', step: 'state-dir', owner: { pid: process.pid, startTime: readProcStat(process.pid)!.startTime },
    ociVersion: '1.2.0', id, bundle: '/b', rootfs: '/b/rootfs', created: '2026-11-24T20:59:09.243793788Z', annotations: {},
  };
}

/** A container directory with nothing in it yet, as the tests below need one. */
function containerDir(store: StateStore, id: string): void {
  mkdirSync(store.root, { recursive: true, mode: 0o700 });
  mkdirSync(store.containerDir(id), { mode: 0o711 });
}

t.test('reserve, write, read, list, remove', { skip: !existsSync(ADDON) && 'native addon not built' }, async (t) => {
  const root = join(scratch(t), 'nested', 'root');
  const store = new StateStore(root);
  t.same(store.list(), [], 'a missing root lists nothing');
  t.throws(() => store.read('c1'), { message: 'container does not exist' });
  const lockFd = store.reserve('c1', createIntent('c1'));
  t.equal(statSync(root).mode & 0o777, 0o700, 'root is created 0700');
  t.equal(statSync(join(root, 'c1')).mode & 0o777, 0o711, 'container directories 0711, as runc');
  t.ok(existsSync(join(root, 'c1', 'intent.json')), 'the directory appears with its intent');
  t.throws(() => store.reserve('c1', createIntent('c1')), { message: 'container with given ID already exists' });
  const provisional = store.read('c1');
  t.equal(statusOf(store, provisional), 'creating', 'no record yet: the intent says creating while its owner lives');
  t.equal(statusOf(store, { ...provisional, creating: { ...provisional.creating!, owner: { pid: process.pid, startTime: 1 } } }), 'stopped', 'a dead owner: stopped');
  closeSync(lockFd);
  store.write(record('c1', process.pid));
  t.equal(store.read('c1').pid, process.pid);
  t.equal(store.read('c1').creating, undefined, 'state.json wins over the intent');
  containerDir(store, 'b0');
  store.write(record('b0', 0));
  writeFileSync(join(root, 'stray-file'), '');
  mkdirSync(join(root, 'not an id'));
  mkdirSync(join(root, '~creating~x~1'));
  t.same(store.list(), ['b0', 'c1'], 'sorted, directories with valid ids only (no staging directory)');
  store.remove('c1');
  t.notOk(existsSync(join(root, 'c1')));
  t.throws(() => store.read('c1'), { message: 'container does not exist' });
  t.doesNotThrow(() => store.remove('c1'), 'removing twice is fine');
  t.throws(() => store.write(record('gone', 1)), { message: 'container does not exist' });
});

t.test('a reader never sees a partial state.json while a writer rewrites it', async (t) => {
  const root = scratch(t);
  const store = new StateStore(root);
  containerDir(store, 'w');
  store.write(record('w', 0, { annotations: { size: '0', pad: '' } }));
  const writer = nodeChild(`const store = new S.StateStore(${JSON.stringify(root)});
    const base = store.read('w');
    for (let i = 0; i < 400; i++) {
      const pad = 'x'.repeat((i * 7919) % 300000);
      store.write({ ...base, annotations: { size: String(pad.length), pad } });
    }
    process.stdout.write('done');`);
  let finished = false;
  void writer.then(() => (finished = true));
  let reads = 0;
  while (!finished) {
    const r = store.read('w');
    if (r.annotations.pad.length !== Number(r.annotations.size)) t.fail('torn record');
    reads++;
    await new Promise((tick) => setImmediate(tick));
  }
  t.equal(await writer, 'done');
  t.ok(reads > 10, `${reads} consistent reads`);
  t.same(readFileSync(join(root, 'w', 'state.json'), 'utf8').length > 0, true);
});

t.test('liveness: pid and start time; pid reuse reads as stopped', async (t) => {
  const root = scratch(t);
  const store = new StateStore(root);
  containerDir(store, 'live');
  const live = record('live', process.pid);
  t.ok(isAlive(live));
  t.equal(statusOf(store, live), 'running');
  t.equal(statusOf(store, { ...live, pidStartTime: live.pidStartTime + 1 }), 'stopped', 'same pid, another process');
  t.equal(statusOf(store, { ...live, pid: 0 }), 'stopped');
  writeFileSync(store.execFifoPath('live'), '');
  t.equal(statusOf(store, live), 'created', 'exec.fifo present');
  rmSync(store.execFifoPath('live'));
  t.equal(statusOf(store, live, () => true), 'paused', 'the frozen probe decides paused');

  const exited = spawnSync('true');
  t.equal(statusOf(store, record('live', exited.pid!, { pidStartTime: 1 })), 'stopped', 'a dead pid');
});

t.test('the default paused probe reads the cgroup freezer', async (t) => {
  const dir = scratch(t);
  const store = new StateStore(scratch(t));
  containerDir(store, 'p');
  const paused = record('p', process.pid, { cgroupPaths: { '': dir } });
  writeFileSync(join(dir, 'cgroup.freeze'), '1\n');
  t.equal(statusOf(store, paused), 'paused');
  writeFileSync(join(dir, 'cgroup.freeze'), '0\n');
  t.equal(statusOf(store, paused), 'running');
});

t.test('a zombie init is stopped', async (t) => {
  // `sleep 0` becomes a child of the exec'd `sleep 2`, which never reaps it.
  const child = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 2'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  const zombie = await new Promise<number>((done) => child.stdout.once('data', (d: Buffer) => done(Number(d.toString()))));
  let stat = readProcStat(zombie);
  for (let i = 0; i < 100 && stat?.state !== 'Z'; i++) {
    await new Promise((r) => setTimeout(r, 10));
    stat = readProcStat(zombie);
  }
  t.equal(stat?.state, 'Z');
  t.notOk(isAlive({ pid: zombie, pidStartTime: stat!.startTime }));
});

t.test('/proc/<pid>/stat with spaces and parentheses in the command name', async (t) => {
  const dir = scratch(t);
  const weird = join(dir, 'a) (b c');
  copyFileSync('/bin/sleep', weird);
  chmodSync(weird, 0o755);
  const child = spawn(weird, ['5'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => child.once('spawn', r));
  let raw = readFileSync(`/proc/${child.pid}/stat`, 'latin1');
  for (let i = 0; i < 100 && !raw.includes('a) (b c'); i++) {
    await new Promise((r) => setTimeout(r, 10));
    raw = readFileSync(`/proc/${child.pid}/stat`, 'latin1');
  }
  t.match(raw, /\(a\) \(b c\)/);
  const stat = readProcStat(child.pid!);
  const naive = Number(raw.split(' ')[21]);
  t.ok(stat && stat.startTime >= readProcStat(process.pid)!.startTime, 'start time after ours');
  t.not(stat!.startTime, naive, 'splitting on spaces would read the wrong field');
  t.match(stat!.state, /^[RS]$/);
});

t.test('runc state shape: field order, pid 0 when stopped, annotations only when set', async (t) => {
  const base = record('c', 42, { pidStartTime: 1 });
  t.same(Object.keys(ociState(base, 'running')), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
  const annotated = ociState({ ...base, annotations: { 'z.b': '2', 'a.b': '1' } }, 'stopped', 'root');
  t.same(Object.keys(annotated), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'annotations', 'owner']);
  t.same(Object.keys(annotated.annotations!), ['a.b', 'z.b'], 'sorted like a Go map');
  t.equal(annotated.pid, 0);
  t.equal(annotated.owner, 'root');
});

t.test('created timestamps: RFC 3339 nano, trailing zeros dropped', async (t) => {
  t.equal(rfc3339Nano(1764017949243793788n), '2025-11-24T20:59:09.243793788Z');
  t.equal(rfc3339Nano(1764017949120000000n), '2025-11-24T20:59:09.12Z');
  t.equal(rfc3339Nano(1764017949000000000n), '2025-11-24T20:59:09Z');
});

t.test('runc list table alignment (tabwriter: min width 12, padding 3)', async (t) => {
  // Output of runc 1.1.5 `list` with these two containers.
  const expected = [
    'ID                              PID         STATUS      BUNDLE      CREATED                          OWNER',
    'a-very-long-container-id-here   3950        created     /tmp/b      2026-11-24T20:59:20.524823082Z   root',
    't1                              0           stopped     /tmp/b      2026-11-24T20:59:09.243793788Z   root',
  ].join('\n') + '\n';
  t.equal(formatTable([
    ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
    ['a-very-long-container-id-here', '3950', 'created', '/tmp/b', '2026-11-24T20:59:20.524823082Z', 'root'],
    ['t1', '0', 'stopped', '/tmp/b', '2026-11-24T20:59:09.243793788Z', 'root'],
  ]), expected);
  t.equal(formatTable([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']]),
    'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n', 'empty list: the header only');
});

t.test('state and list commands print what runc prints', { skip: skipUnless({ root: true }) }, async (t) => {
  const root = scratch(t);
  const store = new StateStore(root);
  containerDir(store, 'c1');
  store.write(record('c1', process.pid, { annotations: { k: 'v' } }));
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, '--root', root, ...args], { env: childEnv(), encoding: 'utf8' });

  const state = run('state', 'c1');
  t.equal(state.status, 0);
  t.equal(state.stdout, [
    '{',
    '  "ociVersion": "1.2.0",',
    '  "id": "c1",',
    `  "pid": ${process.pid},`,
    '  "status": "running",',
    '  "bundle": "/b",',
    '  "rootfs": "/b/rootfs",',
    '  "created": "2026-11-24T20:59:09.243793788Z",',
    '  "annotations": {',
    '    "k": "v"',
    '  },',
    '  "owner": ""',
    '}',
  ].join('\n'), 'two-space indent, no trailing newline');

  const table = run('list');
  const [header, row, ...rest] = table.stdout.split('\n');
  t.equal(header, 'ID          PID         STATUS      BUNDLE      CREATED                          OWNER');
  t.equal(row, `c1          ${String(process.pid).padEnd(12)}running     /b          2026-11-24T20:59:09.243793788Z   root`);
  t.same(rest, ['']);
  t.equal(run('list', '-q').stdout, 'c1\n');
  t.equal(run('list', '--format', 'json').stdout,
    `[{"ociVersion":"1.2.0","id":"c1","pid":${process.pid},"status":"running","bundle":"/b","rootfs":"/b/rootfs",` +
    '"created":"2026-11-24T20:59:09.243793788Z","annotations":{"k":"v"},"owner":"root"}]\n');
  t.equal(run('list', '--format', 'yaml').status, 1);
  t.equal(run('list', '-q', '--format', 'yaml').status, 0, '-q wins, as in runc');

  const empty = scratch(t);
  const runEmpty = (...args: string[]) => spawnSync(process.execPath, [CLI, '--root', empty, ...args], { env: childEnv(), encoding: 'utf8' }).stdout;
  t.equal(runEmpty('list', '-f', 'json'), 'null\n');
  t.equal(runEmpty('list', '-q'), '');
});

t.test('withLock: flock on <root>/<id>/.lock, released afterwards', async (t) => {
  const root = scratch(t);
  const store = new StateStore(root);
  await t.rejects(store.withLock('none', () => 1), { message: 'container does not exist' });
  containerDir(store, 'c');

  const nativeModule = require('../../src/native') as typeof import('../../src/native');
  const realNative = nativeModule.native;
  const locked: string[] = [];
  let lockFd = -1;
  (nativeModule as { native: unknown }).native = () => ({
    lockFile: (file: string) => {
      locked.push(file);
      lockFd = openSync(file, 'a');
      return lockFd;
    },
  });
  try {
    t.equal(await store.withLock('c', async () => 'result'), 'result');
  } finally {
    (nativeModule as { native: unknown }).native = realNative;
  }
  t.same(locked, [join(root, 'c', '.lock')]);
  t.throws(() => fstatSync(lockFd), { code: 'EBADF' }, 'the lock fd is closed');
});

t.test('withLock serialises processes (real addon)', { skip: skipUnless({ root: true }) || (!existsSync(ADDON) && 'native addon not built') }, async (t) => {
  const root = scratch(t);
  containerDir(new StateStore(root), 'c');
  const holder = `new S.StateStore(${JSON.stringify(root)}).withLock('c', async () => {
      const start = Date.now();
      await new Promise((r) => setTimeout(r, 300));
      process.stdout.write(start + ' ' + Date.now());
    }).catch((e) => process.stdout.write(e.message));`;
  const outputs = await Promise.all([nodeChild(holder), nodeChild(holder)]);
  for (const out of outputs) t.match(out, /^\d+ \d+$/, 'the holder ran');
  const spans = outputs.map((s) => s.split(' ').map(Number));
  spans.sort((a, b) => a[0] - b[0]);
  t.ok(spans[1][0] >= spans[0][1], `second holder started after the first released (${JSON.stringify(spans)})`);
});

t.test('withLock gives up on a live holder after its bound; a dead holder frees it at once', { skip: !existsSync(ADDON) && 'native addon not built' }, async (t) => {
  const root = scratch(t);
  containerDir(new StateStore(root), 'c');
  const holder = (ms: number) => `new S.StateStore(${JSON.stringify(root)}).withLock('c', async () => {
      process.stdout.write('locked');
      await new Promise((r) => setTimeout(r, ${ms}));
    });`;
  const held = nodeChild(holder(4000));
  const waiter = new StateStore(root, 300);
  while (!existsSync(join(root, 'c', '.lock'))) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  await t.rejects(waiter.withLock('c', () => 1), { message: /^timed out after 0.3s waiting for the lock of container c \(.*\.lock\): another runts holds it$/ });
  t.ok(Date.now() - started < 3000, 'it did not wait for the holder');
  await held;
  // A holder killed while holding: the kernel drops its flock with its open file.
  const killed = spawn(process.execPath, ['-e', `const S = require(${JSON.stringify(STATE_JS)});\n${holder(60_000)}`], { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => killed.stdout.once('data', r));
  killed.kill('SIGKILL');
  await new Promise((r) => killed.once('exit', r));
  t.equal(await new StateStore(root, 2000).withLock('c', () => 'got it'), 'got it', 'a dead holder frees the lock');
});

