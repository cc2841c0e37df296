/**
 * native/loader/loader.cc's compileBundle, which the entry uses to compile main.js or cold.js
 * with its code cache (and prefetchBundles, which has caches deserialized off the main thread): the file compiles wrapped exactly as codeCache.ts wraps what Node reads
 * (V8 takes a cache only for a source of the same length), the cache is named as codeCache.ts
 * names it and is used, rejected or absent as V8 says, and a file it will not take (missing,
 * not ASCII, empty) gives null so that Node compiles it instead.
 */
import t from 'tap';
import fs = require('fs');
import os = require('os');
import path = require('path');
import { spawnSync } from 'child_process';
import type { BundleCompiler } from '../../src/base/codeCache';
import { packageRoot } from '../../src/base/paths';

const LOADER = path.join(packageRoot(), 'build', 'Release', 'runts_loader.node');
const addon = { exports: {} as { compileBundle: BundleCompiler } };
process.dlopen(addon, LOADER);
const { compileBundle } = addon.exports;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-loader-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const cacheDir = path.join(dir, 'cache');
fs.mkdirSync(cacheDir);

/** Node's CommonJS wrapper as codeCache.ts writes it, without the parentheses around it. */
const HEAD = 'function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n}';

function cacheNameOf(file: string, command: string): string {
  const st = fs.statSync(file, { bigint: true });
  return path.join(cacheDir, `${path.basename(file)}-${st.ino}-${st.size}-${st.mtimeNs}-${command}.cache`);
}

/** The file's module.exports, run through the compiled wrapper. */
function exportsOf(wrapper: (...args: never[]) => void): Record<string, unknown> {
  const module = { exports: {} as Record<string, unknown> };
  (wrapper as (...args: unknown[]) => void)(module.exports, require, module, 'f.js', dir);
  return module.exports;
}

t.test('a bundle: compiled as a CommonJS function, its cache named after inode, size, mtime and command', async (t) => {
  const file = path.join(dir, 'a.js');
  const text = '"use strict";exports.answer=42;\n'.repeat(5000);
  fs.writeFileSync(file, text);
  const compiled = compileBundle(file, cacheDir, 'create');
  t.ok(compiled, 'compiled');
  t.equal(compiled!.wrapper.toString(), `${HEAD}${text}${TAIL}`, 'wrapped as Node wraps a module, on its first line');
  t.equal(compiled!.cacheFile, cacheNameOf(file, 'create'));
  t.equal(compiled!.use, 'none', 'no cache yet');
  t.equal(exportsOf(compiled!.wrapper).answer, 42, 'it runs');
});

/**
 * compileBundle(file) in a node of its own, as each runts call is (within one process V8 finds a
 * source it compiled before in its own cache, and never reads the code cache): its `use`, and
 * what the file's `double(21)` returns.
 */
function compileInChild(file: string, command: string): { use: string; doubled: number } {
  const script = `
    const addon = { exports: {} };
    process.dlopen(addon, ${JSON.stringify(LOADER)});
    const compiled = addon.exports.compileBundle(${JSON.stringify(file)}, ${JSON.stringify(cacheDir)}, ${JSON.stringify(command)});
    const module = { exports: {} };
    compiled.wrapper(module.exports, require, module, '', '');
    console.log(JSON.stringify({ use: compiled.use, doubled: module.exports.double(21) }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`compileBundle in a child: ${r.stderr}`);
  return JSON.parse(r.stdout) as { use: string; doubled: number };
}

t.test('its cache: used by the next call, rejected when corrupt, never taken for another command', async (t) => {
  const file = path.join(dir, 'b.js');
  fs.writeFileSync(file, 'exports.double = function (x) { return 2 * x; };\n');
  const first = compileBundle(file, cacheDir, 'exec')!;
  t.equal((exportsOf(first.wrapper).double as (x: number) => number)(3), 6, 'it runs');
  const cache = first.createCachedData();
  t.ok(Buffer.isBuffer(cache) && cache.length > 0, 'createCachedData gives a Buffer');
  fs.writeFileSync(first.cacheFile, cache);

  t.same(compileInChild(file, 'exec'), { use: 'used', doubled: 42 }, 'used by the next call, and what it compiled runs');
  const wrapped = `(${HEAD}${fs.readFileSync(file, 'utf8')}${TAIL});`;
  const vmUse = spawnSync(
    process.execPath,
    ['-e', `const s = new (require('vm').Script)(${JSON.stringify(wrapped)}, { cachedData: require('fs').readFileSync(${JSON.stringify(first.cacheFile)}) }); console.log(s.cachedDataRejected)`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  t.equal(vmUse.stdout.trim(), 'false', "Node's vm takes the same cache for codeCache.ts's source");
  t.same(compileInChild(file, 'delete'), { use: 'none', doubled: 42 }, "another command's cache is not taken");

  const corrupt = Buffer.from(cache);
  corrupt.fill(0x5a, 16);
  fs.writeFileSync(first.cacheFile, corrupt);
  t.same(compileInChild(file, 'exec'), { use: 'rejected', doubled: 42 }, 'a corrupt cache is rejected, and the file compiled all the same');
});

t.test('a shebang line becomes a comment, as codeCache.ts makes it', async (t) => {
  const file = path.join(dir, 'c.js');
  fs.writeFileSync(file, '#!/usr/bin/env node\nexports.c = 1;\n');
  const compiled = compileBundle(file, cacheDir, 'run')!;
  t.equal(compiled.wrapper.toString(), `${HEAD}//#!/usr/bin/env node\nexports.c = 1;\n${TAIL}`);
  t.equal(exportsOf(compiled.wrapper).c, 1);
});

