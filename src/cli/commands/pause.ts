/** `runts pause <id>`: freeze every process of a running (or created) container. */
import type { CommandContext } from '../context';
import { pauseContainer } from '../../container/pause';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext): Promise<number> {
  await pauseContainer(openStore(ctx.globals), ctx.positionals[0]);
  return 0;
}
