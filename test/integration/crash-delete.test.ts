/**
 * delete SIGKILLed at each of its steps and after delays: the container reads as stopped (or is
 * gone), a second delete finishes the job, and nothing is left.
 */
import t from 'tap';
import { runts, scratchDir } from '../helpers/runts';
import { SIGKILLED, leftovers, recordedProcesses, runtsKilledAfter, runtsKilledAt, crashBundles } from '../helpers/crash';

const root = scratchDir('crash-delete-root');
const prefix = `runts-crash-d${process.pid}-`;
const marker = String(7_200_000 + (process.pid % 1_000_000));
const { bundle, bundleFor } = crashBundles(t, { root, prefix, marker, cgroupsPath: (id) => `/${prefix}${id}/ctr` });

t.test('delete --force killed at each step, then run again', async (t) => {
  const kills: [string, (id: string) => Promise<number> | number][] = [
    // Locked; the delete recorded; its processes dead; its first cgroup directory removed; its
    // state dir taken away.
    ...['native:lockFile:done', 'intent:delete:kill', 'native:waitReadable:done', 'rmdir:cgroup', 'rename:doomed-dir'].map(
      (point) => [point, (id: string) => runtsKilledAt(root, ['delete', '--force', id], point).code] as [string, (id: string) => number],
    ),
    ['80 ms', async (id: string) => (await runtsKilledAfter(root, ['delete', '--force', id], 80)).code],
    ['200 ms', async (id: string) => (await runtsKilledAfter(root, ['delete', '--force', id], 200)).code],
  ];
  for (const [n, [what, kill]] of kills.entries()) {
    const id = `x${n}`;
    t.equal(runts(root, ['run', '--detach', '--bundle', bundleFor(id), id]).code, 0, `${what}: a running container`);
    const processes = recordedProcesses(root, id);
    const code = await kill(id);
    if (!what.endsWith('ms')) t.equal(code, SIGKILLED, `${what}: killed there`);
    const state = runts(root, ['state', id]);
    if (state.code === 0) {
      const status = (JSON.parse(state.stdout) as { status: string }).status;
      t.ok(['stopped', 'running'].includes(status), `${what}: state reads ${status}`);
      // Once the kill step is past, a plain delete is enough.
      const again = runts(root, ['delete', ...(status === 'stopped' ? [] : ['--force']), id]);
      t.equal(again.code, 0, `${what}: delete again: ${again.stderr.trim()}`);
    } else {
      t.match(state.stderr, /container does not exist/, `${what}: gone from state`);
      t.equal(runts(root, ['delete', '--force', id]).code, 0, `${what}: delete --force again (sweeps what is left)`);
    }
    t.same(leftovers({ root, bundle, cgroupPrefix: `${prefix}${id}`, processes }), [], `${what}: nothing left`);
  }
  t.same(leftovers({ root, bundle, cgroupPrefix: prefix, marker }), [], 'nothing left of any');
});
