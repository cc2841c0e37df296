/** `runts delete [--force] <id>`: remove a stopped (or created) container; --force kills first. */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { deleteContainer } from '../../container/destroy';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext<FlagsOf<'delete'>>): Promise<number> {
  await deleteContainer(openStore(ctx.globals), ctx.positionals[0], ctx.flags.force, ctx.log);
  return 0;
}
