/**
 * buildPlan / buildExecPlan: the policy half of the hardening settings, as numbers and strings
 * the init executes without deciding anything (no root needed).
 */
import t from 'tap';
import { planCapabilitySets, skippedCapabilitiesMessage } from '../../src/plan/capabilities';
import type { LsmHost } from '../../src/plan/lsm';
import { MOUNT_ATTR, MS, parseMountOptions } from '../../src/plan/mountOptions';
import { buildExecPlan, buildPlan, joinCgroupBeforeSetup, namespacesAhead, planCgroupJoin, type PlanOptions } from '../../src/plan/plan';
import { parseCpuList } from '../../src/base/formats';
import { planCpuAffinity } from '../../src/plan/processSettings';
import type { Spec } from '../../src/config/types';
import { skipUnless } from '../helpers/skip';

const NO_LSM: LsmHost = { apparmor: false, selinux: false, apparmorAttrDir: false };

const OPTS: PlanOptions = {
  id: 'plan-test', rootfs: '/bundle/rootfs', execFifo: '/run/runts/plan-test/exec.fifo', noPivot: false,
  noNewKeyring: false, preserveFds: 0, cgroupPaths: {}, lsmHost: NO_LSM,
};

function spec(over: (s: Spec) => void = () => {}): Spec {
  const s: Spec = {
    ociVersion: '1.2.0',
    root: { path: 'rootfs' },
    process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'network' }, { type: 'ipc' }] },
  };
  over(s);
  return s;
}

t.test('capabilities: numbers per set; names the kernel lacks are skipped with runc\'s warning', async (t) => {
  const caps = {
    bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE'],
    effective: ['CAP_KILL'],
    permitted: ['CAP_KILL', 'CAP_CHECKPOINT_RESTORE'],
    inheritable: [],
    ambient: ['CAP_CHECKPOINT_RESTORE'],
  };
  const onOld = planCapabilitySets(caps, 37); // a 5.4-era kernel: no PERFMON, BPF, CHECKPOINT_RESTORE
  t.same(onOld.sets, { bounding: [0, 5], effective: [5], permitted: [5], inheritable: [], ambient: [] });
  t.same(onOld.skipped, ['CAP_BPF', 'CAP_CHECKPOINT_RESTORE'], 'each name once');
  t.equal(skippedCapabilitiesMessage(onOld.skipped), 'ignoring unknown or unavailable capabilities: [CAP_BPF CAP_CHECKPOINT_RESTORE]');
  const onNew = planCapabilitySets(caps, 40);
  t.same(onNew.sets.bounding, [0, 5, 39, 40]);
  t.same(onNew.skipped, []);

  const plan = buildPlan(spec((s) => { s.process!.capabilities = caps; }), OPTS);
  t.same(plan.process.capabilities.effective, [5]);
  t.same(plan.notes?.filter((n) => n.level === 'warning'), [], 'this kernel (cap_last_cap 40) has them all');
});

t.test('process settings: rlimits, ioPriority, scheduler, personality, oomScoreAdj', async (t) => {
  const plan = buildPlan(spec((s) => {
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 }, { type: 'RLIMIT_CORE', soft: 0, hard: 2 ** 64 - 1 }];
    s.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 7 };
    s.process!.scheduler = { policy: 'SCHED_DEADLINE', runtime: 1e6, deadline: 2e6, period: 3e6, flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN'] };
    s.process!.oomScoreAdj = 123;
    s.linux!.personality = { domain: 'LINUX32' };
  }), OPTS);
  t.same(plan.process.rlimits, [
    { type: 'RLIMIT_NOFILE', resource: 7, soft: '1024', hard: '4096' },
    { type: 'RLIMIT_CORE', resource: 4, soft: '0', hard: '18446744073709551616' },
  ]);
  t.equal(plan.process.ioPriority, (3 << 13) | 7, 'IOPRIO_PRIO_VALUE(IDLE, 7)');
  t.same(plan.process.scheduler, { policy: 6, flags: 0x05, nice: 0, priority: 0, runtime: 1e6, deadline: 2e6, period: 3e6 });
  t.equal(plan.personality, 0x0008, 'PER_LINUX32');
  t.equal(plan.oomScoreAdj, 123);
  const plain = buildPlan(spec(), OPTS);
  t.equal(plain.process.ioPriority, null);
  t.equal(plain.process.scheduler, null);
  t.equal(plain.personality, null);
  t.equal(buildPlan(spec((s) => { s.linux!.personality = { domain: 'LINUX' }; }), OPTS).personality, 0);
});

