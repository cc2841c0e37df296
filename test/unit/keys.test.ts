/**
 * Struct keys matched case-insensitively, as runc's Go encoding/json does (src/config/keys.ts):
 * config.json, `exec --process` and `update -r` accept `{"Process": …}` / `{"Memory": {"Limit": …}}`,
 * map keys stay as written, and keys that land on one field are decoded in document order.
 * The Go outcomes quoted here were checked with go1.19's encoding/json (the Go of Debian's runc).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultSpec } from '../../src/config/default';
import { foldKeys, foldName } from '../../src/config/keys';
import { buildKeyTable } from '../../src/config/schema/keyTable';
import { loadBundle, readConfig, validateProcess, validateResources, validateSpec } from '../../src/config/validate';

const REPO = path.resolve(__dirname, '../../..');
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A temporary bundle with an empty rootfs and `config` (as text, so key order and spelling are exact). */
function bundleWith(tt: { teardown(fn: () => void): void }, configText: string): string {
  const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-keys-'));
  fs.mkdirSync(path.join(bundle, 'rootfs'));
  fs.writeFileSync(path.join(bundle, 'config.json'), configText);
  tt.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  return bundle;
}

/** Every key of an object, renamed by `rename`, recursively (arrays included). */
function renameKeys(value: unknown, rename: (key: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => renameKeys(v, rename));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), renameKeys(v, rename)]));
}

const fold = (text: string, shape: 'config' | 'process' | 'resources') => foldKeys(JSON.parse(text), shape);

t.test('config: every struct key accepted in any case, and read as the spec spells it', async (tt) => {
  const spec = defaultSpec({ rootless: false }) as Json;
  spec.root.path = 'rootfs';
  spec.annotations = { 'org.Example.Key': 'v' };
  spec.linux.resources = { memory: { limit: 1 << 30 }, unified: { 'memory.High': 'max' } };
  // Upper-case every key, map keys included: the map keys must come back unchanged.
  const shouted = renameKeys(spec, (k) => k.toUpperCase()) as Json;
  // (An upper-case sysctl would be refused: sysctl names are case-sensitive, which proves they stay as written.)
  shouted.LINUX.SYSCTL = { 'net.ipv4.ip_forward': '1' };
  const bundle = bundleWith(tt, JSON.stringify(shouted));
  const loaded = loadBundle(bundle);
  const expected = structuredClone(spec);
  expected.annotations = { 'ORG.EXAMPLE.KEY': 'v' };
  expected.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
  expected.linux.resources.unified = { 'MEMORY.HIGH': 'max' };
  tt.same(loaded.spec, expected, 'canonical struct keys, map keys as written');
  tt.same(validateSpec(readConfig(bundle).document, bundle), [], '`runts validate` sees the same');
  const sysctl = structuredClone(shouted);
  sysctl.LINUX.SYSCTL = { 'NET.IPV4.IP_FORWARD': '1' };
  tt.throws(() => loadBundle(bundleWith(tt, JSON.stringify(sysctl))), {
    message: 'config.json: /linux/sysctl/NET.IPV4.IP_FORWARD: sysctl "NET.IPV4.IP_FORWARD" is not in a separate kernel namespace',
  }, 'sysctl keys are not folded');
});

t.test('process (exec --process) and resources (update -r) fold their keys', async (tt) => {
  const proc = fold('{"Args": ["sh"], "CWD": "/", "User": {"UID": 1000, "GID": 1000, "AdditionalGids": [5]}, "NoNewPrivileges": true, "Capabilities": {"Bounding": ["CAP_CHOWN"]}, "Rlimits": [{"Type": "RLIMIT_NOFILE", "Soft": 1, "Hard": 2}]}', 'process');
  tt.same(proc, {
    args: ['sh'],
    cwd: '/',
    user: { uid: 1000, gid: 1000, additionalGids: [5] },
    noNewPrivileges: true,
    capabilities: { bounding: ['CAP_CHOWN'] },
    rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 2 }],
  });
  tt.same(validateProcess(proc), []);

  // runc's update.bats: `{"CPU": {"Cpus": "1"}}`; the brief's `{"memory": {"Limit": 5}}`.
  tt.same(fold('{"CPU": {"Cpus": "1", "Mems": "0"}}', 'resources'), { cpu: { cpus: '1', mems: '0' } });
  const res = fold('{"Memory": {"Limit": 33554432, "RESERVATION": 25165824, "CheckBeforeUpdate": true}, "pids": {"LIMIT": 20}, "BlockIO": {"WeightDevice": [{"Major": 8, "Minor": 0, "Weight": 10}]}}', 'resources');
  tt.same(res, { memory: { limit: 33554432, reservation: 25165824, checkBeforeUpdate: true }, pids: { limit: 20 }, blockIO: { weightDevice: [{ major: 8, minor: 0, weight: 10 }] } });
  tt.same(validateResources(res), []);
});

