/**
 * Where a terminal process's pty master goes: to --console-socket (sent as runc sends it, then
 * closed: the runtime keeps no copy), or, in the foreground, relayed by runts to its own stdio.
 */
import fs = require('fs');
import { RuntimeError } from '../base/errors';
import { native } from '../native';

export type ConsoleMode = { kind: 'none' } | { kind: 'socket'; path: string } | { kind: 'relay' };

/** runc's rules for --console-socket, --detach and process.terminal, checked before anything. */
export function consoleMode(terminal: boolean, consoleSocket: string | undefined, detached: boolean): ConsoleMode {
  if (consoleSocket && (!terminal || !detached)) throw new RuntimeError('cannot use console socket if runc will not detach or allocate tty');
  if (terminal && detached && !consoleSocket) throw new RuntimeError('cannot allocate tty if runc will detach without setting console socket');
  if (consoleSocket) {
    let isSocket = false;
    try {
      isSocket = fs.statSync(consoleSocket).isSocket();
    } catch {
      throw new RuntimeError(`--console-socket ${consoleSocket}: no such file or directory`);
    }
    if (!isSocket) throw new RuntimeError(`--console-socket ${consoleSocket}: not a socket`);
    return { kind: 'socket', path: consoleSocket };
  }
  return terminal ? { kind: 'relay' } : { kind: 'none' };
}

/** Takes the master from the init; returns the fd to relay, or undefined when it was sent on. */
export function takeMaster(mode: ConsoleMode, master: number): number | undefined {
  if (mode.kind !== 'socket') return master;
  try {
    native().sendFdsToUnixSocket(mode.path, '/dev/ptmx', [master]);
  } finally {
    fs.closeSync(master);
  }
  return undefined;
}

/**
 * Relays the pty to runts' stdio (raw mode when stdin is a terminal, window size kept in
 * step). Resolves when the pty has no writer left; call the result's stop() after the process exits.
 */
export function relayConsole(master: number): { drained: Promise<void>; stop: () => void } {
  // Required here: tty loads net and the streams, which create and detached runs never need.
  const tty = require('tty') as typeof import('tty');
  const output = new tty.ReadStream(master);
  const stdin = process.stdin;
  const rawMode = stdin.isTTY ? stdin.setRawMode.bind(stdin) : undefined;
  rawMode?.(true);
  const resize = () => {
    if (process.stdout.isTTY) native().setWindowSize(master, process.stdout.rows, process.stdout.columns);
  };
  resize();
  process.on('SIGWINCH', resize);
  const forwardInput = (chunk: Buffer) => {
    try {
      fs.writeSync(master, chunk);
    } catch {
      // the process is gone
    }
  };
  stdin.on('data', forwardInput);
  output.pipe(process.stdout, { end: false });
  const drained = new Promise<void>((resolve) => {
    // EIO once the last slave fd closes: that is the end of output.
    output.once('error', () => resolve());
    output.once('end', () => resolve());
  });
  return {
    drained,
    stop: () => {
      process.off('SIGWINCH', resize);
      stdin.off('data', forwardInput);
      stdin.pause();
      rawMode?.(false);
      output.destroy();
    },
  };
}
