/**
 * The code caches of src/base/codeCache.ts, both ways: a first run writes them, a second uses
 * them, a cache V8 rejects (corrupt, or of another node) is ignored and replaced, a cache dir
 * that cannot be written leaves commands uncached but working, and a rebuilt file never meets
 * the cache of its old self, and a cold command's caches are deserialized off the main thread
 * (the entry's prefetch). Each case runs a copy of the built package (its own dist/code-cache/),
 * through `list` (hot), `validate` (cold.js, then the validators' bundle) and `create` + `delete`.
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import os = require('os');
import { spawnSync } from 'child_process';
import { REPO, baseSpec, childEnv, makeBundle, scratchDir } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';

const skip = skipUnless({ root: true, fixture: true });

/** A copy of the built package: what a run needs beside the bundles, nothing of another's cache. */
function copyPackage(): string {
  const root = scratchDir('codecache');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(root, 'package.json'));
  for (const dir of ['dist/bundle', 'dist/src/config/schema', 'build/Release']) {
    fs.cpSync(path.join(REPO, dir), path.join(root, dir), { recursive: true });
  }
  return root;
}

/** The package's runts with --debug; output through files (a created init keeps its stdio). */
function run(pkg: string, ...args: string[]): { code: number; stderr: string; stdout: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-out-'));
  const out = fs.openSync(path.join(dir, 'out'), 'w+');
  const err = fs.openSync(path.join(dir, 'err'), 'w+');
  try {
    const r = spawnSync(process.execPath, [path.join(pkg, 'dist', 'bundle', 'runts.js'), '--debug', ...args], {
      env: childEnv(),
      stdio: ['ignore', out, err],
      timeout: 60_000,
    });
    const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
    return { code: r.status ?? -1, stdout: read('out'), stderr: read('err') };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A bundle removed when the test ends. */
function bundleOf(t: { teardown(fn: () => void): void }, spec = baseSpec(['/bin/true'])): string {
  const dir = makeBundle(spec);
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** "used", "none", "rejected" per file, from the --debug lines. */
function uses(stderr: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stderr.matchAll(/code cache of (\S+): (\w+)/g)) out[m[1]] = m[2];
  return out;
}

/** file -> who compiled it (native: native/loader's compileBundle; node: Node's fs and vm), from --debug. */
function compilers(stderr: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stderr.matchAll(/code cache of (\S+): \w+ \(compiled by (\w+)/g)) out[m[1]] = m[2];
  return out;
}

/** file -> whether the loader had deserialized its cache off the main thread, from --debug. */
function prefetched(stderr: string): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const m of stderr.matchAll(/code cache of (\S+): \w+ \(compiled by \w+(, prefetched)?\)/g)) out[m[1]] = m[2] !== undefined;
  return out;
}

const caches = (pkg: string) => {
  try {
    return fs.readdirSync(path.join(pkg, 'dist', 'code-cache')).sort();
  } catch {
    return [];
  }
};

t.test('validate: written by the first run, used by the next', { skip }, async (t) => {
  const pkg = copyPackage();
  const bundle = bundleOf(t);
  const first = run(pkg, 'validate', '--bundle', bundle);
  t.equal(first.code, 0, first.stderr);
  t.same(uses(first.stderr), { 'cold.js': 'none', 'validators.js': 'none' });
  const files = caches(pkg);
  t.same(files.map((f) => f.replace(/-\d+-\d+-\d+-/, '-')), ['cold.js-validate.cache', 'validators.js-validate.cache'], 'one cache per bundle');
  t.ok(files.every((f) => f.endsWith('-validate.cache')), 'named after the command');
  const second = run(pkg, 'validate', '--bundle', bundle);
  t.equal(second.code, 0, second.stderr);
  t.same(uses(second.stderr), { 'cold.js': 'used', 'validators.js': 'used' });
  t.same(compilers(second.stderr), { 'cold.js': 'native', 'validators.js': 'native' }, 'compiled with their caches by the loader addon');
  t.same(prefetched(second.stderr), { 'cold.js': true, 'validators.js': true }, 'both deserialized off the main thread');
});

