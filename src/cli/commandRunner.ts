/**
 * Runs any command of the table, by its `module`: main.ts hands it every command but the hot
 * ones. Bundled apart from main.ts (dist/bundle/commandRunner.js, see src/build/bundle.ts); what
 * it throws is reported by main.ts, which recognises a RuntimeError by its brand.
 */
import type { Invocation } from './argv';
import type { CommandMain } from './context';
import type { Logger } from '../base/log';

/** Literal require() calls, so the bundler puts every command in this file's bundle. */
export const COMMAND_MODULES: Record<string, () => { run: CommandMain }> = {
  './commands/checkpoint': () => require('./commands/checkpoint'),
  './commands/create': () => require('./commands/create'),
  './commands/delete': () => require('./commands/delete'),
  './commands/events': () => require('./commands/events'),
  './commands/exec': () => require('./commands/exec'),
  './commands/features': () => require('./commands/features'),
  './commands/kill': () => require('./commands/kill'),
  './commands/list': () => require('./commands/list'),
  './commands/pause': () => require('./commands/pause'),
  './commands/ps': () => require('./commands/ps'),
  './commands/restore': () => require('./commands/restore'),
  './commands/resume': () => require('./commands/resume'),
  './commands/run': () => require('./commands/run'),
  './commands/spec': () => require('./commands/spec'),
  './commands/start': () => require('./commands/start'),
  './commands/state': () => require('./commands/state'),
  './commands/update': () => require('./commands/update'),
  './commands/validate': () => require('./commands/validate'),
};

export async function runCommand(invocation: Extract<Invocation, { action: 'run' }>, log: Logger): Promise<number> {
  const { run } = COMMAND_MODULES[invocation.command.module]();
  return run({ globals: invocation.globals, flags: invocation.flags, positionals: invocation.positionals, log });
}
