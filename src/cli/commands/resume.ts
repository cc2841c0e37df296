/** `runts resume <id>`: thaw a paused container. */
import { containerCgroup, frozenProbe } from '../../cgroups/container';
import type { CommandContext } from '../context';
import { RuntimeError } from '../../base/errors';
import { openStore } from '../../state/store';
import { clearIntent, self, writeIntent } from '../../container/intent';
import { settleInterrupted } from '../../container/recover';

export async function run(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0];
  const store = openStore(ctx.globals, frozenProbe);
  await store.withLock(id, () => {
    const record = store.read(id);
    settleInterrupted(store, record, ctx.log);
    if (store.status(record) !== 'paused') throw new RuntimeError('container not paused');
    writeIntent(store.containerDir(id), { operation: 'resume', step: 'thaw', owner: self() });
    containerCgroup(record).thaw();
    clearIntent(store.containerDir(id));
  });
  return 0;
}
