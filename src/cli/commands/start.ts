/** `runts start <id>`: release a created container into its process. */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { startContainer } from '../../container/start';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext<FlagsOf<'start'>>): Promise<number> {
  const id = ctx.positionals[0];
  const store = openStore(ctx.globals);
  await store.withLock(id, () => startContainer(store, store.read(id), ctx.log));
  return 0;
}
