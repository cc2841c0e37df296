/**
 * create SIGKILLed at every step it announces (and at the native calls and renames between), and
 * after a spread of delays; then `state`/`list` must still answer and `delete --force` (or plain
 * `delete`) must leave nothing: state dir, cgroup directories in every hierarchy, processes,
 * mounts under the bundle. Also: a cgroup that was there before create survives the cleanup.
 */
import t, { type Test } from 'tap';
import fs = require('fs');
import path = require('path');
import { runts, scratchDir } from '../helpers/runts';
import { SIGKILLED, cgroupMounts, killPointsOf, leftovers, recordedProcesses, runtsKilledAfter, runtsKilledAt, crashBundles } from '../helpers/crash';

const root = scratchDir('crash-create-root');
const prefix = `runts-crash-c${process.pid}-`;
const marker = String(7_000_000 + (process.pid % 1_000_000));
const cgroupsPath = (id: string) => `/${prefix}${id}.d/ctr`;
const { bundle, bundleFor } = crashBundles(t, { root, prefix, marker, cgroupsPath: cgroupsPath });

const traces = { root, cgroupPrefix: prefix, bundle, marker };

/** state answers for a killed create: nothing yet, or valid JSON saying stopped or created. */
function checkState(t: Test, id: string, what: string): void {
  const state = runts(root, ['state', id]);
  if (state.code !== 0) {
    t.match(state.stderr, /container does not exist/, `${what}: state: no container yet`);
    t.notOk(fs.existsSync(path.join(root, id)), `${what}: and no state dir`);
    return;
  }
  const parsed = JSON.parse(state.stdout) as { status: string; id: string };
  t.ok(['stopped', 'created'].includes(parsed.status), `${what}: state says ${parsed.status}`);
}

t.test('create killed at each named step, then delete --force', async (t) => {
  const probe = killPointsOf(root, ['create', '--bundle', bundleFor('probe'), 'probe']);
  t.equal(probe.result.code, 0, `a full create passes ${probe.points.length} kill points`);
  runts(root, ['delete', '--force', 'probe']);
  // The points after which something new exists (or is about to): the lock before the state dir
  // appears, the dir, the fifo, the cgroup (recorded), the init (spawned ahead of its plan, then
  // collected, then recorded), the container process (recorded), stage 1's reaping, and the state. The
  // rest add nothing a neighbour does not (the plan and the hooks fall between two of these), and
  // fewer kills keep this file inside tap's per-file limit on a loaded machine.
  const wanted = /^(native:lockFile|rename:staging-dir|native:mkfifo|native:mkfifo:done|intent:create:(cgroup|init-started|container-process)|native:startInitSpawn:done|native:collectInit:done|native:reapExited:done|rename:state\.json)$/;
  const points = probe.points.filter((p) => wanted.test(p));
  t.equal(points.length, 11, `${points.length} of them are killed at`);
  t.ok(points.includes('intent:create:container-process') && points.includes('rename:state.json'), 'the points span the whole create');
  const killed: { id: string; point: string }[] = [];
  points.forEach((point, n) => {
    const id = `k${n}`;
    const r = runtsKilledAt(root, ['create', '--bundle', bundleFor(id), id], point);
    t.equal(r.code, SIGKILLED, `${point}: runts was killed there`);
    killed.push({ id, point });
  });
  const list = runts(root, ['list', '--format', 'json']);
  t.equal(list.code, 0, 'list answers');
  t.equal(list.stderr, '', 'list warns about nothing');
  const listed = JSON.parse(list.stdout) as { id: string; status: string }[] | null;
  for (const entry of listed ?? []) t.ok(['stopped', 'created'].includes(entry.status), `list: ${entry.id} is ${entry.status}`);
  for (const { id, point } of killed) {
    checkState(t, id, point);
    const processes = recordedProcesses(root, id);
    const del = runts(root, ['delete', '--force', id]);
    t.equal(del.code, 0, `${point}: delete --force: ${del.stderr.trim()}`);
    const left = leftovers({ root, bundle, cgroupPrefix: `${prefix}${id}.d`, processes });
    t.same(left.filter((l) => !l.startsWith('state:') || l.endsWith(`/${id}`)), [], `${point}: nothing left`);
  }
  t.same(leftovers(traces), [], 'nothing left of any');
});

