/**
 * `runts ps <id> [ps options]`: the container's processes. `--format json` prints the pids
 * as a JSON array; the table runs `ps` (default `ps -ef`) and keeps its header and the lines
 * whose PID column is one of the container's pids, as runc does.
 */
import { spawnSync } from 'child_process';
import { containerCgroup } from '../../cgroups/container';
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { RuntimeError } from '../../base/errors';
import { printOut } from '../../base/log';
import { openStore } from '../../state/store';

export async function run(ctx: CommandContext<FlagsOf<'ps'>>): Promise<number> {
  const [id, ...rest] = ctx.positionals;
  const format = ctx.flags.format || 'table';
  if (format !== 'table' && format !== 'json') throw new RuntimeError('invalid format option');
  const record = openStore(ctx.globals).read(id);
  const pids = containerCgroup(record).pids();
  if (format === 'json') {
    // Go encodes an empty (nil) slice as null.
    printOut((pids.length > 0 ? JSON.stringify(pids) : 'null') + '\n');
    return 0;
  }
  const psArgs = rest[0] === '--' ? rest.slice(1) : rest;
  printOut(filterPsOutput(runPs(psArgs.length > 0 ? psArgs : ['-ef']), pids));
  return 0;
}

function runPs(args: string[]): string {
  const r = spawnSync('ps', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) throw new RuntimeError(`exec: "ps": ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'executable file not found in $PATH' : r.error.message}`);
  const output = (r.stdout ?? '') + (r.stderr ?? '');
  if (r.status !== 0) throw new RuntimeError(`exit status ${r.status ?? r.signal}: ${output.trim()}`);
  return output;
}

/** The header plus the lines whose PID column holds one of `pids`. */
export function filterPsOutput(output: string, pids: number[]): string {
  const lines = output.split('\n');
  const pidIndex = lines[0].trim().split(/\s+/).indexOf('PID');
  if (pidIndex < 0) throw new RuntimeError("couldn't find PID field in ps output");
  const wanted = new Set(pids);
  let out = lines[0] + '\n';
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const field = line.trim().split(/\s+/)[pidIndex];
    const pid = Number(field);
    if (!/^\d+$/.test(field ?? '')) throw new RuntimeError(`unable to parse pid: strconv.Atoi: parsing ${JSON.stringify(field ?? '')}: invalid syntax`);
    if (wanted.has(pid)) out += line + '\n';
  }
  return out;
}