t.test('a syntax error throws, as vm.Script throws it', async (t) => {
  const file = path.join(dir, 'broken.js');
  fs.writeFileSync(file, 'exports.x = ;\n');
  t.throws(() => compileBundle(file, cacheDir, 'create'), SyntaxError);
});

t.test('what it will not take gives null: Node compiles it instead', async (t) => {
  t.equal(compileBundle(path.join(dir, 'missing.js'), cacheDir, 'create'), null, 'a missing file');
  const latin = path.join(dir, 'd.js');
  fs.writeFileSync(latin, 'exports.d = "caf\u00e9";\n');
  t.equal(compileBundle(latin, cacheDir, 'create'), null, 'a file beyond ASCII (a Latin-1 string would misread UTF-8)');
  const empty = path.join(dir, 'e.js');
  fs.writeFileSync(empty, '');
  t.equal(compileBundle(empty, cacheDir, 'create'), null, 'an empty file');
  t.equal(compileBundle(dir, cacheDir, 'create'), null, 'a directory');
  const call = compileBundle as unknown as (...args: unknown[]) => unknown;
  t.equal(call(latin, cacheDir), null, 'too few arguments');
  t.equal(call(latin, 42, 'create'), null, 'an argument not a string');
});

/**
 * In a node of its own (one prefetch per process): prefetchBundles(files, cacheDirOfPrefetch,
 * 'exec'), then `between`, then compileBundle(file, cacheDir, command) of the first file; what
 * each said, and what the compiled file's `double(21)` returns.
 */
function prefetchInChild(
  files: string[],
  { prefetchDir = cacheDir, command = 'exec', between = '' } = {},
): { started: number; use: string; prefetched: boolean; doubled: number } {
  const script = `
    const addon = { exports: {} };
    process.dlopen(addon, ${JSON.stringify(LOADER)});
    const started = addon.exports.prefetchBundles(${JSON.stringify(files)}, ${JSON.stringify(prefetchDir)}, 'exec');
    ${between}
    const compiled = addon.exports.compileBundle(${JSON.stringify(files[0])}, ${JSON.stringify(cacheDir)}, ${JSON.stringify(command)});
    const module = { exports: {} };
    compiled.wrapper(module.exports, require, module, '', '');
    addon.exports.endPrefetch();
    console.log(JSON.stringify({ started, use: compiled.use, prefetched: compiled.prefetched, doubled: module.exports.double(21) }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new Error(`prefetch in a child: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** A bundle of `double` with its cache for 'exec' written, as a first run leaves it. */
function cachedBundle(name: string, body = 'exports.double = function (x) { return 2 * x; };\n'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, body);
  const compiled = compileBundle(file, cacheDir, 'exec')!;
  fs.writeFileSync(compiled.cacheFile, compiled.createCachedData());
  return file;
}

