/** Waiting for a foreground process (run, exec): signals forwarded, terminal relayed. */
import { native } from '../native';
import { relayConsole } from './console';
import { forwardSignals } from './signals';

/** How long output still buffered in the pty may take to drain once the process is gone. */
const DRAIN_MS = 500;

/** Waits for child `pid` to exit; returns its status as a shell would (128+n for a signal). */
export async function waitInForeground(pid: number, consoleMaster?: number): Promise<number> {
  const stopForwarding = forwardSignals(pid);
  const relay = consoleMaster === undefined ? undefined : relayConsole(consoleMaster);
  try {
    const exit = await native().waitExit(pid);
    if (relay) await Promise.race([relay.drained, new Promise((resolve) => setTimeout(resolve, DRAIN_MS))]);
    return exit.code ?? 128 + (exit.signal ?? 0);
  } finally {
    relay?.stop();
    stopForwarding();
  }
}
