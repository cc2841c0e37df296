/**
 * start, run, exec, update, pause and resume SIGKILLed at their named steps (killpoint.ts) and after
 * delays: the container stays readable (`state` valid JSON), the next command settles what the
 * killed one left half-done (an update completed or rolled back, and the state says which), and
 * `delete --force` leaves nothing.
 */
import t, { type Test } from 'tap';
import fs = require('fs');
import path = require('path');
import { runts, scratchDir } from '../helpers/runts';
import { SIGKILLED, killPointsOf, leftovers, recordedProcesses, runtsKilledAfter, runtsKilledAt, crashBundles } from '../helpers/crash';

const root = scratchDir('crash-life-root');
const prefix = `runts-crash-l${process.pid}-`;
const marker = String(7_100_000 + (process.pid % 1_000_000));
const { bundle, bundleFor } = crashBundles(t, { root, prefix, marker, cgroupsPath: (id) => `/${prefix}${id}`, edit: (spec) => (spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 100 } }) });

function create(t: Test, id: string, start: boolean): void {
  const c = runts(root, ['create', '--bundle', bundleFor(id), id]);
  t.equal(c.code, 0, `create ${id}: ${c.stderr.trim()}`);
  if (start) t.equal(runts(root, ['start', id]).code, 0, `start ${id}`);
}

function status(t: Test, id: string, what: string): string {
  const r = runts(root, ['state', id]);
  t.equal(r.code, 0, `${what}: state answers: ${r.stderr.trim()}`);
  try {
    return (JSON.parse(r.stdout) as { status: string }).status;
  } catch {
    t.fail(`${what}: state printed invalid JSON: ${r.stdout}`);
    return '';
  }
}

function destroy(t: Test, id: string, what: string): void {
  const processes = recordedProcesses(root, id);
  const del = runts(root, ['delete', '--force', id]);
  t.equal(del.code, 0, `${what}: delete --force: ${del.stderr.trim()}`);
  t.same(leftovers({ root, bundle, cgroupPrefix: `${prefix}${id}`, processes }), [], `${what}: nothing left`);
}

const pidsMax = (id: string) => fs.readFileSync(path.join('/sys/fs/cgroup/pids', `${prefix}${id}`, 'pids.max'), 'utf8').trim();
const storedPidsLimit = (id: string) => {
  const state = JSON.parse(fs.readFileSync(path.join(root, id, 'state.json'), 'utf8')) as { config: { linux: { resources: { pids: { limit: number } } } }; interruptedUpdate?: string };
  return { limit: String(state.config.linux.resources.pids.limit), settled: state.interruptedUpdate };
};

t.test('start killed at its steps and after delays', async (t) => {
  const kills: [string, () => Promise<number> | number][] = [
    ['native:releaseExecFifo', () => runtsKilledAt(root, ['start', 's0'], 'native:releaseExecFifo').code],
    ['native:releaseExecFifo:done', () => runtsKilledAt(root, ['start', 's1'], 'native:releaseExecFifo:done').code],
    ['100 ms', async () => (await runtsKilledAfter(root, ['start', 's2'], 100)).code],
  ];
  for (const [n, [what, kill]] of kills.entries()) {
    const id = `s${n}`;
    create(t, id, false);
    const code = await kill();
    if (!what.endsWith('ms')) t.equal(code, SIGKILLED, `${what}: killed there`);
    const after = status(t, id, what);
    t.ok(['created', 'running'].includes(after), `${what}: ${after}`);
    // Killed before the fifo was taken: still created, and a second start does it.
    if (after === 'created') {
      t.equal(runts(root, ['start', id]).code, 0, `${what}: start again`);
      t.equal(status(t, id, what), 'running', `${what}: then running`);
    } else {
      t.notOk(fs.existsSync(path.join(root, id, 'exec.fifo')), `${what}: running, and no fifo left to start it twice`);
      t.equal(runts(root, ['start', id]).code, 1, `${what}: a second start is refused`);
    }
    destroy(t, id, what);
  }
});

