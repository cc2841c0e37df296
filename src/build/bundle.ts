/**
 * Bundles tsc's output into dist/bundle/ (`npm run build` ends with `npm run bundle`), so that a
 * command parses one file instead of compiling a module per require:
 *  - dist/bundle/runts.js: the binary (package.json's bin, src/cli/entry.ts): it loads the
 *    others through their V8 code caches (src/base/codeCache.ts);
 *  - dist/bundle/main.js: the CLI and the hot path (state, list, kill, start, help, version);
 *  - dist/bundle/cold.js: main.js's code with every command (src/cli/coldMain.ts), which
 *    runts.js loads instead of main.js for all but the hot commands (create, run, exec, delete ...);
 *  - dist/bundle/commandRunner.js: every command, for what main.js hands over (kill --all);
 *  - dist/bundle/warmup.js: the cgroup-attach head start, which the entry loads only where runts
 *    may write a pid into cgroup.procs (src/cli/entry.ts);
 *  - dist/bundle/validators.js: the generated validators, loaded through a code cache of their
 *    own (src/config/validate.ts), which the entry has deserialized off the main thread.
 * main.js stands apart because V8 pre-parses all of a file it loads: the cold commands (~250 KB
 * with the cgroup drivers) would cost the hot path more than one file saves. tsc's dist/src/ stays as it
 * is, so unit tests load the very modules the bundles are made of. Node built-ins and
 * node_modules stay external, and so does the addon, loaded by a computed path from
 * src/base/paths.ts.
 * The build fails if the hot bundle contains a module src/cli/hotPath.ts forbids (read from
 * esbuild's metafile), or any bundle is not ASCII (native/loader reads them as Latin-1).
 */
import fs = require('fs');
import path = require('path');
import { buildSync, transformSync, type BuildOptions } from 'esbuild';
import { packageRoot } from '../base/paths';
import { HOT_BUNDLE_EXTERNAL, HOT_BUNDLE_FORBIDDEN } from '../cli/hotPath';
import { SHEBANG_NODE_FLAGS } from '../cli/nodeFlags';

const DIST_SRC = path.join(packageRoot(), 'dist', 'src');
const BUNDLE_DIR = path.join(packageRoot(), 'dist', 'bundle');
const ENTRY = path.join(BUNDLE_DIR, 'runts.js');
const HOT = path.join(BUNDLE_DIR, 'main.js');

const common: BuildOptions = {
  absWorkingDir: path.join(DIST_SRC, 'cli'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
  // Comments and indentation out (names kept): every call reads its bundle whole, and 30% less
  // source made create and delete ~0.5 ms faster (two runs of 30 interleaved cycles).
  minifyWhitespace: true,
};

fs.rmSync(BUNDLE_DIR, { recursive: true, force: true });
buildSync({ ...common, entryPoints: ['commandRunner.js'], outfile: path.join(BUNDLE_DIR, 'commandRunner.js') });
const hot = buildSync({ ...common, entryPoints: ['main.js'], outfile: HOT, external: HOT_BUNDLE_EXTERNAL, metafile: true });
// The cgroup-attach head start is a file of its own (src/cli/warmup.ts), loaded by few calls: the
// others do not compile it with the entry, which runs without a code cache.
buildSync({ ...common, entryPoints: ['warmup.js'], outfile: path.join(BUNDLE_DIR, 'warmup.js') });
// The cold commands' bundle: main.js's code with commandRunner inside (src/cli/coldMain.ts).
// main.ts's require.resolve of commandRunner.js stays as written and is never reached from here.
buildSync({
  ...common,
  entryPoints: ['coldMain.js'],
  outfile: path.join(BUNDLE_DIR, 'cold.js'),
  logOverride: { 'require-resolve-not-external': 'silent' },
});
// The validators, tree-shaken: ajv's standalone code declares every schema as an object literal,
// and most are never read (their creation cost create ~0.1 ms).
const validatorsSource = fs.readFileSync(path.join(DIST_SRC, 'config', 'schema', 'validators.js'), 'utf8');
const validators = transformSync(validatorsSource, { format: 'cjs', treeShaking: true, minifyWhitespace: true, target: 'node20' });
fs.writeFileSync(path.join(BUNDLE_DIR, 'validators.js'), validators.code);
// The entry's way to compile through Node, where the loader addon is missing (src/cli/entry.ts).
buildSync({ ...common, entryPoints: ['../base/codeCache.js'], outfile: path.join(BUNDLE_DIR, 'codeCache.js') });
buildSync({ ...common, entryPoints: ['entry.js'], outfile: ENTRY, external: ['./main.js', './cold.js', './warmup.js', './codeCache.js'] });
// The entry is run directly (package.json's bin, a symlink on the PATH), by the node that builds
// it: the addons and code caches are built for that node anyway, and its path in the shebang
// spares every call env(1)'s exec and PATH search (~1 ms). A path the kernel cannot take in a
// shebang line (blanks, or beyond its 127 bytes in older kernels) falls back to env(1).
const nodeFlags = SHEBANG_NODE_FLAGS.join(' ');
const directShebang = `#!${process.execPath} ${nodeFlags}`;
const shebang = /\s/.test(process.execPath) || directShebang.length > 127 ? `#!/usr/bin/env -S node ${nodeFlags}` : directShebang;
const entryLines = fs.readFileSync(ENTRY, 'utf8').split('\n');
if (!entryLines[0].startsWith('#!')) throw new Error(`bundle: ${ENTRY} does not start with a shebang line`);
fs.writeFileSync(ENTRY, [shebang, ...entryLines.slice(1)].join('\n'));
fs.chmodSync(ENTRY, 0o755);
// Node looks up the package.json nearest the main script for its module type on every call; this
// one, beside it, ends the search before dist/ and the package's own larger package.json.
fs.writeFileSync(path.join(BUNDLE_DIR, 'package.json'), '{"type":"commonjs"}\n');

const inHotBundle = Object.keys(hot.metafile!.inputs).map((input) => path.relative(DIST_SRC, path.resolve(common.absWorkingDir!, input)));
const forbidden = inHotBundle.filter((module) => HOT_BUNDLE_FORBIDDEN.some((rule) => rule.test(module)));
if (forbidden.length > 0) {
  fs.rmSync(BUNDLE_DIR, { recursive: true, force: true });
  console.error(`bundle: the hot bundle (dist/bundle/main.js) must not contain ${forbidden.join(', ')} (see src/cli/hotPath.ts)`);
  process.exit(1);
}

// A source with one character beyond Latin-1 becomes a two-byte string in V8: twice the memory,
// and reading commandRunner.js took ~0.2 ms longer. Bundled code (comments included) stays ASCII.
for (const file of fs.readdirSync(BUNDLE_DIR)) {
  const lines = fs.readFileSync(path.join(BUNDLE_DIR, file), 'utf8').split('\n');
  const line = lines.findIndex((text) => /[^\x00-\x7f]/.test(text));
  if (line >= 0) {
    fs.rmSync(BUNDLE_DIR, { recursive: true, force: true });
    console.error(`bundle: dist/bundle/${file}:${line + 1} is not ASCII (write \\u escapes, or plain ASCII in comments): ${lines[line].trim()}`);
    process.exit(1);
  }
}