t.test('map keys are data: annotations, sysctl, unified, rdma, timeOffsets, netDevices', async (tt) => {
  const config = fold(
    JSON.stringify({
      ociVersion: '1.0.2',
      Annotations: { Process: 'x', 'io.K8s': 'y' },
      Linux: {
        Sysctl: { 'Kernel.Shmmax': '1' },
        TimeOffsets: { Monotonic: { Secs: 1, NanoSecs: 2 } },
        NetDevices: { Eth0: { Name: 'Eth1' } },
        Resources: { Unified: { 'Memory.Max': '1', Memory: '2' }, Rdma: { Mlx5_0: { HcaHandles: 3, HCAOBJECTS: 4 } } },
      },
    }),
    'config',
  ) as Json;
  tt.same(config.annotations, { Process: 'x', 'io.K8s': 'y' });
  tt.same(config.linux.sysctl, { 'Kernel.Shmmax': '1' });
  tt.same(config.linux.timeOffsets, { Monotonic: { secs: 1, nanosecs: 2 } }, 'the values of a map are structs: their keys fold');
  tt.same(config.linux.netDevices, { Eth0: { name: 'Eth1' } });
  tt.same(config.linux.resources.unified, { 'Memory.Max': '1', Memory: '2' });
  tt.same(config.linux.resources.rdma, { Mlx5_0: { hcaHandles: 3, hcaObjects: 4 } });
  // Arrays of strings are values too.
  tt.same(fold('{"Env": ["Path=/bin"], "Args": ["Sh"], "cwd": "/"}', 'process'), { env: ['Path=/bin'], args: ['Sh'], cwd: '/' });
});

t.test('keys that land on one field: document order, objects merged as Go decodes them', async (tt) => {
  // Each expectation is what go1.19 encoding/json leaves (see the file header).
  tt.same(fold('{"process": {"args": ["a"], "cwd": "/x"}, "PROCESS": {"args": ["b"]}}', 'config'), { process: { args: ['b'], cwd: '/x' } }, 'a later object fills the earlier struct');
  tt.same(fold('{"PROCESS": {"args": ["b"]}, "process": {"args": ["a"], "cwd": "/x"}}', 'config'), { process: { args: ['a'], cwd: '/x' } }, 'the exact spelling has no priority: the later key wins');
  tt.same(
    fold('{"Process": {"Args": ["sh"], "CWD": "/", "User": {"UID": 1}}, "process": {"env": ["A=1"], "user": {"gid": 2}}}', 'config'),
    { process: { args: ['sh'], cwd: '/', user: { uid: 1, gid: 2 }, env: ['A=1'] } },
    'nested structs merge field by field',
  );
  tt.same(fold('{"process": {"user": {"uid": 1, "gid": 2}}, "Process": {"user": {"uid": 5}}}', 'config'), { process: { user: { uid: 5, gid: 2 } } });
  tt.same(fold('{"annotations": {"a": "1", "b": "2"}, "Annotations": {"b": "3"}}', 'config'), { annotations: { a: '1', b: '3' } }, 'maps merge entry by entry');
  tt.same(fold('{"linux": {"resources": {"rdma": {"d": {"hcaHandles": 1}}}}, "Linux": {"Resources": {"Rdma": {"d": {"hcaObjects": 2}}}}}', 'config'), { linux: { resources: { rdma: { d: { hcaObjects: 2 } } } } }, 'a map entry is replaced whole');
  tt.same(fold('{"memory": {"limit": 1, "swap": 2}, "Memory": {"Limit": 3}}', 'resources'), { memory: { limit: 3, swap: 2 } });
  tt.same(fold('{"memory": {"limit": 1}, "Memory": null}', 'resources'), { memory: null }, 'null replaces (and the schema then refuses it)');
  tt.same(fold('{"Args": ["a"], "args": ["b", "c"], "cwd": "/"}', 'process'), { args: ['b', 'c'], cwd: '/' }, 'arrays are replaced, not merged');
  tt.same(fold('{"Cwd": "/a", "cwd": "/b", "CWD": "/c", "args": ["x"]}', 'process'), { cwd: '/c', args: ['x'] });
});

