/** `runts pause <id>`: freeze every process of a running (or created) container. */
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
    const status = store.status(record);
    if (status !== 'running' && status !== 'created') throw new RuntimeError('container not running');
    writeIntent(store.containerDir(id), { operation: 'pause', step: 'freeze', owner: self() });
    containerCgroup(record).freeze();
    clearIntent(store.containerDir(id));
  });
  return 0;
}