t.test('execCPUAffinity: parsed for exec, never applied to the container init (config.md)', async (t) => {
  t.same(parseCpuList('0-3,7'), [0, 1, 2, 3, 7]);
  t.same(parseCpuList('5,1-2,2'), [1, 2, 5]);
  t.throws(() => parseCpuList('3-1'));
  t.throws(() => parseCpuList('a'));
  t.same(planCpuAffinity({ initial: '0', final: '1-2' }), { initial: [0], final: [1, 2] });
  t.same(planCpuAffinity({ initial: '', final: '' }), null, 'empty means not set');
  const withAffinity = spec((s) => { s.process!.execCPUAffinity = { initial: '0', final: '1' }; });
  t.equal(buildPlan(withAffinity, OPTS).process.execCPUAffinity, null, 'the init runs where the runtime runs');
  const exec = buildExecPlan(withAffinity, withAffinity.process!, { nsPidfd: 5, preserveFds: 0, lsmHost: NO_LSM });
  t.same(exec.process.execCPUAffinity, { initial: [0], final: [1] });
});

t.test('mount options: recursive attributes, idmap, tmpcopyup, nosymfollow', async (t) => {
  const rro = parseMountOptions(['rbind', 'rro', 'rnosuid', 'rnoexec', 'rnoatime']);
  t.equal(rro.flags, MS.BIND | MS.REC);
  t.same(rro.recursive, {
    set: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOATIME,
    clear: MOUNT_ATTR._ATIME,
    options: 'rro,rnosuid,rnoexec,rnoatime',
  }, 'an access time in attr_set takes MOUNT_ATTR__ATIME in attr_clr');
  t.same(parseMountOptions(['rro', 'rrw']).recursive, { set: 0, clear: MOUNT_ATTR.RDONLY, options: 'rro,rrw' }, 'the last one wins');
  t.same(parseMountOptions(['rrelatime']).recursive, { set: 0, clear: MOUNT_ATTR._ATIME, options: 'rrelatime' });
  t.same(parseMountOptions(['rnoatime', 'ratime']).recursive, { set: 0, clear: MOUNT_ATTR._ATIME, options: 'rnoatime,ratime' },
    'ratime: back to the default relatime');
  t.same(parseMountOptions(['rdev', 'rsuid', 'rexec', 'rsymfollow', 'rdiratime']).recursive?.clear,
    MOUNT_ATTR.NODEV | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOSYMFOLLOW | MOUNT_ATTR.NODIRATIME);
  t.equal(parseMountOptions(['nosymfollow']).flags, MS.NOSYMFOLLOW);
  t.same(parseMountOptions(['rnosymfollow']).recursive?.set, MOUNT_ATTR.NOSYMFOLLOW);
  t.equal(parseMountOptions(['ro']).recursive, null);
  const copy = parseMountOptions(['tmpcopyup', 'mode=755']);
  t.equal(copy.copyUp, true);
  t.same(copy.data, ['mode=755'], 'tmpcopyup is not given to the kernel');
  t.equal(parseMountOptions(['idmap']).idmapRecursive, false);
  t.equal(parseMountOptions(['ridmap']).idmapRecursive, true);

  const plan = buildPlan(spec((s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
    s.mounts!.push(
      { destination: '/own', type: 'bind', source: '/srv', options: ['rbind', 'ridmap'], uidMappings: [{ containerID: 0, hostID: 1000, size: 10 }], gidMappings: [{ containerID: 0, hostID: 2000, size: 10 }, { containerID: 10, hostID: 3000, size: 5 }] },
      { destination: '/userns', type: 'bind', source: '/srv', options: ['bind', 'idmap'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'nosuid'] },
      { destination: '/plain', type: 'bind', source: '/srv', options: ['rbind', 'ro'] },
    );
  }), OPTS);
  const byDest = Object.fromEntries(plan.mounts.map((m) => [m.destination, m]));
  t.same(byDest['/own'].idmap, { uidMappings: '0 1000 10\n', gidMappings: '0 2000 10\n10 3000 5\n', recursive: true }, 'the mount\'s own mappings');
  t.same(byDest['/userns'].idmap, { uidMappings: '0 100000 65536\n', gidMappings: '0 200000 65536\n', recursive: false }, 'no mappings: the user namespace\'s');
  t.equal(byDest['/tmp'].copyUp, true);
  t.equal(byDest['/tmp'].flags, MS.NOSUID);
  t.equal(byDest['/plain'].idmap, null);
  t.equal(byDest['/plain'].options, 'rbind,ro', 'options kept as written for error messages');
});

