/**
 * User namespaces from inside real containers: the mappings the runtime writes, ids, setgroups,
 * the mounts a user namespace changes (sysfs without a network namespace, mqueue, devices bound
 * instead of mknod), joining another container's user namespace by path, and the escape
 * protections of DESIGN.md still holding with a user namespace on.
 *
 * runc does not chown the rootfs for the mapped root; neither does runts. These tests give each
 * container a copy of the fixture rootfs shifted into its mapped range, as a client would.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'child_process';
import fs = require('fs');
import path = require('path');
import type { LinuxIDMapping, Spec } from '../../src/config/types';
import { CLI, baseSpec, makeBundle, runts, scratchDir, type Result } from '../helpers/runts';
import { cleanExit, withRuntsRoot } from '../helpers/container-tests';
import { skipUnless } from '../helpers/skip';

const skip = skipUnless({ root: true, fixture: true });

const HOST_BASE = 100000;
const RANGE = 65536;

/** Adds `by` to the owner and group of everything under `dir` (the fixture is all root-owned). */
function shiftOwnership(dir: string, by: number): void {
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    fs.lchownSync(p, st.uid + by, st.gid + by);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
}

function usernsSpec(args: string[], uidMappings: LinuxIDMapping[] = [{ containerID: 0, hostID: HOST_BASE, size: RANGE }], gidMappings = uidMappings): Spec {
  const spec = baseSpec(args);
  spec.linux!.namespaces!.push({ type: 'user' });
  spec.linux!.uidMappings = uidMappings;
  spec.linux!.gidMappings = gidMappings;
  return spec;
}

/** A bundle whose rootfs belongs to the mapped root (host id `shift`). */
function usernsBundle(t: Test, spec: Spec, shift = HOST_BASE): string {
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  // The mapped root must be able to reach the rootfs: mkdtemp makes the bundle 0700.
  fs.chmodSync(bundle, 0o755);
  shiftOwnership(path.join(bundle, 'rootfs'), shift);
  return bundle;
}

let counter = 0;
function run(t: Test, root: string, spec: Spec, shift = HOST_BASE): Result {
  const bundle = usernsBundle(t, spec, shift);
  return runts(root, ['run', '--bundle', bundle, `userns${process.pid}-${counter++}`]);
}

