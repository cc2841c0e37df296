import t from 'tap';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RuntimeError } from '../../src/base/errors';
import { defaultSpec, formatSpec, SPEC_VERSION } from '../../src/config/default';
import { findSyntaxError, lineAndColumn, parseJson } from '../../src/config/load';
import { pointerJoin } from '../../src/config/semantic';
import type { Spec } from '../../src/config/types';
import { loadBundle, readConfig, validateProcess, validateResources, validateSpec } from '../../src/config/validate';

const REPO = path.resolve(__dirname, '../../..');
const VALID_DIR = path.join(REPO, 'fixtures/configs/valid');
const INVALID_DIR = path.join(REPO, 'fixtures/configs/invalid');
const RUNC = '/usr/bin/runc';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any
/** The part of a tap test that the helpers need. */
type Test = { teardown(fn: () => void): void };

const readJson = (file: string): Json => JSON.parse(fs.readFileSync(file, 'utf8'));
const clone = <T>(value: T): T => structuredClone(value);

/** A temporary bundle holding an empty `rootfs` directory; removed when the test ends. */
function makeBundle(tt: Test, config?: unknown): string {
  const bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-validate-'));
  fs.mkdirSync(path.join(bundle, 'rootfs'));
  if (config !== undefined) fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(config));
  tt.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  return bundle;
}

/** Client specs point root.path at host overlay mounts: aim them at the bundle's rootfs. */
function withLocalRootfs(spec: Json): Json {
  const copy = clone(spec);
  if (copy.root) copy.root.path = 'rootfs';
  return copy;
}

const BASE: Spec = defaultSpec({ rootless: false });

function mutated(mutate: (s: Json) => void): Json {
  const spec = clone(BASE) as Json;
  mutate(spec);
  return spec;
}

const fixtureNames = (dir: string) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

t.test('valid corpus: every config passes schema and semantic checks', async (tt) => {
  const names = fixtureNames(VALID_DIR);
  tt.ok(names.length >= 16, 'corpus has the runtime-spec example, runc defaults and 12 client specs');
  const bundle = makeBundle(tt);
  for (const name of names) {
    tt.same(validateSpec(withLocalRootfs(readJson(path.join(VALID_DIR, name))), bundle), [], name);
  }
});

t.test('valid corpus: loadBundle returns the spec, the bundle and the rootfs', async (tt) => {
  for (const name of fixtureNames(VALID_DIR)) {
    const config = withLocalRootfs(readJson(path.join(VALID_DIR, name)));
    const bundle = makeBundle(tt, config);
    const loaded = loadBundle(bundle);
    tt.equal(loaded.bundle, bundle, `${name}: bundle`);
    tt.equal(loaded.rootfs, fs.realpathSync(path.join(bundle, 'rootfs')), `${name}: rootfs`);
    tt.equal(loaded.spec.ociVersion, config.ociVersion, `${name}: spec`);
  }
});

/** The line in `<name>.expect`; `<bundle>` stands for the bundle directory of the run. */
function expectedLine(name: string, bundle: string): string {
  const expectFile = path.join(INVALID_DIR, name.replace(/\.json$/, '.expect'));
  return fs.readFileSync(expectFile, 'utf8').trim().replace('<bundle>', bundle);
}

t.test('invalid corpus: each file yields exactly its expected line', async (tt) => {
  const names = fixtureNames(INVALID_DIR);
  tt.ok(names.length >= 100, `${names.length} invalid configs`);
  const bundle = makeBundle(tt);
  fs.writeFileSync(path.join(bundle, 'config.json'), '{}');
  for (const name of names) {
    tt.same(validateSpec(readJson(path.join(INVALID_DIR, name)), bundle), [expectedLine(name, bundle)], name);
  }
});

t.test('invalid corpus: loadBundle throws the expected line as a RuntimeError', async (tt) => {
  for (const name of fixtureNames(INVALID_DIR)) {
    const bundle = makeBundle(tt);
    fs.copyFileSync(path.join(INVALID_DIR, name), path.join(bundle, 'config.json'));
    tt.throws(() => loadBundle(bundle), new RuntimeError(expectedLine(name, bundle)), name);
  }
});

t.test('readConfig parses without validating, for `runts validate`', async (tt) => {
  const bundle = makeBundle(tt, { ociVersion: 7 });
  const { bundle: dir, document } = readConfig(bundle);
  tt.equal(dir, bundle);
  tt.same(document, { ociVersion: 7 });
  tt.same(validateSpec(document, dir), ['config.json: /ociVersion: must be string']);
});

