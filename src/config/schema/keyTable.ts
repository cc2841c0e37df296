/**
 * Build step helper: the shape of config.json's fixed-shape objects, read from the JSON Schemas
 * beside this file, for src/config/keys.ts (Go-style case-insensitive keys). Run by
 * build-validator.ts, which writes the table to dist/src/config/schema/keys.json; never loaded
 * by runts commands.
 *
 * The schemas say which objects are Go structs and which are Go maps, the same way the
 * runtime-spec's specs-go types do:
 *  - `properties` is a struct: its field names are the ones encoding/json matches case-folded;
 *  - `additionalProperties` (a schema) is a map (annotations, linux.sysctl, linux.timeOffsets,
 *    linux.netDevices, resources.rdma, resources.unified): its keys are data, never folded;
 *  - `items` is a slice, whose elements have the items' shape.
 * `$ref` and `allOf` (LinuxWeightDevice embeds LinuxBlockIODevice) are followed.
 */
import { foldName } from '../keys';

/**
 * One shape, flat so that parsing keys.json stays cheap (an array per node, no object shapes for
 * V8 to build: ~35 µs against ~120 µs for objects keyed by field name):
 * `[map, items, field, child, field, child, …]`, where
 *  - map: the values' child if the node is a map, else -1;
 *  - items: the elements' child if the node is an array, else -1;
 *  - field/child pairs: a struct's canonical field names and their children.
 * A child is a node index; 0 is the leaf (a scalar, or an object we know nothing about).
 */
export type KeyNode = (string | number)[];

/** Index of the map child, of the items child, and of the first field name in a KeyNode. */
export const MAP = 0;
export const ITEMS = 1;
export const FIELDS = 2;

export interface KeyTable {
  /** nodes[0] is the leaf. */
  nodes: KeyNode[];
  /** Entry point name (config, process, resources) → node. */
  roots: Record<string, number>;
}

type Schema = Record<string, unknown>;

/**
 * @param schemas every schema by its $id
 * @param entries entry point name → $id of its root schema
 */
export function buildKeyTable(schemas: Record<string, Schema>, entries: Record<string, string>): KeyTable {
  const nodes: KeyNode[] = [[-1, -1]];
  const seen = new Map<Schema, number>();

  function resolve(ref: string, base: string): { schema: Schema; base: string } {
    const [file, fragment = ''] = ref.split('#');
    const id = file === '' ? base : new URL(file, base).href;
    let schema = schemas[id] as unknown;
    if (schema === undefined) throw new Error(`keys: unknown $ref ${ref} from ${base}`);
    for (const part of fragment.split('/').filter(Boolean)) {
      schema = (schema as Schema)[decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~')];
      if (schema === undefined) throw new Error(`keys: unresolved $ref ${ref} from ${base}`);
    }
    return { schema: schema as Schema, base: id };
  }

  /** The properties of a schema and of everything it pulls in by $ref and allOf. */
  function collect(schema: Schema, base: string, into: { props: [string, Schema, string][]; map?: [Schema, string]; items?: [Schema, string] }): void {
    if (typeof schema.$ref === 'string') {
      const r = resolve(schema.$ref, base);
      collect(r.schema, r.base, into);
    }
    for (const sub of (schema.allOf as Schema[] | undefined) ?? []) collect(sub, base, into);
    const props = schema.properties as Record<string, Schema> | undefined;
    for (const [name, sub] of Object.entries(props ?? {})) into.props.push([name, sub, base]);
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      into.map = [schema.additionalProperties as Schema, base];
    }
    if (schema.items && typeof schema.items === 'object' && !Array.isArray(schema.items)) into.items = [schema.items as Schema, base];
  }

  function node(schema: Schema, base: string): number {
    // A bare $ref is its target: process.json is one node, whether reached from config or as a root.
    if (typeof schema.$ref === 'string' && Object.keys(schema).every((k) => k === '$ref' || k === 'description')) {
      const r = resolve(schema.$ref, base);
      return node(r.schema, r.base);
    }
    const known = seen.get(schema);
    if (known !== undefined) return known;
    const found: Parameters<typeof collect>[2] = { props: [] };
    collect(schema, base, found);
    // An array of scalars is a leaf: a later value replaces it whole, and nothing in it is a key.
    // (Its items are resolved first: a schema recursive through arrays only would not end.)
    const leafArray = found.props.length === 0 && !found.map && found.items !== undefined && node(found.items[0], found.items[1]) === 0;
    if (leafArray || (found.props.length === 0 && !found.map && !found.items)) {
      seen.set(schema, 0);
      return 0;
    }
    if (found.props.length > 0 && found.map) throw new Error(`keys: ${base}: an object with both properties and additionalProperties is neither a struct nor a map`);
    const index = nodes.length;
    const out: KeyNode = [-1, -1];
    nodes.push(out);
    seen.set(schema, index); // before the children: a recursive schema ends here
    const folded = new Map<string, string>();
    for (const [name, sub, subBase] of found.props) {
      const other = folded.get(foldName(name));
      if (other !== undefined && other !== name) throw new Error(`keys: ${base}: fields ${other} and ${name} fold to the same name`);
      folded.set(foldName(name), name);
      const child = node(sub, subBase);
      const at = out.indexOf(name, FIELDS);
      if (at >= FIELDS) out[at + 1] = child; // named again (allOf): one field
      else out.push(name, child);
    }
    if (found.map) out[MAP] = node(found.map[0], found.map[1]);
    if (found.items) out[ITEMS] = node(found.items[0], found.items[1]);
    return index;
  }

  const roots: Record<string, number> = {};
  for (const [name, id] of Object.entries(entries)) {
    if (!schemas[id]) throw new Error(`keys: no schema ${id}`);
    roots[name] = node(schemas[id], id);
  }
  return { nodes, roots };
}