t.test('run releases the process before it records the state; killed right after, delete --force removes it all', async (t) => {
  const probe = killPointsOf(root, ['run', '--detach', '--bundle', bundleFor('r0'), 'r0']);
  t.equal(probe.result.code, 0, probe.result.stderr);
  const at = (point: string) => probe.sequence.indexOf(point);
  t.ok(at('native:releaseExecFifo:done') >= 0 && at('rename:state.json') >= 0, 'both steps reached');
  t.ok(at('native:releaseExecFifo:done') < at('rename:state.json'), 'the process is released before state.json is written');
  t.equal(status(t, 'r0', 'run --detach'), 'running');
  destroy(t, 'r0', 'run --detach');

  t.equal(runtsKilledAt(root, ['run', '--detach', '--bundle', bundleFor('r1'), 'r1'], 'native:releaseExecFifo:done').code, SIGKILLED, 'run killed once the process is released');
  t.notOk(fs.existsSync(path.join(root, 'r1', 'state.json')), 'no state.json yet: the create intent is the record');
  // The container's process, as the intent names it, runs the workload: it was released, not
  // left waiting at the fifo (where it would still be runts-init).
  const intent = JSON.parse(fs.readFileSync(path.join(root, 'r1', 'intent.json'), 'utf8')) as { container?: { pid: number } };
  t.ok(intent.container && intent.container.pid > 0, 'the intent names the container process');
  const cmdline = () => fs.readFileSync(`/proc/${intent.container!.pid}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
  for (let waited = 0; cmdline() !== `sleep ${marker}` && waited < 2000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  t.equal(cmdline(), `sleep ${marker}`, 'the workload was exec\'d before state.json existed');
  t.equal(status(t, 'r1', 'run killed'), 'stopped', 'stopped, as a create killed at the same step is');
  destroy(t, 'r1', 'run killed after the release');
});

t.test('exec, update, pause and resume killed at their steps on one running container', async (t) => {
  const id = 'life';
  create(t, id, true);
  for (const point of ['intent:exec:cgroup-join', 'intent:exec:process']) {
    t.equal(runtsKilledAt(root, ['exec', id, 'sleep', '5'], point).code, SIGKILLED, `exec killed at ${point}`);
    t.equal(runts(root, ['exec', id, 'true']).code, 0, `${point}: the container runs on, the next exec works`);
  }

  let limit = 200;
  for (const point of ['intent:update:apply', 'intent:update:state', 'rename:state.json']) {
    const before = pidsMax(id);
    limit++;
    t.equal(runtsKilledAt(root, ['update', '--pids-limit', String(limit), id], point).code, SIGKILLED, `update killed at ${point}`);
    // pause settles what the update left (completed here: the update itself was sound).
    t.equal(runts(root, ['pause', id]).code, 0, `${point}: pause after it`);
    t.equal(runts(root, ['resume', id]).code, 0, `${point}: resume`);
    const stored = storedPidsLimit(id);
    t.equal(pidsMax(id), stored.limit, `${point}: cgroup and state agree (${stored.limit})`);
    t.not(pidsMax(id), before, `${point}: changed`);
    t.equal(stored.limit, String(limit), `${point}: the update was completed`);
    if (point !== 'rename:state.json') t.equal(stored.settled, 'completed', `${point}: and the state says so`);
    t.notOk(fs.existsSync(path.join(root, id, 'intent.json')), `${point}: no intent left`);
  }

  // An update that cannot go through is rolled back: a cpuset outside the machine.
  t.equal(runtsKilledAt(root, ['update', '--cpuset-cpus', '4095', '--pids-limit', '300', id], 'intent:update:apply').code, SIGKILLED);
  t.equal(runts(root, ['pause', id]).code, 0);
  t.equal(runts(root, ['resume', id]).code, 0);
  const stored = storedPidsLimit(id);
  t.equal(stored.settled, 'rolled back', 'a refused half-update: rolled back, and the state says so');
  t.equal(pidsMax(id), stored.limit, `cgroup and state agree (${stored.limit})`);

  // A killed pause or resume is completed by the next command that takes the lock.
  t.equal(runtsKilledAt(root, ['pause', id], 'intent:pause:freeze').code, SIGKILLED, 'pause killed before freezing');
  t.equal(status(t, id, 'after the killed pause'), 'running', 'not frozen yet');
  t.equal(runts(root, ['resume', id]).code, 0, 'resume completes the pause, then resumes');
  t.equal(status(t, id, 'after resume'), 'running');
  t.equal(runts(root, ['pause', id]).code, 0);
  t.equal(runtsKilledAt(root, ['resume', id], 'intent:resume:thaw').code, SIGKILLED, 'resume killed before thawing');
  t.equal(status(t, id, 'after the killed resume'), 'paused', 'still paused');
  t.equal(runts(root, ['pause', id]).code, 0, 'pause completes the resume, then pauses');
  t.equal(status(t, id, 'after pause'), 'paused');
  t.notOk(fs.existsSync(path.join(root, id, 'intent.json')), 'no intent left');
  destroy(t, id, 'the container');
});
