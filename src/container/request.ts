import type { CommandContext } from '../cli/context';
import { RuntimeError } from '../base/errors';
import type { CreateRequest } from './create';

/** The create/run flags shared by both commands, as a CreateRequest (create is always detached). */
export function createRequest(ctx: CommandContext, detached: boolean): CreateRequest {
  const preserveFds = Number(ctx.flags['preserve-fds'] ?? 0);
  if (!Number.isInteger(preserveFds) || preserveFds < 0) throw new RuntimeError(`--preserve-fds: invalid value ${ctx.flags['preserve-fds']}`);
  return {
    id: ctx.positionals[0],
    bundle: (ctx.flags.bundle as string | undefined) || process.cwd(),
    pidFile: (ctx.flags['pid-file'] as string | undefined) || undefined,
    noPivot: Boolean(ctx.flags['no-pivot']),
    noNewKeyring: Boolean(ctx.flags['no-new-keyring']),
    preserveFds,
    consoleSocket: (ctx.flags['console-socket'] as string | undefined) || undefined,
    detached,
  };
}
