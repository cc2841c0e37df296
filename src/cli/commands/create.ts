/** `runts create <id>`: set the container up and leave its init waiting for `start`. */
import type { CommandContext } from '../context';
import { createContainer } from '../../container/create';
import { createRequest } from '../../container/request';

export async function run(ctx: CommandContext): Promise<number> {
  await createContainer(ctx.globals, createRequest(ctx, true), ctx.log);
  return 0;
}
