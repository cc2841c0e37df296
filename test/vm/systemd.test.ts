/**
 * The systemd cgroup driver, live: runs where systemd is PID 1 (the VM of test/vm/run.sh).
 * systemctl is the oracle for what systemd holds; the container's own /sys/fs/cgroup (a cgroup
 * namespace) shows what the kernel enforces.
 */
import fs = require('fs');
import t, { type Test } from 'tap';
import type { Spec } from '../../src/config/types';
import { baseSpec, cleanupRoot, makeBundle, runts as runtsCli, scratchDir, type Result } from '../helpers/runts';
import { unitProperties } from '../helpers/systemd';

if (fs.readFileSync('/proc/1/comm', 'utf8').trim() !== 'systemd') {
  throw new Error('test/vm/systemd.test.js needs systemd as PID 1: run it through test/vm/run.sh');
}

/** Emulated (TCG) on a loaded host, one runts call can take tens of seconds. */
const runts = (root: string, args: string[]): Result => runtsCli(root, args, { timeoutMs: 180_000 });

const UNIFIED = fs.statfsSync('/sys/fs/cgroup').type === 0x63677270;

const show = unitProperties;

function ok(t: Test, r: Result, what: string): void {
  t.equal(r.code, 0, `${what}: exit 0${r.code ? ` (${r.stderr.trim()})` : ''}`);
}

