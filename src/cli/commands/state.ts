/** `runts state <id>`: the OCI state JSON, as runc prints it (2-space indent, no newline). */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { goJson } from '../../base/formats';
import { printOut } from '../../base/log';
import { ociState, openStore } from '../../state/store';
import { statusOf } from '../../container/status';

export function run(ctx: CommandContext<FlagsOf<'state'>>): number {
  const store = openStore(ctx.globals);
  const record = store.read(ctx.positionals[0]);
  printOut(goJson(ociState(record, statusOf(store, record)), 2));
  return 0;
}
