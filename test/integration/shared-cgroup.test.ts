/**
 * Two containers given one cgroupsPath (runc 1.1 allows it, with a warning): deleting the first
 * kills its own processes and leaves the cgroup, still holding the second, in place, as runc's
 * delete does (it logs the failed rmdir and goes on). The cgroup's directories stay after the
 * second's delete too: runts removes only the directories a create made, and the second found
 * them made (runc removes them; see issue 13's note).
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';
import { probeHierarchy } from '../../src/cgroups/path';

const skip = skipUnless({ root: true, fixture: true });
const root = scratchDir('shared-cgroup-root');
t.teardown(() => cleanupRoot(root));

t.test('delete --force of one of two containers in one cgroup', { skip }, async (t) => {
  const cgroup = `/runts-shared-${process.pid}`;
  const spec = baseSpec(['sleep', '600']);
  spec.linux!.cgroupsPath = cgroup;
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const [first, second] = [`sha${process.pid}`, `shb${process.pid}`];
  const h = probeHierarchy();
  const pidsDir = h.mode === 'v2' ? path.join(h.unified!.mountpoint, cgroup) : path.join(h.v1.get('pids')!.mountpoint, cgroup);
  const mounts = new Set([...h.v1.values(), ...(h.unified ? [h.unified] : [])].map((m) => m.mountpoint));
  t.teardown(() => mounts.forEach((m) => fs.existsSync(path.join(m, cgroup)) && fs.rmdirSync(path.join(m, cgroup))));

  t.equal(runts(root, ['run', '-d', '--bundle', bundle, first]).code, 0, 'the first container');
  const joined = runts(root, ['run', '-d', '--bundle', bundle, second]);
  t.equal(joined.code, 0, 'a second one in the same cgroup');
  t.match(joined.stderr, "container's cgroup is not empty");

  const del = runts(root, ['delete', '--force', first]);
  t.equal(del.code, 0, `delete --force of the first: exit 0 (${del.stderr.trim()})`);
  t.match(del.stderr, /still holds/, 'it says why the cgroup stays');
  t.notMatch(runts(root, ['list', '-q']).stdout, first, 'the first is gone');
  const inside = runts(root, ['exec', second, 'cat', '/proc/self/cgroup']);
  t.equal(inside.code, 0, 'the second still runs: exec into it');
  t.match(inside.stdout, `${cgroup}\n`, `and it is in ${cgroup}`);
  t.ok(fs.existsSync(pidsDir), 'the shared cgroup stays');

  t.equal(runts(root, ['delete', '--force', second]).code, 0, 'delete --force of the second');
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'no state left');
  t.same(fs.readFileSync(path.join(pidsDir, 'cgroup.procs'), 'utf8'), '', 'no process left in the cgroup');
});
