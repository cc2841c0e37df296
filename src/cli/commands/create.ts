/** `runts create <id>`: set the container up and leave its init waiting for `start`. */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { createContainer } from '../../container/create';
import { createRequest } from '../createRequest';

export async function run(ctx: CommandContext<FlagsOf<'create'>>): Promise<number> {
  await createContainer(ctx.globals, createRequest(ctx, true), ctx.log);
  return 0;
}
