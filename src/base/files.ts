import { renameSync, rmSync, writeFileSync } from 'fs';

let tempCounter = 0;

/** Writes `content` to a temp file beside `file` and renames it over: readers never see half. */
export function writeFileAtomically(file: string, content: string, mode = 0o644): void {
  const temp = `${file}.${process.pid}.${tempCounter++}.tmp`;
  try {
    writeFileSync(temp, content, { mode });
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
