/**
 * `runts run <id>`: create + start. In the foreground runts waits for the container's init
 * (its child, thanks to CLONE_PARENT), forwards signals, relays a terminal, deletes the
 * container and exits with its status (128+n for a signal). --detach returns once started.
 */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { createContainer } from '../../container/create';
import { destroyContainer } from '../../container/destroy';
import { waitInForeground } from '../../container/foreground';
import { createRequest } from '../createRequest';
import { runPoststartHooks } from '../../container/start';

export async function run(ctx: CommandContext<FlagsOf<'run'>>): Promise<number> {
  const detached = ctx.flags.detach;
  // create releases the process itself: a failure to is undone with the rest of the create.
  const { record, store, consoleMaster } = await createContainer(ctx.globals, { ...createRequest(ctx, detached), startAtOnce: true }, ctx.log);
  runPoststartHooks(record, ctx.log);
  if (detached) return 0;
  const status = await waitInForeground(record.pid, consoleMaster);
  if (!ctx.flags.keep) await store.withLock(record.id, () => destroyContainer(store, record, ctx.log));
  return status;
}