/** Configs at the edge of each rule that must still pass. */
const PASSING: [string, (s: Json) => void][] = [
  ['ociVersion with pre-release and build', (s) => (s.ociVersion = '1.3.0-rc.1+dev')],
  ['a single argument and cwd "/"', (s) => Object.assign(s.process, { args: ['true'], cwd: '/' })],
  ['no process.user (runc uses 0:0)', (s) => delete s.process.user],
  ['soft rlimit equal to hard, every Linux rlimit', (s) => (s.process.rlimits = ['RLIMIT_AS', 'RLIMIT_RTTIME', 'RLIMIT_NOFILE'].map((type) => ({ type, soft: 5, hard: 5 })))],
  ['RLIM_INFINITY as uint64', (s) => (s.process.rlimits = [{ type: 'RLIMIT_CORE', soft: 18446744073709551615, hard: 18446744073709551615 }])],
  ['capability 40', (s) => s.process.capabilities.bounding.push('CAP_CHECKPOINT_RESTORE')],
  ['empty environment value', (s) => s.process.env.push('EMPTY=')],
  ['nice at both ends', (s) => (s.process.scheduler = { policy: 'SCHED_OTHER', nice: -20 })],
  ['priority with SCHED_FIFO', (s) => (s.process.scheduler = { policy: 'SCHED_FIFO', priority: 10, nice: 19 })],
  ['deadline fields with SCHED_DEADLINE', (s) => (s.process.scheduler = { policy: 'SCHED_DEADLINE', runtime: 1, deadline: 2, period: 3 })],
  ['hostname with a joined uts namespace', (s) => (s.linux.namespaces[3].path = '/proc/1/ns/uts')],
  ['relative mount destination (deprecated, relative to /)', (s) => (s.mounts[0].destination = 'proc')],
  ['idmap option with a user namespace', (s) => {
    s.linux.namespaces.push({ type: 'user' });
    s.linux.uidMappings = s.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 10 }];
    s.mounts.push({ destination: '/data', type: 'none', source: '/srv', options: ['bind', 'idmap'] });
  }],
  ['mount mappings on a bind mount', (s) => {
    const ids = [{ containerID: 0, hostID: 1000, size: 10 }];
    s.mounts.push({ destination: '/data', source: '/srv', options: ['rbind', 'ridmap'], uidMappings: ids, gidMappings: ids });
  }],
  ['hooks with absolute paths in every stage', (s) => {
    s.hooks = {};
    for (const stage of ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']) {
      s.hooks[stage] = [{ path: '/bin/true', timeout: 1 }];
    }
  }],
  ['free-form annotation keys', (s) => (s.annotations = { 'not reverse domain': 'x', 'a/b~c': '' })],
  ['joined namespaces with absolute paths', (s) => (s.linux.namespaces[0].path = '/proc/1/ns/pid')],
  ['joined user namespace without mappings', (s) => s.linux.namespaces.push({ type: 'user', path: '/proc/1/ns/user' })],
  ['adjacent, non-overlapping mappings', (s) => {
    s.linux.namespaces.push({ type: 'user' });
    s.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 100000, size: 65535 }];
    s.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }, { containerID: 1, hostID: 1001, size: 10 }];
  }],
  ['time offsets with a new time namespace', (s) => {
    s.linux.namespaces.push({ type: 'time' });
    s.linux.timeOffsets = { monotonic: { secs: -10 }, boottime: { nanosecs: 5 } };
  }],
  ['namespaced sysctls', (s) => (s.linux.sysctl = { 'kernel.msgmax': '1', 'fs.mqueue.queues_max': '1', 'kernel.domainname': 'x', 'net.ipv4.ip_forward': '1', 'net/ipv4/conf/eth0.100/rp_filter': '0' })],
  ['ipc sysctl with a joined ipc namespace', (s) => {
    s.linux.namespaces[2].path = '/proc/1/ns/ipc';
    s.linux.sysctl = { 'kernel.sem': '1 2 3 4' };
  }],
  ['masked paths with a mount namespace, none without', (s) => {
    s.linux.namespaces = s.linux.namespaces.filter((ns: Json) => ns.type !== 'mount');
    delete s.linux.maskedPaths;
    delete s.linux.readonlyPaths;
  }],
  ['fifo device without major/minor', (s) => (s.linux.devices = [{ path: '/dev/fifo', type: 'p' }, { path: '/dev/ttyX', type: 'u', major: 4, minor: 1 }])],
  ['seccomp errnoRet with SCMP_ACT_TRACE, notify with a listener', (s) => (s.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    listenerPath: '/run/agent.sock',
    listenerMetadata: 'x',
    syscalls: [
      { names: ['ptrace'], action: 'SCMP_ACT_TRACE', errnoRet: 2 },
      { names: ['mknod'], action: 'SCMP_ACT_NOTIFY', args: [{ index: 5, value: 0, op: 'SCMP_CMP_NE' }] },
    ],
  })],
  ['blockIO weightDevice with leafWeight only, rdma with hcaObjects only', (s) => Object.assign(s.linux.resources, {
    blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 10 }] },
    rdma: { mlx4_0: { hcaObjects: 1000 } },
  })],
  ['cpu burst equal to quota, or with an unlimited quota', (s) => (s.linux.resources.cpu = { quota: -1, burst: 500 })],
  ['intelRdt with a plain closID and 1.3 schemata', (s) => (s.linux.intelRdt = { closID: 'gold', schemata: 'L3:0=7f0\nMB:0=20' })],
  ['netDevices with a name template', (s) => (s.linux.netDevices = { eth1: { name: 'eth%d' }, dummy0: {} })],
  ['memory policy without nodes for MPOL_DEFAULT, with nodes for MPOL_PREFERRED_MANY', (s) => (s.linux.memoryPolicy = { mode: 'MPOL_DEFAULT' })],
  ['personality LINUX32', (s) => (s.linux.personality = { domain: 'LINUX32', flags: [] })],
  ['unknown properties at every level', (s) => {
    s.futureField = 1;
    s.process.futureField = { a: 1 };
    s.linux.futureField = [];
    s.linux.resources.futureField = true;
    s.process.capabilities.futureSet = 7;
    s.hooks = { futureStage: [1, 2] };
    s.mounts[0].futureField = 'x';
  }],
];

