/**
 * The process settings of config.json, each proven from inside a real container: capability
 * sets and no_new_privs (/proc/self/status), rlimits (`ulimit`), oom_score_adj, sysctl values,
 * personality, I/O priority, scheduler, time namespace offsets, execCPUAffinity (exec only), and
 * what a container sees of the network with and without a network namespace of its own.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'child_process';
import fs = require('fs');
import os = require('os');
import path = require('path');
import type { Spec } from '../../src/config/types';
import { CLI, baseSpec, makeBundle, runInContainer, runts } from '../helpers/runts';
import { cleanExit, withRuntsRoot } from '../helpers/container-tests';
import { skipUnless } from '../helpers/skip';

const skip = skipUnless({ root: true, fixture: true });

/** Runs `script` with sh in a container built from baseSpec, changed by `edit`; asserts exit 0. */
function sh(t: Test, root: string, script: string, edit: (s: Spec) => void = () => {}): string {
  const spec = baseSpec(['sh', '-c', script]);
  edit(spec);
  return cleanExit(t, runInContainer(root, spec));
}

/** `Key:\tvalue` lines of /proc/self/status as printed by grep. */
function statusFields(out: string): Record<string, string> {
  return Object.fromEntries(out.split('\n').filter((l) => l.includes(':')).map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i), l.slice(i + 1).trim()];
  }));
}

/** The capability mask /proc/<pid>/status prints for these numbers. */
function mask(...caps: number[]): string {
  return caps.reduce((m, c) => m | (1n << BigInt(c)), 0n).toString(16).padStart(16, '0');
}

const CAP = { CHOWN: 0, KILL: 5, SETPCAP: 8, NET_BIND_SERVICE: 10, NET_RAW: 13, SYS_ADMIN: 21, SYS_TIME: 25, AUDIT_WRITE: 29 };
const STATUS = 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/$$/status';

