/** Scaffolding and assertions the container integration tests (hardening-*) share. */
import t, { type Test } from 'tap';
import { cleanupRoot, scratchDir, type Result } from './runts';

/**
 * Plans no test when `skip` gives a reason; otherwise makes a private runts --root named after
 * `prefix`, removed when the file's tests end, and lets `body` register the tests that use it.
 */
export function withRuntsRoot(skip: string | false, prefix: string, body: (root: string) => void): void {
  if (skip) {
    t.plan(0, skip);
    return;
  }
  const root = scratchDir(prefix);
  t.teardown(() => cleanupRoot(root));
  body(root);
}

/** Asserts the container exited 0 with nothing on stderr; returns its stdout. */
export function cleanExit(t: Test, r: Result): string {
  t.equal(r.code, 0, 'container exits 0', { stderr: r.stderr });
  t.equal(r.stderr, '', 'nothing on stderr');
  return r.stdout;
}
