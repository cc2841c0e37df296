/** process.terminal: the pty over --console-socket (as containerd gets it) and the foreground relay. */
import fs = require('fs');
import tty = require('tty');
import path = require('path');
import t from 'tap';
import { native } from '../../src/native';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir, spawnRunts } from '../helpers/runts';

const root = scratchDir('root');
t.teardown(() => cleanupRoot(root));

const TTY_SCRIPT = 'echo tty=$(tty); stty size; echo pgrp-owns-tty=$([ "$(ps -o pid= -p 1 2>/dev/null)" ] && echo maybe); echo done';

function terminalSpec(args: string[]) {
  const spec = baseSpec(args);
  spec.process!.terminal = true;
  spec.process!.consoleSize = { height: 33, width: 111 };
  return spec;
}

/** Everything read from a pty master until its last slave closes. */
function readAll(master: number): Promise<string> {
  return new Promise((resolve) => {
    const pty = new tty.ReadStream(master);
    let out = '';
    pty.on('data', (d) => (out += d));
    pty.on('error', () => resolve(out)); // EIO: no slave left
    pty.on('end', () => resolve(out));
  });
}

t.test('create --console-socket sends the pty master, which carries the output', async (t) => {
  const dir = scratchDir('console');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'console.sock');
  const listener = native().unixListen(socketPath);
  t.teardown(() => fs.closeSync(listener));
  const bundle = makeBundle(terminalSpec(['sh', '-c', TTY_SCRIPT]));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));

  const create = spawnRunts(root, ['create', '--console-socket', socketPath, '--bundle', bundle, 'tty1']);
  const exited = new Promise<number | null>((resolve) => create.on('exit', resolve));
  const message = native().unixAcceptMessage(listener, 15000);
  t.equal(await exited, 0, 'create succeeded');
  t.equal(message.fds.length, 1, 'one fd: the master');
  t.equal(message.data, '/dev/ptmx', 'with its name, as runc sends it');
  const pid = JSON.parse(runts(root, ['state', 'tty1']).stdout).pid;
  // A master shows as <devpts>/ptmx, a slave as <devpts>/N.
  const initFds = fs.readdirSync(`/proc/${pid}/fd`).map((fd) => fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
  t.ok(initFds.some((link) => /\/0$/.test(link)), `the init's stdio is the slave: ${initFds.join(' ')}`);
  t.notOk(initFds.some((link) => /ptmx$/.test(link)), 'the init holds no master');

  const output = readAll(message.fds[0]);
  t.equal(runts(root, ['start', 'tty1']).code, 0);
  const text = await output;
  t.match(text, /tty=\/dev\/pts\/0/, 'stdio is the pty slave');
  t.match(text, /^33 111\r?$/m, 'consoleSize applied');
  t.match(text, /done/);
  t.equal(runts(root, ['delete', '--force', 'tty1']).code, 0);
});

t.test('run in the foreground relays the terminal to its stdio', async (t) => {
  const bundle = makeBundle(terminalSpec(['sh', '-c', 'echo relay-$(tty); exit 4']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const run = spawnRunts(root, ['run', '--bundle', bundle, 'tty2']);
  let out = '';
  run.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
  t.equal(code, 4, 'exit status through the terminal');
  t.match(out, /relay-\/dev\/pts\/0/);
});

t.test('exec -t relays, exec -t -d needs a console socket', async (t) => {
  const bundle = makeBundle(baseSpec(['sleep', '60']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, 'tty3']).code, 0);
  const exec = spawnRunts(root, ['exec', '-t', 'tty3', 'sh', '-c', 'echo exec-$(tty)']);
  let out = '';
  exec.stdout.on('data', (d) => (out += d));
  t.equal(await new Promise<number | null>((resolve) => exec.on('exit', resolve)), 0);
  t.match(out, /exec-\/dev\/pts\/\d+/);
  const detached = runts(root, ['exec', '-t', '-d', 'tty3', 'true']);
  t.equal(detached.code, 255, "runc's status when exec itself fails");
  t.match(detached.stderr, /cannot allocate tty if runc will detach without setting console socket/);
  t.equal(runts(root, ['delete', '--force', 'tty3']).code, 0);
});

t.test('exec -d with a console socket starts the process only once runts has exited', async (t) => {
  // containerd's shim takes the pty master only after the runtime returns: a process that ran
  // and exited before that lost its output. The container shares the host's pid namespace, so
  // the process can see whether the runts that exec'd it is still there: runts' command line
  // holds MARK=<marker> (its --env), which no other process's does (the pattern is bracketed).
  const spec = baseSpec(['sleep', '60']);
  spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'pid');
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, 'tty5']).code, 0);
  t.teardown(() => runts(root, ['delete', '--force', 'tty5']));
  const dir = scratchDir('console-exec');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'console.sock');
  const listener = native().unixListen(socketPath);
  t.teardown(() => fs.closeSync(listener));
  const marker = `runts-exec-${process.pid}`;
  const pattern = `MARK=${marker.slice(0, -1)}[${marker.slice(-1)}]`;
  const script = `if grep -aqs '${pattern}' /proc/[0-9]*/cmdline; then echo runtime-alive; else echo runtime-gone; fi`;
  for (let i = 0; i < 3; i++) {
    const exec = spawnRunts(root, ['exec', '-d', '-t', '--console-socket', socketPath, '--env', `MARK=${marker}`, 'tty5', 'sh', '-c', script]);
    const exited = new Promise<number | null>((resolve) => exec.on('exit', resolve));
    const message = native().unixAcceptMessage(listener, 15000);
    const output = readAll(message.fds[0]);
    t.equal(await exited, 0, 'exec -d succeeded');
    t.match(await output, /runtime-gone/, `try ${i}: runts had exited when the process started`);
  }
});

t.test('bad console sockets are refused before anything is created', async (t) => {
  const bundle = makeBundle(terminalSpec(['true']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const missing = runts(root, ['create', '--console-socket', '/nonexistent.sock', '--bundle', bundle, 'tty4']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nonexistent\.sock: no such file or directory/);
  const notSocket = runts(root, ['create', '--console-socket', path.join(bundle, 'config.json'), '--bundle', bundle, 'tty4']);
  t.equal(notSocket.code, 1);
  t.match(notSocket.stderr, /not a socket/);
  const noSocket = runts(root, ['create', '--bundle', bundle, 'tty4']);
  t.equal(noSocket.code, 1);
  t.match(noSocket.stderr, /cannot allocate tty if runc will detach without setting console socket/);
  t.notOk(fs.existsSync(path.join(root, 'tty4')), 'nothing left');
});
