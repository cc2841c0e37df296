/**
 * How runts ends (src/cli/entry.ts, native/loader's exitNow): through _exit(2) where exit(3) has
 * nothing to do, which strace shows as the main thread's exit_group with none of Node's platform
 * threads stopped first; through process.exit where something is written at exit (coverage,
 * which NODE_V8_COVERAGE asks for) or Node's options are set.
 */
import t from 'tap';
import fs = require('fs');
import { spawnSync } from 'child_process';
import { CLI, childEnv, scratchDir } from '../helpers/runts';
import { SHEBANG_NODE_FLAGS } from '../../src/cli/nodeFlags';

const STRACE = '/usr/bin/strace';
const skip = fs.existsSync(STRACE) ? false : 'strace missing: apt-get install strace';

/**
 * runts under strace (exit calls only), run as its callers run it (the binary itself, so node
 * gets the shebang's options), in the environment a runtime's caller gives it: tap's
 * process tracking puts its hook back into NODE_OPTIONS, and its NODE_V8_COVERAGE, into every
 * child's environment, so env(1) takes them out of runts' own; `set` adds variables after that.
 */
function traced(args: string[], set: Record<string, string> = {}): { status: number | null; calls: string[]; stdout: string; stderr: string } {
  const assignments = Object.entries(set).map(([name, value]) => `${name}=${value}`);
  const r = spawnSync(
    '/usr/bin/env',
    ['-u', 'NODE_OPTIONS', '-u', 'NODE_V8_COVERAGE', ...assignments, STRACE, '-f', '-qq', '-e', 'trace=exit,exit_group', CLI, ...args],
    { env: childEnv(), encoding: 'utf8', timeout: 60_000 },
  );
  const calls = r.stderr.split('\n').map((line) => /\b(exit_group|exit)\(/.exec(line)?.[1]).filter((call): call is string => call !== undefined);
  return { status: r.status, calls, stdout: r.stdout, stderr: r.stderr };
}

/** `runts --root <scratch> list`, traced. */
function tracedList(set: Record<string, string> = {}): ReturnType<typeof traced> {
  const root = scratchDir('exit-root');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return traced(['--root', root, 'list'], set);
}

t.test('the binary runs the node that built it, with the shebang options', async (t) => {
  const firstLine = fs.readFileSync(CLI, 'utf8').split('\n')[0];
  t.equal(firstLine, `#!${process.execPath} ${SHEBANG_NODE_FLAGS.join(' ')}`);
  t.ok(SHEBANG_NODE_FLAGS.includes('--no-rehash-snapshot'), 'no rehashing of the startup snapshot (src/cli/nodeFlags.ts)');
  const r = spawnSync(CLI, ['--version'], { env: childEnv(), encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^runts version /);
});

t.test('a command ends at once: one exit_group, no thread of Node stopped before it', { skip }, async (t) => {
  const r = tracedList();
  t.equal(r.status, 0);
  t.match(r.stdout, /^ID\s+PID\s+STATUS/, 'its output is all there');
  t.same(r.calls, ['exit_group']);
});

t.test('with coverage asked for, Node ends it: its threads stop first, and the coverage is written', { skip }, async (t) => {
  const coverage = scratchDir('exit-coverage');
  t.teardown(() => fs.rmSync(coverage, { recursive: true, force: true }));
  const r = tracedList({ NODE_V8_COVERAGE: coverage });
  t.equal(r.status, 0);
  t.ok(r.calls.filter((call) => call === 'exit').length >= 1, `threads stopped: ${r.calls.join(' ')}`);
  t.equal(r.calls[r.calls.length - 1], 'exit_group');
  t.ok(fs.readdirSync(coverage).some((file) => file.endsWith('.json')), 'a coverage file in the directory');
});

t.test('with NODE_OPTIONS set, Node ends it too', { skip }, async (t) => {
  const r = tracedList({ NODE_OPTIONS: '--no-warnings' });
  t.equal(r.status, 0);
  t.ok(r.calls.includes('exit'), `threads stopped: ${r.calls.join(' ')}`);
});

t.test('a failing command ends with its status the same quick way', { skip }, async (t) => {
  const root = scratchDir('exit-fail');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const r = traced(['--root', root, 'state', 'missing']);
  t.equal(r.status, 1);
  t.match(r.stderr, /container does not exist/);
  t.match(r.stderr, /exit_group\(1\)/);
  t.same(r.calls, ['exit_group'], 'no thread stopped first');
});