function limitsSpec(id: string, extra: (s: Spec) => void = () => undefined): Spec {
  const spec = baseSpec(['sleep', '600']);
  spec.linux!.namespaces!.push({ type: 'cgroup' });
  spec.linux!.cgroupsPath = `machine.slice:runts-test:${id}`;
  spec.linux!.resources = {
    ...spec.linux!.resources,
    memory: { limit: 64 << 20, swap: 96 << 20 },
    pids: { limit: 77 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0' },
  };
  extra(spec);
  return spec;
}

const root = scratchDir('systemd-root');
t.teardown(() => cleanupRoot(root));
t.setTimeout(1_200_000);
const sdFlags = ['--systemd-cgroup'];

/** A hierarchy's directory for a unit: pure v2 has one, the hybrid layout one per v1 controller. */
const unitDir = (slice: string, unit: string, controller: string): string =>
  UNIFIED ? `/sys/fs/cgroup/${slice}/${unit}` : `/sys/fs/cgroup/${controller}/${slice}/${unit}`;

t.test('a --systemd-cgroup container is a delegated transient scope that holds its limits, updates them and goes away', async (t) => {
  const id = `sd${process.pid}`;
  const unit = `runts-test-${id}.scope`;
  const bundle = makeBundle(limitsSpec(id));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));

  ok(t, runts(root, [...sdFlags, 'create', '--bundle', bundle, id]), 'create');
  ok(t, runts(root, [...sdFlags, 'start', id]), 'start');
  const state = JSON.parse(runts(root, ['state', id]).stdout);
  const cgroups = fs.readFileSync(`/proc/${state.pid}/cgroup`, 'utf8').trim().split('\n');
  t.equal(cgroups[cgroups.length - 1], `0::/machine.slice/${unit}`, "the init is in the unit's cgroup (the unified hierarchy systemd tracks it in)");
  if (!UNIFIED) t.match(cgroups.find((l) => /^\d+:memory:/.test(l)), new RegExp(`:memory:/machine\\.slice/${unit}$`), 'and in every v1 hierarchy');

  // runc's v1 properties: MemoryLimit and CPUShares, no swap (the files get it).
  const sd = show(unit, ['ActiveState', 'Delegate', 'Slice', UNIFIED ? 'MemoryMax' : 'MemoryLimit', 'TasksMax', UNIFIED ? 'CPUWeight' : 'CPUShares', 'CPUQuotaPerSecUSec', 'AllowedCPUs', 'DevicePolicy', ...(UNIFIED ? ['MemorySwapMax'] : [])]);
  t.same(sd, {
    ActiveState: 'active', Delegate: 'yes', Slice: 'machine.slice', TasksMax: '77', CPUQuotaPerSecUSec: '500ms', AllowedCPUs: '0', DevicePolicy: 'strict',
    ...(UNIFIED ? { MemoryMax: '67108864', MemorySwapMax: '33554432', CPUWeight: '20' } : { MemoryLimit: '67108864', CPUShares: '512' }),
  }, 'systemd holds the limits as unit properties');

  // memory, memory+swap (v2: swap alone), pids, cpu weight/shares, quota and period, cpus; then the cgroup namespace's view.
  const files = UNIFIED
    ? 'cat memory.max memory.swap.max pids.max cpu.weight && tr " " "\\n" < cpu.max && cat cpuset.cpus && cat /proc/self/cgroup'
    : 'cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes pids/pids.max cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpuset/cpuset.cpus && sed "s/^[0-9]*:[^:]*://" /proc/self/cgroup | sort -u';
  const inside = (): Result => runts(root, ['exec', id, 'sh', '-c', `cd /sys/fs/cgroup && ${files}`]);
  const before = inside();
  ok(t, before, 'exec');
  t.same(before.stdout.trim().split('\n'), UNIFIED
    ? ['67108864', '33554432', '77', '20', '50000', '100000', '0', '0::/']
    : ['67108864', '100663296', '77', '512', '50000', '100000', '0', '/'], 'the kernel enforces them inside the container (its cgroup namespace root is the scope)');
  if (UNIFIED) {
    t.equal(fs.readFileSync(`${unitDir('machine.slice', unit, '')}/cgroup.controllers`, 'utf8'), fs.readFileSync('/sys/fs/cgroup/machine.slice/cgroup.controllers', 'utf8'), 'every controller of the slice is delegated to the scope');
  }

  // A new period alone: the unit gets quota/period per second, which systemd rounds up to 10 ms
  // (50000/90000 s → 560ms); the cgroup must still hold the exact pair, as runc writes it.
  ok(t, runts(root, ['update', '--memory', '32M', '--memory-swap', '48M', '--pids-limit', '50', '--cpu-period', '90000', id]), 'update');
  t.same(show(unit, [UNIFIED ? 'MemoryMax' : 'MemoryLimit', 'TasksMax', 'CPUQuotaPerSecUSec', ...(UNIFIED ? ['MemorySwapMax'] : [])]), {
    TasksMax: '50', CPUQuotaPerSecUSec: '560ms', ...(UNIFIED ? { MemoryMax: '33554432', MemorySwapMax: '16777216' } : { MemoryLimit: '33554432' }),
  }, 'update went through SetUnitProperties');
  t.same(inside().stdout.trim().split('\n').slice(0, 6), UNIFIED
    ? ['33554432', '16777216', '50', '20', '50000', '90000']
    : ['33554432', '50331648', '50', '512', '50000', '90000'], 'and into the cgroup, the cpu pair exact');

  const refused = runts(root, ['update', '--pids-limit', '40', '--cpuset-cpus', '63', id]);
  t.equal(refused.code, 1, 'a cpuset the kernel refuses fails the update');
  t.equal(refused.stderr.trim().split('\n').length, 1, `one line: ${refused.stderr.trim()}`);
  t.match(refused.stderr, /cpuset\.cpus/);
  t.same(show(unit, ['TasksMax', 'AllowedCPUs']), { TasksMax: '50', AllowedCPUs: '0' }, "the unit's properties are put back");
  t.equal(fs.readFileSync(`${unitDir('machine.slice', unit, 'pids')}/pids.max`, 'utf8').trim(), '50', 'and so are the files');

  ok(t, runts(root, ['pause', id]), 'pause');
  if (UNIFIED) t.equal(fs.readFileSync(`${unitDir('machine.slice', unit, '')}/cgroup.freeze`, 'utf8').trim(), '1', 'pause freezes the scope');
  else t.equal(fs.readFileSync(`${unitDir('machine.slice', unit, 'freezer')}/freezer.state`, 'utf8').trim(), 'FROZEN', 'pause freezes the scope');
  t.equal(JSON.parse(runts(root, ['state', id]).stdout).status, 'paused');
  ok(t, runts(root, ['resume', id]), 'resume');

  ok(t, runts(root, ['kill', id, 'KILL']), 'kill');
  ok(t, runts(root, ['delete', '--force', id]), 'delete');
  t.equal(show(unit, ['LoadState']).LoadState, 'not-found', 'the unit is gone');
  t.notOk(fs.existsSync(unitDir('machine.slice', unit, 'memory')), 'and its cgroup');
  if (!UNIFIED) t.notOk(fs.existsSync(unitDir('machine.slice', unit, 'freezer')), 'in every hierarchy');
});

