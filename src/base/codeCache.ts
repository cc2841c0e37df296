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
 * meets the cache of another. The caches live in dist/code-cache/ (the build empties dist/);
 * where it is not writable, commands run uncached and say so under --debug.
 *
 * Both bundles (runts.js and commandRunner.js) contain this module, so the list of scripts to
 * save is kept on globalThis, where both see the same one.
 */
import fs = require('fs');
import path = require('path');
import { Script } from 'vm';

export type CodeCacheUse = 'used' | 'rejected' | 'none' | 'off';

/** A file ready to compile: its source wrapped as a CommonJS function, and its cache if any. */
export interface BundleRead {
  source: string;
  cacheFile: string;
  cache?: Buffer;
}

/**
 * The addon's one-call reader (native/loader/loader.c): the same BundleRead as readThroughNode,
 * or null for a file it will not take (the caller then reads it through Node).
 */
export type BundleReader = (file: string, cacheDir: string, command: string) => BundleRead | null;

interface Pending {
  script: Script;
  cacheFile: string;
}

interface Registry {
  /** The command whose run the caches are for; no caching until it is set. */
  command?: string;
  readBundle?: BundleReader;
  pending: Pending[];
  loaded: { file: string; use: CodeCacheUse; reader: 'native' | 'node' }[];
}

const REGISTRY_KEY = Symbol.for('runts.codeCache');

function registry(): Registry {
  const g = globalThis as { [REGISTRY_KEY]?: Registry };
  return (g[REGISTRY_KEY] ??= { pending: [], loaded: [] });
}

/** Where a package keeps its caches: dist/code-cache/, beside dist/bundle/ and dist/src/. */
export function codeCacheDir(packageRoot: string): string {
  return path.join(packageRoot, 'dist', 'code-cache');
}

/**
 * Caches made from now on are for `command` (a command name from the table); files are read by
 * `readBundle` where it takes them.
 */
export function useCodeCacheFor(command: string, readBundle?: BundleReader): void {
  const reg = registry();
  reg.command = command;
  reg.readBundle ??= readBundle;
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
  const native = reg.readBundle?.(file, cacheDir, reg.command);
  const { source, cacheFile, cache: cachedData } = native ?? readThroughNode(file, cacheDir, reg.command);
  const script = new Script(source, { filename: file, cachedData });
  const use: CodeCacheUse = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  reg.loaded.push({ file, use, reader: native ? 'native' : 'node' });
  if (use !== 'used') reg.pending.push({ script, cacheFile });
  const module = { exports: {} as unknown, filename: file, id: file, loaded: false };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, callerRequire, module, file, path.dirname(file));
  module.loaded = true;
  return module.exports;
}

/**
 * The reading readBundle does, through Node's fs: the cache is named after the source's inode,
 * size and mtime (ns), and a missing one is asked for first, since a thrown error costs.
 */
function readThroughNode(file: string, cacheDir: string, command: string): BundleRead {
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
  let cache: Buffer | undefined;
  try {
    if (fs.statSync(cacheFile, { throwIfNoEntry: false })) cache = fs.readFileSync(cacheFile);
  } catch {
    cache = undefined;
  }
  return { source: commonJsWrapped(source.startsWith('#!') ? `//${source}` : source), cacheFile, cache };
}

/** Node's CommonJS wrapper (Module.wrap), on the source's first line: line numbers in stack traces hold. */
function commonJsWrapped(source: string): string {
  return `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
}

/** What requireCached did for each file, for --debug. */
export function codeCacheReport(): string[] {
  return registry().loaded.map(({ file, use, reader }) => `code cache of ${path.basename(file)}: ${use} (read by ${reader})`);
}

/**
 * After a successful command: write the caches that were missing or rejected, each atomically
 * (concurrent first runs each write a whole file). Failures (a read-only install) are ignored.
 */
export function saveCodeCaches(): void {
  const reg = registry();
  for (const { script, cacheFile } of reg.pending.splice(0)) {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o755 });
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o644 });
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
