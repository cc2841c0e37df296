/**
 * The v1 driver on this host's real cgroup v1 hierarchies (skipped elsewhere). Plain processes
 * stand in for containers: each test creates a cgroup under a test-unique path, joins
 * processes to it, proves each resource by its files and, where cheap, by its effect, then
 * destroys it and checks no directory is left — also when the test fails (t.teardown).
 */
import { spawn, type ChildProcess } from 'child_process';
import fs = require('fs');
import path = require('path');
import t from 'tap';
import { openCgroup, signalAll, waitEmpty, type Cgroup } from '../../src/cgroups';
import { probeHierarchy } from '../../src/cgroups/path';
import { goJson } from '../../src/base/formats';
import { statsJson } from '../../src/cgroups/stats';
import type { LinuxResources } from '../../src/config/types';
import { exited, killAndDestroy } from '../helpers/cgroups';

const h = probeHierarchy();
const skip = process.getuid?.() !== 0 ? 'needs root' : h.mode === 'v2' ? 'host is pure cgroup v2' : false;
const BASE = `runts-test-${process.pid}`;
let seq = 0;

function procState(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Leftover directories named after this test run, in every hierarchy. */
function leftovers(): string[] {
  const found: string[] = [];
  const roots = [...new Set([...h.v1.values()].map((m) => m.mountpoint).concat(h.unified ? [h.unified.mountpoint] : []))];
  for (const root of roots) {
    const walk = (d: string, depth: number): void => {
      if (depth > 4) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (!e.isDirectory()) continue;
        const p = path.join(d, e.name);
        if (e.name.startsWith(BASE)) found.push(p);
        else walk(p, depth + 1);
      }
    };
    walk(root, 0);
  }
  return found;
}

/** A created cgroup with a cleanup that kills its processes and removes every directory. */
function makeCgroup(t: Tap, resources: LinuxResources = {}, extra: { devices?: { path: string; type: string; major: number; minor: number }[]; cgroupsPath?: string } = {}): Cgroup {
  const cg = openCgroup({ id: 'unused', cgroupsPath: extra.cgroupsPath ?? `/${BASE}/c${seq++}`, systemd: false, resources, devices: extra.devices });
  t.teardown(() => killAndDestroy(cg));
  cg.create();
  return cg;
}

type Tap = { teardown(fn: () => void | Promise<void>): void };

