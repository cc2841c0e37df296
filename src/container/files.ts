import * as fs from 'fs';

/** Writes `content` to a temp file beside `file` and renames it over: readers never see half. */
export function writeFileAtomically(file: string, content: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(temp, content);
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw err;
  }
}