t.test('exact keys: the same object back, untouched', async (tt) => {
  const spec = defaultSpec({ rootless: true }) as Json;
  const copy = structuredClone(spec);
  tt.equal(foldKeys(spec, 'config'), spec, 'no copy when nothing is renamed');
  tt.same(spec, copy, 'nothing changed');
  const res = { memory: { limit: 5 }, Unknown: { Limit: 1 } };
  tt.equal(foldKeys(res, 'resources'), res);
});

t.test('unknown keys behave as before: kept as written, accepted by the schema', async (tt) => {
  const config = fold('{"ociVersion": "1.0.2", "Proc": {"Args": []}, "org.example.Ext": {"Process": 1}, "Linux": {"Resources": {"Memory": {"Limits": 1}}}}', 'config') as Json;
  tt.same(config, { ociVersion: '1.0.2', Proc: { Args: [] }, 'org.example.Ext': { Process: 1 }, linux: { resources: { memory: { Limits: 1 } } } });
  tt.same(validateResources(fold('{"Memory": {"Limits": 1}, "Frobnicate": true}', 'resources')), []);
  // Objects runts gives no shape (other platforms) are left alone.
  tt.same(fold('{"Windows": {"LayerFolders": []}}', 'config'), { windows: { LayerFolders: [] } });
  // Wrong types go on to the schema as they are, under the canonical name.
  tt.same(fold('{"Process": "sh"}', 'config'), { process: 'sh' });
});

t.test('validation errors name the canonical JSON pointer', async (tt) => {
  tt.same(validateProcess(fold('{"Args": [], "Cwd": "/"}', 'process')), ['process.json: /args: must NOT have fewer than 1 items']);
  tt.same(validateResources(fold('{"Memory": {"Limit": "1G"}}', 'resources')), ['resources: /memory/limit: must be integer']);
  const spec = defaultSpec({ rootless: false }) as Json;
  spec.root.path = 'rootfs';
  spec.process.cwd = 'relative';
  const bundle = bundleWith(tt, JSON.stringify(renameKeys(spec, (k) => (k === 'process' ? 'Process' : k === 'cwd' ? 'Cwd' : k))));
  tt.throws(() => loadBundle(bundle), { message: 'config.json: /process/cwd: must be an absolute path, got "relative"' });
});

t.test('Go EqualFold: the long s and the Kelvin sign match s and k; nothing else non-ASCII does', async (tt) => {
  tt.equal(foldName('ſwap'), 'swap');
  tt.equal(foldName('\u212Aernel'), 'kernel');
  tt.same(fold('{"memory": {"ſwap": 1, "\u212Aernel": 2, "\u212AERNELTCP": 3}}', 'resources'), { memory: { swap: 1, kernel: 2, kernelTCP: 3 } });
  // U+0130 (İ) lower-cases to "i" + U+0307: not a fold of "i" in Go.
  tt.same(fold('{"\u0130d": 1, "cwd": "/", "args": ["a"], "USER": {"\u0130D": 1}}', 'process'), { '\u0130d': 1, cwd: '/', args: ['a'], user: { '\u0130D': 1 } });
});

t.test('"__proto__" keys stay own data, never a prototype', async (tt) => {
  const res = fold('{"Memory": {"limit": 1}, "__proto__": {"polluted": true}, "unified": {"__proto__": "x"}}', 'resources') as Json;
  tt.equal(Object.getPrototypeOf(res), Object.prototype);
  tt.equal(res.polluted, undefined);
  tt.same(Object.keys(res), ['memory', '__proto__', 'unified']);
  tt.equal(({} as Json).polluted, undefined);
});

