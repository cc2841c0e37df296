/**
 * A process's state and start time from /proc/<pid>/stat: liveness by pid + start time, so a
 * reused pid never passes for the process that was recorded.
 */
import { readFileIfPresent } from './files';

export interface ProcStat {
  /** One-letter process state (R, S, D, Z, X …). */
  state: string;
  /** Field 22: start time in clock ticks after boot. */
  startTime: number;
}

/**
 * Reads /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, so the
 * fields are counted from the last ')'. Decoded as utf8 although comm is raw bytes: only the
 * ASCII fields after it are read, and the first latin1 decode in a process costs ~0.5 ms.
 */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string | undefined;
  try {
    text = readFileIfPresent(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const startTime = Number(fields[19]);
  if (!fields[0] || !Number.isSafeInteger(startTime)) return undefined;
  return { state: fields[0], startTime };
}

/** Field 22 of /proc/<pid>/stat, or undefined when the process is gone (or a zombie). */
export function processStartTime(pid: number): number | undefined {
  const stat = readProcStat(pid);
  return stat === undefined || stat.state === 'Z' || stat.state === 'X' ? undefined : stat.startTime;
}
