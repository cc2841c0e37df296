/**
 * `--help`, `help [command]` and `--version`, laid out like runc's (urfave/cli) help and
 * generated from commandTable.ts. Loaded only for those actions.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { COMMANDS, GLOBAL_FLAGS, HELP_COMMAND } from './commandTable';
import type { CommandSpec, FlagSpec } from './commandTable';
import { packageRoot } from '../base/paths';
import { SPEC_VERSION } from '../config/default';

const INDENT = '   ';

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function packageVersion(): string {
  const text = readText(join(packageRoot(), 'package.json'));
  return (text && (JSON.parse(text) as { version?: string }).version) || 'unknown';
}

/** The checkout's HEAD commit, read from .git without running git; "unknown" outside one. */
function gitCommit(): string {
  const gitDir = join(packageRoot(), '.git');
  const head = readText(join(gitDir, 'HEAD'));
  if (!head) return 'unknown';
  if (!head.startsWith('ref: ')) return head.slice(0, 7);
  const ref = head.slice(5);
  const hash = readText(join(gitDir, ref)) ?? packedRef(gitDir, ref);
  return hash ? hash.slice(0, 7) : 'unknown';
}

function packedRef(gitDir: string, ref: string): string | undefined {
  const line = readText(join(gitDir, 'packed-refs'))?.split('\n').find((l) => l.endsWith(' ' + ref));
  return line?.split(' ')[0];
}

export function versionText(): string {
  return `runts version ${packageVersion()}\ncommit: ${gitCommit()}\nspec: ${SPEC_VERSION}\n`;
}

/** Rows of two columns, the first padded to a common width as urfave/cli's tabwriter does. */
function twoColumns(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `${INDENT}${left.padEnd(width)}  ${right}`.trimEnd() + '\n').join('');
}

function flagLabel(flag: FlagSpec): string {
  const value = flag.type === 'boolean' ? '' : ' value';
  const names = [`--${flag.name}${value}`];
  if (flag.short) names.push(`-${flag.short}${value}`);
  return names.join(', ');
}

function flagText(flag: FlagSpec): string {
  const shown = flag.default !== undefined && flag.default !== '' ? ` (default: ${JSON.stringify(flag.default)})` : '';
  return flag.description + shown;
}

function flagRows(flags: readonly FlagSpec[]): string {
  return twoColumns(flags.filter((f) => !f.hidden).map((f): [string, string] => [flagLabel(f), flagText(f)]));
}

function section(title: string, body: string): string {
  return `${title}:\n${body}\n`;
}

export function appHelp(): string {
  const commands = [...COMMANDS].sort((a, b) => a.name.localeCompare(b.name));
  const rows: [string, string][] = commands.map((c) => [[c.name, ...(c.aliases ?? [])].join(', '), c.summary]);
  rows.push([[HELP_COMMAND.name, ...HELP_COMMAND.aliases].join(', '), HELP_COMMAND.summary]);
  return [
    section('NAME', `${INDENT}runts - Open Container Initiative runtime (a drop-in for runc)\n`),
    section('USAGE', `${INDENT}runts [global options] command [command options] [arguments...]\n`),
    section('VERSION', `${INDENT}${packageVersion()}\n`),
    section('COMMANDS', twoColumns(rows)),
    section('GLOBAL OPTIONS', flagRows(GLOBAL_FLAGS)),
  ].join('');
}

export function commandHelp(command: CommandSpec): string {
  const options = command.flags.length > 0 ? ' [command options]' : '';
  const usage = `runts ${command.name}${options}${command.usage ? ' ' + command.usage : ''}`;
  const parts = [
    section('NAME', `${INDENT}runts ${command.name} - ${command.summary}\n`),
    section('USAGE', `${INDENT}${usage}\n`),
  ];
  if (command.description) parts.push(section('DESCRIPTION', command.description.replace(/^/gm, INDENT) + '\n'));
  if (command.flags.length > 0) parts.push(section('OPTIONS', flagRows(command.flags)));
  return parts.join('');
}

/** The help text for `topic`, or the whole command list without one. */
export function helpText(topic?: CommandSpec): string {
  return (topic ? commandHelp(topic) : appHelp()).trimEnd() + '\n';
}
