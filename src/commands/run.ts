/**
 * `runts run <id>`: create + start. In the foreground runts waits for the container's init
 * (its child, thanks to CLONE_PARENT), forwards signals to it, deletes the container and exits
 * with its status (128+n for a signal). --detach returns once it is started.
 */
import type { CommandContext } from '../context';
import { createContainer } from '../container/create';
import { destroyContainer } from '../container/destroy';
import { createRequest } from '../container/request';
import { startContainer } from '../container/start';
import { forwardSignals } from '../container/signals';
import { native } from '../native';

export async function run(ctx: CommandContext): Promise<number> {
  const { record, store } = await createContainer(ctx.globals, createRequest(ctx), ctx.log);
  const stopForwarding = ctx.flags.detach ? () => {} : forwardSignals(record.pid);
  try {
    await store.withLock(record.id, () => startContainer(store, record, ctx.log));
  } catch (err) {
    await store.withLock(record.id, () => destroyContainer(store, record, ctx.log));
    throw err;
  }
  if (ctx.flags.detach) return 0;

  const status = await native().waitExit(record.pid);
  stopForwarding();
  if (!ctx.flags.keep) await store.withLock(record.id, () => destroyContainer(store, record, ctx.log));
  return status.code ?? 128 + (status.signal ?? 0);
}
