/**
 * Test-only: preloaded into a runts process with NODE_OPTIONS=--require (see
 * test/integration/no-throw.test.ts), it appends one line to RUNTS_TEST_THROW_LOG for every
 * error a synchronous fs call or process.kill throws in that process. Node builds a stack for
 * each (the first of a process cost ~0.5 ms), so a command's normal path throws none.
 */
import fs = require('fs');

const log = process.env.RUNTS_TEST_THROW_LOG;
const appendFileSync = fs.appendFileSync;

function watched<T extends (...args: never[]) => unknown>(name: string, fn: T): T {
  return function (this: unknown, ...args: Parameters<T>) {
    try {
      return fn.apply(this, args);
    } catch (err) {
      if (log) appendFileSync(log, `${name}(${String(args[0])}) ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`);
      throw err;
    }
  } as T;
}

const fsFunctions = fs as unknown as Record<string, (...args: never[]) => unknown>;
for (const name of Object.keys(fs).filter((key) => key.endsWith('Sync') && key !== 'appendFileSync')) {
  const original = fsFunctions[name];
  if (typeof original !== 'function') continue;
  const wrapper = watched(name, original) as typeof original & Record<string, unknown>;
  // Their own variants too (realpathSync.native).
  for (const [key, variant] of Object.entries(original)) {
    wrapper[key] = typeof variant === 'function' ? watched(`${name}.${key}`, variant as (...args: never[]) => unknown) : variant;
  }
  fsFunctions[name] = wrapper;
}
process.kill = watched('process.kill', process.kill);
