/** `runts checkpoint`: not implemented yet (a later issue replaces this module). */
import { RuntimeError } from '../../base/errors';

export function run(): number {
  throw new RuntimeError('checkpoint: not implemented yet');
}
