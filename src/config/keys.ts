/**
 * Case-insensitive keys, as runc reads them. runc decodes config.json, `exec --process FILE` and
 * `update -r FILE` with Go's encoding/json, which matches a key to a struct field exactly if it
 * can and else case-insensitively (bytes.EqualFold): `{"Process": {"Args": […]}}` and
 * `{"memory": {"Limit": 5}}` are what runc's own tests feed it. foldKeys renames such keys to
 * the spec's spelling before validation, so every later step (schema, semantic checks, plan,
 * update, error pointers) sees only the canonical names.
 *
 * Only struct fields fold; the keys of Go maps (annotations, linux.sysctl, linux.timeOffsets,
 * linux.netDevices, resources.rdma, resources.unified) are data and stay as written. Which
 * object is which comes from the JSON Schemas, at build time (src/config/schema/keyTable.ts →
 * dist/src/config/schema/keys.json), so the names cannot drift from what is validated.
 *
 * Two keys of one object that land on the same field are decoded in document order, each into
 * what the one before left, as Go does: a later scalar or array replaces, a later object is
 * merged into the earlier struct (field by field, recursively) or map (entry by entry). Keys no
 * field matches are kept as they are (the schemas accept unknown properties).
 * Not reproduced: a key repeated with the very same spelling, which JSON.parse has already
 * collapsed to its last value (Go would merge the two objects).
 *
 * Cost: one pass over the parsed document, touching only objects the schemas give a shape; an
 * object is copied only when one of its keys had to be renamed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RuntimeError } from '../base/errors';
import { packageRoot } from '../base/paths';

/** What is being decoded: the schema entry points of src/config/schema/build-validator.ts. */
export type KeyShape = 'config' | 'process' | 'resources';

/**
 * Go's EqualFold against an ASCII field name: ASCII case, plus the two non-ASCII runes whose
 * Unicode fold orbit holds an ASCII letter (U+017F long s ~ s; U+212A Kelvin sign ~ k, which
 * toLowerCase already maps to k). No other rune lowercases to a lone ASCII letter.
 */
export function foldName(name: string): string {
  return name.toLowerCase().replace(/\u017f/g, 's');
}

/** A shape as keys.json holds it: `[map, items, field, child, …]` (src/config/schema/keyTable.ts). */
type Node = (string | number)[];
const MAP = 0;
const ITEMS = 1;
const FIELDS = 2;

interface Table {
  nodes: Node[];
  roots: Record<KeyShape, number>;
  /** Per struct node, folded name → canonical field, built on its first key that is not exact. */
  folded: (Map<string, string> | undefined)[];
}

let table: Table | undefined;

function loadTable(): Table {
  if (table) return table;
  const file = path.join(packageRoot(), 'dist', 'src', 'config', 'schema', 'keys.json');
  let raw: { nodes: Node[]; roots: Record<KeyShape, number> };
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new RuntimeError(`config key table ${file} is missing: run "npm run build" (${(err as Error).message.split('\n')[0]})`);
  }
  return (table = { nodes: raw.nodes, roots: raw.roots, folded: [] });
}

/**
 * `doc` with every struct key spelled as the spec spells it. Objects are changed in place; the
 * result is a new object only where an object had a key renamed (so use the return value).
 */
export function foldKeys(doc: unknown, shape: KeyShape): unknown {
  const t = loadTable();
  return walk(t, doc, t.roots[shape]);
}

/** Index in struct node `n` of the field `key` names (exactly, else case-folded); -1 for none. */
function fieldAt(t: Table, n: number, key: string): number {
  const node = t.nodes[n];
  const at = node.indexOf(key, FIELDS);
  if (at >= FIELDS) return at;
  let folded = t.folded[n];
  if (!folded) {
    folded = t.folded[n] = new Map();
    for (let i = FIELDS; i < node.length; i += 2) folded.set(foldName(node[i] as string), node[i] as string);
  }
  const name = folded.get(foldName(key));
  return name === undefined ? -1 : node.indexOf(name, FIELDS);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(t: Table, value: unknown, n: number): unknown {
  if (n === 0 || typeof value !== 'object' || value === null) return value;
  const node = t.nodes[n];
  if (Array.isArray(value)) {
    const items = node[ITEMS] as number;
    if (items > 0) {
      for (let i = 0; i < value.length; i++) {
        const v = walk(t, value[i], items);
        if (v !== value[i]) value[i] = v;
      }
    }
    return value;
  }
  const obj = value as Record<string, unknown>;
  const map = node[MAP] as number;
  if (map >= 0) {
    if (map > 0) {
      for (const key of Object.keys(obj)) {
        const v = walk(t, obj[key], map);
        if (v !== obj[key]) obj[key] = v;
      }
    }
    return obj;
  }
  if (node.length === FIELDS) return obj;
  let renamed = false;
  for (const key of Object.keys(obj)) {
    const at = fieldAt(t, n, key);
    if (at < 0) continue; // unknown: kept as is
    if (node[at] !== key) renamed = true;
    const v = walk(t, obj[key], node[at + 1] as number);
    if (v !== obj[key]) obj[key] = v;
  }
  return renamed ? rekey(t, obj, n) : obj;
}

/** A copy of a struct object with its keys canonical, equal fields decoded in document order. */
function rekey(t: Table, obj: Record<string, unknown>, n: number): Record<string, unknown> {
  const node = t.nodes[n];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const at = fieldAt(t, n, key);
    if (at < 0) {
      setOwn(out, key, obj[key]); // unknown: no field, so no other key lands on it
      continue;
    }
    const field = node[at] as string;
    setOwn(out, field, hasOwn(out, field) ? decodeOver(t, out[field], obj[key], node[at + 1] as number) : obj[key]);
  }
  return out;
}

/**
 * What Go leaves in a field holding `prev` after decoding `next` into it: an object into a
 * struct sets the fields it names (recursively), into a map sets the entries it names; anything
 * else (scalar, array, null, or a type mismatch the schema will report) replaces.
 */
function decodeOver(t: Table, prev: unknown, next: unknown, n: number): unknown {
  if (n === 0 || !isObject(prev) || !isObject(next)) return next;
  const node = t.nodes[n];
  if ((node[MAP] as number) >= 0) {
    for (const key of Object.keys(next)) setOwn(prev, key, next[key]);
    return prev;
  }
  if (node.length === FIELDS) return next;
  for (const key of Object.keys(next)) {
    // Both sides are canonical already: an exact lookup is enough.
    const at = node.indexOf(key, FIELDS);
    setOwn(prev, key, at >= FIELDS && hasOwn(prev, key) ? decodeOver(t, prev[key], next[key], node[at + 1] as number) : next[key]);
  }
  return prev;
}

const hasOwn = (obj: object, key: string) => Object.prototype.hasOwnProperty.call(obj, key);

/** obj[key] = value, also for a key named "__proto__" (an own property, as JSON.parse makes it). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}
