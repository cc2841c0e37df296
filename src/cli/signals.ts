import { constants } from 'os';
import { RuntimeError } from '../base/errors';

/** "9", "KILL", "SIGKILL", "sigkill" → 9, as runc's kill reads its signal argument; 0 only checks. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 0 && n <= 64) return n;
  } else {
    const upper = text.toUpperCase();
    const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    const n = (constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
  }
  throw new RuntimeError(`unknown signal "${text}"`);
}
