/**
 * How runts ends (src/cli/entry.ts, native/loader's exitNow): through _exit(2) where exit(3) has
 * nothing to do, which strace shows as the main thread's exit_group with none of Node's platform
 * threads stopped first; through process.exit where something is written at exit (coverage,
 * which NODE_V8_COVERAGE asks for) or Node's options are set.
 */
import t from 'tap';
import fs = require('fs');
import { spawn, spawnSync } from 'child_process';
import { CLI, baseSpec, bundleFor, childEnv, cleanupRoot, runts, scratchDir } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';
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

t.test('the binary runs the node that built it, with the shebang options', { skip: skipUnless({ root: true, fixture: true }) }, async (t) => {
  t.equal(fs.readFileSync(CLI, 'utf8').split('\n')[0], `#!${process.execPath} ${SHEBANG_NODE_FLAGS.join(' ')}`);
  // A runts process seen while it lives (a foreground run of a container sleeping for a while):
  // what the kernel made of the shebang is its command line.
  const root = scratchDir('exit-cmdline');
  t.teardown(() => cleanupRoot(root));
  const id = `cmdline${process.pid}`;
  const run = spawn(CLI, ['--root', root, 'run', '--bundle', bundleFor(t, baseSpec(['sleep', '30'])), id], { env: childEnv(), stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => run.on('exit', resolve));
  let argv: string[] = [];
  for (let tries = 0; tries < 200 && !argv.includes(CLI); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    argv = fs.readFileSync(`/proc/${run.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  }
  t.same(argv.slice(0, 3), [process.execPath, '--no-rehash-snapshot', CLI], 'node, its option, then the script');
  for (let tries = 0; tries < 200 && !/"status": "running"/.test(runts(root, ['state', id]).stdout); tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  t.equal(runts(root, ['kill', id, 'KILL']).code, 0, 'the container was running');
  t.equal(await exited, 137, 'the run ends with its container');
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
