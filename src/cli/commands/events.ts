/**
 * `runts events <id>`: one JSON object per line, in runc's shapes:
 *   {"type":"stats","id":"<id>","data":{…}}   every --interval (default 5s), or once with --stats
 *   {"type":"oom","id":"<id>"}                when the container's cgroup hits its memory limit
 * The stream ends when the container stops or its cgroup is removed.
 */
import { containerCgroup } from '../../cgroups/container';
import { requireAllowed, statusOf } from '../../container/status';
import type { Cgroup, MemoryEvents } from '../../cgroups';
import { statsJson } from '../../cgroups/stats';
import { goJson } from '../../base/formats';
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { RuntimeError } from '../../base/errors';
import { printOut } from '../../base/log';
import { isAlive, openStore } from '../../state/store';

/** How often memory events are looked at between stats (runc gets them from an eventfd). */
const OOM_POLL_MS = 100;

export async function run(ctx: CommandContext<FlagsOf<'events'>>): Promise<number> {
  const id = ctx.positionals[0];
  const interval = parseGoDuration(ctx.flags.interval ?? '5s');
  if (interval <= 0) throw new RuntimeError('duration interval must be greater than 0');
  const store = openStore(ctx.globals);
  const record = store.read(id);
  requireAllowed('events', statusOf(store, record), id);
  const cgroup = containerCgroup(record);
  const emit = (type: string, data?: unknown): void => {
    printOut(goJson(data === undefined ? { type, id } : { type, id, data }) + '\n');
  };
  if (ctx.flags.stats) {
    emit('stats', statsJson(cgroup.stats()));
    return 0;
  }
  await stream(cgroup, interval, emit, () => isAlive(record) && cgroup.exists(), (msg) => ctx.log.error(msg));
  return 0;
}

async function stream(cgroup: Cgroup, intervalMs: number, emit: (type: string, data?: unknown) => void, alive: () => boolean, error: (msg: string) => void): Promise<void> {
  let last: MemoryEvents | undefined = cgroup.memoryEvents();
  let nextStats = Date.now() + intervalMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(OOM_POLL_MS, nextStats - Date.now()))));
    if (!alive()) return;
    let now: MemoryEvents | undefined;
    try {
      now = cgroup.memoryEvents();
    } catch {
      now = undefined;
    }
    if (now && last && (now.oom > last.oom || now.oomKill > last.oomKill || (now.underOom && !last.underOom))) emit('oom');
    if (now) last = now;
    if (Date.now() >= nextStats) {
      nextStats += intervalMs;
      if (nextStats < Date.now()) nextStats = Date.now() + intervalMs;
      try {
        emit('stats', statsJson(cgroup.stats()));
      } catch (err) {
        error((err as Error).message);
      }
    }
  }
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("5s", "1m30s", "250ms", "1.5h"), in milliseconds. */
export function parseGoDuration(text: string): number {
  const bad = (): never => {
    throw new RuntimeError(`invalid value ${JSON.stringify(text)} for flag -interval: parse error`);
  };
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') bad();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*\.?\d*)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/.exec(s);
    if (!m || m[1] === '' || m[1] === '.') bad();
    total += parseFloat(m![1]) * UNITS[m![2]];
    s = s.slice(m![0].length);
  }
  return sign * total;
}
