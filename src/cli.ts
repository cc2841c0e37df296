#!/usr/bin/env node
/**
 * runts entry point: parse → logger → require only the selected command → exit status.
 * The hot path (state, kill, start, delete, list) loads nothing but the table, argv, log,
 * state and the command module: every other module is required lazily.
 */
import { defaultGlobals, parseCommand, parseGlobals } from './argv';
import type { Invocation } from './argv';
import type { CommandMain } from './context';
import { RuntimeError } from './errors';
import { createLogger, oneLine, printOut } from './log';
import type { Logger } from './log';

function describe(err: unknown): string {
  if (err instanceof Error) return oneLine(err.message || String(err));
  return oneLine(String(err));
}

/** Reports a failed command the way runc's fatal() does; returns the exit status. */
function report(err: unknown, log: Logger): number {
  // An unexpected error's stack is logged at debug level, so only with --debug.
  if (!(err instanceof RuntimeError) && err instanceof Error && err.stack) log.debug(err.stack);
  log.fatal(describe(err));
  return err instanceof RuntimeError ? err.exitCode : 1;
}

function loadHelp(): typeof import('./help') {
  return require('./help') as typeof import('./help');
}

async function dispatch(invocation: Invocation, log: Logger): Promise<number> {
  if (invocation.action === 'help') {
    printOut(loadHelp().helpText(invocation.topic));
    return 0;
  }
  if (invocation.action === 'version') {
    printOut(loadHelp().versionText());
    return 0;
  }
  const command = (require(invocation.command.module) as { run: CommandMain }).run;
  return command({ globals: invocation.globals, flags: invocation.flags, positionals: invocation.positionals, log });
}

export async function main(argv: string[]): Promise<number> {
  // Until the globals parse, errors go to stderr as text.
  let log = createLogger(defaultGlobals());
  try {
    const parsed = parseGlobals(argv);
    log = createLogger(parsed.globals);
    return await dispatch(parseCommand(parsed), log);
  } catch (err) {
    return report(err, log);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((status) => process.exit(status));
}
