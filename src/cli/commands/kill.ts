/** `runts kill <id> [signal]`: signal the container's init, or with --all every process in it. */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { killContainer } from '../../container/kill';
import { parseSignal } from '../signals';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext<FlagsOf<'kill'>>): Promise<number> {
  const [id, signalText = 'SIGTERM'] = ctx.positionals;
  killContainer(openStore(ctx.globals), id, parseSignal(signalText), ctx.flags.all);
  return 0;
}
