import t from 'tap';
import { spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { parseArgv } from '../../src/cli/argv';
import type { Invocation } from '../../src/cli/argv';
import { COMMANDS, GLOBAL_FLAGS, findCommand } from '../../src/cli/commandTable';
import { COMMAND_MODULES } from '../../src/cli/commandRunner';

const REPO = resolve(__dirname, '..', '..', '..');
const CLI = join(REPO, 'dist', 'bundle', 'runts.js');
const CLIENT_CALLS = join(REPO, 'fixtures', 'clients');

const RUNC_COMMANDS = [
  'create', 'start', 'state', 'kill', 'delete', 'run', 'list', 'spec', 'exec', 'ps', 'pause', 'resume',
  'events', 'update', 'features', 'checkpoint', 'restore',
];
const RUNC_GLOBALS = ['debug', 'log', 'log-format', 'root', 'criu', 'systemd-cgroup', 'rootless', 'help', 'version'];

function runts(...args: string[]) {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
}

function runOf(inv: Invocation) {
  if (inv.action !== 'run') throw new Error(`expected a command, got ${inv.action}`);
  return inv;
}

const parse = (line: string) => runOf(parseArgv(line.split(' ')));

t.test('the table has every runc command and global flag, plus validate', async (t) => {
  for (const name of [...RUNC_COMMANDS, 'validate']) t.ok(findCommand(name), name);
  t.same(GLOBAL_FLAGS.map((f) => f.name).sort(), [...RUNC_GLOBALS].sort());
  for (const command of COMMANDS) {
    t.ok(command.module.startsWith('./commands/'), `${command.name} has a module`);
    t.ok(command.args.min <= command.args.max, `${command.name} arg counts`);
  }
});

t.test('--help lists every command and global flag; <cmd> --help every flag', async (t) => {
  const help = runts('--help');
  t.equal(help.status, 0);
  t.equal(help.stderr, '');
  for (const command of COMMANDS) t.match(help.stdout, new RegExp(`^   ${command.name} `, 'm'), command.name);
  for (const flag of GLOBAL_FLAGS) t.match(help.stdout, `--${flag.name}`, `--${flag.name}`);
  t.equal(runts().stdout, help.stdout, 'no arguments: the same help');
  t.equal(runts('help').stdout, help.stdout);
  for (const command of COMMANDS) {
    const r = runts(command.name, '--help');
    t.equal(r.status, 0);
    t.match(r.stdout, `runts ${command.name} - ${command.summary}`);
    for (const flag of command.flags.filter((f) => !f.hidden)) t.match(r.stdout, `--${flag.name}`, `${command.name} --${flag.name}`);
  }
  const kill = runts('kill', '--help').stdout;
  t.equal(runts('help', 'kill').stdout, kill, 'help <cmd>');
  t.equal(runts('h', 'kill').stdout, kill, 'h <cmd>');
  t.equal(runts('kill', '-h').stdout, kill, '<cmd> -h');
});

t.test('--version: runc\'s three-line shape', async (t) => {
  for (const flag of ['--version', '-v']) {
    const r = runts(flag);
    t.equal(r.status, 0);
    t.match(r.stdout, /^runts version \d+\.\d+\.\d+\ncommit: ([0-9a-f]{7}|unknown)\nspec: 1\.2\.0\n$/);
  }
});

t.test('every command shape real clients send parses', async (t) => {
  const files = readdirSync(CLIENT_CALLS).filter((f) => f.endsWith('-calls.txt'));
  t.ok(files.length >= 3, `call files in ${CLIENT_CALLS}`);
  for (const file of files) {
    for (const line of readFileSync(join(CLIENT_CALLS, file), 'utf8').split('\n').filter(Boolean)) {
      const args = line.replace(/<path>/g, '/tmp/p').replace(/<id>/g, 'c1').split(' ').slice(1);
      const inv = parseArgv(args);
      if (args[0] === '--version') {
        t.equal(inv.action, 'version', line);
        continue;
      }
      t.equal(inv.action, 'run', line);
      const { command, positionals, globals } = runOf(inv);
      t.equal(positionals[0], 'c1', `${line}: the id`);
      t.ok(line.includes(` ${command.name} `), `${line}: command ${command.name}`);
      if (line.includes('json')) t.equal(globals.logFormat, 'json', `${line}: log format`);
    }
  }
});

t.test('client shapes: flag values land where commands read them', async (t) => {
  const create = parse('--root /r --log /l --log-format json create --bundle /b --pid-file /p --console-socket /s c1');
  t.match(create.globals, { root: '/r', log: '/l', logFormat: 'json' });
  t.match(create.flags, { bundle: '/b', 'pid-file': '/p', 'console-socket': '/s', 'preserve-fds': 0, 'no-pivot': false });
  const exec = parse('--log-format=json --log /l exec --pid-file /p --process /j --detach --tty --console-socket /s c1');
  t.match(exec.flags, { 'pid-file': '/p', process: '/j', detach: true, tty: true, 'console-socket': '/s' });
  t.same(parse('kill c1 9').positionals, ['c1', '9']);
  t.same(parse('delete --force c1').flags, { force: true });
  t.equal(parse('update --resources=/r c1').flags.resources, '/r');
  t.equal(parse('update --resources - c1').flags.resources, '-');
  t.equal(parse('ps --format json c1').flags.format, 'json');
  t.equal(parse('state c1').globals.root, '/run/runts', 'podman passes no --root');
});

t.test('Go flag syntax', async (t) => {
  t.equal(parse('-root /x state c1').globals.root, '/x', 'one dash works like two');
  t.equal(parse('--root=/x state c1').globals.root, '/x');
  t.equal(parse('create -b /b c1').flags.bundle, '/b');
  t.equal(parse('create -bundle=/b c1').flags.bundle, '/b');
  t.equal(parse('delete c1 --force').flags.force, true, 'flags after the id');
  t.same(parse('kill c1 KILL --all').flags, { all: true });
  t.same(parse('kill c1 -9').positionals, ['c1', '-9'], 'an unknown dash argument after the id is an argument');
  t.equal(parse('list -q=false').flags.quiet, false);
  t.equal(parse('create --preserve-fds 0x10 c1').flags['preserve-fds'], 16);
  t.same(parse('state -- c1').positionals, ['c1']);
  t.same(parse('exec -e A=1 --env B=2 c1 sh').flags.env, ['A=1', 'B=2'], 'repeatable flags collect');
  const exec = parse('exec -t c1 sh -c echo --tty -- x');
  t.same(exec.positionals, ['c1', 'sh', '-c', 'echo', '--tty', '--', 'x'], 'exec: everything after the id is the command');
  t.equal(exec.flags.tty, true);
  t.same(parse('ps c1 -ef').positionals, ['c1', '-ef']);
  t.equal(parseArgv(['--version', 'list']).action, 'version');
  t.equal(parseArgv(['list', '--help']).action, 'help');
  t.equal(parseArgv(['h', 'kill']).action, 'help');
});

t.test('usage errors: runc\'s wording, one line, exit 1', async (t) => {
  const cases: [string[], string][] = [
    [['foo'], "No help topic for 'foo'"],
    [['help', 'foo'], "No help topic for 'foo'"],
    [['foo', '-h'], "No help topic for 'foo'"],
    [['--bogus', 'list'], 'flag provided but not defined: -bogus'],
    [['create', '--bogus', 'c1'], 'flag provided but not defined: -bogus'],
    [['list', '-qf', 'json'], 'flag provided but not defined: -qf'],
    [['start'], 'runts: "start" requires exactly 1 argument(s)'],
    [['state', 'a', 'b'], 'runts: "state" requires exactly 1 argument(s)'],
    [['state', 'c1', '--bogus'], 'runts: "state" requires exactly 1 argument(s)'],
    [['kill'], 'runts: "kill" requires a minimum of 1 argument(s)'],
    [['kill', 'a', 'b', 'c'], 'runts: "kill" requires a maximum of 2 argument(s)'],
    [['exec'], 'runts: "exec" requires a minimum of 1 argument(s)'],
    [['list', 'x'], 'runts: "list" requires exactly 0 argument(s)'],
    [['list', '--format'], 'flag needs an argument: -format'],
    [['list', '-q=yes'], 'invalid boolean value "yes" for -q: parse error'],
    [['run', '--preserve-fds', 'x', 'c1'], 'invalid value "x" for flag -preserve-fds: parse error'],
    [['---x', 'list'], 'bad flag syntax: ---x'],
    [['--log-format', 'xml', 'list'], 'invalid log-format: xml'],
  ];
  for (const [args, message] of cases) {
    t.throws(() => parseArgv(args), { message }, args.join(' '));
  }
  const dir = mkdtempSync(join(tmpdir(), 'runts-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'log');
  for (const [args, status] of [[['foo', '-h'], 3], [['create', '--bogus', 'c1'], 1], [['start'], 1]] as const) {
    const r = runts('--log', log, ...args);
    t.equal(r.status, status, `${args.join(' ')}: runc's exit status`);
    t.equal(r.stdout, '', 'no help dump on stdout');
    t.equal(r.stderr.split('\n').length, 2, 'exactly one line on stderr');
  }
});

t.test('bad container ids are refused before any file is touched', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'runts-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [id, message] of [['a/b', 'invalid container ID format'], ['..', 'invalid container ID format'], ['', 'container id cannot be empty']]) {
    const r = runts('--root', dir, '--log', join(dir, 'l'), 'state', id);
    t.equal(r.status, 1);
    t.equal(r.stderr, `${message}\n`, JSON.stringify(id));
  }
});

t.test('every command module is in commandRunner and exports run', async (t) => {
  t.same(Object.keys(COMMAND_MODULES).sort(), COMMANDS.map((c) => c.module).sort());
  for (const command of COMMANDS) t.type(COMMAND_MODULES[command.module]().run, 'function', command.name);
});

t.test('the bundles: the hot path compiles the entry and dist/bundle/main.js only, other commands cold.js instead (and create and run with --systemd-cgroup, warmup.js first); kill --all adds commandRunner.js to main.js', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'runts-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const hook = join(dir, 'hook.js');
  writeFileSync(hook, [
    "const Module = require('module');",
    'const compile = Module.prototype._compile;',
    "Module.prototype._compile = function (source, file) { require('fs').writeSync(2, 'compiled ' + file + '\\n'); return compile.call(this, source, file); };",
    // main.js, cold.js and commandRunner.js are compiled with their code caches by the loader addon.
    'const dlopen = process.dlopen;',
    'process.dlopen = function (module, file, ...rest) {',
    '  dlopen.call(this, module, file, ...rest);',
    '  const compileBundle = module.exports.compileBundle;',
    "  if (compileBundle) module.exports.compileBundle = (bundle, ...args) => { require('fs').writeSync(2, 'compiled ' + bundle + '\\n'); return compileBundle(bundle, ...args); };",
    '};',
  ].join('\n'));
  const compiled = (...args: string[]) => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const r = spawnSync(process.execPath, ['-r', hook, CLI, '--root', dir, ...args], { env, encoding: 'utf8' });
    // Only our files: tap's NODE_OPTIONS loads its own hooks in every child.
    const ours = `compiled ${REPO}/dist/`;
    return r.stderr.split('\n').filter((l) => l.startsWith(ours)).map((l) => `dist/${l.slice(ours.length)}`);
  };
  const entry = ['dist/bundle/runts.js', 'dist/bundle/main.js'];
  const cold = ['dist/bundle/runts.js', 'dist/bundle/cold.js'];
  const runner = 'dist/bundle/commandRunner.js';
  for (const args of [['state', 'c1'], ['list'], ['kill', 'c1'], ['start', 'c1'], ['--version'], ['--help']]) {
    t.same(compiled(...args), entry, args.join(' '));
  }
  for (const args of [['delete', 'c1'], ['ps', 'c1'], ['update', 'c1']]) {
    t.same(compiled(...args), cold, args.join(' '));
  }
  t.same(compiled('kill', '--all', 'c1'), [...entry, runner], 'kill --all c1');
  // The commands where runts writes a pid load the head start (warmup.js, root only) before cold.js.
  const [binary, bundle] = cold;
  const warmup = process.getuid?.() === 0 ? ['dist/bundle/warmup.js'] : [];
  t.same(compiled('exec', 'c1', 'true'), cold, 'exec c1 true: the process joins by itself, no head start');
  t.same(compiled('create', '--bundle', dir, 'c1'), cold, 'create (no config.json): the container joins by itself, no head start');
  t.same(compiled('--systemd-cgroup', 'create', '--bundle', dir, 'c1'), [binary, ...warmup, bundle], '--systemd-cgroup create');
});

t.test('only src/base/paths.ts uses __dirname (and the binary, always dist/bundle/runts.js): the bundles move every other module', async (t) => {
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));
  // codeCache.ts only names it, as a parameter of Node's CommonJS wrapper for the files it loads.
  const users = walk(join(REPO, 'src')).filter((f) => readFileSync(f, 'utf8').replace('module, __filename, __dirname)', '').includes('__dirname'));
  t.same(users.map((f) => f.slice(REPO.length + 1)).sort(), ['src/base/paths.ts', 'src/cli/entry.ts']);
});