/** A process that first moves itself into the cgroup, then execs `script`. */
function joined(dirs: string[], script: string): ChildProcess {
  const moves = dirs.map((d) => `echo $$ > ${d}/cgroup.procs`).join(' && ');
  return spawn('/bin/sh', ['-c', `${moves} || exit 99\n${script}`], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * What `child` writes to stdout and stderr; `closed` settles once both are drained ('exit' may
 * come before the last of the output has been read).
 */
function output(child: ChildProcess): { out: () => string; closed: Promise<{ code: number | null }> } {
  let text = '';
  child.stdout?.on('data', (d) => (text += d));
  child.stderr?.on('data', (d) => (text += d));
  const closed = new Promise<{ code: number | null }>((resolve) => child.once('close', (code) => resolve({ code })));
  return { out: () => text, closed };
}

t.test('cgroup v1 driver', { skip }, async (t) => {
  t.teardown(() => {
    const left = leftovers();
    for (const d of left.sort((a, b) => b.length - a.length)) {
      try {
        fs.rmdirSync(d);
      } catch {
        // best effort
      }
    }
  });

  t.test('layout, membership, pids, destroy', async (t) => {
    const cg = makeCgroup(t);
    t.ok(cg.paths.devices && cg.paths.memory && cg.paths.freezer && cg.paths.pids, 'every mounted controller has a path');
    if (h.mode === 'hybrid') t.ok(cg.paths[''], 'hybrid: the unified hierarchy too');
    for (const dir of Object.values(cg.paths)) t.ok(fs.existsSync(dir), `${dir} exists`);
    const child = spawn('sleep', ['30']);
    cg.join(child.pid!);
    const own = fs.readFileSync(`/proc/${child.pid}/cgroup`, 'utf8');
    t.match(own, new RegExp(`:memory:/${BASE}/c\\d+\\n`));
    t.match(own, new RegExp(`:devices:/${BASE}/c\\d+\\n`));
    if (h.mode === 'hybrid') t.match(own, new RegExp(`0::/${BASE}/c\\d+\\n`));
    t.same(cg.pids(), [child.pid]);
    child.kill('SIGKILL');
    await exited(child);
    t.ok(waitEmpty(cg, 2000));
    const dirs = Object.values(cg.paths);
    cg.destroy();
    for (const dir of dirs) t.notOk(fs.existsSync(dir), `${dir} removed`);
    for (const dir of dirs) t.notOk(fs.existsSync(path.dirname(dir)), `${path.dirname(dir)} (made by create) removed`);
  });

  t.test('memory: files, and the limit OOM-kills', async (t) => {
    const limit = 64 * 1024 * 1024;
    const cg = makeCgroup(t, { memory: { limit, swap: limit, reservation: 32 * 1024 * 1024, swappiness: 0, useHierarchy: true } });
    const dir = cg.paths.memory;
    const read = (f: string): string => fs.readFileSync(path.join(dir, f), 'utf8').trim();
    t.equal(read('memory.limit_in_bytes'), String(limit));
    t.equal(read('memory.memsw.limit_in_bytes'), String(limit));
    t.equal(read('memory.soft_limit_in_bytes'), String(32 * 1024 * 1024));
    t.equal(read('memory.swappiness'), '0');
    const before = cg.memoryEvents()!;
    const hog = joined([dir], `exec ${process.execPath} -e "const b = []; for (;;) b.push(Buffer.alloc(16 << 20, 1))"`);
    const result = await exited(hog);
    t.equal(result.signal, 'SIGKILL', 'the allocating process is OOM-killed');
    t.ok(cg.memoryEvents()!.oomKill > before.oomKill, 'oom_kill counted in memory.oom_control');
  });

  t.test('memory: disableOOMKiller', async (t) => {
    const cg = makeCgroup(t, { memory: { limit: 32 * 1024 * 1024, disableOOMKiller: true } });
    t.match(fs.readFileSync(path.join(cg.paths.memory, 'memory.oom_control'), 'utf8'), /oom_kill_disable 1/);
  });

  t.test('pids: the limit refuses a fork', async (t) => {
    const cg = makeCgroup(t, { pids: { limit: 2 } });
    t.equal(fs.readFileSync(path.join(cg.paths.pids, 'pids.max'), 'utf8').trim(), '2');
    const child = joined([cg.paths.pids], 'sleep 5 & sleep 5 & sleep 5 & wait; echo finished');
    const out = output(child);
    const result = await out.closed;
    t.match(out.out(), /fork|resource temporarily unavailable/i, 'a fork past the limit fails');
    t.not(result.code, null);
  });

  t.test('freezer: freeze stops the processes, thaw resumes them', async (t) => {
    const cg = makeCgroup(t);
    const child = spawn('sleep', ['30']);
    t.teardown(() => child.kill('SIGKILL'));
    cg.join(child.pid!);
    cg.freeze();
    t.equal(cg.isFrozen(), true);
    t.equal(fs.readFileSync(path.join(cg.paths.freezer, 'freezer.state'), 'utf8').trim(), 'FROZEN');
    t.match(procState(child.pid!), /^[DT]$/, 'frozen process in D (or T) state');
    cg.thaw();
    t.equal(cg.isFrozen(), false);
    t.equal(fs.readFileSync(path.join(cg.paths.freezer, 'freezer.state'), 'utf8').trim(), 'THAWED');
    t.match(procState(child.pid!), /^[SR]$/);
  });

  t.test('devices: deny blocks opening /dev/null, the defaults still work', async (t) => {
    const cg = makeCgroup(t, { devices: [{ allow: false, access: 'rwm' }] }, { devices: [{ path: '/dev/null', type: 'c', major: 1, minor: 3 }] });
    const list = fs.readFileSync(path.join(cg.paths.devices, 'devices.list'), 'utf8');
    t.notMatch(list, /^c 1:3 /m);
    t.match(list, /^c 1:5 rwm$/m);
    t.match(list, /^c 136:\* rwm$/m);
    const child = joined([cg.paths.devices], 'cat /dev/null; echo "null=$?"; head -c 4 /dev/zero | wc -c');
    const out = output(child);
    await out.closed;
    t.match(out.out(), /Operation not permitted/);
    t.match(out.out(), /null=1/);
    t.match(out.out(), /^4$/m, '/dev/zero readable');
    // Live update: allow /dev/null again, without a deny-all window.
    cg.apply({ devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] });
    const again = joined([cg.paths.devices], 'cat /dev/null && echo ok');
    const out2 = output(again);
    await out2.closed;
    t.match(out2.out(), /^ok$/m);
  });

  t.test('cpu and cpuset files', async (t) => {
    // Realtime runtime must fit the parent's: a direct child of the root, which has some.
    const cg = makeCgroup(t, {
      cpu: { shares: 512, quota: 25000, period: 50000, burst: 1000, idle: 0, realtimePeriod: 1000000, realtimeRuntime: 10000, cpus: '0', mems: '0' },
    }, { cgroupsPath: `/${BASE}-rt` });
    const read = (c: string, f: string): string => fs.readFileSync(path.join(cg.paths[c], f), 'utf8').trim();
    t.equal(read('cpu', 'cpu.shares'), '512');
    t.equal(read('cpu', 'cpu.cfs_quota_us'), '25000');
    t.equal(read('cpu', 'cpu.cfs_period_us'), '50000');
    if (fs.existsSync(path.join(cg.paths.cpu, 'cpu.cfs_burst_us'))) t.equal(read('cpu', 'cpu.cfs_burst_us'), '1000');
    t.equal(read('cpu', 'cpu.rt_period_us'), '1000000');
    t.equal(read('cpu', 'cpu.rt_runtime_us'), '10000');
    t.equal(read('cpuset', 'cpuset.cpus'), '0');
    t.equal(read('cpuset', 'cpuset.mems'), '0');
    const child = spawn('sleep', ['30']);
    t.teardown(() => child.kill('SIGKILL'));
    cg.join(child.pid!);
    t.match(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'), /Cpus_allowed_list:\s+0\n/, 'cpuset applies to the process');
  });

  t.test('blkio files', async (t) => {
    const dev = fs.readFileSync('/sys/block/vda/dev', 'utf8').trim().split(':').map(Number);
    const throttles = { throttleReadBpsDevice: [{ major: dev[0], minor: dev[1], rate: 1048576 }], throttleWriteIOPSDevice: [{ major: dev[0], minor: dev[1], rate: 100 }] };
    // A kernel without CFQ and BFQ (mq-deadline only) has no weight file at all; runc 1.1.5 then
    // fails on blkio.bfq.weight too ("openat2 .../blkio.bfq.weight: no such file or directory").
    const weightFile = ['blkio.weight', 'blkio.bfq.weight'].find((f) => fs.existsSync(path.join(h.v1.get('blkio')!.mountpoint, f)));
    if (!weightFile) {
      t.throws(() => makeCgroup(t, { blockIO: { weight: 300, ...throttles } }), { message: /failed to write "300": write \/sys\/fs\/cgroup\/blkio\/.*\/blkio\.bfq\.weight: no such file/ });
      t.same(leftovers(), [], 'the refused weight leaves nothing');
    }
    const cg = makeCgroup(t, { blockIO: { ...(weightFile ? { weight: 300 } : {}), ...throttles } });
    const read = (f: string): string => fs.readFileSync(path.join(cg.paths.blkio, f), 'utf8').trim();
    if (weightFile) t.equal(read(weightFile), '300');
    t.equal(read('blkio.throttle.read_bps_device'), `${dev[0]}:${dev[1]} 1048576`);
    t.equal(read('blkio.throttle.write_iops_device'), `${dev[0]}:${dev[1]} 100`);
  });

  t.test('live update, and a refused write names file and value and undoes the rest', async (t) => {
    const cg = makeCgroup(t, { memory: { limit: 100 * 1024 * 1024 }, cpu: { cpus: '0-1', shares: 1024 } });
    const read = (c: string, f: string): string => fs.readFileSync(path.join(cg.paths[c], f), 'utf8').trim();
    const child = spawn('sleep', ['30']);
    t.teardown(() => child.kill('SIGKILL'));
    cg.join(child.pid!);
    cg.apply({ memory: { limit: 50 * 1024 * 1024 }, pids: { limit: 100 }, cpu: { shares: 256 } });
    t.equal(read('memory', 'memory.limit_in_bytes'), String(50 * 1024 * 1024));
    t.equal(read('pids', 'pids.max'), '100');
    t.equal(read('cpu', 'cpu.shares'), '256');
    // cpuset (first in runc's order) and cpu.shares go in, then blkio (later) is refused.
    t.throws(
      () => cg.apply({ cpu: { cpus: '0', shares: 512 }, blockIO: { throttleReadBpsDevice: [{ major: 9999, minor: 0, rate: 1 }] } }),
      { message: /failed to write "9999:0 1": write \/sys\/fs\/cgroup\/blkio\/.*blkio.throttle.read_bps_device: / },
    );
    t.equal(read('cpuset', 'cpuset.cpus'), '0-1', 'cpuset put back');
    t.equal(read('cpu', 'cpu.shares'), '256', 'shares put back');
  });

  t.test('resources needing a missing controller are refused with its name', async (t) => {
    if (!h.v1.has('hugetlb')) {
      t.throws(() => makeCgroup(t, { hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }] }), /cannot set hugetlb limit/);
    }
    if (!h.v1.has('net_cls')) t.throws(() => makeCgroup(t, { network: { classID: 0x100001 } }), /cannot set net_cls limit/);
    t.throws(() => makeCgroup(t, { unified: { 'memory.high': '1' } }), /cannot use unified on cgroup v1/);
    t.same(leftovers(), [], 'a failed create leaves nothing');
  });

  t.test('stats in runc events --stats shape', async (t) => {
    const cg = makeCgroup(t, { memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 10 } });
    // Memory is charged where it is allocated: exec after joining.
    const child = joined([cg.paths.memory, cg.paths.pids], 'exec sleep 30');
    t.teardown(() => child.kill('SIGKILL'));
    for (let i = 0; i < 100 && cg.pids().length === 0; i++) await sleep(5);
    await sleep(20);
    const data = JSON.parse(goJson(statsJson(cg.stats())));
    t.same(Object.keys(data), ['cpu', 'cpuset', 'memory', 'pids', 'blkio', 'hugetlb', 'intel_rdt', 'network_interfaces']);
    t.equal(data.memory.usage.limit, 64 * 1024 * 1024);
    t.ok(data.memory.usage.usage > 0);
    t.ok(data.memory.raw && typeof data.memory.raw.rss === 'number');
    t.same(data.pids, { current: 1, limit: 10 });
    t.ok(Array.isArray(data.cpuset.cpus) && data.cpuset.cpus.length > 0);
  });

  t.test('signalAll reaches every process, frozen or not', async (t) => {
    const cg = makeCgroup(t);
    const a = spawn('sleep', ['30']);
    const b = spawn('sleep', ['30']);
    cg.join(a.pid!);
    cg.join(b.pid!);
    t.same(signalAll(cg, 'SIGKILL').sort(), [a.pid, b.pid].sort());
    const results = await Promise.all([exited(a), exited(b)]);
    t.same(results.map((r) => r.signal), ['SIGKILL', 'SIGKILL']);
    t.equal(cg.isFrozen(), false, 'thawed again');
  });

  t.test('an escaping cgroupsPath is refused', async (t) => {
    t.throws(() => openCgroup({ id: 'x', cgroupsPath: `/${BASE}/../../etc`, systemd: false }), /escapes the cgroup hierarchy/);
  });

  t.test('nothing is left behind', async (t) => {
    await sleep(10);
    t.same(leftovers(), []);
  });
});
