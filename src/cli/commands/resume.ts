/** `runts resume <id>`: thaw a paused container. */
import { containerCgroup, frozenProbe } from '../../cgroups/container';
import type { CommandContext } from '../context';
import { RuntimeError } from '../../base/errors';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0];
  const store = openStore(ctx.globals, frozenProbe);
  await store.withLock(id, () => {
    const record = store.read(id);
    if (store.status(record) !== 'paused') throw new RuntimeError('container not paused');
    containerCgroup(record).thaw();
  });
  return 0;
}
