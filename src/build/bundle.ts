/**
 * Bundles tsc's output into dist/bundle/ (`npm run build` ends with `npm run bundle`), so that a
 * command parses one file instead of compiling a module per require:
 *  - dist/bundle/runts.js: the entry (package.json's bin) and the hot path (state, list, kill,
 *    start, help, version);
 *  - dist/bundle/commandRunner.js: every command, for all that runts.js hands over (create, run,
 *    exec, delete, kill --all ...).
 * Two files, because V8 pre-parses all of a file it loads: the cold commands (~200 KB with the
 * cgroup drivers) would cost the hot path more than one file saves. tsc's dist/src/ stays as it
 * is, so unit tests load the very modules the bundles are made of. Node built-ins and
 * node_modules stay external, and so do the generated validators and the addon, loaded by
 * computed paths from src/base/paths.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync, type BuildOptions } from 'esbuild';
import { PACKAGE_ROOT } from '../base/paths';

const BUNDLE_DIR = path.join(PACKAGE_ROOT, 'dist', 'bundle');
const ENTRY = path.join(BUNDLE_DIR, 'runts.js');

const common: BuildOptions = {
  absWorkingDir: path.join(PACKAGE_ROOT, 'dist', 'src', 'cli'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
};

fs.rmSync(BUNDLE_DIR, { recursive: true, force: true });
buildSync({ ...common, entryPoints: ['commandRunner.js'], outfile: path.join(BUNDLE_DIR, 'commandRunner.js') });
// runts.js hands every other command to ./commandRunner.js (a file beside it in dist/bundle/),
// and never runs the cgroup drivers (kill --all goes to commandRunner): keep both out.
buildSync({ ...common, entryPoints: ['main.js'], outfile: ENTRY, external: ['./commandRunner', '../../cgroups'] });
// The entry is run directly (package.json's bin, a symlink on the PATH).
fs.chmodSync(ENTRY, 0o755);
