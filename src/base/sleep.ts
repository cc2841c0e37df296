/** Synchronous sleep, for the short polls of short-lived commands (cgroups, process exit). */
export function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
