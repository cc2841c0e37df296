/**
 * The part the unit tests' fake cgroupfs IOs share: file contents in a map keyed by absolute
 * path, every write recorded in order as `path-relative-to-root=value`, and refused writes
 * thrown as the driver's CgroupWriteError. Each driver's fake adds its own kernel model.
 */
import path = require('path');
import { CgroupWriteError } from '../../src/cgroups/fs';

export abstract class FakeIOBase {
  readonly files = new Map<string, string>();
  readonly writes: string[] = [];

  constructor(protected readonly root: string) {}

  set(rel: string, content: string): void {
    this.files.set(path.join(this.root, rel), content);
  }

  get(rel: string): string | undefined {
    return this.files.get(path.join(this.root, rel));
  }

  /** Records the write of `value` to `dir/file` and returns the file's full path. */
  protected record(dir: string, file: string, value: string): string {
    const full = path.join(dir, file);
    this.writes.push(`${path.relative(this.root, full)}=${value}`);
    return full;
  }

  /** Throws the driver's write error when `code` (an errno name) is set. */
  protected refuseWith(full: string, value: string, code: string | undefined): void {
    if (code) throw new CgroupWriteError(full, value, code, code.toLowerCase());
  }

  exists(dir: string, file: string): boolean {
    return this.files.has(path.join(dir, file));
  }
}