withRuntsRoot(skip, 'hardening-userns', (root) => {

  t.test('mappings, ids and setgroups as configured; the rootfs belongs to the mapped root', async (t) => {
    const out = cleanExit(t, run(t, root, usernsSpec(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id; cat /proc/self/setgroups; stat -c "%u:%g" / /bin/busybox'])));
    const lines = out.trim().split('\n');
    t.same(lines.slice(0, 2).map((l) => l.trim().split(/\s+/)), [['0', `${HOST_BASE}`, `${RANGE}`], ['0', `${HOST_BASE}`, `${RANGE}`]]);
    t.equal(lines[2], 'uid=0(root) gid=0(root)');
    t.equal(lines[3], 'allow', 'a root runtime leaves setgroups allowed (runc writes deny only when rootless)');
    t.same(lines.slice(4), ['0:0', '0:0'], 'host ids 100000 show as root inside');
  });

  t.test('several ranges, a non-root user and its additional groups', async (t) => {
    const uid = [{ containerID: 0, hostID: 200000, size: 1000 }, { containerID: 1000, hostID: 300000, size: 1000 }];
    const gid = [{ containerID: 0, hostID: 200000, size: 100 }, { containerID: 100, hostID: 400000, size: 2000 }];
    const spec = usernsSpec(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id; grep -E "^(Uid|Gid|Groups):" /proc/self/status'], uid, gid);
    spec.process!.user = { uid: 1500, gid: 1500, additionalGids: [5, 150] };
    spec.process!.cwd = '/';
    const out = cleanExit(t, run(t, root, spec, 200000));
    const lines = out.trim().split('\n');
    t.same(lines.slice(0, 4).map((l) => l.trim().split(/\s+/)), [['0', '200000', '1000'], ['1000', '300000', '1000'], ['0', '200000', '100'], ['100', '400000', '2000']]);
    t.match(lines[4], /^uid=1500 gid=1500 groups=5(\(\w+\))?,150/);
    t.match(out, /Uid:\s+1500\s+1500\s+1500\s+1500/);
    t.match(out, /Groups:\s+5 150/);
  });

  t.test('unmapped host ids show as the overflow id; the mapped root is not the host\'s', async (t) => {
    const work = scratchDir('userns-host');
    t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
    fs.chmodSync(work, 0o755);
    fs.writeFileSync(path.join(work, 'host-root-file'), 'secret\n', { mode: 0o600 });
    const spec = usernsSpec(['sh', '-c', 'stat -c "%u:%g %a" /host/host-root-file; cat /host/host-root-file 2>&1; (echo x > /host/new) 2>&1; true']);
    spec.mounts!.push({ destination: '/host', type: 'bind', source: work, options: ['bind'] });
    const out = cleanExit(t, run(t, root, spec));
    const lines = out.trim().split('\n');
    t.equal(lines[0], '65534:65534 600', 'host root is nobody inside');
    t.match(lines[1], /Permission denied/, 'root inside cannot read a host root file');
    t.match(lines[2], /Permission denied/, 'nor write to a host root directory');
  });

  t.test('mounts inside a user namespace: devices bound, sysfs and mqueue', async (t) => {
    // No network namespace: the kernel refuses a new sysfs, /sys is the host's, bound read-only.
    const spec = usernsSpec(['sh', '-c', [
      'grep -E " /dev/(null|zero|tty|random|urandom|full) " /proc/self/mountinfo | cut -d" " -f5 | sort',
      'ls -l /dev/null | cut -c1',
      'echo ok > /dev/null && echo null-writable',
      'awk \'$5 == "/sys" { print $5, $6, $9 }\' /proc/self/mountinfo',
      'ls /sys/class/net | sort | tr "\\n" " "; echo',
      'touch /sys/kernel/x 2>&1 | grep -c "Read-only"',
      'grep " /dev/mqueue " /proc/self/mountinfo | cut -d" " -f9',
    ].join('; ')]);
    spec.linux!.namespaces = spec.linux!.namespaces!.filter((n) => n.type !== 'network');
    const lines = cleanExit(t, run(t, root, spec)).trim().split('\n');
    t.same(lines.slice(0, 6), ['/dev/full', '/dev/null', '/dev/random', '/dev/tty', '/dev/urandom', '/dev/zero'], 'the default devices are bind mounts');
    t.equal(lines[6], 'c', '/dev/null is the host\'s character device');
    t.equal(lines[7], 'null-writable');
    t.match(lines[8], /^\/sys ro,nosuid,nodev,noexec\S* sysfs$/, '/sys bound from the host, read-only as configured');
    t.equal(lines[9].trim(), fs.readdirSync('/sys/class/net').sort().join(' '), 'it shows the host\'s network devices');
    t.equal(lines[10], '1', 'writes refused');
    t.equal(lines[11], 'mqueue', 'a new IPC namespace: a real mqueue');

    // With its own network namespace the container gets its own sysfs, as without a user namespace.
    const own = cleanExit(t, run(t, root, usernsSpec(['sh', '-c', 'awk \'$5 == "/sys" { print $5, $9 }\' /proc/self/mountinfo; ls /sys/class/net'])));
    t.match(own, /^\/sys sysfs\n/);
    t.match(own, /\blo\b/);
  });

  t.test('joining another container\'s user and network namespaces by path', async (t) => {
    const a = usernsSpec(['sleep', '120'], [{ containerID: 0, hostID: 500000, size: RANGE }]);
    const bundleA = usernsBundle(t, a, 500000);
    const idA = `userns-a${process.pid}`;
    const fdA = fs.openSync(path.join(bundleA, 'out'), 'w');
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const started = spawnSync(process.execPath, [CLI, '--root', root, 'run', '-d', '--bundle', bundleA, idA], { stdio: ['ignore', fdA, fdA], env });
    fs.closeSync(fdA);
    t.teardown(() => runts(root, ['delete', '--force', idA]));
    t.equal(started.status, 0, fs.readFileSync(path.join(bundleA, 'out'), 'utf8'));
    const state = JSON.parse(runts(root, ['state', idA]).stdout) as { pid: number };
    const userA = fs.readlinkSync(`/proc/${state.pid}/ns/user`);
    const netA = fs.readlinkSync(`/proc/${state.pid}/ns/net`);

    const b = baseSpec(['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id; readlink /proc/self/ns/user; readlink /proc/self/ns/net; ls /sys/class/net']);
    b.linux!.namespaces = [
      ...b.linux!.namespaces!.filter((n) => n.type !== 'network'),
      { type: 'user', path: `/proc/${state.pid}/ns/user` },
      { type: 'network', path: `/proc/${state.pid}/ns/net` },
    ];
    const lines = cleanExit(t, run(t, root, b, 500000)).trim().split('\n');
    t.same(lines.slice(0, 2).map((l) => l.trim().split(/\s+/)), [['0', '500000', `${RANGE}`], ['0', '500000', `${RANGE}`]], 'A\'s mappings');
    t.equal(lines[2], 'uid=0(root) gid=0(root)');
    t.equal(lines[3], userA, 'the same user namespace as A');
    t.equal(lines[4], netA, 'the same network namespace as A');
    t.ok(lines.slice(5).includes('lo'), 'A\'s lo');
  });

  t.test('settings that need privileges the user namespace lacks, or a dumpable init', async (t) => {
    // ioprio RT class and hard rlimits need the host's privileges (set before the user
    // namespace); timens_offsets is written after it, as root of the new user namespace.
    const spec = usernsSpec(['sh', '-c', 'cat /proc/self/timens_offsets; ionice -p $$; cat /proc/self/personality; ulimit -Hn; cat /proc/self/oom_score_adj']);
    spec.linux!.namespaces!.push({ type: 'time' });
    spec.linux!.timeOffsets = { boottime: { secs: 1000, nanosecs: 0 } };
    spec.linux!.personality = { domain: 'LINUX32' };
    spec.process!.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 1 };
    spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1000, hard: 1500 }];
    spec.process!.oomScoreAdj = 999;
    const lines = cleanExit(t, run(t, root, spec)).trim().split('\n');
    t.same(lines.slice(0, 2).map((l) => l.trim().split(/\s+/)), [['monotonic', '0', '0'], ['boottime', '1000', '0']]);
    t.same(lines.slice(2), ['realtime: prio 1', '00000008', '1500', '999']);
  });

  t.test('escape protections with a user namespace on', async (t) => {
    const work = scratchDir('userns-escape');
    t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
    fs.chmodSync(work, 0o755);
    const outside = path.join(work, 'outside');
    fs.mkdirSync(outside);
    const spec = usernsSpec(['sh', '-c', [
      // No pipe: a pipeline's shell holds a pipe fd of its own while ls looks.
      'ls -C /proc/$$/fd',
      'awk \'$5 ~ /\\/outside\\/sub$/ { print $5, $9 }\' /proc/self/mountinfo',
      'wc -c < /proc/timer_list',
      '(echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1 | grep -c "Read-only"',
      'grep -E "^(CapEff|NoNewPrivs):" /proc/self/status',
    ].join('; ')]);
    // A symlink in the image pointing out of the rootfs (climbing past / and then into a host
    // directory): the tmpfs mounted "through" it must land inside the rootfs.
    spec.mounts!.push({ destination: '/escape/sub', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
    const bundle = usernsBundle(t, spec);
    fs.symlinkSync(`../../../../../../../..${outside}`, path.join(bundle, 'rootfs', 'escape'));
    fs.lchownSync(path.join(bundle, 'rootfs', 'escape'), HOST_BASE, HOST_BASE);
    const r = runts(root, ['run', '--bundle', bundle, `userns-escape${process.pid}`]);
    const lines = cleanExit(t, r).trim().split('\n');
    t.equal(lines[0].trim().split(/\s+/).join(' '), '0 1 2', 'no runtime fd leaks into the container (CVE-2024-21626)');
    t.equal(lines[1], `${work}/outside/sub tmpfs`, 'the mount is there, under the symlink\'s target resolved in the rootfs');
    t.same(fs.readdirSync(outside), [], 'and nothing was created or mounted on the host (CVE-2021-30465)');
    t.ok(fs.existsSync(path.join(bundle, 'rootfs', work.slice(1), 'outside', 'sub')), 'it resolved inside the rootfs');
    t.equal(lines[2].trim(), '0', 'masked /proc/timer_list reads empty');
    t.equal(lines[3], '1', '/proc/sys stays read-only');
    t.match(lines[4], /CapEff:\s+0000000020000420/, 'the configured capabilities, in the user namespace');
    t.match(lines[5], /NoNewPrivs:\s+1/);
  });

  t.test('a bind source only the host\'s root may reach is bound by fd, for run and exec', async (t) => {
    const work = scratchDir('userns-src');
    t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
    fs.chmodSync(work, 0o755);
    // source-*/dir is 0755 but source-* is 0700 and root's: the mapped root cannot walk into it.
    for (const n of [1, 2]) {
      fs.mkdirSync(path.join(work, `source-${n}`, 'dir'), { recursive: true });
      fs.chmodSync(path.join(work, `source-${n}`), 0o700);
      fs.writeFileSync(path.join(work, `source-${n}`, 'dir', 'foo.txt'), `from ${n}\n`);
    }
    const spec = usernsSpec(['sleep', '60']);
    spec.mounts!.push(
      { destination: '/tmp/mount-1', type: 'bind', source: path.join(work, 'source-1', 'dir'), options: ['bind'] },
      // relative: the bundle's, as runc resolves it
      { destination: '/tmp/mount-2', type: 'bind', source: path.relative('/', path.join(work, 'source-2', 'dir')).replace(/^/, '../'.repeat(20)), options: ['bind', 'ro'] },
    );
    const bundle = usernsBundle(t, spec);
    const id = `userns-src${process.pid}`;
    const r = runts(root, ['run', '-d', '--bundle', bundle, id]);
    t.equal(r.code, 0, r.stderr);
    t.teardown(() => runts(root, ['delete', '--force', id]));
    const exec = runts(root, ['exec', id, 'sh', '-c', 'cat /tmp/mount-1/foo.txt /tmp/mount-2/foo.txt; awk \'$5 == "/tmp/mount-2" { split($6, o, ","); print o[1] }\' /proc/self/mountinfo']);
    t.equal(exec.code, 0, exec.stderr);
    t.same(exec.stdout.trim().split('\n'), ['from 1', 'from 2', 'ro'], 'both sources are there, the second read-only');
  });
});
