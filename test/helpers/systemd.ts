/** Helpers for the tests that run under systemd as PID 1 (test/vm/). */
import { spawnSync } from 'child_process';

/** `systemctl show UNIT` of the named properties, as a name → value map. */
export function unitProperties(unit: string, names: string[]): Record<string, string> {
  const r = spawnSync('systemctl', ['show', unit, ...names.map((n) => `--property=${n}`)], { encoding: 'utf8' });
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}
