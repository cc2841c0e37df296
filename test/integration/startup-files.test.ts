/**
 * What a call reads before runts' own code runs: Node looks for the package.json nearest the main
 * script (its module type); the build puts one beside the bundles so the search stops there.
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import { spawnSync } from 'child_process';
import { CLI, childEnv, scratchDir } from '../helpers/runts';

const STRACE = '/usr/bin/strace';
const skip = fs.existsSync(STRACE) ? false : 'strace missing: apt-get install strace';

t.test('a call reads only the bundles\' package.json', { skip }, async (t) => {
  const root = scratchDir('startup-root');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  t.same(JSON.parse(fs.readFileSync(path.join(path.dirname(CLI), 'package.json'), 'utf8')), { type: 'commonjs' });
  // Without tap's process hook, which it puts back into every child's NODE_OPTIONS.
  const r = spawnSync('/usr/bin/env', ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', STRACE, '-f', '-qq', '-e', 'trace=open,openat,openat2,stat,statx,newfstatat,access', CLI, '--root', root, 'list'], {
    env: childEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(r.status, 0, 'list ran');
  const looked = r.stderr.split('\n').map((line) => /"([^"]*package\.json)"/.exec(line)?.[1]).filter((file): file is string => file !== undefined);
  t.same([...new Set(looked)], [path.join(path.dirname(CLI), 'package.json')], 'no other package.json looked for');
});
