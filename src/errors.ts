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
