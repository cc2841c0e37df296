import t from 'tap';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { goJson } from '../../src/base/formats';
import { createLogger, formatLogLine } from '../../src/base/log';

const CLI = resolve(__dirname, '..', '..', 'bundle', 'runts.js');
const WHEN = new Date('2026-11-24T20:56:40.123Z');

function runts(args: string[]) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
}

function scratch(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'runts-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('json lines: logrus key order, RFC 3339 seconds, Go HTML escaping', async (t) => {
  t.equal(formatLogLine('json', 'error', 'container does not exist', WHEN),
    '{"level":"error","msg":"container does not exist","time":"2026-11-24T20:56:40Z"}\n');
  t.equal(formatLogLine('json', 'warning', 'a <b> & "c"', WHEN),
    '{"level":"warning","msg":"a \\u003cb\\u003e \\u0026 \\"c\\"","time":"2026-11-24T20:56:40Z"}\n');
  t.equal(goJson({ s: '\u2028' }), '{"s":"\\u2028"}');
});

t.test('text lines: values quoted only when logrus would', async (t) => {
  t.equal(formatLogLine('text', 'error', 'container does not exist', WHEN),
    'time="2026-11-24T20:56:40Z" level=error msg="container does not exist"\n');
  t.equal(formatLogLine('text', 'info', 'plain-word_1.2/x', WHEN), 'time="2026-11-24T20:56:40Z" level=info msg=plain-word_1.2/x\n');
  t.equal(formatLogLine('text', 'error', 'say "hi"\nbye\t\\', WHEN),
    'time="2026-11-24T20:56:40Z" level=error msg="say \\"hi\\"\\nbye\\t\\\\"\n');
});

t.test('logger: appends to --log, debug only with --debug, warn is "warning"', async (t) => {
  const file = join(scratch(t), 'log.json');
  const quiet = createLogger({ log: file, logFormat: 'json', debug: false });
  quiet.debug('hidden');
  quiet.info('one');
  quiet.warn('two');
  const loud = createLogger({ log: file, logFormat: 'json', debug: true });
  loud.debug('three');
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string });
  t.same(lines.map((l) => [l.level, l.msg]), [['info', 'one'], ['warning', 'two'], ['debug', 'three']]);
});

t.test('a failing command with --log json: json line in the file, the bare message on stderr', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'log.json');
  for (const form of [['--log-format', 'json'], ['--log-format=json']]) {
    const r = runts(['--root', dir, '--log', file, ...form, 'state', 'nope']);
    t.equal(r.status, 1);
    t.equal(r.stdout, '');
    t.equal(r.stderr, 'container does not exist\n');
  }
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  t.equal(lines.length, 2);
  for (const line of lines) {
    t.match(line, /^\{"level":"error","msg":"container does not exist","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}$/);
  }
});

t.test('usage errors also reach the --log file', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'log.json');
  const r = runts(['--root', dir, '--log', file, '--log-format', 'json', 'kill']);
  t.equal(r.status, 1);
  t.equal(r.stderr, 'runts: "kill" requires a minimum of 1 argument(s)\n');
  t.match(readFileSync(file, 'utf8'), /^\{"level":"error","msg":"runts: \\"kill\\" requires a minimum of 1 argument\(s\)","time":"[^"]+"\}\n$/);
});

t.test('without --log the formatted line goes to stderr, once', async (t) => {
  const dir = scratch(t);
  const text = runts(['--root', dir, 'state', 'nope']);
  t.match(text.stderr, /^time="[^"]+" level=error msg="container does not exist"\n$/);
  const json = runts(['--root', dir, '--log-format=json', 'state', 'nope']);
  t.match(json.stderr, /^\{"level":"error","msg":"container does not exist","time":"[^"]+"\}\n$/);
  const bad = runts(['--log-format', 'yaml', 'list']);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^time="[^"]+" level=error msg="invalid log-format: yaml"\n$/);
});
