/** `runts list`: every container under --root, as runc's table, ids only (-q) or JSON. */
import { readFileSync } from 'fs';
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { RuntimeError, isRuntimeError } from '../../base/errors';
import { goJson } from '../../base/formats';
import { printOut } from '../../base/log';
import type { Logger } from '../../base/log';
import { CONTAINER_NOT_FOUND, ociState, openStore } from '../../state/store';
import type { OciState, StateStore } from '../../state/store';
import { statusOf } from '../../container/status';

/** runc's tabwriter settings: minimum cell width 12, padding 3, last column unpadded. */
const MIN_WIDTH = 12;
const PADDING = 3;

const HEADER = ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'];

/** Aligns rows the way Go's text/tabwriter does for runc list. */
export function formatTable(rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const columns = rows[0].length;
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    widths[c] = Math.max(MIN_WIDTH, ...rows.map((row) => width(row[c]) + PADDING));
  }
  return rows
    .map((row) => row.map((cell, c) => (c < columns - 1 ? cell + ' '.repeat(widths[c] - width(cell)) : cell)).join(''))
    .join('\n') + '\n';
}

/** uid → user name from /etc/passwd; runc prints "#<uid>" for an unknown uid. */
function userNames(): (uid: number) => string {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (name && uid !== undefined && !names.has(Number(uid))) names.set(Number(uid), name);
    }
  } catch {
    // No passwd file: every owner shows as #uid.
  }
  return (uid) => names.get(uid) ?? `#${uid}`;
}

/** Loads every listed container; one that vanished or cannot be read is skipped. */
function loadStates(store: StateStore, log: Logger): OciState[] {
  const ownerName = userNames();
  const states: OciState[] = [];
  for (const id of store.list()) {
    try {
      const record = store.read(id);
      states.push(ociState(record, statusOf(store, record), ownerName(store.ownerUid(id))));
    } catch (err) {
      // A directory without state.json is a container still being created (or removed).
      if (!(isRuntimeError(err) && err.message === CONTAINER_NOT_FOUND)) {
        log.warn(`load container ${id}: ${(err as Error).message}`);
      }
    }
  }
  return states;
}

function tableRow(s: OciState): string[] {
  return [s.id, String(s.pid), s.status, s.bundle, s.created, s.owner];
}

/** Like runc, --quiet wins over --format, which is checked only when it is used. */
function render(states: OciState[], quiet: boolean, format: string): string {
  if (quiet) return states.map((s) => s.id + '\n').join('');
  if (format === 'table') return formatTable([HEADER, ...states.map(tableRow)]);
  if (format === 'json') return (states.length > 0 ? goJson(states) : 'null') + '\n';
  throw new RuntimeError('invalid format option');
}

export function run(ctx: CommandContext<FlagsOf<'list'>>): number {
  const states = loadStates(openStore(ctx.globals), ctx.log);
  printOut(render(states, ctx.flags.quiet, ctx.flags.format ?? 'table'));
  return 0;
}
