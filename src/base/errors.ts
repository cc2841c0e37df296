import type { Logger } from './log';

/** Collapses a message to one line, as every error runts prints is. */
export function oneLine(msg: string): string {
  return msg.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * The brand every RuntimeError carries. Each bundle (dist/bundle/runts.js, commandRunner.js) has
 * its own copy of this class, so `instanceof` would miss an error thrown by the other bundle's
 * code; a registered symbol is the same in both.
 */
const RUNTIME_ERROR = Symbol.for('runts.RuntimeError');

/** Linux's errno for a wait that timed out, as the addon reports it (err.errno). */
const ETIMEDOUT = 110;

/** Whether `err` is an addon error carrying errno ETIMEDOUT. */
export function isTimeout(err: unknown): boolean {
  return (err as { errno?: number } | null)?.errno === ETIMEDOUT;
}

/** An error meant for the user: printed as one line, exit status 1 (or `exitCode`). */
export class RuntimeError extends Error {
  readonly [RUNTIME_ERROR] = true;

  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/** Whether `err` is a RuntimeError, from whichever bundle it was thrown. */
export function isRuntimeError(err: unknown): err is RuntimeError {
  return typeof err === 'object' && err !== null && (err as { [RUNTIME_ERROR]?: boolean })[RUNTIME_ERROR] === true;
}

/** Turns a Node system error (ENOENT …) into "<what>: <reason>" without the stack. */
export function describeSystemError(what: string, err: unknown): RuntimeError {
  const e = err as NodeJS.ErrnoException;
  // The addon's errors name no syscall; their message says what failed.
  const reason = e && e.code ? `${e.code}: ${e.syscall ?? e.message}` : String((e && e.message) || err);
  if (e && e.code === 'ENOENT') return new RuntimeError(`${what}: no such file or directory`);
  if (e && e.code === 'EACCES') return new RuntimeError(`${what}: permission denied`);
  if (e && e.code === 'ENOTDIR') return new RuntimeError(`${what}: not a directory`);
  return new RuntimeError(`${what}: ${reason}`);
}

/** Reports a failed command the way runc's fatal() does; returns the exit status. */
export function report(err: unknown, log: Logger): number {
  const expected = isRuntimeError(err);
  // An unexpected error's stack is logged at debug level, so only with --debug.
  if (!expected && err instanceof Error && err.stack) log.debug(err.stack);
  log.fatal(oneLine(err instanceof Error ? err.message || String(err) : String(err)));
  return expected ? err.exitCode : 1;
}
