#!/usr/bin/env node
/**
 * The binary (package.json's bin, dist/bundle/runts.js): loads the rest of the CLI through a V8
 * code cache (../base/codeCache.ts), dist/bundle/main.js for the hot commands and cold.js for
 * the others. Caches are kept per command; the command is guessed here from argv without the
 * command table (a wrong guess only names another cache file).
 *
 * This file alone is compiled afresh by every call, and so is each function it calls: it is
 * straight-line code with no module of runts' own in it but ./nodeFlags.ts and ../native (which
 * loads the addon, through ../base/paths.ts).
 * The loader addon (native/loader/loader.cc) compiles the bundle; main.js then takes over its
 * record (adoptEntryLoad). Without the addon, codeCache.js does it all through Node (~0.5 ms
 * more). The first line is rewritten by the build (src/build/bundle.ts).
 */
import type { BundleCompiler, EntryLoad } from '../base/codeCache';

type Cli = typeof import('./main');

interface Loader {
  compileBundle?: BundleCompiler;
  prefetchBundles?: (files: string[], cacheDir: string, command: string) => number;
  endPrefetch?: () => void;
  exitNow?: (status: number) => boolean;
}

const argv = process.argv.slice(2);

// The command argv names, or "none": the first argument that is neither a flag nor the value of
// one of runc's global flags that take one (commandTable's GLOBAL_FLAGS of type string).
const VALUE_FLAGS = ['--root', '-root', '--log', '-log', '--log-format', '-log-format', '--criu', '-criu', '--rootless', '-rootless'];
let command = 'none';
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  if (VALUE_FLAGS.includes(arg)) i++;
  else if (!arg.startsWith('-')) {
    command = /^[a-z]{1,20}$/.test(arg) ? arg : 'other';
    break;
  }
}

// The hot commands (src/cli/hotPath.ts) and no command (help, version) run from main.js; every
// other one from cold.js, main.js's code with every command in it. A wrong guess loads the other
// bundle, which runs the command all the same.
const HOT_GUESSES = ['state', 'list', 'kill', 'start', 'none', 'help'];
const hot = HOT_GUESSES.includes(command);
// This file is dist/bundle/runts.js wherever it runs from. The paths below are ../base/paths.ts's,
// spelled out: they are needed before the first require(), so that what the requires cost
// (~0.35 ms of create, ../base/paths.ts's own included) is spent while the caches deserialize.
const file = `${__dirname}/${hot ? 'main.js' : 'cold.js'}`;
const packageDir = `${__dirname}/../..`;
const cacheDir = `${packageDir}/dist/code-cache`;

const loader = { exports: {} as Loader };
try {
  process.dlopen(loader, `${packageDir}/build/Release/runts_loader.node`);
} catch {
  // Missing, or built for another node: codeCache.js compiles through Node below.
}
const compileBundle = loader.exports.compileBundle;
// A cold command's caches (cold.js's, ~1.4 ms, and the validators' that create, run and exec
// read later) are deserialized on the loader's thread from here on, while this one does what
// follows: requires, the addon that create, run, exec and delete call first (~0.3 ms), the
// cgroup warm-up. compileBundle then only finishes what that thread did.
if (!hot && compileBundle) loader.exports.prefetchBundles?.([file, `${__dirname}/validators.js`], cacheDir, command);

const { SHEBANG_NODE_FLAGS } = require('./nodeFlags') as typeof import('./nodeFlags');
const ADDON_GUESSES = ['create', 'run', 'exec', 'delete'];
if (ADDON_GUESSES.includes(command) && compileBundle) (require('../native') as typeof import('../native')).native();

// Where runts itself writes a pid into a cgroup.procs file, the kernel's wait for it is worth
// starting now (../cgroups/warmup.ts): create and run with --systemd-cgroup. Elsewhere the
// container's process joins by itself, and warmup.js (~1.7 ms with its probe of the hierarchy)
// is not even loaded.
if ((command === 'create' || command === 'run') && process.getuid?.() === 0 && argv.some((arg) => /^--?systemd-cgroup/.test(arg))) {
  (require('./warmup.js') as typeof import('./warmup')).warmCgroupAttach();
}

const compiled = compileBundle?.(file, cacheDir, command);
// What main.js takes over (adoptEntryLoad): the loader compiled its bundle.
const entryLoad: EntryLoad | undefined = compileBundle && compiled ? { command, compileBundle, file, compiled } : undefined;

let cli: Cli;
if (entryLoad) {
  const module = { exports: {} as Cli, filename: file, id: file, loaded: true };
  entryLoad.compiled.wrapper.call(module.exports, module.exports, require, module, file, __dirname);
  cli = module.exports;
} else {
  const codeCache = require('./codeCache.js') as typeof import('../base/codeCache');
  codeCache.useCodeCacheFor(command, compileBundle);
  cli = codeCache.requireCached(file, cacheDir, require) as Cli;
}
// process.exit ends in exit(3): Node stops its platform's threads, OpenSSL cleans up, destructors
// run, ~0.7 ms of every call. Where nothing is left for them to do, the loader ends the process
// with _exit(2) instead: no 'exit' listener, no flag but the shebang's and no NODE_OPTIONS (a
// profile or coverage is written at exit), and fds 0-2 as the process got them, which exitNow
// checks itself.
const onlyShebangFlags = process.execArgv.every((flag) => SHEBANG_NODE_FLAGS.includes(flag));
const exitNow =
  onlyShebangFlags && process.env.NODE_OPTIONS === undefined && process.env.NODE_V8_COVERAGE === undefined ? loader.exports.exitNow : undefined;
cli.main(argv, entryLoad).then((status) => {
  // A deserialization still running (a command that failed before validating) ends first.
  loader.exports.endPrefetch?.();
  if (exitNow && process.listenerCount('exit') === 0) exitNow(status);
  process.exit(status);
});