/** Pids of the runts-init processes now running (argv[0] "runts-init"). */
function initPids(): Set<number> {
  const pids = new Set<number>();
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').startsWith('runts-init\0')) pids.add(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

t.test('an init started ahead of the state dir goes with a create killed before the dir exists', async (t) => {
  const probe = killPointsOf(root, ['create', '--bundle', bundleFor('ahead'), 'ahead']);
  runts(root, ['delete', '--force', 'ahead']);
  const at = (point: string) => probe.points.indexOf(point);
  const frames = probe.sequence.flatMap((p, i) => (p === 'native:writeFrame:done' ? [i] : []));
  const inSequence = (point: string) => probe.sequence.indexOf(point);
  t.ok(at('native:startInitSpawn:done') >= 0 && at('native:startInitSpawn:done') < at('native:lockFile'), 'the init is spawned before the state dir exists');
  t.ok(frames.length >= 2 && frames[0] < inSequence('native:lockFile') && frames[1] > inSequence('intent:create:init-started'),
    'its plan goes before the dir exists too (it makes its namespaces meanwhile), "proceed" once the init is recorded');
  // Killed with the init waiting for its plan, then with the init in its namespaces waiting for "proceed".
  for (const [n, point] of ['native:collectInit:done', 'native:writeFrame:done'].entries()) {
    const id = `ahead${n}`;
    const before = initPids();
    const r = runtsKilledAt(root, ['create', '--bundle', bundleFor(id), id], point);
    t.equal(r.code, SIGKILLED, `${point}: runts was killed there`);
    // The init reads EOF on its channel and exits; nothing records it, so nothing else would.
    let lingering: number[] = [];
    for (let waited = 0; waited <= 2000; waited += 50) {
      lingering = [...initPids()].filter((pid) => !before.has(pid));
      if (lingering.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    t.same(lingering, [], `${point}: no init outlives it`);
    t.equal(runts(root, ['delete', '--force', id]).code, 0, `${point}: delete --force`);
    t.same(leftovers({ root, bundle, cgroupPrefix: `${prefix}${id}.d` }), [], `${point}: nothing left`);
  }
});

t.test('create killed after a spread of delays, then delete --force', async (t) => {
  // Spread over how long a create takes on this machine now, so the kills land inside it.
  const started = Date.now();
  t.equal(runts(root, ['create', '--bundle', bundleFor('timed'), 'timed']).code, 0);
  const took = Date.now() - started;
  t.equal(runts(root, ['delete', '--force', 'timed']).code, 0);
  const delays = [0.35, 0.5, 0.62, 0.74, 0.86, 0.98].map((f) => Math.round(f * took));
  for (const [n, delay] of delays.entries()) {
    const id = `d${n}`;
    const r = await runtsKilledAfter(root, ['create', '--bundle', bundleFor(id), id], delay);
    checkState(t, id, `${delay} ms (exit ${r.code})`);
    const processes = recordedProcesses(root, id);
    const del = runts(root, ['delete', '--force', id]);
    t.equal(del.code, 0, `${delay} ms: delete --force: ${del.stderr.trim()}`);
    t.same(leftovers({ ...traces, processes }), [], `${delay} ms: nothing left`);
  }
});

t.test('a create that died is deleted without --force too', async (t) => {
  const id = 'plain';
  t.equal(runtsKilledAt(root, ['create', '--bundle', bundleFor(id), id], 'native:reapExited:done').code, SIGKILLED);
  const state = JSON.parse(runts(root, ['state', id]).stdout) as { status: string; pid: number };
  t.equal(state.status, 'stopped', 'its runts is dead: stopped, as runc shows a dead init');
  t.equal(state.pid, 0);
  const processes = recordedProcesses(root, id);
  t.ok(processes.length >= 2, 'the intent named the init and the container process');
  const del = runts(root, ['delete', id]);
  t.equal(del.code, 0, del.stderr);
  t.same(leftovers({ ...traces, processes }), [], 'nothing left');
});

t.test('a cgroup that was there before create is left, what create made is removed', async (t) => {
  const id = 'pre';
  const mounts = cgroupMounts();
  const existing = path.join(mounts[0], `${prefix}${id}.d`);
  fs.mkdirSync(existing);
  t.teardown(() => fs.rmSync(existing, { recursive: false, force: true }));
  t.equal(runtsKilledAt(root, ['create', '--bundle', bundleFor(id), id], 'native:reapExited:done').code, SIGKILLED);
  const processes = recordedProcesses(root, id);
  t.equal(runts(root, ['delete', '--force', id]).code, 0);
  t.ok(fs.existsSync(existing), `${existing}, there before, is still there`);
  t.notOk(fs.existsSync(path.join(existing, 'ctr')), 'the container cgroup create made below it is gone');
  t.same(leftovers({ ...traces, processes }).filter((l) => l !== `cgroup: ${existing}`), [], 'nothing else left');
  fs.rmdirSync(existing);
});
