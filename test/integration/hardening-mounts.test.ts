/**
 * Mount extras proven from inside real containers: recursive r* options through
 * mount_setattr(AT_RECURSIVE), idmapped binds with the mount's own mappings (and the user
 * namespace's), tmpcopyup, nosymfollow, binds of files and directories, and a clear error
 * naming the mount and the option when the kernel refuses one.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'child_process';
import fs = require('fs');
import path = require('path');
import type { Spec } from '../../src/config/types';
import { baseSpec, makeBundle, runInContainer, runts, scratchDir } from '../helpers/runts';
import { cleanExit, withRuntsRoot } from '../helpers/container-tests';
import { skipUnless } from '../helpers/skip';

const skip = skipUnless({ root: true, fixture: true });

/** `mountpoint options` of every mountinfo line under `prefix`, for readable assertions. */
const MOUNTS = (prefix: string) => `awk '$5 ~ "^${prefix}" { print $5, $6 }' /proc/self/mountinfo`;

function sh(t: Test, root: string, script: string, edit: (s: Spec) => void): string {
  const spec = baseSpec(['sh', '-c', script]);
  edit(spec);
  return cleanExit(t, runInContainer(root, spec));
}

/** A host directory with a tmpfs mounted on `sub`, unmounted and removed at the end. */
function treeWithSubmount(t: Test): string {
  const dir = scratchDir('mount-src');
  fs.chmodSync(dir, 0o755);
  fs.mkdirSync(path.join(dir, 'sub'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', path.join(dir, 'sub')]);
  fs.writeFileSync(path.join(dir, 'top-file'), 'top\n');
  fs.writeFileSync(path.join(dir, 'sub', 'sub-file'), 'sub\n');
  t.teardown(() => {
    execFileSync('umount', ['-l', path.join(dir, 'sub')]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Per-mount options of `line` ("mountpoint opt,opt,…") as a set. */
const options = (line: string | undefined) => new Set((line ?? '').split(' ')[1]?.split(',') ?? []);

withRuntsRoot(skip, 'hardening-mounts', (root) => {

  t.test('rro makes every submount read-only; plain ro only the top one', async (t) => {
    const src = treeWithSubmount(t);
    const out = sh(t, root, [
      MOUNTS('/mnt'),
      '(touch /mnt/rro/sub/x) 2>&1 | grep -c Read-only',
      '(touch /mnt/ro/sub/x) && echo ro-sub-writable',
    ].join('; '), (s) => {
      s.mounts!.push(
        { destination: '/mnt/rro', type: 'bind', source: src, options: ['rbind', 'rro'] },
        { destination: '/mnt/ro', type: 'bind', source: src, options: ['rbind', 'ro'] },
      );
    });
    const lines = out.trim().split('\n');
    const byPoint = Object.fromEntries(lines.slice(0, 4).map((l) => [l.split(' ')[0], l]));
    t.ok(options(byPoint['/mnt/rro']).has('ro'));
    t.ok(options(byPoint['/mnt/rro/sub']).has('ro'), 'rro: the submount is read-only too');
    t.ok(options(byPoint['/mnt/ro']).has('ro'));
    t.ok(options(byPoint['/mnt/ro/sub']).has('rw'), 'ro: the submount stays writable');
    t.equal(lines[4], '1', 'writing under rro fails with EROFS');
    t.equal(lines[5], 'ro-sub-writable');
    t.equal(fs.readdirSync(path.join(src, 'sub')).sort().join(','), 'sub-file,x', 'the write under plain ro went through');
  });

  t.test('the other recursive options reach the submount', async (t) => {
    const src = treeWithSubmount(t);
    const out = sh(t, root, MOUNTS('/r'), (s) => {
      s.mounts!.push(
        { destination: '/r/a', type: 'bind', source: src, options: ['rbind', 'rnosuid', 'rnodev', 'rnoexec', 'rnoatime', 'rnodiratime', 'rnosymfollow'] },
        { destination: '/r/b', type: 'bind', source: src, options: ['rbind', 'nosuid', 'noexec', 'rsuid', 'rexec', 'rstrictatime'] },
      );
    });
    const byPoint = Object.fromEntries(out.trim().split('\n').map((l) => [l.split(' ')[0], l]));
    for (const point of ['/r/a', '/r/a/sub']) {
      const o = options(byPoint[point]);
      for (const flag of ['nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'nosymfollow']) t.ok(o.has(flag), `${point}: ${flag}`);
    }
    for (const point of ['/r/b', '/r/b/sub']) {
      const o = options(byPoint[point]);
      t.notOk(o.has('nosuid') || o.has('noexec'), `${point}: rsuid and rexec clear what nosuid,noexec set`);
      t.notOk(o.has('relatime') || o.has('noatime'), `${point}: strictatime (no atime option shown)`);
    }
  });

  t.test('idmap and ridmap binds show the mount\'s own mapped owners', async (t) => {
    const src = treeWithSubmount(t);
    fs.chownSync(path.join(src, 'top-file'), 0, 0);
    fs.chownSync(path.join(src, 'sub', 'sub-file'), 3, 4);
    const mappings = { uidMappings: [{ containerID: 0, hostID: 1000, size: 10 }], gidMappings: [{ containerID: 0, hostID: 2000, size: 10 }] };
    const out = sh(t, root, [
      'stat -c "%n %u:%g" /i/top-file /i/sub/sub-file /ri/top-file /ri/sub/sub-file',
      MOUNTS('/i'), MOUNTS('/ri'),
      '(touch /i/created) 2>&1; true',
    ].join('; '), (s) => {
      s.mounts!.push(
        { destination: '/i', type: 'bind', source: src, options: ['rbind', 'idmap'], ...mappings },
        { destination: '/ri', type: 'bind', source: src, options: ['rbind', 'ridmap'], ...mappings },
      );
    });
    const lines = out.trim().split('\n');
    t.same(lines.slice(0, 4), [
      '/i/top-file 1000:2000',
      '/i/sub/sub-file 3:4',
      '/ri/top-file 1000:2000',
      '/ri/sub/sub-file 1003:2004',
    ], 'idmap maps the top mount only, ridmap the submount too');
    const byPoint = Object.fromEntries(lines.slice(4, 8).map((l) => [l.split(' ')[0], l]));
    t.ok(options(byPoint['/i']).has('idmapped'));
    t.notOk(options(byPoint['/i/sub']).has('idmapped'));
    t.ok(options(byPoint['/ri/sub']).has('idmapped'));
    // The container's root is host uid 0, which the mount's mappings do not cover: the kernel
    // refuses to create a file it could not give an owner on disk (EOVERFLOW).
    t.match(lines[8], /Value too large for defined data type/);
    t.equal(fs.statSync(path.join(src, 'top-file')).uid, 0, 'the host files keep their owners');
  });

  t.test('idmap without mappings of its own takes the user namespace\'s', async (t) => {
    const src = scratchDir('idmap-userns');
    t.teardown(() => fs.rmSync(src, { recursive: true, force: true }));
    fs.chmodSync(src, 0o755);
    fs.writeFileSync(path.join(src, 'host-root'), 'x\n');
    const spec = baseSpec(['sh', '-c', 'stat -c "%u:%g" /plain/host-root /mapped/host-root; echo ok > /mapped/written']);
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.mounts!.push(
      { destination: '/plain', type: 'bind', source: src, options: ['bind'] },
      { destination: '/mapped', type: 'bind', source: src, options: ['bind', 'idmap'] },
    );
    const bundle = makeBundle(spec);
    t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
    fs.chmodSync(bundle, 0o755);
    execFileSync('chown', ['-R', '100000:100000', path.join(bundle, 'rootfs')]);
    const out = cleanExit(t, runts(root, ['run', '--bundle', bundle, `idmap-userns${process.pid}`]));
    t.same(out.trim().split('\n'), ['65534:65534', '0:0'], 'host root files: nobody through a plain bind, root through the idmapped one');
    const written = fs.statSync(path.join(src, 'written'));
    t.same([written.uid, written.gid], [0, 0], 'a file the container\'s root creates is the host\'s uid 0 on disk');
  });

  t.test('tmpcopyup starts the tmpfs with what it covers; the tmpfs takes the directory\'s mode', async (t) => {
    const spec = baseSpec(['sh', '-c', [
      'ls -ln /data | tail -n +2 | awk \'{ print $1, $3, $4, $9, $10, $11 }\'',
      'cat /data/file /data/dir/nested',
      'echo new > /data/new && cat /data/new',
      'stat -c "%a" /data /tmp /fresh',
      'awk \'$5 == "/data" { print $9 }\' /proc/self/mountinfo',
    ].join('; ')]);
    spec.mounts!.push(
      { destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'size=1m'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['mode=700'] },
      { destination: '/fresh', type: 'tmpfs', source: 'tmpfs', options: ['mode=700'] },
    );
    const bundle = makeBundle(spec);
    t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
    const data = path.join(bundle, 'rootfs', 'data');
    fs.mkdirSync(path.join(data, 'dir'), { recursive: true });
    fs.chmodSync(data, 0o751);
    fs.writeFileSync(path.join(data, 'file'), 'original\n', { mode: 0o604 });
    fs.chownSync(path.join(data, 'file'), 12, 34);
    fs.writeFileSync(path.join(data, 'dir', 'nested'), 'nested\n');
    fs.chmodSync(path.join(data, 'dir'), 0o700);
    fs.symlinkSync('file', path.join(data, 'link'));
    const out = cleanExit(t, runts(root, ['run', '--bundle', bundle, `copyup${process.pid}`]));
    t.same(out.trim().split('\n').map((l) => l.trimEnd()), [
      'drwx------ 0 0 dir',
      '-rw----r-- 12 34 file',
      'lrwxrwxrwx 0 0 link -> file',
      'original',
      'nested',
      'new',
      '751',
      '1777',
      '700',
      'tmpfs',
    ], 'contents, owners, modes and symlinks copied; /tmp takes the image\'s 1777 over mode=700 (runc does)');
    t.equal(fs.readFileSync(path.join(data, 'file'), 'utf8'), 'original\n', 'the image is untouched');
  });

  t.test('nosymfollow: symlinks on the mount are not followed', async (t) => {
    const out = sh(t, root, 'ln -s /etc/hostname /nf/link; cat /nf/link 2>&1; readlink /nf/link; ln -s /etc/hostname /f/link; cat /f/link', (s) => {
      s.mounts!.push(
        { destination: '/nf', type: 'tmpfs', source: 'tmpfs', options: ['nosymfollow'] },
        { destination: '/f', type: 'tmpfs', source: 'tmpfs', options: [] },
      );
    });
    const lines = out.trim().split('\n');
    t.match(lines[0], /Too many levels of symbolic links/, 'ELOOP through a nosymfollow mount');
    t.equal(lines[1], '/etc/hostname', 'readlink still works');
    t.equal(lines[2], 'runts-fixture', 'followed elsewhere');
  });

  t.test('binds of a file and of a directory, new targets created to match', async (t) => {
    const src = scratchDir('bind-src');
    t.teardown(() => fs.rmSync(src, { recursive: true, force: true }));
    fs.writeFileSync(path.join(src, 'file'), 'bound file\n');
    fs.mkdirSync(path.join(src, 'dir'));
    fs.writeFileSync(path.join(src, 'dir', 'inner'), 'inner\n');
    const out = sh(t, root, 'stat -c "%F" /new/file /new/dir; cat /new/file /new/dir/inner; (echo x > /new/file) 2>&1 | grep -c Read-only', (s) => {
      s.mounts!.push(
        { destination: '/new/file', type: 'bind', source: path.join(src, 'file'), options: ['bind', 'ro'] },
        { destination: '/new/dir', type: 'bind', source: path.join(src, 'dir'), options: ['rbind'] },
      );
    });
    t.same(out.trim().split('\n'), ['regular file', 'directory', 'bound file', 'inner', '1']);
  });

  t.test('a refused option: exit 1, one line naming the mount and the option, nothing left', async (t) => {
    const cases: { name: string; mount: Spec['mounts'] extends (infer M)[] | undefined ? M : never; message: RegExp }[] = [
      { name: 'tmpfs data option', mount: { destination: '/bad', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'bogus=1', 'size=1m'] }, message: /mount tmpfs on \/bad: option \\?"bogus=1\\?" refused by the kernel: Invalid argument/ },
      { name: 'idmap on a filesystem without idmapped mounts', mount: { destination: '/bad', type: 'bind', source: '/proc', options: ['rbind', 'idmap'], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }, message: /mount \/proc on \/bad: option \\?"idmap\\?" refused by the kernel.*Invalid argument/ },
    ];
    for (const c of cases) {
      const spec = baseSpec(['true']);
      spec.mounts!.push(c.mount);
      const bundle = makeBundle(spec);
      const id = `refused${process.pid}`;
      const r = runts(root, ['run', '--bundle', bundle, id]);
      fs.rmSync(bundle, { recursive: true, force: true });
      t.equal(r.code, 1, `${c.name}: exit 1`);
      const lines = r.stderr.trim().split('\n');
      t.equal(lines.length, 1, `${c.name}: one line: ${r.stderr.trim()}`);
      t.match(lines[0], c.message, c.name);
      t.notOk(fs.existsSync(path.join(root, id)), `${c.name}: no state left`);
    }
  });
});
