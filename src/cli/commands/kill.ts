/** `runts kill <id> [signal]`: signal the container's init, or with --all every process in it. */
import type { CommandContext } from '../context';
import { RuntimeError } from '../../base/errors';
import { native } from '../../native';
import { parseSignal } from '../signals';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext): Promise<number> {
  const [id, signalText = 'SIGTERM'] = ctx.positionals;
  const signal = parseSignal(signalText);
  const store = openStore(ctx.globals);
  const record = store.read(id);
  // --all signals whatever is left in the cgroup, so runc accepts it for a stopped container too.
  if (ctx.flags.all && record.cgroupPaths) {
    // Required here only: the cgroup code stays off kill's usual path.
    const { cgroupFromPaths, signalAll } = require('../../cgroups') as typeof import('../../cgroups');
    const cgroup = cgroupFromPaths(record.cgroupPaths, record.cgroupCreated);
    if (cgroup.exists()) signalAll(cgroup, signal);
    return 0;
  }
  if (store.status(record) === 'stopped') throw new RuntimeError('container not running');
  native().signalProcess(record.pid, record.pidStartTime, signal);
  return 0;
}
