/** `runts delete [--force] <id>`: remove a stopped (or created) container; --force kills first. */
import type { CommandContext } from '../context';
import { destroyContainer } from '../../container/destroy';
import { RuntimeError, isRuntimeError } from '../../base/errors';
import { CONTAINER_NOT_FOUND, openStore } from '../../state/store';
import type { ContainerRecord } from '../../state/store';

export async function run(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0];
  const force = Boolean(ctx.flags.force);
  const store = openStore(ctx.globals);
  store.sweepStaging(id);
  if (!store.exists(id)) {
    if (force) return 0;
    throw new RuntimeError(CONTAINER_NOT_FOUND);
  }
  await store.withLock(id, () => {
    let record: ContainerRecord;
    try {
      record = store.read(id);
    } catch (err) {
      // Neither a state nor a create intent (or state.json unreadable): nothing was started
      // from this directory that a record would name, so the directory is all there is.
      if (!force && !(isRuntimeError(err) && err.message === CONTAINER_NOT_FOUND)) throw err;
      store.remove(id);
      return;
    }
    const status = store.status(record);
    if ((status === 'running' || status === 'paused') && !force)
      throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
    destroyContainer(store, record, ctx.log);
  });
  return 0;
}
