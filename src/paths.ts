/**
 * The package root, found from this file. It sits in dist/src/ both as its own file and inside
 * the bundles dist/src/cli.js and dist/src/commandRunner.js, so __dirname is the same either
 * way: every path runts derives from its own location starts here.
 */
import { resolve } from 'path';

export const PACKAGE_ROOT = resolve(__dirname, '..', '..');
