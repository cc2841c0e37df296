/**
 * The runtime's side of the channel to runts-init: frames of a 4-byte little-endian length and
 * a JSON object, over one end of a socketpair, typed both ways by ./protocol.ts; the addon reads
 * and writes whole frames. Reads block: create is a sequence of steps.
 */
import fs = require('fs');
import { RuntimeError, isTimeout } from '../base/errors';
import { native } from '../native';
import type { InitMessage, PlanMessage, RuntimeMessage } from './protocol';

export type { InitMessage, RuntimeMessage };

/**
 * How long the runtime waits for the init's next message (its setup takes well under a second):
 * 60 s, or RUNTS_INIT_TIMEOUT seconds when the operator sets it (0: no bound).
 */
export function initMessageTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.RUNTS_INIT_TIMEOUT ?? 60);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 60_000;
}

export class InitChannel {
  /**
   * The longest silence accepted from the init before giving up (0: none). The init dying is
   * seen at once (EOF); this bounds an init that lives but never answers (frozen in a cgroup, or
   * stuck in a createContainer hook without a timeout of its own).
   */
  timeoutMs = initMessageTimeoutMs();
  /** The last message received, to say where the init stopped answering. */
  private last = 'none yet';

  constructor(private readonly fd: number) {}

  /** The first frame: what the init is to do. */
  sendPlan(plan: PlanMessage): void {
    this.write(plan);
  }

  /** An answer to the init's last message. */
  send(message: RuntimeMessage): void {
    this.write(message);
  }

  /**
   * An init that has closed its end (EPIPE) is not reported here: one that failed left its error
   * on the channel before it went (an early failure, while runts still worked before "proceed"),
   * and receive(), which follows every send, reports that, or its EOF.
   */
  private write(message: PlanMessage | RuntimeMessage): void {
    try {
      native().writeFrame(this.fd, JSON.stringify(message));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EPIPE') throw err;
    }
  }

  /** The next message, or null once every init process has closed its end. */
  receive(): InitMessage | null {
    let body: string | null;
    try {
      body = native().readFrame(this.fd, this.timeoutMs);
    } catch (err) {
      if (isTimeout(err)) {
        throw new RuntimeError(`timed out after ${this.timeoutMs / 1000}s waiting for the container init to answer (last message: ${this.last})`);
      }
      throw new RuntimeError(`reading from the container init: ${(err as Error).message}`);
    }
    if (body === null) return null;
    const message = JSON.parse(body) as InitMessage;
    this.last = message.type;
    return message;
  }

  /** The fd the init sends right after a frame announcing it (SCM_RIGHTS), close-on-exec. */
  receiveFd(): number {
    return native().receiveFd(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
