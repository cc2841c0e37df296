import { oneLine } from './log';
import type { Logger } from './log';

/** An error meant for the user: printed as one line, exit status 1 (or `exitCode`). */
export class RuntimeError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/** Turns a Node system error (ENOENT …) into "<what>: <reason>" without the stack. */
export function describeSystemError(what: string, err: unknown): RuntimeError {
  const e = err as NodeJS.ErrnoException;
  const reason = e && e.code ? `${e.code}: ${e.syscall ?? 'error'}` : String((e && e.message) || err);
  if (e && e.code === 'ENOENT') return new RuntimeError(`${what}: no such file or directory`);
  if (e && e.code === 'EACCES') return new RuntimeError(`${what}: permission denied`);
  if (e && e.code === 'ENOTDIR') return new RuntimeError(`${what}: not a directory`);
  return new RuntimeError(`${what}: ${reason}`);
}

/**
 * Reports a failed command the way runc's fatal() does; returns the exit status. Call it from
 * the bundle that threw: `instanceof` sees that bundle's RuntimeError only.
 */
export function report(err: unknown, log: Logger): number {
  // An unexpected error's stack is logged at debug level, so only with --debug.
  if (!(err instanceof RuntimeError) && err instanceof Error && err.stack) log.debug(err.stack);
  log.fatal(oneLine(err instanceof Error ? err.message || String(err) : String(err)));
  return err instanceof RuntimeError ? err.exitCode : 1;
}
