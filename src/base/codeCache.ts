/**
 * V8 code caches for the bundles the entry loads (dist/bundle/main.js, cold.js, commandRunner.js):
 * what Node 22's module.enableCompileCache() does, for Node 20.
 *
 * Without a cache, every call pre-parses the whole file and then compiles each function it runs
 * on first use; for create that was ~9 ms of a ~40 ms budget. The cache holds the bytecode of
 * the functions one successful run of a command actually compiled, so it is kept per command
 * (`create`, `delete`, ...) and written once, at the end of the first successful run that had
 * none (or whose cache V8 rejected: another node binary, other V8 flags).
 *
 * V8 checks its version and flags, but of the source only its length: a cache is therefore
 * named after the source file's inode, size and mtime (ns), so a rebuilt or edited file never
 * meets the cache of another. The caches live in dist/code-cache/ (./paths.ts; the build empties
 * dist/); where it is not writable, commands run uncached and say so under --debug.
 *
 * Files are compiled by the loader addon (native/loader/loader.cc) where it loads, else through
 * Node's fs and vm; the caches each writes are the other's. The entry compiles its own bundle
 * before this module exists and hands the result over (adoptEntryLoad). main.js, cold.js,
 * commandRunner.js and codeCache.js (the entry's way when the addon is missing) each contain
 * this module, so what it records is kept on globalThis, where all see the same.
 */
import fs = require('fs');
import path = require('path');

export type CodeCacheUse = 'used' | 'rejected' | 'none';

/** Node's CommonJS module function: what a bundle's source, wrapped, compiles to. */
export type CommonJsWrapper = (exports: unknown, require: NodeRequire, module: unknown, filename: string, dirname: string) => void;

/** A bundle compiled as a CommonJS function, with its cache where one was found. */
export interface CompiledBundle {
  wrapper: CommonJsWrapper;
  use: CodeCacheUse;
  /** Where its cache is (or is to be written). */
  cacheFile: string;
  /** The script's cache as it stands now (vm.Script's method of that name). */
  createCachedData(): Buffer;
  /** The loader had its cache deserialized off the main thread (the entry's prefetchBundles). */
  prefetched?: boolean;
}

/**
 * The loader addon's one-call compiler (native/loader/loader.cc): the same CompiledBundle as
 * compileThroughNode, or null for a file it will not take (the caller then compiles it through Node).
 */
export type BundleCompiler = (file: string, cacheDir: string, command: string) => CompiledBundle | null;

type Compiler = 'native' | 'node';

interface Registry {
  /** The command whose run the caches are for; no caching until it is set. */
  command?: string;
  compileBundle?: BundleCompiler;
  pending: CompiledBundle[];
  loaded: { file: string; use: CodeCacheUse; compiler: Compiler; prefetched: boolean }[];
}

const REGISTRY_KEY = Symbol.for('runts.codeCache');

function registry(): Registry {
  const g = globalThis as { [REGISTRY_KEY]?: Registry };
  return (g[REGISTRY_KEY] ??= { pending: [], loaded: [] });
}

/**
 * Caches made from now on are for `command` (a command name from the table); files are compiled
 * by `compileBundle` where it takes them.
 */
export function useCodeCacheFor(command: string, compileBundle?: BundleCompiler): void {
  const reg = registry();
  reg.command = command;
  reg.compileBundle ??= compileBundle;
}

/**
 * Drops the caches this run would write unless they are named for one of `commands`: a run of
 * `runts exec --help` runs none of exec's code, and a cache named for exec, written once and used
 * from then on, would leave every later exec compiling it.
 */
export function keepCodeCachesOnlyFor(commands: string[]): void {
  const reg = registry();
  if (reg.command === undefined || !commands.includes(reg.command)) reg.pending.length = 0;
}

/**
 * require(file) for a CommonJS file, through its code cache in `cacheDir` when a command is
 * set (useCodeCacheFor); a plain require() otherwise. The file gets the caller's `require` as
 * its own: every such file is a bundle beside its caller, which requires only Node built-ins
 * and node_modules. That spares loading the `module` builtin to build another require (~0.4 ms
 * of a short command).
 */
export function requireCached(file: string, cacheDir: string, callerRequire: NodeRequire): unknown {
  const reg = registry();
  if (reg.command === undefined) return require(file);
  const native = reg.compileBundle?.(file, cacheDir, reg.command);
  const compiled = native ?? compileThroughNode(file, cacheDir, reg.command);
  recordCompiled(file, compiled, native ? 'native' : 'node');
  const module = { exports: {} as unknown, filename: file, id: file, loaded: false };
  compiled.wrapper.call(module.exports, module.exports, callerRequire, module, file, path.dirname(file));
  module.loaded = true;
  return module.exports;
}

/** How the entry loaded its bundle, before this module existed (src/cli/entry.ts). */
export interface EntryLoad {
  command: string;
  compileBundle: BundleCompiler;
  file: string;
  compiled: CompiledBundle;
}

/** Takes over the entry's load of its bundle: the command, the compiler, and the bundle's cache to save. */
export function adoptEntryLoad({ command, compileBundle, file, compiled }: EntryLoad): void {
  useCodeCacheFor(command, compileBundle);
  recordCompiled(file, compiled, 'native');
}

function recordCompiled(file: string, compiled: CompiledBundle, compiler: Compiler): void {
  const reg = registry();
  reg.loaded.push({ file, use: compiled.use, compiler, prefetched: compiled.prefetched === true });
  if (compiled.use !== 'used') reg.pending.push(compiled);
}

/**
 * What the loader addon does, through Node's fs and vm: the cache is named after the source's
 * inode, size and mtime (ns), and a missing one is asked for first, since a thrown error costs.
 */
function compileThroughNode(file: string, cacheDir: string, command: string): CompiledBundle {
  const fd = fs.openSync(file, 'r');
  let source: string;
  let cacheFile: string;
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    source = fs.readFileSync(fd, 'utf8');
    cacheFile = path.join(cacheDir, `${path.basename(file)}-${st.ino}-${st.size}-${st.mtimeNs}-${command}.cache`);
  } finally {
    fs.closeSync(fd);
  }
  let cachedData: Buffer | undefined;
  try {
    if (fs.statSync(cacheFile, { throwIfNoEntry: false })) cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // Loaded here only: where the addon compiles, no command loads Node's vm module.
  const { Script } = require('vm') as typeof import('vm');
  const script = new Script(commonJsWrapped(source.startsWith('#!') ? `//${source}` : source), { filename: file, cachedData });
  return {
    wrapper: script.runInThisContext() as CommonJsWrapper,
    use: cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used',
    cacheFile,
    createCachedData: () => script.createCachedData(),
  };
}

/** Node's CommonJS wrapper (Module.wrap), on the source's first line: line numbers in stack traces hold. */
function commonJsWrapped(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

/** What requireCached did for each file, for --debug. */
export function codeCacheReport(): string[] {
  return registry().loaded.map(
    ({ file, use, compiler, prefetched }) => `code cache of ${path.basename(file)}: ${use} (compiled by ${compiler}${prefetched ? ', prefetched' : ''})`,
  );
}

/**
 * After a successful command: write the caches that were missing or rejected, each atomically
 * (concurrent first runs each write a whole file). Failures (a read-only install) are ignored.
 */
export function saveCodeCaches(): void {
  const reg = registry();
  for (const { createCachedData, cacheFile } of reg.pending.splice(0)) {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o755 });
      fs.writeFileSync(tmp, createCachedData(), { mode: 0o644 });
      fs.renameSync(tmp, cacheFile);
    } catch {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // never written
      }
    }
  }
}