t.test('configs at the edge of each rule pass', async (tt) => {
  const bundle = makeBundle(tt);
  for (const [name, mutate] of PASSING) tt.same(validateSpec(mutated(mutate), bundle), [], name);
});

t.test('validateSpec lists every schema problem, then semantic ones only for a well-formed config', async (tt) => {
  const bundle = makeBundle(tt);
  const schemaBroken = mutated((s) => {
    s.process.args = [];
    s.process.terminal = 'no';
    s.hostname = 'x';
    s.linux.namespaces = [];
  });
  tt.same(validateSpec(schemaBroken, bundle), [
    'config.json: /process/terminal: must be boolean',
    'config.json: /process/args: must NOT have fewer than 1 items',
  ]);
  const semanticBroken = mutated((s) => {
    s.process.cwd = 'rel';
    s.linux.namespaces = s.linux.namespaces.filter((ns: Json) => ns.type !== 'uts');
    s.linux.sysctl = { 'vm.overcommit_memory': '1' };
  });
  tt.same(validateSpec(semanticBroken, bundle), [
    'config.json: /process/cwd: must be an absolute path, got "rel"',
    'config.json: /hostname: unable to set hostname without a private UTS namespace',
    'config.json: /linux/sysctl/vm.overcommit_memory: sysctl "vm.overcommit_memory" is not in a separate kernel namespace',
  ]);
});

t.test('loadBundle: bundle and config.json errors are one line', async (tt) => {
  const missing = path.join(os.tmpdir(), 'runts-no-such-bundle');
  tt.throws(() => loadBundle(missing), new RuntimeError(`bundle ${missing}: no such file or directory`));
  const bundle = makeBundle(tt);
  const configPath = path.join(bundle, 'config.json');
  tt.throws(() => loadBundle(bundle), new RuntimeError(`config.json: open ${configPath}: no such file or directory`));
  fs.writeFileSync(path.join(bundle, 'file'), '');
  tt.throws(() => loadBundle(path.join(bundle, 'file')), new RuntimeError(`bundle ${path.join(bundle, 'file')}: not a directory`));
  fs.mkdirSync(configPath);
  tt.throws(() => loadBundle(bundle), /^config\.json: open .*config\.json: EISDIR/);
});

