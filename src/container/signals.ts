import { native } from '../native';

/** Signals a foreground runts (run, exec) passes on to the process it waits for. */
const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

/** Starts forwarding (a process already gone is not an error); returns the function that stops it. */
export function forwardSignals(pid: number): () => void {
  return native().forwardSignals(pid, FORWARDED);
}