t.test('the key table: built from the schemas, maps exactly where specs-go has Go maps', async (tt) => {
  const table = JSON.parse(fs.readFileSync(path.join(REPO, 'dist/src/config/schema/keys.json'), 'utf8'));
  // Rebuilt here from the schemas: the file the build wrote is that, not a stale copy.
  const dir = path.join(REPO, 'src/config/schema');
  const schemas: Record<string, Json> = {};
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.json'))) {
    const s = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
    schemas[s.$id] = s;
  }
  const base = 'https://runts.dev/schema/';
  tt.same(buildKeyTable(schemas, { config: base + 'config-schema.json', process: base + 'process.json', resources: base + 'resources.json' }), table);

  // Nodes are [map, items, field, child, …] (keyTable.ts).
  const fieldsOf = (n: number): Record<string, number> => {
    const node = table.nodes[n];
    const out: Record<string, number> = {};
    for (let i = 2; i < node.length; i += 2) out[node[i]] = node[i + 1];
    return out;
  };
  const maps: string[] = [];
  const walk = (n: number, at: string, seen: Set<number>) => {
    if (n === 0 || seen.has(n)) return;
    seen.add(n);
    const [map, items] = table.nodes[n];
    if (map >= 0) maps.push(at);
    for (const [name, child] of Object.entries(fieldsOf(n))) walk(child, `${at}.${name}`, new Set(seen));
    if (map >= 0) walk(map, `${at}.*`, seen);
    if (items >= 0) walk(items, `${at}[]`, seen);
  };
  walk(table.roots.config, '', new Set());
  // runtime-spec specs-go/config.go: every map[string]… field.
  tt.same(maps.sort(), ['.annotations', '.linux.netDevices', '.linux.resources.rdma', '.linux.resources.unified', '.linux.sysctl', '.linux.timeOffsets']);
  const config = fieldsOf(table.roots.config);
  tt.equal(table.roots.process, config.process, 'exec --process shares config.process');
  tt.equal(table.roots.resources, fieldsOf(config.linux).resources, 'update -r shares linux.resources');
  tt.same(Object.keys(fieldsOf(config.hooks)), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'], 'hooks is a struct: its keys fold');
  const weightDevice = table.nodes[fieldsOf(fieldsOf(fieldsOf(config.linux).resources).blockIO).weightDevice][1];
  tt.same(Object.keys(fieldsOf(weightDevice)).sort(), ['leafWeight', 'major', 'minor', 'weight'], 'allOf: LinuxWeightDevice embeds LinuxBlockIODevice');
});

t.test('buildKeyTable refuses schemas it cannot read as Go types', async (tt) => {
  const id = 'https://x/s.json';
  tt.throws(() => buildKeyTable({ [id]: { properties: { a: {} }, additionalProperties: { type: 'string' } } }, { s: id }), /neither a struct nor a map/);
  tt.throws(() => buildKeyTable({ [id]: { properties: { fooBar: {}, foobar: {} } } }, { s: id }), /fold to the same name/);
  tt.throws(() => buildKeyTable({ [id]: { properties: { a: { $ref: 'other.json' } } } }, { s: id }), /unknown \$ref/);
});

t.test('the key table is read only when something is folded, never by the hot path', async (tt) => {
  const probe = [
    `require(${JSON.stringify(path.join(REPO, 'dist/src/config/keys.js'))});`,
    `require(${JSON.stringify(path.join(REPO, 'dist/src/config/load.js'))});`,
    `const fs = require('fs'); const read = fs.readFileSync; let n = 0;`,
    `fs.readFileSync = (f, ...a) => { if (String(f).endsWith('keys.json')) n++; return read(f, ...a); };`,
    `process.stdout.write(String(n));`,
  ].join('\n');
  tt.equal(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }), '0', 'importing costs no read');
  const hot = fs.readFileSync(path.join(REPO, 'dist/bundle/runts.js'), 'utf8');
  tt.notMatch(hot, /keys\.json/, 'the hot bundle holds no key folding');
});
