/**
 * Nothing waits forever: an init that lives but never answers (here: an exec'd process joining a
 * paused container's frozen cgroup) fails the command after the bound, with one line naming what
 * it waited for, and the container is left as it was.
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir } from '../helpers/runts';
import { cgroupMounts, leftovers } from '../helpers/crash';

const root = scratchDir('bounded-root');
const prefix = `runts-bounded-${process.pid}`;
const spec = baseSpec(['sleep', '600']);
spec.linux!.cgroupsPath = `/${prefix}`;
const bundle = makeBundle(spec);

t.teardown(() => {
  cleanupRoot(root);
  for (const mount of cgroupMounts()) fs.rmSync(path.join(mount, prefix), { force: true, recursive: false });
  fs.rmSync(bundle, { recursive: true, force: true });
});

t.test('exec --ignore-paused into a frozen container gives up after RUNTS_INIT_TIMEOUT', async (t) => {
  t.equal(runts(root, ['run', '--detach', '--bundle', bundle, 'frozen']).code, 0);
  t.equal(runts(root, ['pause', 'frozen']).code, 0);
  process.env.RUNTS_INIT_TIMEOUT = '2';
  const started = Date.now();
  let r;
  try {
    r = runts(root, ['exec', '--ignore-paused', 'frozen', 'true'], { timeoutMs: 60_000 });
  } finally {
    delete process.env.RUNTS_INIT_TIMEOUT;
  }
  const took = Date.now() - started;
  t.equal(r.code, 255, 'exec fails as runc fails an exec');
  const lines = r.stderr.split('\n').filter(Boolean);
  t.equal(lines.length, 1, `one line: ${lines[0]}`);
  t.match(r.stderr, /timed out after 2s waiting for the container init to answer/, 'it names what it waited for');
  t.ok(took < 30_000, `it gave up (${took} ms), rather than wait for a thaw`);
  t.equal(runts(root, ['resume', 'frozen']).code, 0, 'the container resumes');
  const state = JSON.parse(runts(root, ['state', 'frozen']).stdout) as { status: string };
  t.equal(state.status, 'running', 'and runs on');
  t.same(fs.readdirSync(path.join(root, 'frozen')).filter((n) => n.startsWith('exec-intent')), [], 'no exec intent left');
  t.equal(runts(root, ['delete', '--force', 'frozen']).code, 0);
  t.same(leftovers({ root, bundle, cgroupPrefix: prefix }), [], 'nothing left');
});
