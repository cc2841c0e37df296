/** Starts runts-init from a sealed copy and hands it its channel. */
import fs = require('fs');
import { RuntimeError } from '../base/errors';
import { InitChannel } from './channel';
import type { PlanMessage } from './protocol';
import { initBinaryPath, native } from '../native';
import { pidStartTime } from '../state/store';

export interface StartedInit {
  /** Stage 1's pid: this process's child until stopInit reaps it. */
  pid: number;
  channel: InitChannel;
}

/** Where the init finds what spawnInitAhead passes after the preserved fds. */
export function initFds(preserveFds: number): { channel: number; executable: number; extra: number } {
  const channel = 3 + preserveFds;
  return { channel, executable: channel + 1, extra: channel + 2 };
}

/** Kinds of fd only the runtime itself (Node, libuv) makes: never a caller's preserved fd. */
const RUNTIME_FD = /^anon_inode:(\[(eventpoll|eventfd|io_uring|signalfd|timerfd)\]|inotify)$/;

/**
 * Whose each open fd is. Node marks its inherited fds close-on-exec at start-up, so the flag
 * cannot tell; what can: the event loop's own kinds, and pipes of which this process holds both
 * ends (libuv's wake-up and signal pipes; a caller passes one end).
 */
export function runtimeOwnedFds(fds: { fd: number; target: string; accessMode: number }[]): Set<number> {
  const owned = new Set<number>();
  const pipeEnds = new Map<string, Set<number>>();
  for (const f of fds) {
    if (RUNTIME_FD.test(f.target)) owned.add(f.fd);
    if (f.target.startsWith('pipe:')) pipeEnds.set(f.target, (pipeEnds.get(f.target) ?? new Set()).add(f.accessMode));
  }
  for (const f of fds) {
    const modes = pipeEnds.get(f.target);
    if (modes && modes.has(0) && modes.has(1)) owned.add(f.fd);
  }
  return owned;
}

/**
 * CVE-2024-21626: nothing of the caller's reaches the container but what it asked for. Only
 * 3..3+preserveFds-1 go on, each of them must be open in the caller (a runtime-owned fd — Node's
 * epoll, eventfd, libuv pipes — never fills a gap), and every fd from 3+preserveFds up is made
 * close-on-exec before any init is spawned.
 */
export function guardInheritedFds(preserveFds: number): void {
  const addon = native();
  if (preserveFds > 0) {
    const fds = addon.listFds();
    const open = new Set(fds.map((f) => f.fd));
    const owned = runtimeOwnedFds(fds);
    for (let fd = 3; fd < 3 + preserveFds; fd++) {
      if (!open.has(fd) || owned.has(fd)) throw new RuntimeError(`--preserve-fds ${preserveFds}: fd ${fd} is not open in the caller`);
    }
  }
  addon.markCloseOnExecFrom(3 + preserveFds);
}

const INIT_NAME = 'runts-init';

/** An init spawned ahead of its plan (spawnInitAhead): collected once, or released. */
export interface PendingInit {
  /** Sends the plan now; the init stays pending (release stops it) until collected. */
  sendPlanAhead(plan: PlanMessage): void;
  /** The started init, once: its pid when the spawn is done, and its channel. Throws if the spawn failed. */
  collect(): StartedInit;
  /** Stops an init that was never collected (a step before failed): nothing is left running. */
  release(): Promise<void>;
}

/**
 * Starts the init while this thread goes on: the addon's thread copies it into a sealed memfd
 * and spawns it, and the init is waiting for its plan by the time the plan is sent (create
 * ~0.7 ms sooner). It gets this process's stdio, the fds 3..3+preserveFds-1 unchanged (runc's
 * --preserve-fds), its channel, the sealed executable it was started from, then `extraFd` when
 * given (exec: the pidfd of the container's init), which must stay open until collected. The
 * init does nothing before the plan: a runtime that dies first closes the channel, and the init
 * exits on its end of it.
 */
export function spawnInitAhead(preserveFds: number, extraFd?: number): PendingInit {
  guardInheritedFds(preserveFds);
  const addon = native();
  const [ours, theirs] = addon.socketpair();
  const fds = initFds(preserveFds);
  const preserved = Array.from({ length: preserveFds }, (_, i) => 3 + i);
  addon.startInitSpawn(initBinaryPath(), INIT_NAME, INIT_NAME, [String(fds.channel)], [0, 1, 2, ...preserved, theirs], extraFd === undefined ? [] : [extraFd]);
  let started: StartedInit | undefined;
  let failure: RuntimeError | undefined;
  let collected = false;
  const start = (): StartedInit => {
    if (started) return started;
    if (failure) throw failure;
    try {
      started = { pid: addon.collectInit(), channel: new InitChannel(ours) };
      return started;
    } catch (err) {
      fs.closeSync(ours);
      throw (failure = new RuntimeError(`could not start runts-init: ${(err as Error).message}`));
    } finally {
      fs.closeSync(theirs);
    }
  };
  return {
    sendPlanAhead(plan) {
      start().channel.sendPlan(plan);
    },
    collect() {
      collected = true;
      return start();
    },
    async release() {
      if (collected) return;
      let init: StartedInit;
      try {
        init = start();
      } catch {
        return; // never started
      }
      await stopInit(init);
    },
  };
}

const STOP_WAIT_MS = 5000;

/**
 * Closes the channel and makes sure stage 1 is gone and reaped (after a failed create).
 * `keepChannel`: the channel stays open until this process exits (startAfterRuntimeExits).
 */
export async function stopInit(init: StartedInit, keepChannel = false): Promise<void> {
  try {
    if (!keepChannel) init.channel.close();
  } catch {
    // already closed after "created"
  }
  const addon = native();
  // Stage 1 exits right after reporting stage 2's pid: after "created" it is a zombie, reaped at
  // once (~0.3 ms less than the kill and the pidfd wait below).
  try {
    if (addon.reapExited(init.pid) !== null) return;
  } catch {
    return; // already reaped
  }
  // Stage 1 is killed here (a failed step before it reported); unreaped until waitExit, its pid
  // cannot be reused meanwhile.
  try {
    process.kill(init.pid, 'SIGKILL');
  } catch {
    // already reaped
  }
  // A process in a frozen cgroup dies only once thawed: wait for it at most STOP_WAIT_MS, on its
  // pidfd, and reap it only once it has exited. A waitpid that never returns would hold a libuv
  // thread that Node joins at exit, and runts would hang (it is in the container's cgroup by
  // then, where delete finds it).
  let pidfd: number;
  try {
    pidfd = addon.pidfdOpen(init.pid, pidStartTime(init.pid));
  } catch {
    return; // already reaped
  }
  try {
    if (!addon.waitReadable(pidfd, STOP_WAIT_MS)) return;
  } finally {
    fs.closeSync(pidfd);
  }
  if (addon.reapExited(init.pid) === null) await addon.waitExit(init.pid);
}