t.test('a container that exits on its own: systemd removes the empty scope, delete still succeeds', async (t) => {
  const id = `sdexit${process.pid}`;
  const unit = `runts-${id}.scope`;
  // No cgroup namespace: on v1 the "cgroup" mount binds the scope's directories, which exist
  // only once the unit started with the init in it.
  const spec = baseSpec(['sh', '-c', 'cat /proc/self/cgroup; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || true']);
  spec.linux!.resources!.pids = { limit: 10 };
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const r = runts(root, [...sdFlags, 'run', '--bundle', bundle, id]);
  ok(t, r, 'run');
  t.match(r.stdout, UNIFIED ? `0::/system.slice/${unit}` : `:memory:/system.slice/${unit}`, 'the default unit is system.slice:runts:<id>');
  if (!UNIFIED) t.match(r.stdout, /^10$/m, "the container's /sys/fs/cgroup/pids is the scope's directory");
  t.equal(show(unit, ['LoadState']).LoadState, 'not-found', 'nothing left');
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'no state left');
});

t.test('a second container given a live unit joins it (runc 1.1 does); a create that fails leaves that unit alone', async (t) => {
  const id = `sdshare${process.pid}`;
  const unit = `runts-test-${id}.scope`;
  const bundle = makeBundle(limitsSpec(id));
  const broken = makeBundle(limitsSpec(id, (s) => {
    s.mounts!.push({ destination: '/mnt', type: 'bind', source: '/nonexistent/source', options: ['bind'] });
  }), bundle + '-broken');
  t.teardown(() => [bundle, broken].forEach((b) => fs.rmSync(b, { recursive: true, force: true })));
  const [a, b, c] = [`${id}a`, `${id}b`, `${id}c`];

  ok(t, runts(root, [...sdFlags, 'run', '-d', '--bundle', bundle, a]), 'the first container');
  const second = runts(root, [...sdFlags, 'run', '-d', '--bundle', bundle, b]);
  ok(t, second, 'a second one with the same cgroupsPath');
  t.match(second.stderr, "container's cgroup is not empty", "with runc's warning");
  const pidB = JSON.parse(runts(root, ['state', b]).stdout || '{}').pid;
  t.equal(fs.readFileSync(`/proc/${pidB}/cgroup`, 'utf8').trim().split('\n').pop(), `0::/machine.slice/${unit}`, 'its init is in the same unit');

  const failed = runts(root, [...sdFlags, 'create', '--bundle', broken, c]);
  t.equal(failed.code, 1, 'a third one that fails (a missing bind source) after joining the unit');
  t.equal(show(unit, ['ActiveState']).ActiveState, 'active', 'leaves the unit running');
  t.equal(JSON.parse(runts(root, ['state', a]).stdout || '{}').status, 'running', 'with the first container in it');

  ok(t, runts(root, ['delete', '--force', a]), 'delete --force of the first');
  t.equal(JSON.parse(runts(root, ['state', b]).stdout || '{}').status, 'running', 'leaves the second running');
  t.equal(show(unit, ['ActiveState']).ActiveState, 'active', 'in the unit, still active');
  ok(t, runts(root, ['delete', '--force', b]), 'delete --force of the second');
  t.equal(show(unit, ['LoadState']).LoadState, 'not-found', 'the unit is gone');
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'no state left');
});

t.test('refusals name the unit and the property, and leave nothing behind', async (t) => {
  const id = `sdbad${process.pid}`;
  const bundle = makeBundle(limitsSpec(id, (s) => {
    s.annotations = { 'org.systemd.property.TasksMax': "'lots'" };
  }));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const r = runts(root, [...sdFlags, 'create', '--bundle', bundle, id]);
  t.equal(r.code, 1, 'systemd refuses a string TasksMax');
  t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
  t.match(r.stderr, `runts-test-${id}.scope`, 'the error names the unit');
  t.match(r.stderr, 'TasksMax');
  t.equal(show(`runts-test-${id}.scope`, ['LoadState']).LoadState, 'not-found', 'no unit left');
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'no container left');

  const path = runts(root, [...sdFlags, 'create', '--bundle', makeBundle(limitsSpec(id, (s) => {
    s.linux!.cgroupsPath = '/not/a/unit';
  }), bundle + '-2'), id]);
  t.teardown(() => fs.rmSync(bundle + '-2', { recursive: true, force: true }));
  t.equal(path.code, 1);
  t.match(path.stderr, /expected cgroupsPath to be of format .*slice:prefix:name/);
});
