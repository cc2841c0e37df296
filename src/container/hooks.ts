/** OCI hooks run by the runtime itself (prestart, createRuntime, poststart, poststop). */
import { RuntimeError } from '../base/errors';
import { isDirectory } from '../base/files';
import type { Hook, Hooks, State } from '../config/types';

export type RuntimeHookKind = 'prestart' | 'createRuntime' | 'poststart' | 'poststop';

/**
 * Runs each hook with the state JSON on stdin, in order; the first failure throws with runc's
 * wording. `timeout` (seconds) kills the hook and fails it.
 */
export function runHooks(kind: RuntimeHookKind, hooks: Hooks | undefined, state: State): void {
  const list: Hook[] = hooks?.[kind] ?? [];
  if (list.length === 0) return;
  // Required only when there are hooks: start and delete stay off child_process otherwise.
  const { spawnSync } = require('child_process') as typeof import('child_process');
  const input = JSON.stringify(state);
  list.forEach((hook, index) => {
    const [argv0, ...args] = hook.args && hook.args.length > 0 ? hook.args : [hook.path];
    const result = spawnSync(hook.path, args, {
      argv0,
      input,
      // As runc: no env of its own: the runtime's; the cwd is the bundle (runc chdirs there).
      env: hook.env ? Object.fromEntries(hook.env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])) : process.env,
      cwd: bundleDirectory(state.bundle),
      timeout: hook.timeout ? hook.timeout * 1000 : undefined,
      killSignal: 'SIGKILL',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // runc 1.1's wording ("error running hook #N"), with the kind of hook added.
    const what = `error running hook #${index} (${kind})`;
    const output = `stdout: ${result.stdout?.toString().trim() ?? ''}, stderr: ${result.stderr?.toString().trim() ?? ''}`;
    // A hook that exits without reading its stdin makes the write fail with EPIPE: its exit
    // status is what counts.
    if (result.error && (result.error as NodeJS.ErrnoException).code !== 'EPIPE') {
      const e = result.error as NodeJS.ErrnoException;
      const reason = e.code === 'ETIMEDOUT' ? `timed out after ${hook.timeout}s` : e.code === 'ENOENT' ? `${hook.path}: no such file or directory` : e.message;
      throw new RuntimeError(`${what}: ${reason}`);
    }
    if (result.signal) throw new RuntimeError(`${what}: killed by signal: ${result.signal}, ${output}`);
    if (result.status !== 0) throw new RuntimeError(`${what}: exit status ${result.status}, ${output}`);
  });
}

function bundleDirectory(bundle: string): string | undefined {
  return isDirectory(bundle) ? bundle : undefined;
}
