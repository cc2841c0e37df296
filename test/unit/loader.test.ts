/**
 * native/loader/loader.c's readBundle, which the entry uses to read cold.js and its code cache:
 * the source comes back wrapped exactly as codeCache.ts wraps what Node reads (V8 takes a cache
 * only for a source of the same length), the cache is named as codeCache.ts names it, and a file
 * it will not take (missing, not ASCII, empty) gives null so that Node reads it instead.
 */
import t from 'tap';
import fs = require('fs');
import os = require('os');
import path = require('path');
import type { BundleReader } from '../../src/base/codeCache';
import { packageRoot } from '../../src/base/paths';

const addon = { exports: {} as { readBundle: BundleReader } };
process.dlopen(addon, path.join(packageRoot(), 'build', 'Release', 'runts_loader.node'));
const { readBundle } = addon.exports;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-loader-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const cacheDir = path.join(dir, 'cache');
fs.mkdirSync(cacheDir);

const HEAD = '(function (exports, require, module, __filename, __dirname) { ';
const TAIL = '\n});';

function cacheNameOf(file: string, command: string): string {
  const st = fs.statSync(file, { bigint: true });
  return path.join(cacheDir, `${path.basename(file)}-${st.ino}-${st.size}-${st.mtimeNs}-${command}.cache`);
}

t.test('a bundle: wrapped as a CommonJS function, the cache named after inode, size, mtime and command', async (t) => {
  const file = path.join(dir, 'a.js');
  const text = '"use strict";exports.answer=42;\n'.repeat(5000);
  fs.writeFileSync(file, text);
  const read = readBundle(file, cacheDir, 'create');
  t.ok(read, 'read');
  t.equal(read!.source, `${HEAD}${text}${TAIL}`);
  t.equal(read!.cacheFile, cacheNameOf(file, 'create'));
  t.equal(read!.cache, undefined, 'no cache yet');
  const wrapper = new (require('vm').Script)(read!.source).runInThisContext() as (e: { answer?: number }) => void;
  const exports: { answer?: number } = {};
  wrapper(exports);
  t.equal(exports.answer, 42, 'the source compiles and runs');
});

t.test('an existing cache comes back whole, as a Buffer', async (t) => {
  const file = path.join(dir, 'b.js');
  fs.writeFileSync(file, 'exports.b = 1;\n');
  const bytes = Buffer.alloc(200 * 1024 + 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
  fs.writeFileSync(cacheNameOf(file, 'exec'), bytes);
  const read = readBundle(file, cacheDir, 'exec');
  t.ok(Buffer.isBuffer(read!.cache), 'a Buffer');
  t.ok(read!.cache!.equals(bytes), 'byte for byte');
  t.equal(readBundle(file, cacheDir, 'delete')!.cache, undefined, "another command's cache is not taken");
});

t.test('a shebang line becomes a comment, as codeCache.ts makes it', async (t) => {
  const file = path.join(dir, 'c.js');
  fs.writeFileSync(file, '#!/usr/bin/env node\nexports.c = 1;\n');
  t.equal(readBundle(file, cacheDir, 'run')!.source, `${HEAD}//#!/usr/bin/env node\nexports.c = 1;\n${TAIL}`);
});

t.test('what it will not take gives null: Node reads it instead', async (t) => {
  t.equal(readBundle(path.join(dir, 'missing.js'), cacheDir, 'create'), null, 'a missing file');
  const latin = path.join(dir, 'd.js');
  fs.writeFileSync(latin, 'exports.d = "caf\u00e9";\n');
  t.equal(readBundle(latin, cacheDir, 'create'), null, 'a file beyond ASCII (a Latin-1 string would misread UTF-8)');
  const empty = path.join(dir, 'e.js');
  fs.writeFileSync(empty, '');
  t.equal(readBundle(empty, cacheDir, 'create'), null, 'an empty file');
  t.equal(readBundle(dir, cacheDir, 'create'), null, 'a directory');
});
