/**
 * `runts update <id>`: change a running container's resource limits, with runc's flags, or
 * from a LinuxResources JSON file (`-r FILE`, `-r -` for stdin; the other flags are then
 * ignored). Like runc, update touches memory (limit, reservation, swap, checkBeforeUpdate),
 * cpu, blockIO weight, pids and unified — never devices. A refused write undoes the writes
 * before it, and the stored config is updated only when every write went through.
 */
import fs = require('fs');
import type { FlagsOf } from '../commandTable';
import type { CommandContext } from '../context';
import { RuntimeError } from '../../base/errors';
import { parseGoDecimal } from '../../base/formats';
import type { LinuxCPU, LinuxResources } from '../../config/types';
import { foldKeys } from '../../config/keys';
import { validateResources } from '../../config/validate';
import { openStore } from '../../state/store';
import { updateContainer } from '../../container/update';

/** The parts of a resources object `update` applies (runc's update.go). */
const APPLIED: Record<string, readonly string[] | true> = {
  memory: ['limit', 'reservation', 'swap', 'checkBeforeUpdate'],
  cpu: true,
  blockIO: ['weight'],
  pids: ['limit'],
  unified: true,
};

export async function run(ctx: CommandContext<FlagsOf<'update'>>): Promise<number> {
  const id = ctx.positionals[0];
  const store = openStore(ctx.globals);
  store.read(id); // "container does not exist" before anything else
  await updateContainer(store, id, readResources(ctx), ctx.log);
  return 0;
}

function readResources(ctx: CommandContext<FlagsOf<'update'>>): LinuxResources {
  const flags = ctx.flags;
  const l3 = str(flags['l3-cache-schema']);
  const memBw = str(flags['mem-bw-schema']);
  if (l3) throw new RuntimeError('Intel RDT/CAT: l3 cache schema is not enabled');
  if (memBw) throw new RuntimeError('Intel RDT/MBA: memory bandwidth schema is not enabled');

  const file = str(flags.resources);
  if (file) return fromJson(file, ctx);

  const r: LinuxResources = {};
  const cpu: LinuxCPU = {};
  const weight = flags['blkio-weight'];
  if (weight) r.blockIO = { weight };
  if (str(flags['cpuset-cpus'])) cpu.cpus = str(flags['cpuset-cpus']);
  if (str(flags['cpuset-mems'])) cpu.mems = str(flags['cpuset-mems']);
  for (const [flag, field] of [['cpu-period', 'period'], ['cpu-rt-period', 'realtimePeriod'], ['cpu-share', 'shares']] as const) {
    const v = str(flags[flag]);
    if (v) cpu[field] = parseGoDecimal(flag, v, false);
  }
  for (const [flag, field] of [['cpu-quota', 'quota'], ['cpu-rt-runtime', 'realtimeRuntime']] as const) {
    const v = str(flags[flag]);
    if (v) cpu[field] = parseGoDecimal(flag, v, true);
  }
  if (Object.keys(cpu).length > 0) r.cpu = cpu;
  for (const [flag, field] of [['memory', 'limit'], ['memory-swap', 'swap'], ['memory-reservation', 'reservation']] as const) {
    const v = str(flags[flag]);
    if (!v) continue;
    r.memory = r.memory ?? {};
    r.memory[field] = v === '-1' ? -1 : ramInBytes(flag, v);
  }
  for (const flag of ['kernel-memory', 'kernel-memory-tcp'] as const) {
    if (str(flags[flag])) ctx.log.warn(`Setting --${flag} is ignored and will be removed`);
  }
  const pids = flags['pids-limit'];
  if (pids) r.pids = { limit: pids };
  return withUnlimitedSwap(r);
}

function fromJson(file: string, ctx: CommandContext<FlagsOf<'update'>>): LinuxResources {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new RuntimeError(`open ${file}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new RuntimeError(`${file === '-' ? 'stdin' : file}: invalid JSON: ${(err as Error).message}`);
  }
  // runc decodes this file into specs.LinuxResources with Go's case-insensitive field matching.
  doc = foldKeys(doc, 'resources');
  const problems = validateResources(doc, file === '-' ? 'resources' : file);
  if (problems.length > 0) throw new RuntimeError(problems[0]);
  const all = doc as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [key, value] of Object.entries(all)) {
    const keep = APPLIED[key];
    if (keep === undefined) {
      ignored.push(key);
    } else if (keep === true) {
      picked[key] = value;
    } else if (value && typeof value === 'object') {
      const sub: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (keep.includes(k)) sub[k] = v;
        else ignored.push(`${key}.${k}`);
      }
      picked[key] = sub;
    }
  }
  if (ignored.length > 0) ctx.log.warn(`update ignores ${ignored.join(', ')}`);
  return withUnlimitedSwap(picked as LinuxResources);
}

/** runc: memory -1 with swap unset means both unlimited. */
function withUnlimitedSwap(r: LinuxResources): LinuxResources {
  if (r.memory?.limit === -1 && r.memory.swap === undefined) r.memory.swap = -1;
  return r;
}

/** A string flag's value; empty means not given. */
function str(v: string | undefined): string | undefined {
  return v !== undefined && v !== '' ? v : undefined;
}

const RAM_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** docker/go-units RAMInBytes: "512m", "1.5g", "100 KiB" … (binary multiples). */
export function ramInBytes(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text);
  if (!m) throw new RuntimeError(`invalid value for ${flag}: invalid size: '${text}'`);
  const size = parseFloat(m[1]) * RAM_UNITS[(m[2] ?? '').toLowerCase()];
  return Math.trunc(size);
}
