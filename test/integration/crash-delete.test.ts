/**
 * delete SIGKILLed at each of its steps and after delays: the container reads as stopped (or is
 * gone), a second delete finishes the job, and nothing is left.
 */
import t from 'tap';
import * as fs from 'fs';
import * as path from 'path';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir } from '../helpers/runts';
import { SIGKILLED, cgroupMounts, leftovers, recordedProcesses, runtsKilledAfter, runtsKilledAt } from '../helpers/crash';

const root = scratchDir('crash-delete-root');
const prefix = `runts-crash-d${process.pid}-`;
const marker = String(7_200_000 + (process.pid % 1_000_000));
const bundle = makeBundle(baseSpec(['sleep', marker]));

function bundleFor(id: string): string {
  const spec = baseSpec(['sleep', marker]);
  spec.linux!.cgroupsPath = `/${prefix}${id}/ctr`;
  spec.root = { path: path.join(bundle, 'rootfs'), readonly: true };
  const dir = path.join(bundle, 'configs', id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

t.teardown(() => {
  cleanupRoot(root);
  for (const mount of cgroupMounts()) {
    for (const name of fs.readdirSync(mount).filter((n) => n.startsWith(prefix))) {
      for (const sub of ['ctr', '']) fs.rmSync(path.join(mount, name, sub), { force: true, recursive: false });
    }
  }
  fs.rmSync(bundle, { recursive: true, force: true });
});

t.test('delete --force killed at each step, then run again', async (t) => {
  const kills: [string, (id: string) => Promise<number> | number][] = [
    ...['native:lockFile:done', 'intent:delete:kill', 'intent:delete:cgroup', 'intent:delete:state-dir', 'rename:doomed-dir'].map(
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
