/** The create/start/state/kill/delete/run lifecycle against real containers, and its errors. */
import fs = require('fs');
import path = require('path');
import t, { type Test } from 'tap';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir, spawnRunts } from '../helpers/runts';

const root = scratchDir('root');
t.teardown(() => cleanupRoot(root));

function state(id: string): { status: string; pid: number } {
  const r = runts(root, ['state', id]);
  if (r.code !== 0) throw new Error(`state ${id}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function pidAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/** Asserts a failed command: exit 1, exactly one stderr line mentioning `pattern`. */
function assertOneLineError(t: Test, r: { code: number; stderr: string }, pattern: RegExp) {
  t.equal(r.code, 1, 'exits 1');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
  t.match(lines[0], pattern);
}

function sleepMs(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitFor(predicate: () => boolean, ms = 5000): boolean {
  for (let waited = 0; waited < ms; waited += 20) {
    if (predicate()) return true;
    sleepMs(20);
  }
  return predicate();
}

t.test('create → created, start → running, kill → stopped, delete removes it', async (t) => {
  const bundle = makeBundle(baseSpec(['sh', '-c', 'echo started > /dev/shm/x; exec sleep 60']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const pidFile = path.join(bundle, 'init.pid');
  const created = runts(root, ['create', '--bundle', bundle, '--pid-file', pidFile, 'life']);
  t.equal(created.code, 0, created.stderr);
  const s1 = state('life');
  t.equal(s1.status, 'created');
  t.equal(fs.readFileSync(pidFile, 'utf8'), String(s1.pid), 'pid file holds the init pid');
  t.ok(pidAlive(s1.pid), 'init is alive while created');

  assertOneLineError(t, runts(root, ['delete', 'nope']), /container does not exist/);
  t.equal(runts(root, ['start', 'life']).code, 0);
  t.equal(state('life').status, 'running');
  assertOneLineError(t, runts(root, ['start', 'life']), /cannot start an already running container/);
  assertOneLineError(t, runts(root, ['delete', 'life']), /not stopped: running/);

  t.equal(runts(root, ['kill', 'life', 'KILL']).code, 0);
  t.ok(waitFor(() => state('life').status === 'stopped'), 'stopped after SIGKILL');
  t.equal(state('life').pid, 0, 'a stopped container shows pid 0');
  assertOneLineError(t, runts(root, ['kill', 'life']), /container not running/);
  assertOneLineError(t, runts(root, ['start', 'life']), /cannot start a container that has stopped/);
  t.equal(runts(root, ['delete', 'life']).code, 0);
  assertOneLineError(t, runts(root, ['state', 'life']), /container does not exist/);
  t.notOk(fs.existsSync(path.join(root, 'life')), 'state dir removed');
});

t.test('kill takes numeric and named signals, default SIGTERM', async (t) => {
  // pid 1 of a PID namespace ignores signals it has no handler for: trap both.
  const bundle = makeBundle(baseSpec(['sh', '-c', 'trap "exit 0" USR1 TERM; while :; do sleep 0.1; done']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, 'sig']).code, 0);
  const { pid } = state('sig');
  assertOneLineError(t, runts(root, ['kill', 'sig', 'SIGNOPE']), /unknown signal .*SIGNOPE/);
  t.ok(pidAlive(pid), 'a bad signal name sends nothing');
  t.equal(runts(root, ['kill', 'sig', 'usr1']).code, 0, 'lowercase name without SIG');
  t.ok(waitFor(() => !pidAlive(pid)), 'the trap saw SIGUSR1 and exited');
  t.equal(runts(root, ['delete', 'sig']).code, 0);

  t.equal(runts(root, ['run', '-d', '--bundle', bundle, 'sig2']).code, 0);
  const second = state('sig2').pid;
  t.equal(runts(root, ['kill', 'sig2', '15']).code, 0, 'numeric signal');
  t.ok(waitFor(() => !pidAlive(second)), 'SIGTERM (15) stopped it');
  t.equal(runts(root, ['delete', 'sig2']).code, 0);
});

t.test('delete of a created container kills its init; delete --force of a running one too', async (t) => {
  const bundle = makeBundle(baseSpec(['sleep', '60']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['create', '--bundle', bundle, 'dc']).code, 0);
  const created = state('dc').pid;
  t.equal(runts(root, ['delete', 'dc']).code, 0);
  t.notOk(pidAlive(created), 'created init killed');

  t.equal(runts(root, ['run', '--detach', '--bundle', bundle, 'df']).code, 0);
  const running = state('df').pid;
  t.equal(runts(root, ['delete', '--force', 'df']).code, 0);
  t.notOk(pidAlive(running), 'running init killed');
  t.equal(runts(root, ['delete', '--force', 'df']).code, 0, 'delete --force of a gone container exits 0');
  t.notOk(fs.existsSync(path.join(root, 'df')));
});

t.test('run exits with the container status, 128+n for a signal', async (t) => {
  for (const [script, expected] of [['exit 7', 7], ['exit 0', 0], ['kill -9 $$', 137]] as const) {
    const spec = baseSpec(['sh', '-c', script]);
    // pid 1 of a PID namespace cannot SIGKILL itself: run that one in the host's.
    if (expected === 137) spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'pid');
    const bundle = makeBundle(spec);
    const r = runts(root, ['run', '--bundle', bundle, `rc${expected}`]);
    fs.rmSync(bundle, { recursive: true, force: true });
    t.equal(r.code, expected, `${script} → ${expected}`);
    t.notOk(fs.existsSync(path.join(root, `rc${expected}`)), 'run removes the container after it exits');
  }
});

t.test('run forwards signals to the container', async (t) => {
  const bundle = makeBundle(baseSpec(['sh', '-c', 'trap "echo got-term; exit 3" TERM; echo ready; while :; do sleep 0.05; done']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const child = spawnRunts(root, ['run', '--bundle', bundle, 'fwd']);
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await new Promise<void>((resolve) => child.stdout.on('data', () => out.includes('ready') && resolve()));
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  t.equal(code, 3, 'runts exits with the trap status');
  t.match(out, /got-term/);
});

t.test('a failed create leaves nothing behind', async (t) => {
  const cases: [string, (spec: ReturnType<typeof baseSpec>) => void, RegExp][] = [
    ['missing executable', (s) => (s.process!.args = ['/bin/nope']), /exec: .*\/bin\/nope/],
    ['executable not in PATH', (s) => (s.process!.args = ['nope']), /exec: .*nope.*executable file not found in \$PATH/],
    ['missing bind source', (s) => s.mounts!.push({ destination: '/mnt', type: 'bind', source: '/nonexistent-runts', options: ['bind'] }), /mount source \/nonexistent-runts/],
    ['namespace path of the wrong type', (s) => (s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: '/proc/self/ns/uts' } : n))), /is not a network namespace/],
    ['namespace path missing', (s) => (s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'ipc' ? { type: 'ipc', path: '/proc/999999999/ns/ipc' } : n))), /namespace path/],
  ];
  for (const [name, mutate, pattern] of cases) {
    const spec = baseSpec(['true']);
    mutate(spec);
    const bundle = makeBundle(spec);
    const before = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length;
    const r = runts(root, ['create', '--bundle', bundle, 'bad']);
    assertOneLineError(t, r, pattern);
    t.notOk(fs.existsSync(path.join(root, 'bad')), `${name}: no state dir`);
    t.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length, before, `${name}: no host mount`);
    fs.rmSync(bundle, { recursive: true, force: true });
  }
});

t.test('bad input before any side effect', async (t) => {
  assertOneLineError(t, runts(root, ['create', '--bundle', '/nonexistent-bundle', 'x']), /nonexistent-bundle/);
  const noRootfs = scratchDir('norootfs');
  t.teardown(() => fs.rmSync(noRootfs, { recursive: true, force: true }));
  fs.writeFileSync(path.join(noRootfs, 'config.json'), JSON.stringify(baseSpec(['true'])));
  assertOneLineError(t, runts(root, ['create', '--bundle', noRootfs, 'x']), /rootfs|root\/path/);
  for (const id of ['../x', 'a/b', '..', '']) assertOneLineError(t, runts(root, ['create', '--bundle', noRootfs, id]), /id/i);
  assertOneLineError(t, runts(root, ['start', 'ghost']), /container does not exist/);
  t.same(fs.readdirSync(root), [], 'nothing created under --root');
});

t.test('two creates of one id: exactly one wins', async (t) => {
  const bundle = makeBundle(baseSpec(['sleep', '60']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const children = [0, 1, 2].map(() => spawnRunts(root, ['create', '--bundle', bundle, 'dup']));
  const codes = await Promise.all(children.map((c) => new Promise<number | null>((resolve) => c.on('exit', resolve))));
  t.equal(codes.filter((c) => c === 0).length, 1, 'one create succeeded');
  t.equal(codes.filter((c) => c === 1).length, 2, 'the others failed with 1');
  t.equal(state('dup').status, 'created');
  t.equal(runts(root, ['delete', 'dup']).code, 0);
});
