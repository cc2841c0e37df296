/**
 * The runtime's side of the channel to runts-init: frames of a 4-byte little-endian length and
 * a JSON object, over one end of a socketpair, typed both ways by ./protocol.ts. Reads block:
 * create is a sequence of steps.
 */
import fs = require('fs');
import { RuntimeError } from '../base/errors';
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

  // The length by index and the body as a string: Buffer's helpers (from, alloc, copy,
  // writeUInt32LE) cost their first call of a process ~0.1 ms between them.
  private write(message: PlanMessage | RuntimeMessage): void {
    const body = JSON.stringify(message);
    const length = Buffer.byteLength(body);
    this.writeAll(new Uint8Array([length & 0xff, (length >>> 8) & 0xff, (length >>> 16) & 0xff, length >>> 24]));
    const written = fs.writeSync(this.fd, body);
    if (written < length) this.writeAll(Buffer.from(body).subarray(written));
  }

  private writeAll(bytes: Uint8Array): void {
    for (let off = 0; off < bytes.length; ) off += fs.writeSync(this.fd, bytes, off);
  }

  /** The next message, or null once every init process has closed its end. */
  receive(): InitMessage | null {
    const header = this.readExactly(4);
    if (!header) return null;
    const body = this.readExactly(header[0] | (header[1] << 8) | (header[2] << 16) | (header[3] * 0x1000000));
    if (!body) return null;
    const message = JSON.parse(body.toString('utf8')) as InitMessage;
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

  private readExactly(length: number): Buffer | null {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      if (this.timeoutMs > 0 && !native().waitReadable(this.fd, this.timeoutMs)) {
        throw new RuntimeError(`timed out after ${this.timeoutMs / 1000}s waiting for the container init to answer (last message: ${this.last})`);
      }
      let n: number;
      try {
        n = fs.readSync(this.fd, buf, got, length - got, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
        throw new RuntimeError(`reading from the container init: ${(err as Error).message}`);
      }
      if (n === 0) return null;
      got += n;
    }
    return buf;
  }
}
