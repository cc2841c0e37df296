/** `runts kill <id> [signal]`: signal the container's init, or with --all every process in it. */
import { cgroupFromPaths } from '../cgroups';
import type { CommandContext } from '../context';
import { RuntimeError } from '../errors';
import { native } from '../native';
import { parseSignal } from '../signals';
import { openStore } from '../state';

export async function run(ctx: CommandContext): Promise<number> {
  const [id, signalText = 'SIGTERM'] = ctx.positionals;
  const signal = parseSignal(signalText);
  const store = openStore(ctx.globals);
  const record = store.read(id);
  if (store.status(record) === 'stopped') throw new RuntimeError('container not running');
  if (ctx.flags.all && record.cgroupPaths) {
    for (const pid of cgroupFromPaths(record.cgroupPaths).pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
    return 0;
  }
  native().signalProcess(record.pid, record.pidStartTime, signal);
  return 0;
}
