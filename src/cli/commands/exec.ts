/** `runts exec [flags] <id> <command> [args…]` or `runts exec --process FILE <id>`. */
import fs = require('fs');
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { execProcess, parseSubCgroups } from '../../container/exec';
import { RuntimeError } from '../../base/errors';
import { foldKeys } from '../../config/keys';
import { validateProcess } from '../../config/validate';
import type { Process } from '../../config/types';
import { openStore } from '../../state/store';

/** runc exits 255 when exec itself fails, so callers can tell it from the process's own status. */
export const EXEC_FAILED = 255;

export async function run(ctx: CommandContext<FlagsOf<'exec'>>): Promise<number> {
  try {
    return await execFromContext(ctx);
  } catch (err) {
    throw new RuntimeError(`exec failed: ${(err as Error).message ?? String(err)}`, EXEC_FAILED);
  }
}

async function execFromContext(ctx: CommandContext<FlagsOf<'exec'>>): Promise<number> {
  const [id, ...args] = ctx.positionals;
  const process = ctx.flags.process ? readProcessFile(ctx.flags.process) : processFromFlags(ctx, id, args);
  return execProcess(
    ctx.globals,
    {
      id,
      process,
      detach: ctx.flags.detach,
      pidFile: ctx.flags['pid-file'] || undefined,
      preserveFds: ctx.flags['preserve-fds'],
      ignorePaused: ctx.flags['ignore-paused'],
      consoleSocket: ctx.flags['console-socket'] || undefined,
      subCgroups: parseSubCgroups(ctx.flags.cgroup),
    },
    ctx.log,
  );
}

function readProcessFile(file: string): Process {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new RuntimeError(`process.json: open ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError(`process.json: invalid JSON: ${(err as Error).message}`);
  }
  // runc decodes this file into specs.Process with Go's case-insensitive field matching.
  value = foldKeys(value, 'process');
  const errors = validateProcess(value);
  if (errors.length > 0) throw new RuntimeError(errors[0]);
  const proc = value as Process;
  proc.user ??= { uid: 0, gid: 0 };
  return proc;
}

/** runc's exec without --process: the container's process settings with the flags on top. */
function processFromFlags(ctx: CommandContext<FlagsOf<'exec'>>, id: string, args: string[]): Process {
  if (args.length === 0) throw new RuntimeError('exec: no command given: args must not be empty');
  const base = openStore(ctx.globals).read(id).config.process!;
  const proc: Process = structuredClone(base);
  proc.args = args;
  proc.terminal = ctx.flags.tty;
  proc.env = [...(base.env ?? []), ...ctx.flags.env];
  if (ctx.flags.cwd) proc.cwd = ctx.flags.cwd;
  if (ctx.flags.user) proc.user = { ...parseUser(ctx.flags.user), additionalGids: base.user.additionalGids };
  const gids = ctx.flags['additional-gids'];
  if (gids.length > 0) proc.user.additionalGids = gids.map((g) => parseId(g, '--additional-gids'));
  if (ctx.flags['no-new-privs']) proc.noNewPrivileges = true;
  if (ctx.flags.apparmor) proc.apparmorProfile = ctx.flags.apparmor;
  if (ctx.flags['process-label']) proc.selinuxLabel = ctx.flags['process-label'];
  for (const cap of ctx.flags.cap) addCapability(proc, cap);
  return proc;
}

function parseId(text: string, flag: string): number {
  if (!/^\d+$/.test(text)) throw new RuntimeError(`${flag}: invalid id ${JSON.stringify(text)}`);
  return Number(text);
}

function parseUser(text: string): { uid: number; gid: number } {
  const [uid, gid = '0'] = text.split(':', 2);
  return { uid: parseId(uid, '--user'), gid: parseId(gid, '--user') };
}

/** runc adds --cap to bounding, effective, permitted, and ambient only when some are inheritable. */
function addCapability(proc: Process, cap: string): void {
  const caps = (proc.capabilities ??= {});
  for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), cap];
  if (caps.inheritable) caps.ambient = [...(caps.ambient ?? []), cap];
}
