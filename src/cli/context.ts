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

/** What every command receives: parsed globals, its own flags, its positionals. */
export interface CommandContext {
  globals: GlobalOptions;
  flags: Record<string, FlagValue>;
  positionals: string[];
  log: Logger;
}

/** Each src/cli/commands/<name>.ts exports `run` with this signature; the result is the exit status. */
export type CommandMain = (ctx: CommandContext) => Promise<number> | number;
