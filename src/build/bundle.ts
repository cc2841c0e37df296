/**
 * Bundles the tsc output in place (`npm run build` ends with `npm run bundle`), so that a command parses one
 * file instead of compiling a module per require:
 *  - dist/src/cli.js: the entry and the hot path (state, list, kill, start, help, version);
 *  - dist/src/commandRunner.js: every command, for all that cli.js hands over (create, run,
 *    exec, delete, kill --all ...).
 * Two files, because V8 pre-parses all of a file it loads: the cold commands (~200 KB with the
 * cgroup drivers) would cost the hot path more than one file saves. Same paths as before, so
 * every path relative to the compiled files (src/paths.ts) holds. Node built-ins and node_modules stay
 * external, and so do dist/spec/validators.js and the addon, loaded by computed paths.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildSync, type BuildOptions } from 'esbuild';
import { PACKAGE_ROOT } from '../paths';

const common: BuildOptions = {
  absWorkingDir: path.join(PACKAGE_ROOT, 'dist', 'src'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  allowOverwrite: true,
  logLevel: 'warning',
};

buildSync({ ...common, entryPoints: ['commandRunner.js'], outfile: 'commandRunner.js' });
// cli.js never runs the cgroup drivers (kill --all goes to commandRunner): keep them out.
buildSync({ ...common, entryPoints: ['cli.js'], outfile: 'cli.js', external: ['./commandRunner.js', './cgroups/index.js'] });
// The entry is run directly (package.json's bin, a symlink on the PATH): tsc leaves it 0644.
fs.chmodSync(path.join(PACKAGE_ROOT, 'dist', 'src', 'cli.js'), 0o755);
