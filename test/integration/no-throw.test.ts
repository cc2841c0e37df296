/**
 * No command throws on its normal path: every fs error Node throws comes with a stack it builds
 * (the first of a process cost ~0.5 ms), so runts asks whether a file is there instead of
 * catching ENOENT (readFileIfPresent, removeFile, the code caches). A helper preloaded into each
 * runts process (test/helpers/fsThrows.ts) logs every error a synchronous fs call or
 * process.kill throws; a whole lifecycle, and `state` of a stopped container, must log none.
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import { spawnSync } from 'child_process';
import { CLI, baseSpec, childEnv, cleanupRoot, makeBundle, scratchDir } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';

const HELPER = path.join(__dirname, '..', 'helpers', 'fsThrows.js');
const skip = skipUnless({ root: true, fixture: true });
const root = scratchDir('no-throw-root');
const log = path.join(scratchDir('no-throw-log'), 'throws');
t.teardown(() => cleanupRoot(root));

function runts(args: string[]): { code: number; stdout: string } {
  // Output through a file: a container started here inherits it, and a pipe would stay open.
  const out = path.join(path.dirname(log), 'out');
  const fd = fs.openSync(out, 'w+');
  try {
    const r = spawnSync(process.execPath, [CLI, '--root', root, ...args], {
      env: { ...childEnv(), NODE_OPTIONS: `--require ${HELPER}`, RUNTS_TEST_THROW_LOG: log },
      stdio: ['ignore', fd, 'ignore'],
      timeout: 60_000,
    });
    return { code: r.status ?? -1, stdout: fs.readFileSync(out, 'utf8') };
  } finally {
    fs.closeSync(fd);
  }
}

/** The lines the commands since the last call logged. */
function thrown(): string[] {
  const lines = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  fs.rmSync(log, { force: true });
  return lines;
}

t.test('a container\'s whole life throws no error', { skip }, async (t) => {
  const bundle = makeBundle(baseSpec(['sleep', '600']));
  const short = makeBundle(baseSpec(['/bin/true']));
  t.teardown(() => {
    fs.rmSync(bundle, { recursive: true, force: true });
    fs.rmSync(short, { recursive: true, force: true });
  });
  const id = `nothrow${process.pid}`;
  // A first run writes the code caches: the steps below run from them, as every later call does.
  t.equal(runts(['create', '--bundle', bundle, id]).code, 0, 'create');
  t.equal(runts(['delete', '--force', id]).code, 0, 'delete --force');
  thrown();
  const steps: [string, string[]][] = [
    ['create', ['create', '--bundle', bundle, id]],
    ['state (created)', ['state', id]],
    ['list', ['list']],
    ['start', ['start', id]],
    ['exec', ['exec', id, '/bin/true']],
    ['kill', ['kill', id, 'KILL']],
  ];
  for (const [what, args] of steps) {
    t.equal(runts(args).code, 0, what);
    t.same(thrown(), [], `${what}: nothing thrown`);
  }
  for (let i = 0; i < 100 && JSON.parse(runts(['state', id]).stdout || '{}').status !== 'stopped'; i++) await new Promise((r) => setTimeout(r, 20));
  thrown();
  t.equal(runts(['state', id]).code, 0, 'state (stopped)');
  t.same(thrown(), [], 'state of a stopped container: nothing thrown');
  t.equal(runts(['delete', id]).code, 0, 'delete');
  t.same(thrown(), [], 'delete: nothing thrown');
  t.equal(runts(['run', '--bundle', short, `${id}r`]).code, 0, 'run (which deletes the container once its process is gone)');
  t.same(thrown(), [], 'run: nothing thrown');
  t.equal(runts(['list', '-q']).stdout.trim(), '', 'nothing left');
});
