/** Signals a foreground runts (run, exec) passes on to the process it waits for. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

/** Starts forwarding; returns the function that stops it. */
export function forwardSignals(pid: number): () => void {
  const forward = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      // the process is already gone
    }
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  return () => {
    for (const signal of FORWARDED) process.off(signal, forward);
  };
}
