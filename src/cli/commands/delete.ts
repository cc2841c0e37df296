/** `runts delete [--force] <id>`: remove a stopped (or created) container; --force kills first. */
import type { CommandContext } from '../context';
import { destroyContainer } from '../../container/destroy';
import { RuntimeError } from '../../base/errors';
import { CONTAINER_NOT_FOUND, openStore } from '../../state/store';

export async function run(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0];
  const force = Boolean(ctx.flags.force);
  const store = openStore(ctx.globals);
  if (!store.exists(id)) {
    if (force) return 0;
    throw new RuntimeError(CONTAINER_NOT_FOUND);
  }
  await store.withLock(id, () => {
    const record = store.read(id);
    const status = store.status(record);
    if ((status === 'running' || status === 'paused') && !force)
      throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
    destroyContainer(store, record, ctx.log);
  });
  return 0;
}
