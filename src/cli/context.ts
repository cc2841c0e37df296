import type { Logger } from '../base/log';

/** runc's global options, parsed before the command name. */
export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  /** "true", "false" or "auto" as runc takes it. */
  rootless: string;
  criu: string;
}

export type FlagValue = string | boolean | number | string[] | undefined;

/**
 * What every command receives: parsed globals, its own flags, its positionals. A command
 * declares its flags' shape from the table: `CommandContext<FlagsOf<'exec'>>`.
 */
export interface CommandContext<Flags = Readonly<Record<string, FlagValue>>> {
  globals: GlobalOptions;
  flags: Flags;
  positionals: string[];
  log: Logger;
}

/**
 * Each src/cli/commands/<name>.ts exports `run` with this signature; the result is the exit
 * status. The dispatch tables hold every command's run at once, so they see `any` flags:
 * argv.ts filled them from the same table entry the command's own type is read from.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandMain<Flags = any> = (ctx: CommandContext<Flags>) => Promise<number> | number;
