import t from 'tap';
import {
  hybridUnifiedDir, parseCgroupMounts, parseProcCgroup, resolveInner, v1Dir, v2Dir, type Hierarchy,
} from '../../src/cgroups/path';
import { cgroupOwner, openCgroup } from '../../src/cgroups';
import type { Spec } from '../../src/config/types';

const MOUNTINFO = [
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
  '36 31 0:33 /docker/abc /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices',
  '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd',
  '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate',
  '50 23 0:40 / /mnt/with\\040space rw - ext4 /dev/vda rw',
].join('\n');

t.test('mountinfo: v1 controllers (co-mounted too) and the cgroup2 mount', async (t) => {
  const { v1, unified } = parseCgroupMounts(MOUNTINFO);
  t.same(v1.get('cpu'), { root: '/', mountpoint: '/sys/fs/cgroup/cpu,cpuacct' });
  t.same(v1.get('cpuacct'), v1.get('cpu'));
  t.same(v1.get('devices'), { root: '/docker/abc', mountpoint: '/sys/fs/cgroup/devices' });
  t.ok(v1.has('name=systemd'));
  t.notOk(v1.has('xattr'));
  t.same(unified, [{ root: '/', mountpoint: '/sys/fs/cgroup/unified' }]);
});

t.test('/proc/self/cgroup', async (t) => {
  const own = parseProcCgroup('4:memory:/process_api/abc\n2:cpu,cpuacct:/\n1:name=systemd:/user.slice\n0::/init.scope\n');
  t.equal(own.get('memory'), '/process_api/abc');
  t.equal(own.get('cpuacct'), '/');
  t.equal(own.get('name=systemd'), '/user.slice');
  t.equal(own.get(''), '/init.scope');
});

t.test('cgroupsPath: absent, absolute, relative, dots', async (t) => {
  t.same(resolveInner(undefined, 'c1'), { inner: 'c1', absolute: false });
  t.same(resolveInner('', 'c1'), { inner: 'c1', absolute: false });
  t.same(resolveInner('/kubepods/pod1/c1', 'x'), { inner: 'kubepods/pod1/c1', absolute: true });
  t.same(resolveInner('a//./b/', 'x'), { inner: 'a/b', absolute: false });
  t.same(resolveInner('/a/b/../c', 'x'), { inner: 'a/c', absolute: true });
  t.same(resolveInner('system.slice:docker:abc', 'x'), { inner: 'system.slice:docker:abc', absolute: false });
});

t.test('cgroupsPath that escapes or names no cgroup of its own is refused', async (t) => {
  t.throws(() => resolveInner('/../etc', 'x'), /escapes the cgroup hierarchy/);
  t.throws(() => resolveInner('../sibling', 'x'), /escapes the cgroup hierarchy/);
  t.throws(() => resolveInner('/a/../../b', 'x'), /escapes/);
  t.throws(() => resolveInner('/', 'x'), /names the root cgroup/);
  t.throws(() => resolveInner('a/..', 'x'), /names runts' own cgroup/);
  t.throws(() => resolveInner('a\0b', 'x'), /NUL/);
});

t.test('directories: runc fs and fs2 rules', async (t) => {
  const { v1, unified } = parseCgroupMounts(MOUNTINFO);
  const h: Hierarchy = {
    mode: 'hybrid', v1, unified: unified[0],
    own: parseProcCgroup('4:memory:/process_api/abc\n3:devices:/docker/abc/sub\n2:cpu,cpuacct:/\n0::/u\n'),
  };
  const rel = resolveInner(undefined, 'c1');
  const abs = resolveInner('/pods/c1', 'x');
  t.equal(v1Dir(h, 'memory', v1.get('memory')!, rel), '/sys/fs/cgroup/memory/process_api/abc/c1', 'relative to our own cgroup');
  t.equal(v1Dir(h, 'memory', v1.get('memory')!, abs), '/sys/fs/cgroup/memory/pods/c1');
  t.equal(v1Dir(h, 'cpu', v1.get('cpu')!, rel), '/sys/fs/cgroup/cpu,cpuacct/c1', 'co-mounted controllers share a directory');
  t.equal(v1Dir(h, 'devices', v1.get('devices')!, rel), '/sys/fs/cgroup/devices/sub/c1', 'own path taken relative to the mount root');
  t.equal(hybridUnifiedDir(h, rel), '/sys/fs/cgroup/unified/u/c1');
  const pure: Hierarchy = { mode: 'v2', v1: new Map(), unified: { mountpoint: '/sys/fs/cgroup', root: '/' }, own: parseProcCgroup('0::/user.slice/session-1.scope\n') };
  t.equal(v2Dir(pure, rel), '/sys/fs/cgroup/user.slice/c1', 'v2 relative paths go below the parent of our cgroup');
  t.equal(v2Dir(pure, abs), '/sys/fs/cgroup/pods/c1');
});

t.test('openCgroup refuses a malformed systemd cgroupsPath and escaping paths', async (t) => {
  t.throws(() => openCgroup({ id: 'x', systemd: true, cgroupsPath: '/a/b' }), /expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "\/a\/b" instead/);
  t.throws(() => openCgroup({ id: 'x', systemd: true, cgroupsPath: 'bad-.slice:p:n' }), /invalid slice name: bad-.slice/);
  t.throws(() => openCgroup({ id: 'x', systemd: false, cgroupsPath: '/../../x' }), /escapes/);
});

t.test('cgroupOwner: the container root owns its cgroup only with a user namespace, a new cgroupns and a rw cgroup mount', async (t) => {
  const spec = (over: { ns?: string[]; nsPath?: boolean; cgroupOptions?: string[] | null; maps?: { containerID: number; hostID: number; size: number }[] }): Spec => ({
    ociVersion: '1.0.2',
    mounts: over.cgroupOptions === null ? [] : [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: over.cgroupOptions ?? ['nosuid', 'rw'] }],
    linux: {
      namespaces: (over.ns ?? ['user', 'cgroup', 'mount']).map((type) => (type === 'cgroup' && over.nsPath ? { type, path: '/proc/1/ns/cgroup' } : { type })) as never,
      uidMappings: over.maps ?? [{ containerID: 0, hostID: 100000, size: 65536 }],
    },
  });
  t.equal(cgroupOwner(spec({})), 100000, 'userns + new cgroupns + rw /sys/fs/cgroup: the host uid of container root');
  t.equal(cgroupOwner(spec({ maps: [{ containerID: 1, hostID: 5000, size: 10 }, { containerID: 0, hostID: 7000, size: 1 }] })), 7000, 'the mapping that holds uid 0');
  t.equal(cgroupOwner(spec({ cgroupOptions: ['nosuid', 'ro'] })), undefined, 'a read-only cgroup mount: no chown');
  t.equal(cgroupOwner(spec({ cgroupOptions: null })), undefined, 'no cgroup mount');
  t.equal(cgroupOwner(spec({ ns: ['user', 'mount'] })), undefined, 'the cgroup namespace inherited');
  t.equal(cgroupOwner(spec({ nsPath: true })), undefined, 'an existing cgroup namespace joined');
  t.equal(cgroupOwner(spec({ ns: ['cgroup', 'mount'] })), undefined, 'no user namespace');
  t.equal(cgroupOwner(spec({ maps: [{ containerID: 1, hostID: 5000, size: 10 }] })), undefined, 'container root unmapped');
});
