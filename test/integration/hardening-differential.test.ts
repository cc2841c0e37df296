/**
 * Differential tests against Debian's runc 1.1.5: the same config under both runtimes (each on
 * its own copy of the fixture rootfs) must show the same capability sets, no_new_privs, rlimits,
 * user-namespace mappings and ids, sysctl values and loopback state from inside, and fail the
 * same way where runc fails.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'child_process';
import fs = require('fs');
import path = require('path');
import type { Spec } from '../../src/config/types';
import { FIXTURE_ROOTFS, baseSpec, cleanupRoot, makeBundle, runts, scratchDir, type Result } from '../helpers/runts';

const RUNC = '/usr/bin/runc';

const PROBES = {
  caps: 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/$$/status',
  ids: 'grep -E "^(Uid|Gid|Groups):" /proc/$$/status; id',
  rlimits: 'ulimit -S -a; ulimit -H -a',
  userns: 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; stat -c "%n %u:%g" / /bin/busybox /etc/passwd',
  net: 'ip -o link show lo | cut -d" " -f2,3; ls /sys/class/net',
  sysctl: 'cat /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax /proc/sys/net/ipv4/ip_local_port_range /proc/sys/net/core/somaxconn',
};

type Probe = keyof typeof PROBES;

function shift(dir: string, by: number): void {
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    fs.lchownSync(p, st.uid + by, st.gid + by);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
}

function runRunc(root: string, bundle: string, id: string): Result {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(RUNC, ['--root', root, 'run', '--bundle', bundle, id], { encoding: 'utf8', env, timeout: 30_000 });
  spawnSync(RUNC, ['--root', root, 'delete', '--force', id]);
  return { code: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * Runs `probes` in the config `build` returns under both runtimes and compares what they print
 * (or, with `expectFailure`, that both refuse it).
 */
function differential(name: string, probes: Probe[], build: (s: Spec) => void, opts: { shiftRootfs?: number; expectFailure?: boolean } = {}) {
  t.test(name, async (t: Test) => {
    const spec = baseSpec(['sh', '-c', probes.map((p) => `echo "== ${p}"; ${PROBES[p]}`).join('; ')]);
    build(spec);
    const work = scratchDir('hdiff');
    t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
    fs.chmodSync(work, 0o755);
    const tag = `${process.pid}-${name.replace(/[^\w]+/g, '-')}`.slice(0, 40);
    const results: Record<'runc' | 'runts', Result> = {} as never;
    for (const runtime of ['runc', 'runts'] as const) {
      const bundle = makeBundle(spec, fs.mkdtempSync(path.join(work, `${runtime}-`)));
      fs.chmodSync(bundle, 0o755);
      if (opts.shiftRootfs) shift(path.join(bundle, 'rootfs'), opts.shiftRootfs);
      const root = path.join(work, `${runtime}-root`);
      results[runtime] = runtime === 'runc' ? runRunc(root, bundle, `hd-runc-${tag}`) : runts(root, ['run', '--bundle', bundle, `hd-runts-${tag}`]);
      if (runtime === 'runts') cleanupRoot(root);
    }
    const { runc, runts: ours } = results;
    if (opts.expectFailure) {
      t.not(runc.code, 0, `runc refuses it: ${runc.stderr.trim()}`);
      t.equal(ours.code, runc.code, `runts refuses it with the same status: ${ours.stderr.trim()}`);
      return;
    }
    t.equal(runc.code, 0, `runc exits 0 ${runc.stderr}`);
    t.equal(ours.code, 0, `runts exits 0 ${ours.stderr}`);
    t.equal(ours.stderr, runc.stderr, 'the same stderr');
    const sections = (out: string) => out.split(/^== /m).filter(Boolean).map((s) => s.trim().split('\n'));
    const a = sections(runc.stdout);
    const b = sections(ours.stdout);
    t.equal(b.length, probes.length, 'every probe ran');
    probes.forEach((p, i) => t.same(b[i], a[i], `${p}: runts sees what runc sees`));
  });
}

const skip = process.getuid?.() !== 0 ? 'needs root'
  : spawnSync(RUNC, ['--version']).status !== 0 ? `${RUNC} missing (apt-get install runc)`
  : !fs.existsSync(path.join(FIXTURE_ROOTFS, '.built')) ? 'fixture rootfs missing: npm run fixtures' : false;

const USERNS = (s: Spec, uid = [{ containerID: 0, hostID: 100000, size: 65536 }], gid = uid) => {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.uidMappings = uid;
  s.linux!.gidMappings = gid;
};

const DOCKER_DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