// Its setgroups case reads the runtime's own user namespace: as root, the host's.
t.test('user namespaces: device binds, sysfs/mqueue fallbacks, setgroups', { skip: skipUnless({ root: true }) }, async (t) => {
  const withMounts = (s: Spec) => {
    s.mounts!.push({ destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['ro'] }, { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue' });
  };
  const noUserns = buildPlan(spec(withMounts), OPTS);
  t.equal(noUserns.bindDevices, false, 'mknod on the host\'s user namespace');
  t.same(noUserns.mounts.map((m) => m.bindFallback), ['', '', '']);

  const userns = (net: boolean, ipc: boolean, path?: string) => spec((s) => {
    withMounts(s);
    s.linux!.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'user', ...(path ? { path } : {}) }];
    if (net) s.linux!.namespaces.push({ type: 'network' });
    if (ipc) s.linux!.namespaces.push({ type: 'ipc' });
    if (!path) {
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    }
  });
  const full = buildPlan(userns(true, true), OPTS);
  t.equal(full.bindDevices, true, 'a new user namespace binds devices');
  t.same(full.mounts.map((m) => m.bindFallback), ['', '', ''], 'own net and IPC namespaces: real sysfs and mqueue');
  t.equal(full.denySetgroups, false, 'a root runtime never needs setgroups denied');
  const bare = buildPlan(userns(false, false), OPTS);
  t.same(bare.mounts.map((m) => m.bindFallback), ['', '/sys', '/dev/mqueue']);
  const joined = buildPlan(userns(true, true, '/proc/42/ns/user'), OPTS);
  t.equal(joined.bindDevices, true, 'a joined user namespace binds devices too (runc: Contains(NEWUSER))');
});

t.test('network: lo is brought up in a new network namespace only', async (t) => {
  t.equal(buildPlan(spec(), OPTS).loopbackUp, true);
  t.equal(buildPlan(spec((s) => { s.linux!.namespaces = [{ type: 'mount' }]; }), OPTS).loopbackUp, false);
  t.equal(buildPlan(spec((s) => { s.linux!.namespaces = [{ type: 'mount' }, { type: 'network', path: '/proc/1/ns/net' }]; }), OPTS).loopbackUp, false);
});

t.test('LSM: what the plan asks the init to write', async (t) => {
  const labelled = spec((s) => {
    s.process!.apparmorProfile = 'prof';
    s.process!.selinuxLabel = 'system_u:system_r:container_t:s0';
    s.linux!.mountLabel = 'system_u:object_r:container_file_t:s0';
    s.linux!.maskedPaths = ['/proc/kcore'];
    s.mounts!.push({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['mode=755'] });
  });
  const enabled = buildPlan(labelled, { ...OPTS, lsmHost: { apparmor: true, selinux: true, apparmorAttrDir: true } });
  t.same(enabled.lsm, {
    apparmor: { attr: '/proc/self/attr/apparmor/exec', value: 'exec prof', context: '' },
    selinuxExec: { attr: '/proc/self/attr/exec', value: 'system_u:system_r:container_t:s0', context: '' },
    selinuxKey: { attr: '/proc/self/attr/keycreate', value: 'system_u:system_r:container_t:s0', context: '' },
  });
  const ctx = 'context="system_u:object_r:container_file_t:s0"';
  t.equal(enabled.mounts.find((m) => m.destination === '/dev')?.data, `mode=755,${ctx}`);
  t.equal(enabled.mounts.find((m) => m.destination === '/proc')?.data, '', 'proc keeps its data');
  t.equal(enabled.maskedPathData, ctx);

  t.throws(() => buildPlan(labelled, OPTS), { message: 'config.json: /process/selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported' },
    'a process label without SELinux: refused before anything exists, as runc\'s validator does');
  delete labelled.process!.selinuxLabel;
  const disabled = buildPlan(labelled, OPTS);
  t.equal(disabled.lsm?.selinuxExec, null);
  t.equal(disabled.mounts.find((m) => m.destination === '/dev')?.data, 'mode=755');
  t.equal(disabled.maskedPathData, '');
  t.match(disabled.notes, [{ level: 'debug', msg: /mountLabel .* ignored/ }]);
  t.equal(disabled.lsm?.apparmor?.attr, '/proc/self/attr/exec');
});

