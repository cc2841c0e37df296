/** `runts pause <id>`: freeze every process of a running (or created) container. */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { pauseContainer } from '../../container/pause';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext<FlagsOf<'pause'>>): Promise<number> {
  await pauseContainer(openStore(ctx.globals), ctx.positionals[0], ctx.log);
  return 0;
}