t.test('loadBundle: relative bundle, missing user, rootfs through a symlink', async (tt) => {
  const bundle = makeBundle(tt, mutated((s) => {
    delete s.process.user;
    s.root.path = 'link';
  }));
  fs.symlinkSync('rootfs', path.join(bundle, 'link'));
  const loaded = loadBundle(path.relative(process.cwd(), bundle));
  tt.equal(loaded.bundle, bundle);
  tt.equal(loaded.rootfs, fs.realpathSync(path.join(bundle, 'rootfs')));
  tt.same(loaded.spec.process!.user, { uid: 0, gid: 0 });
});

t.test('loadBundle: an absolute root.path is used as is', async (tt) => {
  const rootfsDir = makeBundle(tt);
  const bundle = makeBundle(tt, mutated((s) => (s.root.path = rootfsDir)));
  tt.equal(loadBundle(bundle).rootfs, fs.realpathSync(rootfsDir));
});

t.test('JSON syntax errors carry line and column', async (tt) => {
  const cases: [string, string][] = [
    ['{\n  "ociVersion": "1.0.0",\n  }', 'line 3, column 3: expected double-quoted property name'],
    ['{"a" 1}', "line 1, column 6: expected ':' after property name"],
    ['{\n\t"a": tru\n}', 'line 2, column 7: unexpected token, expected true'],
    ['{"a": [1, 2}', "line 1, column 12: expected ',' or ']'"],
    ['{"a": 1 "b": 2}', "line 1, column 9: expected ',' or '}'"],
    ['{"a":', 'line 1, column 6: unexpected end of input'],
    ['', 'line 1, column 1: unexpected end of input'],
    ['{"a": "x\ny"}', 'line 1, column 9: bad control character in string literal'],
    ['{"a": "\\q"}', 'line 1, column 8: bad escape sequence in string literal'],
    ['{"a": 01}', "line 1, column 8: expected ',' or '}'"],
    ['{"a": -}', 'line 1, column 7: invalid number'],
    ['{} x', 'line 1, column 4: unexpected non-whitespace character after JSON'],
    ['{"a": "unterminated', 'line 1, column 20: unterminated string'],
    ['\n\n   @', 'line 3, column 4: unexpected character "@"'],
  ];
  for (const [text, where] of cases) {
    tt.throws(() => parseJson(text, 'config.json'), new RuntimeError(`config.json: invalid JSON at ${where}`), JSON.stringify(text));
  }
  tt.equal(findSyntaxError('{"a": [1, {"b": null}], "c": "\\u00e9\\n", "d": -1.5e+3}'), undefined, 'valid JSON scans clean');
  tt.same(lineAndColumn('ab\ncd', 4), { line: 2, column: 2 });
  const bundle = makeBundle(tt);
  fs.writeFileSync(path.join(bundle, 'config.json'), '{\n  "ociVersion": "1.0.0",\n  "process": {,\n}');
  tt.throws(() => loadBundle(bundle), new RuntimeError('config.json: invalid JSON at line 3, column 15: expected double-quoted property name'));
});

t.test('validateProcess (exec --process)', async (tt) => {
  const proc = clone(BASE.process!) as Json;
  tt.same(validateProcess(proc), []);
  tt.same(validateProcess({ ...proc, args: [] }), ['process.json: /args: must NOT have fewer than 1 items']);
  tt.same(validateProcess({ args: ['sh'] }, 'exec.json'), ["exec.json: /: must have required property 'cwd'"]);
  tt.same(validateProcess({ ...proc, cwd: 'x' }), ['process.json: /cwd: must be an absolute path, got "x"']);
  tt.same(validateProcess({ ...proc, rlimits: [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }] }), [
    'process.json: /rlimits/0/type: wrong rlimit value: RLIMIT_BOGUS',
  ]);
  tt.same(validateProcess({ ...proc, capabilities: { ambient: ['CAP_FOO'] } }), ['process.json: /capabilities/ambient/0: unknown capability "CAP_FOO"']);
  tt.same(validateProcess('x'), ['process.json: /: must be object']);
});