withRuntsRoot(skip, 'hardening-process', (root) => {

  t.test('capabilities: every set exactly as configured, as root', async (t) => {
    const out = sh(t, root, STATUS, (s) => {
      s.process!.capabilities = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_ADMIN', 'CAP_AUDIT_WRITE'],
        effective: ['CAP_KILL', 'CAP_SYS_ADMIN'],
        permitted: ['CAP_KILL', 'CAP_SYS_ADMIN', 'CAP_CHOWN'],
        inheritable: ['CAP_CHOWN'],
        ambient: [],
      };
      s.process!.noNewPrivileges = false;
    });
    const f = statusFields(out);
    const bounding = mask(CAP.CHOWN, CAP.KILL, CAP.NET_BIND_SERVICE, CAP.SYS_ADMIN, CAP.AUDIT_WRITE);
    t.equal(f.CapBnd, bounding);
    t.equal(f.CapInh, mask(CAP.CHOWN), 'inheritable only as configured (CVE-2022-29162)');
    t.equal(f.CapAmb, mask());
    // execve as uid 0 treats the file as fully capable: permitted = effective = bounding ∪
    // inheritable, whatever the init set before it (capabilities(7); runc shows the same).
    t.equal(f.CapPrm, bounding);
    t.equal(f.CapEff, bounding);
    t.equal(f.NoNewPrivs, '0');
  });

  t.test('capabilities: the init\'s own sets before execve, seen by a non-root user keeping them', async (t) => {
    // Non-root with ambient = permitted: what the init put in each set survives execve.
    const f = statusFields(sh(t, root, STATUS, (s) => {
      s.process!.user = { uid: 1234, gid: 1234 };
      s.process!.capabilities = {
        bounding: ['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_TIME'],
        effective: ['CAP_KILL', 'CAP_SYS_TIME'],
        permitted: ['CAP_KILL', 'CAP_SYS_TIME'],
        inheritable: ['CAP_KILL', 'CAP_SYS_TIME'],
        ambient: ['CAP_KILL', 'CAP_SYS_TIME'],
      };
    }));
    t.equal(f.CapBnd, mask(CAP.CHOWN, CAP.KILL, CAP.SYS_TIME));
    t.equal(f.CapEff, mask(CAP.KILL, CAP.SYS_TIME));
    t.equal(f.CapPrm, mask(CAP.KILL, CAP.SYS_TIME));
    t.equal(f.CapInh, mask(CAP.KILL, CAP.SYS_TIME));
    t.equal(f.CapAmb, mask(CAP.KILL, CAP.SYS_TIME));
  });

  t.test('capabilities: no sets at all leaves nothing, not even inheritable', async (t) => {
    const f = statusFields(sh(t, root, STATUS, (s) => { s.process!.capabilities = {}; }));
    for (const set of ['CapBnd', 'CapEff', 'CapPrm', 'CapInh', 'CapAmb']) t.equal(f[set], mask(), `${set} empty`);
    t.equal(f.NoNewPrivs, '1', 'noNewPrivileges: true');
  });

  t.test('capabilities: a non-root user keeps ambient capabilities through execve', async (t) => {
    const f = statusFields(sh(t, root, STATUS, (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.capabilities = {
        bounding: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_KILL'],
        effective: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        permitted: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_KILL'],
        inheritable: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW'],
        ambient: ['CAP_NET_BIND_SERVICE', 'CAP_NET_RAW', 'CAP_KILL'],
      };
    }));
    // execve of a non-root, non-setuid binary: P'(permitted) = P'(effective) = ambient; CAP_KILL
    // is not inheritable, so the kernel refuses it as ambient (runc skips it the same way).
    t.equal(f.CapAmb, mask(CAP.NET_BIND_SERVICE, CAP.NET_RAW), 'ambient: inheritable ∩ permitted');
    t.equal(f.CapPrm, mask(CAP.NET_BIND_SERVICE, CAP.NET_RAW));
    t.equal(f.CapEff, mask(CAP.NET_BIND_SERVICE, CAP.NET_RAW));
    t.equal(f.CapInh, mask(CAP.NET_BIND_SERVICE, CAP.NET_RAW));
    t.equal(f.CapBnd, mask(CAP.NET_BIND_SERVICE, CAP.NET_RAW, CAP.KILL));
  });

  t.test('capabilities: a non-root user without ambient ones ends with none', async (t) => {
    const f = statusFields(sh(t, root, STATUS, (s) => {
      s.process!.user = { uid: 1000, gid: 1000 };
      s.process!.capabilities = { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: ['CAP_KILL'] };
    }));
    t.equal(f.CapEff, mask());
    t.equal(f.CapPrm, mask());
    t.equal(f.CapInh, mask(CAP.KILL));
  });

  t.test('noNewPrivileges: a setuid-root binary keeps the caller\'s ids', async (t) => {
    // A root-owned setuid copy of busybox in the bundle's rootfs: without no_new_privs execve
    // makes the saved uid 0 (busybox itself drops the effective one), with it nothing changes.
    const run = (nnp: boolean) => {
      const spec = baseSpec(['sh', '-c', '/suid/cat /proc/self/status | grep -E "^(Uid|NoNewPrivs):"']);
      spec.process!.user = { uid: 1000, gid: 1000 };
      spec.process!.noNewPrivileges = nnp;
      const bundle = makeBundle(spec);
      t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
      fs.mkdirSync(path.join(bundle, 'rootfs', 'suid'));
      fs.copyFileSync(path.join(bundle, 'rootfs', 'bin', 'busybox'), path.join(bundle, 'rootfs', 'suid', 'cat'));
      fs.chmodSync(path.join(bundle, 'rootfs', 'suid', 'cat'), 0o4755);
      const r = runts(root, ['run', '--bundle', bundle, `nnp${nnp}${process.pid}`]);
      t.equal(r.code, 0, r.stderr);
      return statusFields(r.stdout);
    };
    const on = run(true);
    t.equal(on.NoNewPrivs, '1');
    t.same(on.Uid.split(/\s+/), ['1000', '1000', '1000', '1000'], 'no_new_privs: the setuid bit is ignored');
    const off = run(false);
    t.equal(off.NoNewPrivs, '0');
    t.same(off.Uid.split(/\s+/), ['1000', '1000', '0', '1000'], 'without it the setuid bit works (control)');
  });

  t.test('rlimits: ulimit shows each configured soft and hard value', async (t) => {
    const out = sh(t, root, 'for o in n c u s l q; do echo "$o $(ulimit -S$o) $(ulimit -H$o)"; done', (s) => {
      s.process!.rlimits = [
        { type: 'RLIMIT_NOFILE', soft: 512, hard: 4096 },
        { type: 'RLIMIT_CORE', soft: 0, hard: 2048 },
        { type: 'RLIMIT_NPROC', soft: 300, hard: 400 },
        { type: 'RLIMIT_STACK', soft: 4 * 1024 * 1024, hard: 16 * 1024 * 1024 },
        { type: 'RLIMIT_MEMLOCK', soft: 65536, hard: 65536 },
        { type: 'RLIMIT_MSGQUEUE', soft: 8192, hard: 16384 },
      ];
    });
    // busybox ulimit prints -c in 512-byte blocks and -s/-l in KiB.
    t.same(out.trim().split('\n'), ['n 512 4096', 'c 0 4', 'u 300 400', 's 4096 16384', 'l 64 64', 'q 8192 16384']);
  });

  t.test('oomScoreAdj', async (t) => {
    t.equal(sh(t, root, 'cat /proc/self/oom_score_adj', (s) => { s.process!.oomScoreAdj = 789; }).trim(), '789');
    // This VM withholds CAP_SYS_RESOURCE from root, so lowering below 0 cannot be shown here.
  });

  t.test('sysctl: IPC and network keys are set inside the container only', async (t) => {
    const hostShmmni = fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8').trim();
    const out = sh(t, root, 'cat /proc/sys/kernel/shmmni /proc/sys/kernel/shm_rmid_forced /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/tcp_syncookies', (s) => {
      s.linux!.sysctl = { 'kernel.shmmni': '1234', 'kernel.shm_rmid_forced': '1', 'net.ipv4.ip_forward': '1', 'net/ipv4/tcp_syncookies': '0' };
    });
    t.same(out.trim().split('\n'), ['1234', '1', '1', '0']);
    t.equal(fs.readFileSync('/proc/sys/kernel/shmmni', 'utf8').trim(), hostShmmni, 'the host keeps its own');
  });

  t.test('personality LINUX32: uname -m says i686', async (t) => {
    const out = sh(t, root, 'cat /proc/self/personality; uname -m', (s) => { s.linux!.personality = { domain: 'LINUX32' }; });
    t.same(out.trim().split('\n'), ['00000008', 'i686']);
    const plain = sh(t, root, 'cat /proc/self/personality; uname -m', (s) => { s.linux!.personality = { domain: 'LINUX' }; });
    t.same(plain.trim().split('\n'), ['00000000', os.machine()]);
  });

  t.test('ioPriority: ionice reads back the class and level', async (t) => {
    t.equal(sh(t, root, 'ionice -p $$', (s) => { s.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 }; }).trim(), 'best-effort: prio 6');
    t.equal(sh(t, root, 'ionice -p $$', (s) => { s.process!.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 2 }; }).trim(), 'realtime: prio 2');
    t.equal(sh(t, root, 'ionice -p $$', (s) => { s.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 7 }; }).trim(), 'idle');
  });

  t.test('scheduler: policy, nice and real-time priority from /proc/self/stat', async (t) => {
    // /proc/<pid>/stat fields 19 (nice), 40 (rt_priority) and 41 (policy).
    const probe = 'cut -d" " -f19,40,41 /proc/$$/stat';
    t.equal(sh(t, root, probe, (s) => { s.process!.scheduler = { policy: 'SCHED_BATCH', nice: 7 }; }).trim(), '7 0 3');
    t.equal(sh(t, root, probe, (s) => { s.process!.scheduler = { policy: 'SCHED_IDLE' }; }).trim(), '0 0 5');
    // A real-time task needs real-time budget in its v1 cpu cgroup (cpu.rt_runtime_us, 0 by default).
    const realtime = (s: Spec) => { s.linux!.resources = { ...s.linux!.resources, cpu: { realtimeRuntime: 10000, realtimePeriod: 1000000 } }; };
    t.equal(sh(t, root, probe, (s) => { realtime(s); s.process!.scheduler = { policy: 'SCHED_FIFO', priority: 10 }; }).trim(), '0 10 1');
    t.equal(sh(t, root, probe, (s) => { realtime(s); s.process!.scheduler = { policy: 'SCHED_RR', priority: 3, flags: ['SCHED_FLAG_RESET_ON_FORK'] }; }).trim(), '0 3 2');
    // (/proc/<pid>/sched shows the remaining runtime and the absolute deadline, not the
    // parameters: the policy is what can be read back.)
    const deadline = sh(t, root, probe, (s) => {
      // A deadline task may not fork unless its children reset to SCHED_OTHER.
      s.process!.scheduler = { policy: 'SCHED_DEADLINE', runtime: 10_000_000, deadline: 50_000_000, period: 100_000_000, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
    });
    t.equal(deadline.trim(), '0 0 6');
  });

  t.test('time namespace: offsets in /proc/self/timens_offsets, uptime moved', async (t) => {
    const hostUptime = Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const out = sh(t, root, 'cat /proc/self/timens_offsets; cut -d" " -f1 /proc/uptime', (s) => {
      s.linux!.namespaces!.push({ type: 'time' });
      s.linux!.timeOffsets = { monotonic: { secs: 86400, nanosecs: 0 }, boottime: { secs: 31536000, nanosecs: 5 } };
    });
    const lines = out.trim().split('\n');
    t.same(lines.slice(0, 2).map((l) => l.trim().split(/\s+/)), [['monotonic', '86400', '0'], ['boottime', '31536000', '5']]);
    const uptime = Number(lines[2]);
    t.ok(uptime - hostUptime > 31536000 - 60 && uptime - hostUptime < 31536000 + 60, `uptime ${uptime} is the host's ${hostUptime} + one year`);
  });

  t.test('execCPUAffinity: not for the init (config.md), applied to an exec\'d process', { skip: os.cpus().length < 2 ? 'needs 2 CPUs' : false }, async (t) => {
    const hostAllowed = /Cpus_allowed_list:\s+(\S+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1];
    const spec = baseSpec(['sh', '-c', 'grep Cpus_allowed_list /proc/self/status; exec sleep 60']);
    spec.process!.execCPUAffinity = { initial: '0', final: '1' };
    const bundle = makeBundle(spec);
    t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
    const log = path.join(bundle, 'init.out');
    const id = `aff${process.pid}`;
    const fd = fs.openSync(log, 'w');
    try {
      const env = { ...process.env };
      delete env.NODE_EXTRA_CA_CERTS;
      execFileSync(process.execPath, [CLI, '--root', root, 'run', '-d', '--bundle', bundle, id], { stdio: ['ignore', fd, fd], env });
    } finally {
      fs.closeSync(fd);
    }
    t.teardown(() => runts(root, ['delete', '--force', id]));
    for (let i = 0; i < 100 && !fs.readFileSync(log, 'utf8').includes('Cpus'); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    t.match(fs.readFileSync(log, 'utf8'), new RegExp(`Cpus_allowed_list:\\s+${hostAllowed}\\n`), 'the init keeps the runtime\'s CPUs');
    const exec = runts(root, ['exec', id, 'grep', 'Cpus_allowed_list', '/proc/self/status']);
    t.equal(exec.code, 0, exec.stderr);
    t.match(exec.stdout, /Cpus_allowed_list:\s+1\n/, 'exec: the final list');
    const other = runts(root, ['exec', id, 'sh', '-c', 'grep Cpus_allowed_list /proc/self/status']);
    t.match(other.stdout, /Cpus_allowed_list:\s+1\n/);
  });

  t.test('network: the host\'s interfaces without a network namespace, only lo (up) with one', async (t) => {
    const hostIfaces = fs.readdirSync('/sys/class/net').sort();
    const shared = sh(t, root, 'ls /sys/class/net', (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network');
    });
    t.same(shared.trim().split(/\s+/).sort(), hostIfaces, 'same interfaces as the host');
    const own = sh(t, root, 'ls /sys/class/net; ip -o link | cut -d" " -f2,3');
    t.same(own.trim().split('\n'), ['lo', 'lo: <LOOPBACK,UP,LOWER_UP>'], 'only lo, and up, as runc leaves it');
  });
});
