/**
 * Bad input found by a machine: the real client configs (fixtures/configs/valid: containerd,
 * Docker and Podman's, see fixtures/clients/README.md) and the test configs, mutated at random
 * (types swapped, fields removed or duplicated, huge and negative numbers, long strings, deep
 * nesting, invalid UTF-8, `..` paths and symlinks). Every case goes through what `runts validate`
 * runs, in process; a sample through the CLI's validate and create. Each refusal must be one
 * line naming a JSON pointer or a path, with no stack trace and no "undefined"; validate exits 0
 * or 1; create refuses without leaving anything, and what validates is created and deleted.
 *
 * FUZZ_SEED and FUZZ_CASES replay or lengthen a run (CI: the fixed seed below, 2000 cases).
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import { baseSpec, cleanupRoot, FIXTURE_ROOTFS, REPO, runts, scratchDir } from '../helpers/runts';
import { cgroupMounts, leftovers } from '../helpers/crash';
import { mutate, prng } from '../helpers/mutate';
import { isRuntimeError } from '../../src/base/errors';
import { readConfig, validateSpec } from '../../src/config/validate';

const SEED = Number(process.env.FUZZ_SEED ?? 0x14c0de);
const CASES = Number(process.env.FUZZ_CASES ?? 2000);
const CLI_SAMPLE = 10;
const CREATE_SAMPLE = 4;
t.comment(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} FUZZ_CASES=${CASES} to replay)`);

const VALID = path.join(REPO, 'fixtures', 'configs', 'valid');
const bases = fs.readdirSync(VALID).filter((f) => f.endsWith('.json')).map((f) => ({ name: f, doc: JSON.parse(fs.readFileSync(path.join(VALID, f), 'utf8')) }));

const work = scratchDir('fuzz');
const bundle = path.join(work, 'bundle');
fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });
// Symlinks a mutated path may name: out of the bundle, to the host's root, in a loop.
fs.symlinkSync('/', path.join(bundle, 'to-root'));
fs.symlinkSync('..', path.join(bundle, 'to-parent'));
fs.symlinkSync('loop', path.join(bundle, 'loop'));
const SYMLINKS = ['to-root', 'to-parent', 'loop', 'to-root/etc', 'rootfs/../to-root'];
t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));

/** What is wrong with one refusal line, or undefined when it is well-formed. */
function badLine(line: string): string | undefined {
  if (line.includes('\n')) return 'more than one line';
  if (/\bundefined\b/.test(line)) return 'says undefined';
  if (/\n\s+at |\bat Object\.|\bat .*\.js:\d+/.test(line)) return 'holds a stack trace';
  if (/\[object Object\]/.test(line)) return 'says [object Object]';
  // A pointer (`config.json: /…`), a JSON position, or a path in the message.
  if (!/^config\.json: (\/|invalid JSON at line \d+, column \d+)/.test(line) && !/\//.test(line)) return 'names neither a JSON pointer nor a path';
  return undefined;
}

t.test(`${CASES} mutated configs through validate, in process`, async (t) => {
  const random = prng(SEED);
  const findings: string[] = [];
  const outcomes = { valid: 0, refused: 0, unreadable: 0 };
  for (let n = 0; n < CASES; n++) {
    const base = bases[Math.floor(random() * bases.length)];
    const m = mutate(base.doc, random, { symlinks: SYMLINKS });
    fs.writeFileSync(path.join(bundle, 'config.json'), m.bytes);
    const where = `case ${n} (${base.name}: ${m.describe})`;
    let lines: string[];
    try {
      const { bundle: dir, document } = readConfig(bundle);
      lines = validateSpec(document, dir);
      if (lines.length === 0) outcomes.valid++;
      else outcomes.refused++;
    } catch (err) {
      if (!isRuntimeError(err)) {
        findings.push(`${where}: threw ${(err as Error).name}: ${(err as Error).message?.slice(0, 200)}`);
        continue;
      }
      outcomes.unreadable++;
      lines = [err.message];
    }
    for (const line of lines) {
      const bad = badLine(line);
      if (bad) findings.push(`${where}: ${bad}: ${line.slice(0, 300)}`);
    }
  }
  t.comment(`${CASES} cases: ${outcomes.valid} valid, ${outcomes.refused} refused by validation, ${outcomes.unreadable} unreadable`);
  t.same(findings.slice(0, 20), [], `no finding in ${CASES} cases (${findings.length} found)`);
  t.ok(outcomes.refused > CASES / 4 && outcomes.valid > 0, 'the mutations reach both sides');
});

t.test(`${CLI_SAMPLE} mutated configs through the validate command`, async (t) => {
  const random = prng(SEED ^ 0x5a5a);
  for (let n = 0; n < CLI_SAMPLE; n++) {
    const base = bases[Math.floor(random() * bases.length)];
    const m = mutate(base.doc, random, { symlinks: SYMLINKS });
    fs.writeFileSync(path.join(bundle, 'config.json'), m.bytes);
    const where = `cli case ${n} (${base.name}: ${m.describe})`;
    const r = runts(scratchDir('fuzz-root'), ['validate', '--bundle', bundle], { timeoutMs: 20_000 });
    t.ok(r.code === 0 || r.code === 1, `${where}: exit ${r.code}`);
    for (const line of (r.stdout + r.stderr).split('\n').filter(Boolean)) {
      // stderr lines come as logfmt: time=… level=error msg="…"
      const text = line.replace(/^time="[^"]*" level=\w+ msg=/, '').replace(/^"(.*)"$/, '$1');
      t.notOk(badLine(text), `${where}: ${text.slice(0, 200)}`);
    }
  }
});

t.test(`create on mutated configs: ${CREATE_SAMPLE} that validate run, refusals leave nothing`, async (t) => {
  const random = prng(SEED ^ 0xc0ffee);
  const root = scratchDir('fuzz-create-root');
  const prefix = `runts-fuzz-${process.pid}-`;
  const createBundle = path.join(work, 'create');
  fs.mkdirSync(createBundle);
  t.teardown(() => cleanupRoot(root));
  const spec = baseSpec(['true']);
  spec.root = { path: FIXTURE_ROOTFS, readonly: true };
  spec.annotations = { 'org.example.fuzz': 'yes' };
  spec.process!.oomScoreAdj = 0;
  spec.linux!.resources = { ...spec.linux!.resources, pids: { limit: 64 }, memory: { limit: 64 * 1024 * 1024 } };
  // Harmless fields only: nothing here reaches the host outside the container.
  const allowed = ['/process/env', '/process/rlimits', '/hostname', '/annotations', '/process/oomScoreAdj', '/linux/resources/pids', '/linux/resources/memory', '/process/user', '/process/args'];
  // The sample: the first mutated configs that validate, and as many that do not.
  const valid: { bytes: Buffer; describe: string }[] = [];
  const invalid: { bytes: Buffer; describe: string }[] = [];
  for (let n = 0; n < 5000 && (valid.length < CREATE_SAMPLE || invalid.length < CREATE_SAMPLE); n++) {
    spec.linux!.cgroupsPath = `/${prefix}${n}`;
    const m = mutate(spec as never, random, { allowed, rounds: 1 });
    fs.writeFileSync(path.join(createBundle, 'config.json'), m.bytes);
    let ok = false;
    try {
      const { bundle: dir, document } = readConfig(createBundle);
      ok = validateSpec(document, dir).length === 0;
    } catch {
      ok = false;
    }
    const list = ok ? valid : invalid;
    if (list.length < CREATE_SAMPLE) list.push(m);
  }
  let created = 0;
  let refused = 0;
  for (const [n, m] of [...valid, ...invalid].entries()) {
    const id = `f${n}`;
    fs.writeFileSync(path.join(createBundle, 'config.json'), m.bytes);
    const where = `create case ${n} (${m.describe})`;
    const r = runts(root, ['create', '--bundle', createBundle, id], { timeoutMs: 30_000 });
    if (r.code === 0) {
      created++;
      t.equal(runts(root, ['delete', '--force', id]).code, 0, `${where}: created, then deleted`);
    } else {
      refused++;
      t.equal(r.code, 1, `${where}: refused with exit 1`);
      const lines = r.stderr.split('\n').filter(Boolean);
      t.equal(lines.length, 1, `${where}: one line: ${lines[0]?.slice(0, 200)}`);
      t.notOk(/\bundefined\b|\n\s+at /.test(r.stderr), `${where}: no stack trace, no undefined`);
    }
    t.same(leftovers({ root, bundle: createBundle, cgroupPrefix: prefix }), [], `${where}: nothing left`);
  }
  t.ok(created >= valid.length / 2, `${created} created of ${valid.length} that validate, ${refused} refused in all`);
  for (const mount of cgroupMounts()) t.same(fs.readdirSync(mount).filter((n) => n.startsWith(prefix)), [], `nothing in ${mount}`);
});