t.test('validateResources (update --resources)', async (tt) => {
  tt.same(validateResources({}), []);
  tt.same(validateResources({ cpu: { shares: 512, quota: 50000, period: 100000 }, memory: { limit: -1, swap: -1 }, pids: { limit: 100 } }), []);
  tt.same(validateResources({ memory: { swappiness: 18446744073709551615 } }), [], 'uint64(-1) swappiness means unset');
  tt.same(validateResources({ memory: { swappiness: 100 } }), []);
  tt.same(validateResources({ cpu: { shares: -1 } }), ['resources: /cpu/shares: must be >= 0']);
  tt.same(validateResources({ memory: { limit: '1G' } }, 'stdin'), ['stdin: /memory/limit: must be integer']);
  tt.same(validateResources({ blockIO: { weightDevice: [{ major: 8, minor: 0 }] } }), [
    'resources: /blockIO/weightDevice/0: must specify at least one of weight or leafWeight',
  ]);
  tt.same(validateResources({ devices: [{ allow: true, type: 'x' }] }), [
    'resources: /devices/0/type: must be equal to one of the allowed values: "a", "b", "c"',
  ]);
  tt.same(validateResources([]), ['resources: /: must be object']);
});

t.test('JSON pointers escape "~" and "/"', async (tt) => {
  tt.equal(pointerJoin('/', 'a/b', 'c~d', 0), '/a~1b/c~0d/0');
  tt.equal(pointerJoin('/'), '/');
  tt.equal(pointerJoin('/x', 'y'), '/x/y');
});

t.test('the precompiled validators are loaded lazily', async (tt) => {
  const probe = [
    `require(${JSON.stringify(path.join(REPO, 'dist/src/config/validate.js'))});`,
    `const loaded = Object.keys(require.cache).filter((k) => k.endsWith('validators.js') || k.includes('/ajv/'));`,
    'process.stdout.write(JSON.stringify(loaded));',
  ].join('\n');
  tt.equal(execFileSync(process.execPath, ['-e', probe], { encoding: 'utf8' }), '[]');
});

function runcSpec(tt: Test, rootless: boolean): string {
  const dir = makeBundle(tt);
  execFileSync(RUNC, rootless ? ['spec', '--rootless'] : ['spec'], { cwd: dir });
  return fs.readFileSync(path.join(dir, 'config.json'), 'utf8');
}

const runcMissing = fs.existsSync(RUNC) ? false : `${RUNC} is not installed: cannot compare with runc's default spec`;

for (const rootless of [false, true]) {
  t.test(`defaultSpec({ rootless: ${rootless} }) equals \`runc spec${rootless ? ' --rootless' : ''}\``, { skip: runcMissing }, async (tt) => {
    const runcText = runcSpec(tt, rootless);
    const runcJson = JSON.parse(runcText);
    const mine = defaultSpec({ rootless }) as Json;
    tt.equal(mine.ociVersion, SPEC_VERSION);
    for (const key of new Set([...Object.keys(runcJson), ...Object.keys(mine)])) {
      if (key !== 'ociVersion') tt.same(mine[key], runcJson[key], `field ${key}`);
    }
    const versionFree = (text: string) => text.replace(/"ociVersion": "[^"]*"/, '"ociVersion": ""');
    tt.equal(versionFree(formatSpec(mine)), versionFree(runcText), 'same bytes as runc writes, apart from ociVersion');
  });
}

t.test('defaultSpec: rootless maps the given ids', async (tt) => {
  const spec = defaultSpec({ rootless: true, uid: 1000, gid: 100 });
  tt.same(spec.linux!.uidMappings, [{ containerID: 0, hostID: 1000, size: 1 }]);
  tt.same(spec.linux!.gidMappings, [{ containerID: 0, hostID: 100, size: 1 }]);
  tt.notOk(defaultSpec({ rootless: false }).linux!.uidMappings);
});

t.test('formatSpec round-trips and escapes like Go', async (tt) => {
  for (const rootless of [false, true]) {
    const spec = defaultSpec({ rootless });
    const text = formatSpec(spec);
    tt.same(JSON.parse(text), spec, `rootless=${rootless}: parse(format(spec)) is spec`);
    tt.equal(formatSpec(JSON.parse(text)), text, `rootless=${rootless}: format is stable`);
    tt.notOk(text.endsWith('\n'), 'no trailing newline, as runc');
    tt.match(text, /^\{\n\t"ociVersion"/, 'tab indented');
  }
  const special = { ...defaultSpec({ rootless: false }), annotations: { html: '<a&b>', sep: '\u2028' } };
  const text = formatSpec(special);
  tt.match(text, /\\u003ca\\u0026b\\u003e/);
  tt.match(text, /\\u2028/);
  tt.same(JSON.parse(text), special);
  const bundle = makeBundle(tt);
  tt.same(validateSpec(JSON.parse(formatSpec(defaultSpec({ rootless: true }))), bundle), [], 'the rootless default is valid');
});
