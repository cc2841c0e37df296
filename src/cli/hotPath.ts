/**
 * The hot path, said once: the commands dist/bundle/runts.js runs itself (what containerd and
 * friends call most: state, list, kill, start; and help and version), and what its bundle must
 * never contain. Everything else is handed to commandRunner (dist/bundle/commandRunner.js).
 * src/build/bundle.ts reads this file to build the two bundles and fails the build when the hot
 * one pulls in a module it must not.
 */
import type { Invocation } from './argv';
import type { CommandMain } from './context';

/**
 * The hot commands, by their table `module`. Literal require() calls, so the bundler puts them
 * in the hot bundle, each evaluated only when selected.
 */
export const HOT_COMMANDS: Record<string, () => { run: CommandMain }> = {
  './commands/kill': () => require('./commands/kill'),
  './commands/list': () => require('./commands/list'),
  './commands/start': () => require('./commands/start'),
  './commands/state': () => require('./commands/state'),
};

/** The hot command to run for `invocation`, or undefined to hand it to commandRunner. */
export function hotCommand(invocation: Extract<Invocation, { action: 'run' }>): (() => { run: CommandMain }) | undefined {
  // kill --all signals through the cgroup drivers, which stay out of the hot bundle.
  if (invocation.command.name === 'kill' && invocation.flags.all === true) return undefined;
  return HOT_COMMANDS[invocation.command.module];
}

/**
 * require() specifiers, as written in hot modules, that the hot bundle leaves as run-time
 * requires: commandRunner (the cold bundle, beside runts.js) and the cgroup drivers that
 * src/container/kill.ts loads for --all only (which never runs from the hot bundle).
 */
export const HOT_BUNDLE_EXTERNAL = ['./commandRunner.js', '../cgroups'];

/**
 * Modules (paths under dist/src/) the hot bundle must not contain: the cgroup drivers (only the
 * freezer probe and the path rules are allowed), the plan, the init protocol, config loading and
 * validation, and the container operations other than start, kill and status (and the intents
 * the store reads).
 */
export const HOT_BUNDLE_FORBIDDEN: RegExp[] = [
  /^cgroups\/(?!frozen\.js$|path\.js$)/,
  /^plan\//,
  /^init\//,
  /^config\/(?!default\.js$|types\.js$)/,
  // intent.js: the store reads a create intent as the record of a container being created.
  /^container\/(?!start\.js$|kill\.js$|status\.js$|hooks\.js$|intent\.js$)/,
  /^cli\/commandRunner\.js$/,
];