if (skip) {
  t.plan(0, skip);
} else {
  differential('capabilities: runc spec defaults', ['caps', 'ids'], () => {});

  differential('capabilities: Docker\'s default set, no no_new_privs', ['caps'], (s) => {
    s.process!.noNewPrivileges = false;
    s.process!.capabilities = { bounding: DOCKER_DEFAULT_CAPS, effective: DOCKER_DEFAULT_CAPS, permitted: DOCKER_DEFAULT_CAPS, inheritable: [] };
  });

  differential('capabilities: empty sets', ['caps'], (s) => {
    s.process!.capabilities = {};
  });

  differential('capabilities: root with inheritable and ambient sets', ['caps'], (s) => {
    s.process!.capabilities = {
      bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_SYS_ADMIN'],
      effective: ['CAP_KILL'],
      permitted: ['CAP_KILL', 'CAP_NET_RAW', 'CAP_SYS_ADMIN'],
      inheritable: ['CAP_NET_RAW', 'CAP_SYS_ADMIN'],
      ambient: ['CAP_NET_RAW'],
    };
  });

  differential('capabilities: non-root user with ambient capabilities (one not inheritable)', ['caps', 'ids'], (s) => {
    s.process!.user = { uid: 1000, gid: 1000, additionalGids: [10, 20] };
    s.process!.capabilities = {
      bounding: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_KILL', 'CAP_SYS_TIME'],
      effective: ['CAP_NET_BIND_SERVICE', 'CAP_KILL'],
      permitted: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_KILL', 'CAP_SYS_TIME'],
      inheritable: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_SYS_TIME'],
      ambient: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_KILL'],
    };
  });

  differential('capabilities: non-root user, no ambient set', ['caps', 'ids'], (s) => {
    s.process!.user = { uid: 65534, gid: 65534 };
    s.process!.noNewPrivileges = false;
    s.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_CHOWN'] };
  });

  differential('capabilities: an effective capability that is not permitted is refused', ['caps'], (s) => {
    s.process!.capabilities = { bounding: ['CAP_KILL'], effective: ['CAP_KILL', 'CAP_SYS_ADMIN'], permitted: ['CAP_KILL'] };
  }, { expectFailure: true });

  differential('rlimits', ['rlimits'], (s) => {
    s.process!.rlimits = [
      { type: 'RLIMIT_NOFILE', soft: 256, hard: 2048 },
      { type: 'RLIMIT_CORE', soft: 0, hard: 1024 * 1024 },
      { type: 'RLIMIT_NPROC', soft: 128, hard: 256 },
      { type: 'RLIMIT_STACK', soft: 2 * 1024 * 1024, hard: 8 * 1024 * 1024 },
      { type: 'RLIMIT_MEMLOCK', soft: 32768, hard: 65536 },
      { type: 'RLIMIT_MSGQUEUE', soft: 4096, hard: 8192 },
      { type: 'RLIMIT_FSIZE', soft: 1 << 30, hard: 1 << 30 },
      { type: 'RLIMIT_CPU', soft: 100, hard: 200 },
      { type: 'RLIMIT_NICE', soft: 0, hard: 0 },
      { type: 'RLIMIT_RTPRIO', soft: 0, hard: 0 },
    ];
  });

  differential('user namespace: one range, root inside', ['userns', 'ids', 'caps', 'net'], (s) => USERNS(s), { shiftRootfs: 100000 });

  differential('user namespace: several ranges, a non-root user, additional groups', ['userns', 'ids', 'caps'], (s) => {
    USERNS(s, [{ containerID: 0, hostID: 200000, size: 1000 }, { containerID: 1000, hostID: 300000, size: 65536 }],
      [{ containerID: 0, hostID: 200000, size: 1000 }, { containerID: 1000, hostID: 400000, size: 65536 }]);
    s.process!.user = { uid: 1000, gid: 1000, additionalGids: [5, 1001] };
  }, { shiftRootfs: 200000 });

  differential('user namespace with rlimits and sysctls', ['rlimits', 'sysctl'], (s) => {
    USERNS(s);
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 100, hard: 200 }, { type: 'RLIMIT_NPROC', soft: 50, hard: 60 }];
    s.linux!.sysctl = { 'kernel.shmmax': '123456789', 'kernel.msgmax': '4096', 'net.ipv4.ip_local_port_range': '20000 30000', 'net.core.somaxconn': '77' };
  }, { shiftRootfs: 100000 });

  differential('network namespace: lo up and alone', ['net'], () => {});

  differential('sysctls', ['sysctl'], (s) => {
    s.linux!.sysctl = { 'kernel.shmmax': '987654321', 'kernel.msgmax': '16384', 'net.ipv4.ip_local_port_range': '40000 50000', 'net/core/somaxconn': '99' };
  });
}
