import { readdirSync, renameSync, rmSync, rmdirSync, unlinkSync, writeFileSync, type Dirent } from 'fs';
import { join } from 'path';

let tempCounter = 0;

/** Writes `content` to a temp file beside `file` and renames it over: readers never see half. */
export function writeFileAtomically(file: string, content: string, mode = 0o644): void {
  const temp = `${file}.${process.pid}.${tempCounter++}.tmp`;
  try {
    writeFileSync(temp, content, { mode });
    renameSync(temp, file);
  } catch (err) {
    removeFile(temp);
    throw err;
  }
}

/*
 * fs.rmSync loads Node's rimraf and lstats its way through even a single file: ~0.5 ms of a
 * short command. State directories hold plain files, so these unlink them directly.
 */

/** unlink(2); a file already gone is fine. */
export function removeFile(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/** rm -r of a directory of files (a subdirectory, which runts never makes, goes through fs.rmSync); gone is fine. */
export function removeDirectory(dir: string): void {
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
