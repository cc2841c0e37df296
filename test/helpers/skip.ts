/**
 * The one way a test says what it needs: `{ skip: skipUnless({ root: true, fixture: true }) }`
 * gives tap the reason to skip (or false to run), worded the same in every file.
 */
import fs = require('fs');
import path = require('path');
import { FIXTURE_ROOTFS } from './runts';

export interface Needs {
  /** Real containers, cgroups, mounts: uid 0. */
  root?: boolean;
  /** The busybox rootfs fixtures/build-rootfs.sh makes. */
  fixture?: boolean;
}

/** The first need this machine does not meet, as a skip reason; false when all are met. */
export function skipUnless(needs: Needs): string | false {
  if (needs.root && process.getuid?.() !== 0) return 'needs root';
  if (needs.fixture && !fs.existsSync(path.join(FIXTURE_ROOTFS, '.built'))) return 'fixture rootfs missing: npm run fixtures';
  return false;
}
