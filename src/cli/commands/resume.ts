/** `runts resume <id>`: thaw a paused container. */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { resumeContainer } from '../../container/pause';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext<FlagsOf<'resume'>>): Promise<number> {
  await resumeContainer(openStore(ctx.globals), ctx.positionals[0], ctx.log);
  return 0;
}
