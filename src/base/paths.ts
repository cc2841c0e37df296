/**
 * The package root: the nearest directory above this file that holds package.json. This file
 * runs both as tsc's dist/src/base/paths.js (unit tests, build steps) and inside the bundles in
 * dist/bundle/ (the shipped binary), at different depths, so the root is found, not counted.
 * Every path runts derives from its own location starts here.
 */
import { existsSync } from 'fs';
import { dirname, join } from 'path';

function findPackageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`runts: no package.json above ${start}`);
  }
}

let root: string | undefined;

/** The package root, found on first use: a command that needs no path of its own skips the walk. */
export function packageRoot(): string {
  return (root ??= findPackageRoot(__dirname));
}

/**
 * The directory this module runs from: dist/bundle/ inside a bundle, where the entry finds the
 * other bundles beside it; dist/src/base/ as tsc's output.
 */
export const MODULE_DIR = __dirname;
