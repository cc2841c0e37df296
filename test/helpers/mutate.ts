/**
 * Seeded random mutations of a config.json for the fuzz test: the same seed gives the same cases,
 * so a failure can be replayed (FUZZ_SEED=<seed> FUZZ_CASES=<n>). Each case is raw bytes: some
 * mutations (duplicate keys, 1e999, deep nesting, invalid UTF-8) only exist as text.
 */

/** mulberry32: small, fast, good enough to spread cases. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Mutation {
  /** What was done, for the failure message. */
  describe: string;
  bytes: Buffer;
}

/** Every JSON pointer in `doc` (the root included), as key paths. */
function pointers(doc: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(doc)) doc.forEach((v, i) => pointers(v, [...at, i], out));
  else if (doc && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) pointers(v, [...at, k], out);
  return out;
}

function parentOf(doc: Json, at: (string | number)[]): Json {
  let node = doc;
  for (const key of at.slice(0, -1)) node = (node as Record<string | number, Json>)[key];
  return node;
}

const pointerText = (at: (string | number)[]) => '/' + at.map((k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/** Placeholders replaced in the serialized text by what JSON.stringify cannot write. */
const RAW = '\u0000raw:';

/**
 * One mutated case of `base`. `allowed`, when given, limits mutations to pointers starting with
 * one of its prefixes (the create sample keeps to harmless fields); `symlinks` names entries of
 * the bundle that are symlinks (to `/`, `..`), used as path values.
 */
export function mutate(base: Json, random: () => number, opts: { allowed?: string[]; symlinks?: string[]; rounds?: number } = {}): Mutation {
  const doc = structuredClone(base) as Json;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const raws: string[] = [];
  const raw = (text: string) => `${RAW}${raws.push(text) - 1}\u0000`;
  const done: string[] = [];
  const rounds = opts.rounds ?? 1 + Math.floor(random() * 3);
  for (let round = 0; round < rounds; round++) {
    const all = pointers(doc).filter((p) => p.length > 0);
    const candidates = opts.allowed ? all.filter((p) => opts.allowed!.some((prefix) => pointerText(p).startsWith(prefix))) : all;
    if (candidates.length === 0) break;
    const at = pick(candidates);
    const parent = parentOf(doc, at) as Record<string | number, Json>;
    const key = at[at.length - 1];
    const old = parent[key];
    const kind = pick(opts.allowed ? SAFE_KINDS : KINDS);
    let value: Json | undefined = old;
    switch (kind) {
      case 'swap-type':
        value = pick<Json>(([null, true, 0, -1, '', 'x', [], {}, [old], { value: old }] as Json[]).filter((v) => typeof v !== typeof old || Array.isArray(v) !== Array.isArray(old)));
        break;
      case 'remove':
        value = undefined;
        break;
      case 'duplicate':
        if (!Array.isArray(parent) && typeof key === 'string') {
          // Both copies end up in the text; JSON.parse keeps the last.
          value = raw(`${JSON.stringify(old)}, ${JSON.stringify(key)}: ${JSON.stringify(pick<Json>([old, 'dup', 7, null]))}`);
        } else if (Array.isArray(parent)) {
          parent.push(structuredClone(old));
        }
        break;
      case 'number':
        value = raw(pick(['1e999', '-1e999', '-1', '-9223372036854775809', '18446744073709551616', '4294967296', '0.5', '-0', '1e-400', '123456789012345678901234567890']));
        break;
      case 'long-string':
        value = pick(['A'.repeat(100_000), '/a'.repeat(20_000), 'x\n'.repeat(1000), '%s%n%x'.repeat(100)]);
        break;
      case 'deep':
        value = raw(pick([
          '['.repeat(20_000) + ']'.repeat(20_000),
          '{"a":'.repeat(5_000) + '1' + '}'.repeat(5_000),
          '['.repeat(20_000),
          '{"a":'.repeat(20_000),
        ]));
        break;
      case 'non-utf8':
        value = raw(`"${pick(['\udc00', 'a\ud800b', '\ufffe', '\\ud800', '\\udfff\\ud800', '\u0000'])}INVALID_BYTES"`);
        break;
      case 'dotdot':
        value = pick(['..', '../..', '/../../etc', 'a/../../b', '/proc/self/root', '../../../../../../etc/shadow', './././..', '/..']);
        break;
      case 'symlink':
        value = opts.symlinks && opts.symlinks.length > 0 ? pick(opts.symlinks) : '..';
        break;
    }
    if (value === undefined) {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else {
      parent[key] = value;
    }
    done.push(`${kind} at ${pointerText(at)}`);
  }
  let text = JSON.stringify(doc, null, 1);
  // Placeholders were serialized as strings: put the raw text in their place.
  text = text.replace(/"\\u0000raw:(\d+)\\u0000"/g, (_, n: string) => raws[Number(n)]);
  let bytes = Buffer.from(text, 'utf8');
  // Invalid UTF-8 bytes, for the cases that asked for them.
  const marker = Buffer.from('INVALID_BYTES');
  for (let i = bytes.indexOf(marker); i >= 0; i = bytes.indexOf(marker)) {
    bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from([0xff, 0xc3, 0x28, 0xe2, 0x82]), bytes.subarray(i + marker.length)]);
  }
  if (random() < 0.03) {
    // Cut anywhere: a config truncated mid-write.
    bytes = bytes.subarray(0, Math.floor(random() * bytes.length));
    done.push('truncated');
  }
  return { describe: done.join('; '), bytes };
}

const KINDS = ['swap-type', 'remove', 'duplicate', 'number', 'long-string', 'deep', 'non-utf8', 'dotdot', 'symlink'] as const;
/** For configs that are then created: no paths and nothing that could reach the host. */
const SAFE_KINDS = ['swap-type', 'remove', 'duplicate', 'number', 'long-string', 'non-utf8'] as const;