t.test('rootfsPropagation: unbindable waits for the pivot; the others are set before and after', async (t) => {
  const plan = (value: string) => buildPlan(spec((s) => (s.linux!.rootfsPropagation = value as never)), OPTS);
  t.equal(plan('runbindable').rootPropagation, MS.SLAVE | MS.REC, 'the rootfs can still be bound onto itself');
  t.equal(plan('runbindable').propagationAfterPivot, MS.UNBINDABLE | MS.REC);
  t.equal(plan('unbindable').rootPropagation, MS.SLAVE | MS.REC);
  t.equal(plan('rshared').rootPropagation, MS.SHARED | MS.REC);
  t.equal(plan('rshared').propagationAfterPivot, MS.SHARED | MS.REC);
  t.equal(buildPlan(spec(), OPTS).rootPropagation, MS.SLAVE | MS.REC, 'default: rslave');
  t.equal(buildPlan(spec(), OPTS).propagationAfterPivot, null);
});

t.test('no mount namespace: chroot only, nothing mounted or made; mounts and masks refused', async (t) => {
  const noMount = (over: (s: Spec) => void = () => {}) =>
    spec((s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'mount');
      s.mounts = [];
      over(s);
    });
  const plan = buildPlan(noMount((s) => (s.root!.readonly = true)), OPTS);
  t.equal(plan.mountNamespace, false);
  t.same([plan.mounts, plan.devices, plan.symlinks], [[], [], []]);
  t.equal(plan.readonlyRoot, false, 'as runc: a read-only root needs a mount namespace');
  t.throws(() => buildPlan(noMount((s) => (s.mounts = [{ destination: '/proc', type: 'proc', source: 'proc' }])), OPTS), /mounts need a mount namespace of the container's own/);
  t.throws(() => buildPlan(noMount((s) => (s.linux!.maskedPaths = ['/proc/kcore'])), OPTS), /unable to restrict sys entries without a private MNT namespace/);
  t.throws(() => buildPlan(noMount((s) => (s.linux!.rootfsPropagation = 'shared')), OPTS), /rootfsPropagation: needs a mount namespace/);
  t.equal(buildPlan(spec(), OPTS).mountNamespace, true);
});

t.test('relative bind sources are the bundle\'s', async (t) => {
  const s = spec((s) => s.mounts!.push({ destination: '/data', type: 'bind', source: 'data/dir', options: ['rbind'] }, { destination: '/abs', source: '/srv', options: ['bind'] }));
  const mounts = buildPlan(s, { ...OPTS, bundle: '/bundle' }).mounts;
  t.equal(mounts.find((m) => m.destination === '/data')!.source, '/bundle/data/dir');
  t.equal(mounts.find((m) => m.destination === '/abs')!.source, '/srv');
  t.equal(mounts.find((m) => m.destination === '/proc')!.source, 'proc', 'not a bind: left alone');
});