t.test('the loader addon and Node read alike: each uses the cache the other wrote', { skip }, async (t) => {
  const pkg = copyPackage();
  const bundle = bundleOf(t);
  const loader = path.join(pkg, 'build', 'Release', 'runts_loader.node');
  const aside = `${loader}.aside`;
  const withoutLoader = (fn: () => void) => {
    fs.renameSync(loader, aside);
    try {
      fn();
    } finally {
      fs.renameSync(aside, loader);
    }
  };
  // V8 takes a cache only for a source of the very length it was made from: the wrapper included.
  const first = run(pkg, 'validate', '--bundle', bundle);
  const both = (value: string) => ({ 'cold.js': value, 'validators.js': value });
  t.same([uses(first.stderr), compilers(first.stderr)], [both('none'), both('native')]);
  withoutLoader(() => {
    const r = run(pkg, 'validate', '--bundle', bundle);
    t.equal(r.code, 0, r.stderr);
    t.same([uses(r.stderr), compilers(r.stderr)], [both('used'), both('node')], 'Node found and used the loader\'s caches');
  });
  fs.rmSync(path.join(pkg, 'dist', 'code-cache'), { recursive: true });
  withoutLoader(() => t.equal(run(pkg, 'validate', '--bundle', bundle).code, 0));
  const last = run(pkg, 'validate', '--bundle', bundle);
  t.same([uses(last.stderr), compilers(last.stderr)], [both('used'), both('native')], 'the loader found and used the caches Node wrote');
});

t.test('a loader that will not load (built for another node) leaves the work to Node', { skip }, async (t) => {
  const pkg = copyPackage();
  const root = scratchDir('codecache-badloader');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const loader = path.join(pkg, 'build', 'Release', 'runts_loader.node');
  // dlopen refuses it as it refuses an addon of another NODE_MODULE_VERSION: it throws.
  fs.writeFileSync(loader, 'not an ELF object\n');
  for (const expected of ['none', 'used']) {
    const r = run(pkg, '--root', root, 'list');
    t.equal(r.code, 0, r.stderr);
    t.same([uses(r.stderr), compilers(r.stderr)], [{ 'main.js': expected }, { 'main.js': 'node' }], `list: ${expected}, through Node`);
  }
  // An addon that loads but has no compileBundle (runts.node in its place) is no loader either.
  fs.copyFileSync(path.join(pkg, 'build', 'Release', 'runts.node'), loader);
  const r = run(pkg, '--root', root, 'list');
  t.equal(r.code, 0, r.stderr);
  t.same([uses(r.stderr), compilers(r.stderr)], [{ 'main.js': 'used' }, { 'main.js': 'node' }]);
});

t.test('a hot command (list): main.js only, per command', { skip }, async (t) => {
  const pkg = copyPackage();
  const root = scratchDir('codecache-list');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const expected of ['none', 'used']) {
    const r = run(pkg, '--root', root, 'list');
    t.equal(r.code, 0, r.stderr);
    t.same(uses(r.stderr), { 'main.js': expected }, `list: ${expected}`);
    t.same(compilers(r.stderr), { 'main.js': 'native' }, 'compiled by the loader addon');
  }
  t.same(caches(pkg).map((f) => f.replace(/-\d+-\d+-\d+-/, '-')), ['main.js-list.cache']);
});

t.test('help for a command writes no cache named for it (its code did not run); runts --help writes its own', { skip }, async (t) => {
  const pkg = copyPackage();
  for (const args of [['validate', '--help'], ['state', '--help'], ['help', 'exec']]) {
    const r = run(pkg, ...args);
    t.equal(r.code, 0, r.stderr);
  }
  t.same(caches(pkg).map((f) => f.replace(/-\d+-\d+-\d+-/, '-')), ['main.js-help.cache'], 'only the help topic run, named help');
  t.equal(run(pkg, '--help').code, 0);
  t.equal(run(pkg, '--version').code, 0);
  t.same(caches(pkg).map((f) => f.replace(/-\d+-\d+-\d+-/, '-')), ['main.js-help.cache', 'main.js-none.cache']);
  const bundle = bundleOf(t);
  const first = run(pkg, 'validate', '--bundle', bundle);
  t.same(uses(first.stderr), { 'cold.js': 'none', 'validators.js': 'none' }, 'validate then has no cache of its help to use');
});

