/**
 * src/cgroups/fs.ts's directory calls, made by the addon, report a failure in strerror's words
 * (as Node's fs calls did before them), also for an errno the cgroup table does not list.
 */
import t from 'tap';
import fs = require('fs');
import os = require('os');
import path = require('path');
import { mkdirTracked, rmdirRetry } from '../../src/cgroups/fs';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'runts-cgroups-fs-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('mkdirTracked: made directories recorded, parents first; a failure in words', async (t) => {
  const created: string[] = [];
  mkdirTracked(path.join(dir, 'a', 'b'), created);
  t.same(created, [path.join(dir, 'a'), path.join(dir, 'a', 'b')]);
  t.throws(() => mkdirTracked(path.join(dir, 'x'.repeat(300)), []), { message: `mkdir ${path.join(dir, 'x'.repeat(300))}: name too long` });
});

t.test('rmdirRetry: gone is fine; a failure in words', async (t) => {
  t.equal(rmdirRetry(path.join(dir, 'never')), undefined);
  const file = path.join(dir, 'file');
  fs.writeFileSync(file, '');
  t.equal(rmdirRetry(file, 0), `rmdir ${file}: not a directory`);
});
