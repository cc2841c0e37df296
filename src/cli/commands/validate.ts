/**
 * `runts validate [--bundle DIR]` (runts only): checks config.json against the runtime-spec.
 * Prints every problem on stdout, one a line, and exits 1 if there is any; prints nothing and
 * exits 0 when the config is valid. An unreadable or malformed config.json is an error.
 */
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { printOut } from '../../base/log';
import { readConfig, validateSpec } from '../../config/validate';

export function run(ctx: CommandContext<FlagsOf<'validate'>>): number {
  const { bundle, document } = readConfig(ctx.flags.bundle || '.');
  const problems = validateSpec(document, bundle);
  printOut(problems.map((line) => line + '\n').join(''));
  return problems.length > 0 ? 1 : 0;
}
