/**
 * The CLI: parse → logger → require only the selected command → exit status (entry.ts, the
 * binary, loads this file's bundle through its code cache).
 * The hot path (state, list, kill, start, help, version) loads nothing but the table, argv,
 * log, state and the command module; every other command is handed, parsed, to
 * commandRunner.ts. src/build/bundle.ts makes each of the two files one bundle, so the hot path
 * never parses the code of the others.
 */
import { defaultGlobals, parseCommand, parseGlobals } from './argv';
import type { Invocation } from './argv';
import { hotCommand } from './hotPath';
import { report } from '../base/errors';
import { createLogger, printOut } from '../base/log';
import type { Logger } from '../base/log';
import { codeCacheDir } from '../base/paths';
import { adoptEntryLoad, codeCacheReport, keepCodeCachesOnlyFor, requireCached, saveCodeCaches, useCodeCacheFor } from '../base/codeCache';
import type { EntryLoad } from '../base/codeCache';

function loadHelp(): typeof import('./help') {
  return require('./help') as typeof import('./help');
}

async function dispatch(invocation: Invocation, log: Logger): Promise<number> {
  // The entry named the caches after its guess (`runts exec --help` guesses exec).
  if (invocation.action !== 'run') keepCodeCachesOnlyFor(['none', 'help']);
  if (invocation.action === 'help') {
    printOut(loadHelp().helpText(invocation.topic));
    return 0;
  }
  if (invocation.action === 'version') {
    printOut(loadHelp().versionText());
    return 0;
  }
  const hot = hotCommand(invocation);
  if (!hot) return runCold(invocation, log);
  return hot().run({ globals: invocation.globals, flags: invocation.flags, positionals: invocation.positionals, log });
}

type CommandRunner = typeof import('./commandRunner');
let bundledRunner: CommandRunner | undefined;

/** The cold bundle (coldMain.ts) holds commandRunner itself and hands it over here. */
export function useBundledRunner(runner: CommandRunner): void {
  bundledRunner = runner;
}

/** Every other command: from the cold bundle, or commandRunner through its code cache (../base/codeCache.ts). */
async function runCold(invocation: Extract<Invocation, { action: 'run' }>, log: Logger): Promise<number> {
  useCodeCacheFor(invocation.command.name);
  // With its extension: Node's resolution would try "commandRunner" first (~0.1 ms).
  const runner = bundledRunner ?? (requireCached(require.resolve('./commandRunner.js'), codeCacheDir(), require) as CommandRunner);
  return runner.runCommand(invocation, log);
}

/**
 * Runs the command argv names; its exit status. `entryLoad` is how the entry compiled this
 * bundle, when it did so itself (src/cli/entry.ts). The code caches a successful run made are
 * written before it returns.
 */
export async function main(argv: string[], entryLoad?: EntryLoad): Promise<number> {
  if (entryLoad) adoptEntryLoad(entryLoad);
  // Until the globals parse, errors go to stderr as text.
  let log = createLogger(defaultGlobals());
  try {
    const parsed = parseGlobals(argv);
    log = createLogger(parsed.globals);
    const status = await dispatch(parseCommand(parsed), log);
    for (const line of codeCacheReport()) log.debug(line);
    if (status === 0) saveCodeCaches();
    return status;
  } catch (err) {
    return report(err, log);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((status) => process.exit(status));
}
