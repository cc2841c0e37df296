/**
 * src/base/files.ts's calls on paths, made without Node's Stats: isDirectory (access(2) on the
 * path with a trailing slash), readFileIfPresent (access(2), then the read) and removeFile
 * (unlink(2) of the entry itself); writeFileAtomically (the addon's open, write, rename).
 */
import t from 'tap';
import fs = require('fs');
import os = require('os');
import path = require('path');
import { isDirectory, readFileIfPresent, removeFile, writeFileAtomically } from '../../src/base/files';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-files-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = path.join(dir, 'file');
fs.writeFileSync(file, 'text');
fs.mkdirSync(path.join(dir, 'sub'));
fs.symlinkSync(path.join(dir, 'sub'), path.join(dir, 'to-sub'));
fs.symlinkSync(file, path.join(dir, 'to-file'));
fs.symlinkSync(path.join(dir, 'missing'), path.join(dir, 'dangling'));

t.test('isDirectory answers as stat(2) and S_ISDIR would', async (t) => {
  const statSays = (p: string) => {
    try {
      return fs.statSync(p).isDirectory();
    } catch {
      return false;
    }
  };
  for (const name of ['sub', 'to-sub', 'file', 'to-file', 'dangling', 'missing', 'file/below', 'sub/']) {
    const p = path.join(dir, name);
    t.equal(isDirectory(p), statSays(p), name);
  }
  t.equal(isDirectory(dir), true, 'an absolute directory');
  t.equal(isDirectory(''), false, 'an empty path is no directory (not "/")');
});

t.test('readFileIfPresent: the text, or undefined for what is not there', async (t) => {
  t.equal(readFileIfPresent(file), 'text');
  t.equal(readFileIfPresent(path.join(dir, 'to-file')), 'text', 'through a symbolic link');
  t.equal(readFileIfPresent(path.join(dir, 'missing')), undefined);
  t.equal(readFileIfPresent(path.join(dir, 'dangling')), undefined, 'a dangling link');
  t.equal(readFileIfPresent(path.join(dir, 'file', 'below')), undefined, 'below a file (ENOTDIR)');
  t.throws(() => readFileIfPresent(path.join(dir, 'sub')), /EISDIR/, 'a directory is there, and unreadable: that throws');
});

t.test('removeFile removes the entry itself (a link, not what it points to); gone is fine', async (t) => {
  const target = path.join(dir, 'kept');
  fs.writeFileSync(target, 'kept');
  const link = path.join(dir, 'link-to-kept');
  fs.symlinkSync(target, link);
  removeFile(link);
  t.notOk(fs.existsSync(link), 'the link is gone');
  t.equal(fs.readFileSync(target, 'utf8'), 'kept', 'its target is not');
  const dangling = path.join(dir, 'dangling-too');
  fs.symlinkSync(path.join(dir, 'nowhere'), dangling);
  removeFile(dangling);
  t.throws(() => fs.lstatSync(dangling), /ENOENT/, 'a dangling link is removed');
  t.doesNotThrow(() => removeFile(path.join(dir, 'never-there')), 'a missing file');
  t.throws(() => removeFile(path.join(dir, 'sub')), /EISDIR|EPERM/, 'a directory is no file: that throws');
});

t.test('writeFileAtomically replaces a file whole, with its mode, and leaves no temp file', async (t) => {
  const target = path.join(dir, 'atomic');
  fs.writeFileSync(target, 'old');
  const before = fs.statSync(target).ino;
  const content = JSON.stringify({ big: 'x'.repeat(300_000) });
  writeFileAtomically(target, content, 0o600);
  t.equal(fs.readFileSync(target, 'utf8'), content, 'the whole content');
  t.equal(fs.statSync(target).mode & 0o777, 0o600 & ~process.umask(), 'the mode asked for, less the umask');
  t.not(fs.statSync(target).ino, before, 'a new file renamed over the old one');
  t.same(fs.readdirSync(dir).filter((n) => n.startsWith('atomic.')), [], 'no temp file beside it');

  const err = t.throws(() => writeFileAtomically(path.join(dir, 'missing', 'file'), 'x')) as NodeJS.ErrnoException;
  t.equal(err.code, 'ENOENT', `a missing directory: ${err.message}`);
  const intoDir = t.throws(() => writeFileAtomically(path.join(dir, 'sub'), 'x')) as NodeJS.ErrnoException;
  t.equal(intoDir.code, 'EISDIR', `over a directory: the rename is refused (${intoDir.message})`);
  t.ok(isDirectory(path.join(dir, 'sub')), 'the directory stays');
  t.same(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'and the temp file is gone');
});
