import { existsSync, readFileSync, readdirSync, rmSync, rmdirSync, unlinkSync, type Dirent } from 'fs';
import { join } from 'path';
import { native } from '../native';

let tempCounter = 0;

/** Writes `content` to a temp file beside `file` and renames it over: readers never see half. */
export function writeFileAtomically(file: string, content: string, mode = 0o644): void {
  native().writeFileAtomic(file, `${file}.${process.pid}.${tempCounter++}.tmp`, content, mode);
}

/*
 * fs.rmSync loads Node's rimraf and lstats its way through even a single file: ~0.5 ms of a
 * short command. State directories hold plain files, so these unlink them directly.
 */

/**
 * Whether `path` is a directory (or a symbolic link to one). Asked with access(2) on the path
 * with a trailing slash, which resolves only to a directory: the first statSync of a process
 * compiled ~0.1-0.2 ms of Node's code (the Stats classes) for this one bit.
 */
export function isDirectory(path: string): boolean {
  return path !== '' && existsSync(`${path}/`);
}

/**
 * A file's text, or undefined when it is not there (ENOENT, ENOTDIR, or a path that cannot be
 * followed). A missing file is asked about before it is read, because for every fs error it
 * throws Node builds an Error with a stack: the first of a process cost ~0.5 ms, and a gone
 * process's /proc/<pid>/stat, a container's missing state.json or a cgroup yet to be made are
 * everyday answers. It is asked with access(2) (existsSync): a stat builds a Stats object, and
 * the first statSync of a process compiled ~80 us of Node's code. Errors reading a file that is
 * there throw.
 */
export function readFileIfPresent(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

/**
 * unlink(2); a file already gone is fine. Not asked first as readFileIfPresent asks: every caller
 * removes a file it knows is there (an intent, a directory's entry) but on its error paths, and
 * an lstatSync compiled Node's Stats classes for the answer.
 */
export function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * rm -r of a directory of files, by the addon (a subdirectory, which runts never makes, goes
 * through fs.rmSync); gone is fine.
 */
export function removeDirectory(dir: string): void {
  if (native().removeFlatDirectory(dir)) return;
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const item = join(dir, entry.name);
    if (entry.isDirectory()) rmSync(item, { recursive: true, force: true });
    else removeFile(item);
  }
  try {
    rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
