/**
 * Command line parser driven by commandTable.ts, with Go's flag package semantics as runc
 * (urfave/cli v1) has them: `-flag` and `--flag` are the same, values as `--f v` or `--f=v`,
 * no short-flag clusters, `--` ends flags. Global flags stop at the command name.
 */
import { resolve } from 'path';
import { COMMAND_HELP_FLAG, GLOBAL_FLAGS, HELP_COMMAND, findCommand } from './commandTable';
import type { CommandSpec, FlagSpec } from './commandTable';
import type { FlagValue, GlobalOptions } from './context';
import { RuntimeError } from '../base/errors';
import { GO_INT_BASE0, parseGoIntBase0 } from '../base/formats';

export type Invocation =
  | { action: 'run'; globals: GlobalOptions; command: CommandSpec; flags: Record<string, FlagValue>; positionals: string[] }
  | { action: 'help'; globals: GlobalOptions; topic?: CommandSpec }
  | { action: 'version'; globals: GlobalOptions };

/** What follows the global flags. */
export interface GlobalsParse {
  globals: GlobalOptions;
  help: boolean;
  version: boolean;
  /** The command name and its arguments. */
  rest: string[];
}

interface Scan {
  values: Record<string, FlagValue>;
  positionals: string[];
}

/** How a scan treats arguments after the first positional. */
type ScanMode =
  /** Go's flag package: the first positional ends the flags. */
  | 'stop'
  /** urfave/cli's reordering: known flags are still read after positionals. */
  | 'interleave';

function flagIndex(flags: readonly FlagSpec[]): Map<string, FlagSpec> {
  const index = new Map<string, FlagSpec>();
  for (const flag of flags) {
    index.set(flag.name, flag);
    if (flag.short) index.set(flag.short, flag);
  }
  return index;
}

