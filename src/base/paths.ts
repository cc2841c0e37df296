/**
 * The package root. This file runs both inside the bundles in dist/bundle/ (the shipped binary),
 * two levels below the root, and as tsc's dist/src/base/paths.js (unit tests, build steps), where
 * the root is found as the nearest directory above that holds package.json. Every path runts
 * derives from its own location starts here, and the package's layout is said here once (but for
 * the few paths the binary, src/cli/entry.ts, spells out before its first require()).
 */
import { existsSync } from 'fs';
import { basename, dirname, join, sep } from 'path';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`runts: no package.json above ${start}`);
  }
}

let root: string | undefined;

/** Whether this module runs from a bundle in dist/bundle/ rather than from tsc's dist/src/base/. */
function inBundle(): boolean {
  return dirname(__dirname).endsWith(`${sep}dist`) && basename(__dirname) === 'bundle';
}

/** The package root, on first use: a command that needs no path of its own asks nothing. */
export function packageRoot(): string {
  return (root ??= inBundle() ? dirname(dirname(__dirname)) : findPackageRoot(__dirname));
}

/**
 * The generated validators (src/config/schema/build-validator.ts): bundled apart beside the
 * bundles (src/build/bundle.ts), tsc's dist/src/config/schema/validators.js beside this file's.
 */
export function validatorsFile(): string {
  return inBundle() ? join(__dirname, 'validators.js') : join(__dirname, '..', 'config', 'schema', 'validators.js');
}

/** The native build: the addons (runts.node, runts_loader.node, runts_sdbus.node) and runts-init. */
export function nativeBuildDir(): string {
  return join(packageRoot(), 'build', 'Release');
}

/** Where the package keeps the V8 code caches of its bundles (./codeCache.ts): beside dist/bundle/. */
export function codeCacheDir(): string {
  return join(packageRoot(), 'dist', 'code-cache');
}
