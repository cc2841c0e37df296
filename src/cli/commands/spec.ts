/** `runts spec`: writes a starter config.json into the bundle, never over an existing one. */
import { writeFileSync } from 'fs';
import { join, resolve } from 'path';
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { RuntimeError, describeSystemError } from '../../base/errors';
import { defaultSpec, formatSpec } from '../../config/default';

export function run(ctx: CommandContext<FlagsOf<'spec'>>): number {
  const bundle = resolve(ctx.flags.bundle || '.');
  const file = join(bundle, 'config.json');
  const text = formatSpec(defaultSpec({ rootless: ctx.flags.rootless }));
  try {
    // 'wx' makes the existence check and the creation one step.
    writeFileSync(file, text, { flag: 'wx', mode: 0o666 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError('File config.json exists. Remove it first');
    throw describeSystemError(bundle, err);
  }
  return 0;
}
