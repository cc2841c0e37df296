/**
 * The text formats runts shares with runc (Go) and the kernel, in one place so each is written
 * once: Go's integer syntax (strconv), Go's JSON encoder, cpu lists, /proc id-map lines and the
 * namespace type → /proc/PID/ns name map.
 */
import { RuntimeError } from './errors';

/** strconv.ParseInt with base 0 accepts exactly these: decimal, 0x hex, 0o / 0 octal, 0b binary. */
export const GO_INT_BASE0 = /^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/;

/** The value of a string GO_INT_BASE0 accepts, as strconv.ParseInt(text, 0, 64) reads it. */
export function parseGoIntBase0(text: string): number {
  const negative = text.startsWith('-');
  const digits = text.replace(/^[+-]/, '');
  const octal = /^0[0-7]+$/.test(digits) ? '0o' + digits.slice(1) : digits;
  const value = Number(octal);
  return negative ? -value : value;
}

/** strconv.ParseInt / ParseUint (base 10) of a flag's value, with runc's error wording. */
export function parseGoDecimal(flag: string, text: string, signed: boolean): number {
  const ok = signed ? /^[+-]?\d+$/.test(text) : /^\+?\d+$/.test(text);
  const fn = signed ? 'ParseInt' : 'ParseUint';
  if (!ok) throw new RuntimeError(`invalid value for ${flag}: strconv.${fn}: parsing ${JSON.stringify(text)}: invalid syntax`);
  const v = Number(text);
  if (!Number.isSafeInteger(v)) throw new RuntimeError(`invalid value for ${flag}: strconv.${fn}: parsing ${JSON.stringify(text)}: value out of range`);
  return v;
}

function unicodeEscape(ch: string): string {
  return '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
}

/** A JSON string literal as Go's encoding/json writes it: <, >, & and U+2028/9 escaped. */
function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]/g, unicodeEscape);
}

/**
 * JSON the way Go's encoding/json writes it (json.Marshal, or MarshalIndent with `indent`
 * spaces): strings escaped as goString does, bigints (cgroup counters past 2^53) written as
 * their digits. Otherwise as JSON.stringify: undefined members left out, undefined array items
 * and non-finite numbers null, toJSON honoured.
 */
export function goJson(value: unknown, indent?: number): string {
  const pad = indent ? ' '.repeat(indent) : '';
  const encode = (v: unknown, depth: number): string | undefined => {
    if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') v = (v as { toJSON(): unknown }).toJSON();
    switch (typeof v) {
      case 'string': return goString(v);
      case 'bigint': return v.toString();
      case 'number': return Number.isFinite(v) ? String(v) : 'null';
      case 'boolean': return v ? 'true' : 'false';
      case 'undefined': case 'function': case 'symbol': return undefined;
    }
    if (v === null) return 'null';
    const inner = pad ? '\n' + pad.repeat(depth + 1) : '';
    const outer = pad ? '\n' + pad.repeat(depth) : '';
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      return '[' + inner + v.map((x) => encode(x, depth + 1) ?? 'null').join(',' + inner) + outer + ']';
    }
    const members: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const encoded = encode(x, depth + 1);
      if (encoded !== undefined) members.push(goString(k) + (pad ? ': ' : ':') + encoded);
    }
    if (members.length === 0) return '{}';
    return '{' + inner + members.join(',' + inner) + outer + '}';
  };
  return encode(value, 0) ?? 'undefined';
}

/** A cpuset list ("0-3,7", as config.json and cpuset.cpus write it) as CPU numbers, sorted, once each; "" is none. Throws on anything else. */
export function parseCpuList(list: string): number[] {
  if (list.trim() === '') return [];
  const cpus = new Set<number>();
  for (const part of list.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`invalid CPU list ${JSON.stringify(list)}`);
    const first = Number(m[1]);
    const last = m[2] === undefined ? first : Number(m[2]);
    if (last < first) throw new Error(`invalid CPU list ${JSON.stringify(list)}`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The text of /proc/PID/uid_map or gid_map (and of a mount's idmap) for these mappings. */
export function idMapText(mappings: IdMapping[] | undefined): string {
  return (mappings ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** runtime-spec namespace type → its entry in /proc/PID/ns/. */
export const NAMESPACE_PROC_NAMES: Readonly<Record<string, string>> = {
  cgroup: 'cgroup', ipc: 'ipc', mount: 'mnt', network: 'net', pid: 'pid', time: 'time', user: 'user', uts: 'uts',
};

/**
 * "YYYY-MM-DDTHH:MM:SS" in UTC for seconds since the epoch: the part of Go's RFC 3339 times
 * before any fraction. Computed here because the first Date#toISOString of a process sets up
 * V8's date machinery: 0.18-0.25 ms of every create (1.6 ms under TZ=UTC).
 */
export function utcDateTime(epochSeconds: number): string {
  const days = Math.floor(epochSeconds / 86400);
  const secondOfDay = epochSeconds - days * 86400;
  // Days since 0000-03-01 in the proleptic Gregorian calendar, in 400-year eras of 146097 days
  // (March first, so the leap day ends a year).
  const shifted = days + 719468;
  const era = Math.floor(shifted / 146097);
  const dayOfEra = shifted - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const marchMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * marchMonth + 2) / 5) + 1;
  const month = marchMonth < 10 ? marchMonth + 3 : marchMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(Math.floor(secondOfDay / 3600))}:${two(Math.floor(secondOfDay / 60) % 60)}:${two(secondOfDay % 60)}`;
  return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}T${time}`;
}