function initialValues(flags: readonly FlagSpec[]): Record<string, FlagValue> {
  const values: Record<string, FlagValue> = {};
  for (const flag of flags) {
    if (flag.type === 'boolean') values[flag.name] = false;
    else if (flag.type === 'string-array') values[flag.name] = [];
    else values[flag.name] = flag.default;
  }
  return values;
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** `typed` is the flag name as given (Go's errors quote it that way). */
function convert(flag: FlagSpec, typed: string, raw: string): FlagValue {
  if (flag.type === 'boolean') {
    if (GO_TRUE.has(raw)) return true;
    if (GO_FALSE.has(raw)) return false;
    throw new RuntimeError(`invalid boolean value ${JSON.stringify(raw)} for -${typed}: parse error`);
  }
  if (flag.type === 'number') {
    if (!GO_INT_BASE0.test(raw)) throw new RuntimeError(`invalid value ${JSON.stringify(raw)} for flag -${typed}: parse error`);
    return parseGoIntBase0(raw);
  }
  return raw;
}

function store(values: Record<string, FlagValue>, flag: FlagSpec, value: FlagValue): void {
  if (flag.type === 'string-array') (values[flag.name] as string[]).push(value as string);
  else values[flag.name] = value;
}

/**
 * Reads the flag at args[i] into `values`; returns how many arguments it used, or 0 when
 * args[i] is an unknown flag and `lenient` (it is then a positional, as in urfave/cli).
 */
function readFlag(args: string[], i: number, index: Map<string, FlagSpec>, values: Record<string, FlagValue>, lenient: boolean): number {
  const arg = args[i];
  const body = arg.slice(arg.startsWith('--') ? 2 : 1);
  if (body === '' || body.startsWith('-') || body.startsWith('=')) {
    if (lenient) return 0;
    throw new RuntimeError(`bad flag syntax: ${arg}`);
  }
  const eq = body.indexOf('=');
  const name = eq < 0 ? body : body.slice(0, eq);
  const flag = index.get(name);
  if (!flag) {
    if (lenient) return 0;
    throw new RuntimeError(`flag provided but not defined: -${name}`);
  }
  if (eq >= 0) {
    store(values, flag, convert(flag, name, body.slice(eq + 1)));
    return 1;
  }
  if (flag.type === 'boolean') {
    store(values, flag, true);
    return 1;
  }
  if (i + 1 >= args.length) throw new RuntimeError(`flag needs an argument: -${name}`);
  store(values, flag, convert(flag, name, args[i + 1]));
  return 2;
}

function isFlagLike(arg: string): boolean {
  return arg.length > 1 && arg.startsWith('-');
}

function scan(args: string[], flags: FlagSpec[], mode: ScanMode): Scan {
  const index = flagIndex(flags);
  const values = initialValues(flags);
  const positionals: string[] = [];
  for (let i = 0; i < args.length; ) {
    const arg = args[i];
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!isFlagLike(arg)) {
      if (mode === 'stop') {
        positionals.push(...args.slice(i));
        break;
      }
      positionals.push(arg);
      i++;
      continue;
    }
    const used = readFlag(args, i, index, values, positionals.length > 0);
    if (used === 0) positionals.push(arg);
    i += Math.max(used, 1);
  }
  return { values, positionals };
}

function toGlobals(values: Record<string, FlagValue>): GlobalOptions {
  const logFormat = values['log-format'] as string;
  if (logFormat !== 'text' && logFormat !== 'json' && logFormat !== '') {
    throw new RuntimeError(`invalid log-format: ${logFormat}`);
  }
  return {
    root: resolve(values.root as string),
    log: (values.log as string | undefined) || undefined,
    logFormat: logFormat === 'json' ? 'json' : 'text',
    debug: values.debug as boolean,
    systemdCgroup: values['systemd-cgroup'] as boolean,
    rootless: values.rootless as string,
    criu: values.criu as string,
  };
}

/** The globals when none are given (the table's defaults). */
export function defaultGlobals(): GlobalOptions {
  return toGlobals(initialValues(GLOBAL_FLAGS));
}

export function parseGlobals(argv: string[]): GlobalsParse {
  const { values, positionals } = scan(argv, GLOBAL_FLAGS, 'stop');
  return {
    globals: toGlobals(values),
    help: values.help as boolean,
    version: values.version as boolean,
    rest: positionals,
  };
}

/** runc's checkArgs wording. */
function checkArgCount(command: CommandSpec, count: number): void {
  const { min, max } = command.args;
  const prefix = `runts: "${command.name}" requires`;
  if (min === max && count !== min) throw new RuntimeError(`${prefix} exactly ${min} argument(s)`);
  if (count < min) throw new RuntimeError(`${prefix} a minimum of ${min} argument(s)`);
  if (count > max) throw new RuntimeError(`${prefix} a maximum of ${max} argument(s)`);
}

/** runc (urfave/cli) answers an unknown command, with or without -h, this way and exits 3. */
export const UNKNOWN_COMMAND_EXIT = 3;

function unknownCommand(name: string): RuntimeError {
  return new RuntimeError(`No help topic for '${name}'`, UNKNOWN_COMMAND_EXIT);
}

function helpTopic(globals: GlobalOptions, args: string[]): Invocation {
  if (args.length === 0) return { action: 'help', globals };
  const topic = findCommand(args[0]);
  if (!topic) throw unknownCommand(args[0]);
  return { action: 'help', globals, topic };
}

/** Parses the command name and its arguments (what follows the global flags). */
export function parseCommand(parsed: GlobalsParse): Invocation {
  const { globals, rest } = parsed;
  if (parsed.help) return { action: 'help', globals };
  if (parsed.version) return { action: 'version', globals };
  if (rest.length === 0) return { action: 'help', globals };
  const [name, ...args] = rest;
  if (name === HELP_COMMAND.name || HELP_COMMAND.aliases.includes(name)) return helpTopic(globals, args);
  const command = findCommand(name);
  if (!command) throw unknownCommand(name);
  const { values, positionals } = scan(args, [...command.flags, COMMAND_HELP_FLAG], command.stopAtFirstPositional ? 'stop' : 'interleave');
  if (values.help) return { action: 'help', globals, topic: command };
  delete values.help;
  checkArgCount(command, positionals.length);
  return { action: 'run', globals, command, flags: values, positionals };
}

/** The whole command line (without node and the script path). */
export function parseArgv(argv: string[]): Invocation {
  return parseCommand(parseGlobals(argv));
}
