/** `runts delete [--force] <id>`: remove a stopped (or created) container; --force kills first. */
import type { CommandContext } from '../context';
import { deleteContainer } from '../../container/destroy';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext): Promise<number> {
  await deleteContainer(openStore(ctx.globals), ctx.positionals[0], Boolean(ctx.flags.force), ctx.log);
  return 0;
}
