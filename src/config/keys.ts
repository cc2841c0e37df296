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
import { PACKAGE_ROOT } from '../base/paths';

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

interface Node {
  /** Struct: canonical field → child node, and folded name → canonical field. */
  fields?: Map<string, number>;
  folded?: Map<string, string>;
  /** Map: the values' node (0: scalars). */
  map?: number;
  /** Array: the elements' node. */
  items?: number;
}

interface Table {
  nodes: Node[];
  roots: Record<KeyShape, number>;
}

const KEYS_FILE = path.join(PACKAGE_ROOT, 'dist', 'src', 'config', 'schema', 'keys.json');

let table: Table | undefined;

function loadTable(): Table {
  if (table) return table;
  let raw: { nodes: { f?: Record<string, number>; m?: number; a?: number }[]; roots: Record<KeyShape, number> };
  try {
    raw = JSON.parse(fs.readFileSync(KEYS_FILE, 'utf8'));
  } catch (err) {
    throw new RuntimeError(`config key table ${KEYS_FILE} is missing: run "npm run build" (${(err as Error).message.split('\n')[0]})`);
  }
  const nodes = raw.nodes.map((n): Node => {
    const node: Node = { map: n.m, items: n.a };
    if (n.f) {
      node.fields = new Map(Object.entries(n.f));
      node.folded = new Map(Object.keys(n.f).map((name) => [foldName(name), name]));
    }
    return node;
  });
  return (table = { nodes, roots: raw.roots });
}

/**
 * `doc` with every struct key spelled as the spec spells it. Objects are changed in place; the
 * result is a new object only where an object had a key renamed (so use the return value).
 */
export function foldKeys(doc: unknown, shape: KeyShape): unknown {
  const { nodes, roots } = loadTable();
  return walk(doc, roots[shape], nodes);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(value: unknown, n: number, nodes: Node[]): unknown {
  if (n === 0 || typeof value !== 'object' || value === null) return value;
  const node = nodes[n];
  if (Array.isArray(value)) {
    if (node.items) {
      for (let i = 0; i < value.length; i++) {
        const v = walk(value[i], node.items, nodes);
        if (v !== value[i]) value[i] = v;
      }
    }
    return value;
  }
  const obj = value as Record<string, unknown>;
  if (node.map) {
    for (const key of Object.keys(obj)) {
      const v = walk(obj[key], node.map, nodes);
      if (v !== obj[key]) obj[key] = v;
    }
    return obj;
  }
  const fields = node.fields;
  if (!fields) return obj;
  let renamed = false;
  for (const key of Object.keys(obj)) {
    let child = fields.get(key);
    if (child === undefined) {
      const canonical = node.folded!.get(foldName(key));
      if (canonical === undefined) continue; // unknown: kept as is
      renamed = true;
      child = fields.get(canonical)!;
    }
    const v = walk(obj[key], child, nodes);
    if (v !== obj[key]) obj[key] = v;
  }
  return renamed ? rekey(obj, node, nodes) : obj;
}

/** A copy of a struct object with its keys canonical, equal fields decoded in document order. */
function rekey(obj: Record<string, unknown>, node: Node, nodes: Node[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const canonical = node.fields!.has(key) ? key : (node.folded!.get(foldName(key)) ?? key);
    if (Object.prototype.hasOwnProperty.call(out, canonical)) {
      setOwn(out, canonical, decodeOver(out[canonical], obj[key], node.fields!.get(canonical) ?? 0, nodes));
    } else {
      setOwn(out, canonical, obj[key]);
    }
  }
  return out;
}

/**
 * What Go leaves in a field holding `prev` after decoding `next` into it: an object into a
 * struct sets the fields it names (recursively), into a map sets the entries it names; anything
 * else (scalar, array, null, or a type mismatch the schema will report) replaces.
 */
function decodeOver(prev: unknown, next: unknown, n: number, nodes: Node[]): unknown {
  if (n === 0 || !isObject(prev) || !isObject(next)) return next;
  const node = nodes[n];
  if (node.map !== undefined) {
    for (const key of Object.keys(next)) setOwn(prev, key, next[key]);
    return prev;
  }
  if (!node.fields) return next;
  for (const key of Object.keys(next)) {
    const child = node.fields.get(key);
    const merged = child !== undefined && Object.prototype.hasOwnProperty.call(prev, key) ? decodeOver(prev[key], next[key], child, nodes) : next[key];
    setOwn(prev, key, merged);
  }
  return prev;
}

/** obj[key] = value, also for a key named "__proto__" (an own property, as JSON.parse makes it). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}
