/** Starts runts-init from a sealed copy and hands it its channel. */
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import { RuntimeError } from './errors';
import { InitChannel } from './initChannel';
import { initBinaryPath, native } from './native';

export interface StartedInit {
  child: ChildProcess;
  channel: InitChannel;
}

/**
 * The init gets stdio as given, the fds 3..3+preserveFds-1 of this process unchanged (runc's
 * --preserve-fds), then its channel, then the sealed executable it was started from.
 */
export function startInit(stdio: Array<"inherit" | "ignore" | "pipe" | number>, preserveFds: number): StartedInit {
  const addon = native();
  const [ours, theirs] = addon.socketpair();
  const executable = addon.sealedCopy(initBinaryPath(), 'runts-init');
  const channelFd = 3 + preserveFds;
  const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  let child: ChildProcess;
  try {
    child = spawn(`/proc/self/fd/${channelFd + 1}`, [String(channelFd)], {
      argv0: 'runts-init',
      stdio: [...stdio, ...preserved, theirs, executable],
      env: {},
    });
  } finally {
    fs.closeSync(theirs);
    fs.closeSync(executable);
  }
  if (child.pid === undefined) {
    fs.closeSync(ours);
    throw new RuntimeError('could not start runts-init');
  }
  child.on('error', () => {});
  return { child, channel: new InitChannel(ours) };
}

/** Closes the channel and makes sure stage 1 is gone and reaped (after a failed create). */
export async function stopInit(init: StartedInit): Promise<void> {
  try {
    init.channel.close();
  } catch {
    // already closed after "created"
  }
  if (init.child.exitCode !== null || init.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => init.child.once('exit', () => resolve()));
  init.child.kill('SIGKILL');
  await exited;
}