t.test('a failed command writes no cache (it ran only part of the code)', { skip }, async (t) => {
  const pkg = copyPackage();
  const bundle = bundleOf(t, { ...baseSpec(['/bin/true']), process: { ...baseSpec(['/bin/true']).process!, cwd: 'relative' } });
  const r = run(pkg, 'validate', '--bundle', bundle);
  t.equal(r.code, 1);
  t.match(r.stdout + r.stderr, /\/process\/cwd/);
  t.same(caches(pkg), []);
});

t.test('a corrupt cache is rejected by V8, the command runs from source and replaces it', { skip }, async (t) => {
  const pkg = copyPackage();
  const bundle = bundleOf(t);
  t.equal(run(pkg, 'validate', '--bundle', bundle).code, 0);
  const dir = path.join(pkg, 'dist', 'code-cache');
  const runnerCache = path.join(dir, caches(pkg).find((f) => f.startsWith('cold.js'))!);
  const bytes = fs.readFileSync(runnerCache);
  bytes.fill(0x5a, 16, 4096); // past V8's magic number: a checksum or header mismatch
  fs.writeFileSync(runnerCache, bytes);
  const r = run(pkg, 'validate', '--bundle', bundle);
  t.equal(r.code, 0, r.stderr);
  t.equal(uses(r.stderr)['cold.js'], 'rejected');
  t.equal(uses(run(pkg, 'validate', '--bundle', bundle).stderr)['cold.js'], 'used', 'rewritten after the rejected run');
});

t.test('a cache dir that cannot be written: uncached, still correct', { skip }, async (t) => {
  const pkg = copyPackage();
  const bundle = bundleOf(t);
  fs.writeFileSync(path.join(pkg, 'dist', 'code-cache'), 'not a directory');
  for (let i = 0; i < 2; i++) {
    const r = run(pkg, 'validate', '--bundle', bundle);
    t.equal(r.code, 0, r.stderr);
    t.same(uses(r.stderr), { 'cold.js': 'none', 'validators.js': 'none' });
  }
});

t.test('a rebuilt cold.js does not meet the cache of the old one', { skip }, async (t) => {
  const pkg = copyPackage();
  const bundle = bundleOf(t);
  t.equal(run(pkg, 'validate', '--bundle', bundle).code, 0);
  // Same length, other content: V8's own check (the length) would take the old cache.
  const runner = path.join(pkg, 'dist', 'bundle', 'cold.js');
  const source = fs.readFileSync(runner, 'utf8');
  t.ok(source.startsWith('"use strict";'));
  fs.writeFileSync(runner, source.replace('"use strict";', "'use strict';"));
  const r = run(pkg, 'validate', '--bundle', bundle);
  t.equal(r.code, 0, r.stderr);
  t.equal(uses(r.stderr)['cold.js'], 'none');
});

t.test('create and delete of a real container, cached', { skip }, async (t) => {
  const pkg = copyPackage();
  const bundle = bundleOf(t);
  const root = scratchDir('codecache-root');
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const expected of ['none', 'used']) {
    const created = run(pkg, '--root', root, 'create', '--bundle', bundle, 'cc');
    t.equal(created.code, 0, created.stderr);
    t.same(uses(created.stderr), { 'cold.js': expected, 'validators.js': expected }, `create: ${expected}`);
    const cached = expected === 'used';
    t.same(prefetched(created.stderr), { 'cold.js': cached, 'validators.js': cached }, `create: deserialized off the main thread: ${cached}`);
    const state = JSON.parse(run(pkg, '--root', root, 'state', 'cc').stdout);
    t.equal(state.status, 'created');
    const deleted = run(pkg, '--root', root, 'delete', '--force', 'cc');
    t.equal(deleted.code, 0, deleted.stderr);
    t.same(uses(deleted.stderr), { 'cold.js': expected }, `delete: ${expected}`);
    t.same(prefetched(deleted.stderr), { 'cold.js': cached }, `delete: deserialized off the main thread: ${cached}`);
  }
});