t.test('a "cgroup" mount on pure v2 is a cgroup2 mount, bound from the container\'s cgroup (cgroupns) or the hierarchy when refused', async (t) => {
  const cgroupMount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
  const withMount = (cgroupns: boolean) => spec((s) => {
    s.mounts!.push(cgroupMount);
    if (cgroupns) s.linux!.namespaces!.push({ type: 'cgroup' });
  });
  const v2 = { ...OPTS, cgroupPaths: { '': '/sys/fs/cgroup/system.slice/c1' } };
  const own = buildPlan(withMount(true), v2).mounts.filter((m) => m.destination === '/sys/fs/cgroup');
  t.equal(own.length, 1, 'one mount, no tmpfs of binds');
  t.match(own[0], { type: 'cgroup2', source: 'cgroup', bind: false, bindFallback: '/sys/fs/cgroup/system.slice/c1' });
  t.equal(own[0].flags & (MS.RDONLY | MS.NOSUID | MS.NOEXEC | MS.NODEV), MS.RDONLY | MS.NOSUID | MS.NOEXEC | MS.NODEV, 'with the options');
  const shared = buildPlan(withMount(false), v2).mounts.filter((m) => m.destination === '/sys/fs/cgroup');
  t.match(shared, [{ type: 'cgroup2', bindFallback: '/sys/fs/cgroup' }]);

  const hybrid = { ...OPTS, cgroupPaths: { memory: '/sys/fs/cgroup/memory/c1', '': '/sys/fs/cgroup/unified/c1' } };
  const v1 = buildPlan(withMount(true), hybrid).mounts.filter((m) => m.destination.startsWith('/sys/fs/cgroup'));
  t.same(v1.map((m) => [m.destination, m.type]), [['/sys/fs/cgroup', 'tmpfs'], ['/sys/fs/cgroup/memory', 'bind']], 'v1 keeps the tmpfs of binds');
});

t.test('the init joins its cgroup before its setup for a cgroup namespace, a real-time policy, or a systemd scope a v1 cgroup mount binds', async (t) => {
  const cgroupMount = { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] };
  const scope = '/system.slice/runts-c1.scope';
  const hybrid = { memory: `/sys/fs/cgroup/memory${scope}`, devices: `/sys/fs/cgroup/devices${scope}`, '': `/sys/fs/cgroup/unified${scope}` };
  const v2 = { '': `/sys/fs/cgroup${scope}` };
  const joins = (s: ReturnType<typeof spec>, cgroupPaths: Record<string, string>, dirsMadeAtJoin: boolean) =>
    joinCgroupBeforeSetup(s, buildPlan(s, { ...OPTS, cgroupPaths }), cgroupPaths, dirsMadeAtJoin);
  const mounted = spec((s) => s.mounts!.push(cgroupMount));
  const bare = spec();

  t.equal(joins(bare, hybrid, false), false, 'fs driver, no cgroup mount: after setup');
  t.equal(joins(mounted, hybrid, false), false, 'fs driver: create() made the directories the binds need');
  t.equal(joins(mounted, hybrid, true), true, 'systemd on v1/hybrid: the scope directories the binds need exist only once the unit started with the init');
  t.equal(joins(bare, hybrid, true), false, 'systemd on v1 without a cgroup mount: after setup');
  t.equal(joins(mounted, v2, true), false, 'systemd on pure v2: a cgroup2 mount needs no directory');
  t.equal(joins(spec((s) => s.linux!.namespaces!.push({ type: 'cgroup' })), v2, false), true, 'a new cgroup namespace');
  t.equal(joins(spec((s) => s.linux!.namespaces!.push({ type: 'cgroup', path: '/proc/1/ns/cgroup' })), v2, false), false, 'a joined cgroup namespace is not rooted by the init');
  t.equal(joins(spec((s) => { s.process!.scheduler = { policy: 'SCHED_FIFO', priority: 1 }; }), hybrid, false), true, 'a real-time policy');
});

t.test('the init makes its namespaces ahead of the state dir and cgroup only where their paths stay the host\'s', async (t) => {
  const ahead = (s: Spec, joinBeforeSetup = false) => namespacesAhead(buildPlan(s, OPTS), joinBeforeSetup);
  t.equal(ahead(spec()), true, 'new namespaces, no user namespace');
  t.equal(ahead(spec((s) => s.linux!.namespaces!.push({ type: 'network', path: '/proc/1/ns/net' }))), true, 'a network namespace joined by path (a pod\'s)');
  t.equal(ahead(spec(), true), false, 'a cgroup join before setup comes before the namespaces');
  t.equal(ahead(spec((s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  })), false, 'a new user namespace: the init could no longer open the host\'s files');
  t.equal(ahead(spec((s) => { s.linux!.namespaces = [{ type: 'pid' }, { type: 'mount', path: '/proc/1/ns/mnt' }]; })), false, 'a mount namespace joined by path');
  t.equal(ahead(spec((s) => s.mounts!.push({ destination: '/data', type: 'bind', source: '/srv', options: ['bind', 'idmap'], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] }))), false, 'an idmapped mount');
});

