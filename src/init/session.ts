/** The runtime side of the init protocol (./protocol.ts), message by message, until "created". */
import { RuntimeError } from '../base/errors';
import type { InitChannel } from './channel';
import type { Logger } from '../base/log';
import type { Plan } from '../plan/plan';

export interface SessionHandlers {
  /** Stage 2's host pid, as soon as it exists (to kill it if a later step fails). */
  pid(pid: number): void;
  /** A new user namespace needs its maps written (create only). */
  usermap?(pid: number): void;
  /** The pty master of a process with a terminal: the handler owns the fd. */
  console?(fd: number): void;
  /** A hook point inside the init; returns the OCI state the init's own hooks get. */
  hook?(name: string, pid: number): { state: string };
  /** The init's seccomp notify listener fd (SCMP_ACT_NOTIFY): pass it on, then close it. */
  seccompListener?(fd: number, pid: number): void;
}

/** Answers the init until it reports "created"; returns the container process's pid. */
export function runInitSession(channel: InitChannel, handlers: SessionHandlers): number {
  let pid = 0;
  for (;;) {
    const message = channel.receive();
    if (!message) throw new RuntimeError('container init exited before the container was created');
    switch (message.type) {
      case 'pid':
        pid = message.pid;
        handlers.pid(pid);
        break;
      case 'usermap':
        if (!handlers.usermap) throw new RuntimeError('container init asked for user namespace maps unexpectedly');
        handlers.usermap(message.pid);
        channel.send({ type: 'usermap-done' });
        break;
      case 'hook':
        channel.send({ type: 'continue', ...handlers.hook?.(message.name, pid) });
        break;
      case 'seccomp-listener': {
        const fd = channel.receiveFd();
        if (!handlers.seccompListener) throw new RuntimeError('container init sent a seccomp listener unexpectedly');
        handlers.seccompListener(fd, pid);
        channel.send({ type: 'seccomp-listener-sent' });
        break;
      }
      case 'console': {
        const fd = channel.receiveFd();
        if (!handlers.console) throw new RuntimeError('container init sent a console unexpectedly');
        handlers.console(fd);
        break;
      }
      case 'created':
        return pid;
      case 'error':
        throw new RuntimeError(message.errno ? `${message.step}: ${message.message}` : message.step);
    }
  }
}

/** What building the plan decided to tell the user (skipped capabilities, ignored labels). */
export function logPlanNotes(plan: Plan, log: Logger): void {
  for (const note of plan.notes) {
    if (note.level === 'warning') log.warn(note.msg);
    else log.debug(note.msg);
  }
}