t.test('prefetchBundles: the cache is deserialized off the main thread, and compileBundle finishes it', async (t) => {
  const file = cachedBundle('p1.js');
  t.same(prefetchInChild([file]), { started: 1, use: 'used', prefetched: true, doubled: 42 });
  const aside = path.join(dir, 'aside', '..');
  fs.mkdirSync(path.join(dir, 'aside'), { recursive: true });
  t.same(
    prefetchInChild([file], { prefetchDir: path.join(aside, 'cache') }).prefetched,
    true,
    'the cache dir spelled another way: the same cache file, taken',
  );
  const missing = path.join(dir, 'none.js');
  t.same(prefetchInChild([file, missing]).started, 1, 'a missing file, or one without a cache, is not started');
});

t.test('a prefetch is used only for the very cache compileBundle would read', async (t) => {
  const file = cachedBundle('p2.js');
  t.same(prefetchInChild([file], { command: 'run' }), { started: 1, use: 'none', prefetched: false, doubled: 42 }, "another command's cache is not taken");
  const rewrite = `require('fs').writeFileSync(${JSON.stringify(file)}, 'exports.double = function (y) { return y + y; };\\n');`;
  t.same(prefetchInChild([file], { between: rewrite }), { started: 1, use: 'none', prefetched: false, doubled: 42 }, 'a file rewritten since: its new self compiled');
  cachedBundle('p2.js');
  const again = `addon.exports.prefetchBundles([${JSON.stringify(file)}], ${JSON.stringify(cacheDir)}, 'exec')`;
  t.same(prefetchInChild([file], { between: `if (${again} !== 0) throw new Error('a second prefetch started');` }).prefetched, true, 'one prefetch per process');
});

t.test('a prefetch never compiled: the process still exits cleanly, with or without endPrefetch', async (t) => {
  const file = cachedBundle('p3.js', 'exports.double = function (x) { return 2 * x; };\n'.repeat(2000));
  for (const end of ['loader.exports.endPrefetch();', '']) {
    const r = withLoader(`
      const n = loader.exports.prefetchBundles([${JSON.stringify(file)}], ${JSON.stringify(cacheDir)}, 'exec');
      ${end}
      process.stdout.write(String(n));
      process.exit(3);`);
    t.equal(r.status, 3, r.stderr);
    t.equal(r.stdout, '1');
  }
  const bad = withLoader(`
    const p = loader.exports.prefetchBundles;
    process.stdout.write([p('x', ${JSON.stringify(cacheDir)}, 'exec'), p([], ${JSON.stringify(cacheDir)}, 'exec'), p([1], 2, 'exec')].join(','));`);
  t.equal(bad.stdout, '0,0,0', 'arguments of the wrong type start nothing');
});

/** A node child that loads the loader first, as the entry does, then runs `body`; its result. */
function withLoader(body: string, stdin: 'pipe' | 'ignore' = 'ignore'): { status: number | null; stdout: string; stderr: string } {
  const script = `const loader = { exports: {} }; process.dlopen(loader, ${JSON.stringify(LOADER)});\n${body}`;
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000, env, stdio: [stdin, 'pipe', 'pipe'] });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('exitNow ends the process with its status, at once: no exit listener, no code after it runs', async (t) => {
  const r = withLoader(`
    process.on('exit', () => process.stdout.write('exit listener ran'));
    require('fs').writeSync(1, 'before;');
    loader.exports.exitNow(7);
    require('fs').writeSync(1, 'after;');`);
  t.equal(r.status, 7, r.stderr);
  t.equal(r.stdout, 'before;', 'what was written is there; nothing after it, no listener');
});

t.test('exitNow leaves the exit to process.exit once fds 0-2 are not as the process got them', async (t) => {
  // A stream over a pipe on fd 0 makes it O_NONBLOCK (libuv): Node's exit puts that back, _exit would not.
  const r = withLoader(`
    process.stdin.resume();
    const ended = loader.exports.exitNow(3);
    require('fs').writeSync(1, 'returned ' + ended);
    process.exit(4);`, 'pipe');
  t.equal(r.status, 4, r.stderr);
  t.equal(r.stdout, 'returned false');
  const bad = withLoader(`require('fs').writeSync(1, String(loader.exports.exitNow('x')));`);
  t.equal(bad.stdout, 'false', 'a status that is no integer is refused');
});
