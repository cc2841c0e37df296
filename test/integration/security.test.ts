/** Each escape class in DESIGN.md, with a test that fails if its protection is lost. */
import crypto = require('crypto');
import fs = require('fs');
import path = require('path');
import t from 'tap';
import { baseSpec, cleanupRoot, makeBundle, REPO, runInContainer, runts, scratchDir } from '../helpers/runts';

const root = scratchDir('root');
t.teardown(() => cleanupRoot(root));

const sha = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

t.test('the init runs from a sealed memfd: /proc/<pid>/exe cannot be rewritten (CVE-2019-5736)', async (t) => {
  const initBinary = path.join(REPO, 'build', 'Release', 'runts-init');
  const before = sha(initBinary);
  const bundle = makeBundle(baseSpec(['true']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['create', '--bundle', bundle, 'exe']).code, 0);
  const pid = JSON.parse(runts(root, ['state', 'exe']).stdout).pid;
  t.match(fs.readlinkSync(`/proc/${pid}/exe`), /^\/memfd:runts-init/, 'the created init is the memfd copy');
  let wrote = false;
  try {
    const fd = fs.openSync(`/proc/${pid}/exe`, 'r+');
    try {
      fs.writeSync(fd, 'overwritten');
      wrote = true;
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    t.match((err as NodeJS.ErrnoException).code, /EPERM|ETXTBSY|EACCES/, 'writing is refused');
  }
  t.notOk(wrote, 'nothing could write through /proc/<pid>/exe');
  t.equal(sha(initBinary), before, 'the binary on disk is untouched');
  t.equal(runts(root, ['delete', 'exe']).code, 0);
});

t.test('no runtime fd leaks into the container (CVE-2024-21626)', async (t) => {
  const r = runInContainer(root, baseSpec(['sh', '-c', 'ls /proc/$$/fd; readlink /proc/$$/cwd']));
  t.equal(r.code, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['0', '1', '2', '/'], 'only stdio is open, cwd is inside the container');
});

t.test('--preserve-fds passes exactly the extra fds', async (t) => {
  const bundle = makeBundle(baseSpec(['sh', '-c', 'ls -C /proc/$$/fd; true']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const { spawnSync } = await import('child_process');
  const extra = fs.openSync(path.join(bundle, 'config.json'), 'r');
  const r = spawnSync(process.execPath, [path.join(REPO, 'dist/bundle/runts.js'), '--root', root, 'run', '--preserve-fds', '1', '--bundle', bundle, 'pfd'], {
    stdio: ['ignore', 'pipe', 'pipe', extra],
    encoding: 'utf8',
  });
  fs.closeSync(extra);
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim().split(/\s+/).join(' '), '0 1 2 3');
});

t.test('a symlink cannot point a mount destination out of the rootfs (CVE-2021-30465)', async (t) => {
  const outside = scratchDir('outside');
  t.teardown(() => fs.rmSync(outside, { recursive: true, force: true }));
  // Inside, both destinations resolve to <rootfs><outside>/sub, where mountinfo shows them.
  const spec = baseSpec(['sh', '-c', `ls -d /escape/sub /rel/sub && grep -c " ${outside}/sub " /proc/self/mountinfo`]);
  spec.root!.readonly = false;
  spec.mounts!.push({ destination: '/escape/sub', type: 'tmpfs', source: 'tmpfs' });
  spec.mounts!.push({ destination: '/rel/sub', type: 'tmpfs', source: 'tmpfs' });
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  fs.symlinkSync(outside, path.join(bundle, 'rootfs', 'escape'));
  fs.symlinkSync(`../../../../../../../..${outside}`, path.join(bundle, 'rootfs', 'rel'));
  const mountsBefore = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  const r = runts(root, ['run', '--bundle', bundle, 'esc']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^2$/m, 'both mounts landed inside the container');
  t.same(fs.readdirSync(outside), [], 'nothing was created in the host directory');
  t.ok(fs.existsSync(path.join(bundle, 'rootfs', outside, 'sub')), 'the destinations resolved under the rootfs');
  t.equal(fs.readFileSync('/proc/self/mountinfo', 'utf8'), mountsBefore, 'no mount reached the host');
});

t.test('masked paths stay masked even through a /proc symlink in the image (CVE-2019-16884/19921)', async (t) => {
  const spec = baseSpec(['sh', '-c', 'echo keys=$(wc -c < /proc/keys); mount -t proc proc /mnt 2>&1 || echo mount-refused']);
  const r = runInContainer(root, spec);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^keys=0$/m);
  t.match(r.stdout, /mount-refused/, 'no fresh, unmasked proc can be mounted');
});

t.test('inheritable capabilities are only those configured (CVE-2022-29162)', async (t) => {
  const r = runInContainer(root, baseSpec(['sh', '-c', 'grep CapInh /proc/self/status']));
  t.match(r.stdout, /CapInh:\s+0000000000000000/);
});