t.test('the container joins its cgroups by itself: whether, and when each part joins', async (t) => {
  const hybrid = { tasks: ['/sys/fs/cgroup/pids/c/tasks', '/sys/fs/cgroup/memory/c/tasks'], unified: '/sys/fs/cgroup/unified/c' };
  const v2 = { tasks: [], unified: '/sys/fs/cgroup/c' };
  const spec = (...types: string[]): Spec => ({ ociVersion: '1.0.2', linux: { namespaces: types.map((type) => ({ type })) } } as Spec);
  const at = (files: typeof hybrid, s: Spec, moment: Parameters<typeof planCgroupJoin>[2]) => {
    const join = planCgroupJoin(files, s, moment);
    return join ? `${join.tasksAt}/${join.unifiedAt}${join.cgroupNamespaceByChild ? '/namespace by stage 2' : ''}` : 'the runtime joins';
  };
  const create = { beforeSetup: false, exec: false };
  const before = { beforeSetup: true, exec: false };
  const exec = { beforeSetup: true, exec: true };
  t.equal(at(hybrid, spec('pid', 'mount'), create), 'setup-done/clone', 'create: v1 once set up (the mounts stay the runtime\'s), unified at birth');
  t.equal(at(hybrid, spec('pid', 'mount', 'cgroup'), before), 'init/clone/namespace by stage 2', 'a new cgroup namespace: v1 by stage 1, unified at birth, the namespace made there');
  t.equal(at(hybrid, spec('pid', 'mount'), before), 'init/clone', 'before setup for another reason (a real-time policy): no namespace moves');
  t.equal(at(hybrid, spec('pid', 'mount', 'user'), create), 'setup-done/setup-done', 'a user namespace: no CLONE_INTO_CGROUP with the container\'s credentials');
  t.equal(at(hybrid, spec('pid', 'user', 'cgroup'), before), 'init/init', 'a user and a cgroup namespace: all by stage 1, the namespace too');
  t.equal(at(hybrid, spec('pid', 'mount'), exec), 'init/clone', 'exec: v1 by stage 1, unified at birth');
  t.equal(at(hybrid, spec('pid', 'mount', 'cgroup'), exec), 'init/clone/namespace by stage 2', 'exec into a cgroup namespace: joined once born in the cgroup');
  t.equal(at(hybrid, spec('pid', 'mount', 'user'), exec), 'init/init', 'exec into a user namespace: all by stage 1, before it joins it');
  t.equal(at(v2, spec('pid', 'mount', 'cgroup'), before), 'init/clone/namespace by stage 2', 'pure v2 with a new cgroup namespace: born in its cgroup');
  t.equal(at(v2, spec('pid', 'mount'), create), 'the runtime joins', 'pure v2 without one: the runtime joins once set up (memory)');
  t.equal(at(v2, spec('pid', 'user', 'cgroup'), before), 'the runtime joins', 'pure v2 with a user namespace: the runtime joins');
  t.equal(at(v2, spec('pid', 'mount'), exec), 'init/clone', 'pure v2 exec: born in the cgroup');
  t.equal(at(v2, spec('pid', 'mount', 'cgroup'), exec), 'init/clone/namespace by stage 2', 'pure v2 exec into a cgroup namespace: joined once born');
  t.equal(at(v2, spec('pid', 'mount', 'user'), exec), 'the runtime joins', 'pure v2 exec into a user namespace: the runtime joins');
  const delegated = { ...exec, delegated: true };
  t.equal(at(v2, spec('pid', 'mount', 'cgroup'), delegated), 'the runtime joins', 'pure v2 exec into a cgroup that delegated: the runtime joins (the init\'s cgroup)');
  t.equal(at(hybrid, spec('pid', 'mount'), delegated), 'init/clone', 'the hybrid layout never asks');
  t.same(planCgroupJoin(hybrid, spec(), create)?.tasks, hybrid.tasks, 'the files as the driver gave them');
  t.equal(planCgroupJoin({ tasks: hybrid.tasks, unified: null }, spec(), create)?.unified, null, 'v1 only: no unified part');
});
