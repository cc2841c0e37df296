import type { FlagsOf } from './commandTable';
import type { CommandContext } from './context';
import { RuntimeError } from '../base/errors';
import type { CreateRequest } from '../container/create';

/** The create/run flags shared by both commands, as a CreateRequest (create is always detached). */
export function createRequest(ctx: CommandContext<FlagsOf<'create'> | FlagsOf<'run'>>, detached: boolean): CreateRequest {
  const preserveFds = ctx.flags['preserve-fds'];
  if (!Number.isInteger(preserveFds) || preserveFds < 0) throw new RuntimeError(`--preserve-fds: invalid value ${ctx.flags['preserve-fds']}`);
  return {
    id: ctx.positionals[0],
    bundle: ctx.flags.bundle || process.cwd(),
    pidFile: ctx.flags['pid-file'] || undefined,
    noPivot: ctx.flags['no-pivot'],
    noNewKeyring: ctx.flags['no-new-keyring'],
    preserveFds,
    consoleSocket: ctx.flags['console-socket'] || undefined,
    detached,
  };
}
