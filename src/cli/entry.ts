#!/usr/bin/env node
/**
 * The binary (package.json's bin, dist/bundle/runts.js): a few lines that load the rest of the
 * CLI (dist/bundle/main.js for the hot commands, cold.js for the others) through V8 code caches
 * (../base/codeCache.ts), so no call pays for compiling runts' own code twice. Caches are kept
 * per command; the command is guessed here from argv without the command table (a wrong guess
 * only names another cache file), and caches are written after a successful run.
 */
import path = require('path');
import { codeCacheDir, requireCached, saveCodeCaches, useCodeCacheFor, type BundleReader } from '../base/codeCache';
import { MODULE_DIR, packageRoot } from '../base/paths';
import { nativeBuildDir } from '../native';

/** runc's global flags that take a value (commandTable's GLOBAL_FLAGS of type string). */
const VALUE_FLAGS = new Set(['--root', '-root', '--log', '-log', '--log-format', '-log-format', '--criu', '-criu', '--rootless', '-rootless']);

/** The command argv names, or "none": the first argument that is neither a flag nor a flag's value. */
function commandGuess(argv: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (VALUE_FLAGS.has(arg)) i++;
    else if (!arg.startsWith('-')) return /^[a-z]{1,20}$/.test(arg) ? arg : 'other';
  }
  return 'none';
}

const argv = process.argv.slice(2);
const command = commandGuess(argv);
// Where runts itself writes a pid into a cgroup.procs file, the kernel's wait for it is worth
// starting now (../cgroups/warmup.ts): create and run with --systemd-cgroup. Elsewhere the
// container's process joins by itself, and warmup.js (~1.7 ms with its probe of the hierarchy)
// is not even loaded.
if ((command === 'create' || command === 'run') && process.getuid?.() === 0 && argv.some((arg) => /^--?systemd-cgroup/.test(arg))) {
  (require('./warmup.js') as typeof import('./warmup')).warmCgroupAttach();
}
/**
 * The commands main.js runs itself (src/cli/hotPath.ts), and no command (help, version). Every
 * other one loads cold.js, main.js's code with every command in it; a wrong guess loads the
 * other bundle, which runs the command all the same.
 */
const HOT_GUESSES = new Set(['state', 'list', 'kill', 'start', 'none', 'help']);

/**
 * The addon that reads a bundle and its cache in one call (native/loader/loader.c), or undefined
 * where it is missing (a tree built without it): Node's fs then reads them, for cold.js (350 KB)
 * ~0.7 ms slower; for main.js (60 KB) about what loading the addon costs (~0.1 ms).
 */
function bundleReader(): BundleReader | undefined {
  const addon = { exports: {} as { readBundle?: BundleReader } };
  try {
    process.dlopen(addon, path.join(nativeBuildDir(), 'runts_loader.node'));
  } catch {
    return undefined;
  }
  return addon.exports.readBundle;
}

useCodeCacheFor(command, bundleReader());
// The bundles lie beside this one: named, not resolved (Node's resolution of './main.js' cost ~0.3 ms).
const bundle = path.join(MODULE_DIR, HOT_GUESSES.has(command) ? 'main.js' : 'cold.js');
const cli = requireCached(bundle, codeCacheDir(packageRoot()), require) as typeof import('./main');
cli.main(argv).then((status) => {
  if (status === 0) saveCodeCaches();
  process.exit(status);
});
