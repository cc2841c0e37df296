/**
 * containerd 1.6 and Podman 4.3 driving runts with the systemd cgroup driver, where systemd is
 * PID 1 (the VM of test/vm/run.sh): containerd's runc shim with SystemdCgroup = true and
 * BinaryName = the runts wrapper (ctr's --runc-systemd-cgroup / --runc-binary set exactly
 * those runtime options), Podman with --cgroup-manager systemd --runtime the wrapper. Each
 * container's scope is read from systemd (systemctl, the oracle) and from the live cgroup, and
 * after removal neither is left.
 */
import fs = require('fs');
import path = require('path');
import t, { type Test } from 'tap';
import * as lib from '../clients/lib';
import { unitProperties } from '../helpers/systemd';

if (fs.readFileSync('/proc/1/comm', 'utf8').trim() !== 'systemd') {
  throw new Error('test/vm/systemd-clients.test.js needs systemd as PID 1: run it through test/vm/run.sh');
}

const CTR = '/usr/bin/ctr';

const show = unitProperties;

/** The unified cgroup (path below /sys/fs/cgroup) a process is in. */
function cgroupOf(pid: number): string {
  return lib.safeRead(`/proc/${pid}/cgroup`).split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '';
}

/**
 * The host-side unified cgroup of the one process whose command line is exactly `cmdline`, waiting
 * (bounded) for it to appear. Read from the host's /proc, not from inside the container: under a
 * cgroup namespace (Podman's default on v2) the container sees its own cgroup as "/".
 */
async function hostCgroupOfProcess(cmdline: string): Promise<string> {
  let found: lib.ProcInfo[] = [];
  await lib.waitFor(() => (found = lib.processesMentioning(cmdline).filter((p) => p.cmdline === cmdline)).length === 1, 20_000, 200);
  return found.length === 1 ? cgroupOf(found[0].pid) : `${found.length} processes run "${cmdline}"`;
}

function read(dir: string, file: string): string {
  return lib.safeRead(path.join('/sys/fs/cgroup', dir, file));
}

function systemdCreate(t: Test, s: lib.Scaffold, id: string): void {
  const create = s.wrapper.callsFor(id).find((c) => lib.RuntimeWrapper.command(c.argv) === 'create');
  t.ok(create?.argv.includes('--systemd-cgroup'), `the client called ${s.kind} create with --systemd-cgroup: ${create?.argv.join(' ')}`);
}

t.setTimeout(600_000);

t.test('containerd (runc shim, SystemdCgroup = true, BinaryName = runts)', async (t) => {
  const why = lib.unavailable([lib.CONTAINERD, CTR]);
  if (why) return t.fail(why);
  const s = lib.scaffold('containerd-systemd', {});
  let daemon: lib.Daemon | undefined;
  t.teardown(() => lib.teardown(s, daemon ? [daemon] : []));
  const ns = 'runts-test';
  const fifoDir = path.join(s.dir, 'fifo');
  fs.mkdirSync(fifoDir);
  const started = await lib.startContainerd(s.dir);
  daemon = started.daemon;
  s.containerds.push({ address: started.sock, ns });
  const ctr = (args: string[]) => lib.run(CTR, ['--address', started.sock, '--namespace', ns, ...args], { timeoutMs: 120_000 });
  const img = lib.image();
  const imp = await ctr(['images', 'import', img.oci]);
  t.equal(imp.code, 0, lib.describe(imp));

  const id = 'ctd-sd';
  const unit = `runts-ctd-${id}.scope`;
  const dir = `/machine.slice/${unit}`;
  const r = await ctr([
    'run', '-d', '--runc-binary', s.wrapper.path, '--runc-root', path.join(s.dir, 'runtime-root'), '--runc-systemd-cgroup',
    '--cgroup', `machine.slice:runts-ctd:${id}`, '--memory-limit', String(64 << 20), '--fifo-dir', fifoDir, img.name, id, 'sleep', '1000',
  ]);
  t.equal(r.code, 0, lib.describe(r));
  lib.assertThroughWrapper(t, s.wrapper, id);
  systemdCreate(t, s, id);
  const ls = await ctr(['task', 'ls']);
  const pid = Number(ls.stdout.split('\n').find((l) => l.startsWith(id))?.split(/\s+/)[1]);
  t.ok(pid > 0 && lib.alive(pid), `init pid ${pid}`);
  const fp = lib.footprint(s.wrapper, id, pid);
  t.equal(cgroupOf(pid), dir, 'the init runs in the scope');
  t.same(show(unit, ['ActiveState', 'Delegate', 'MemoryMax']), { ActiveState: 'active', Delegate: 'yes', MemoryMax: String(64 << 20) }, 'systemd holds the limit');
  t.equal(read(dir, 'memory.max'), String(64 << 20), 'the live cgroup enforces it');

  const execArgv = ['sleep', '1001'];
  const exec = await ctr(['task', 'exec', '-d', '--fifo-dir', fifoDir, '--exec-id', 'e1', id, ...execArgv]);
  t.equal(exec.code, 0, lib.describe(exec));
  t.equal(await hostCgroupOfProcess(execArgv.join(' ')), dir, 'the exec joins the scope');

  const update = await lib.tasksUpdate(started.sock, ns, id, { memory: { limit: 32 << 20 }, pids: { limit: 40 }, cpu: { shares: 512 } });
  t.equal(update.code, 0, `Tasks.Update: ${update.message}`);
  t.same(show(unit, ['MemoryMax', 'TasksMax', 'CPUWeight']), { MemoryMax: String(32 << 20), TasksMax: '40', CPUWeight: '20' }, 'update reached the unit');
  t.same([read(dir, 'memory.max'), read(dir, 'pids.max'), read(dir, 'cpu.weight')], [String(32 << 20), '40', '20'], 'and the cgroup');

  const kill = await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  t.equal(kill.code, 0, lib.describe(kill));
  await lib.waitFor(async () => !(await ctr(['task', 'ls'])).stdout.includes('RUNNING'), 20_000, 200);
  const del = await ctr(['task', 'delete', id]);
  t.equal(del.code, 0, lib.describe(del));
  const rm = await ctr(['containers', 'delete', id]);
  t.equal(rm.code, 0, lib.describe(rm));
  t.equal(show(unit, ['LoadState']).LoadState, 'not-found', 'the unit is gone');
  t.notOk(fs.existsSync(path.join('/sys/fs/cgroup', dir)), 'the cgroup is gone');
  await lib.assertNoFootprint(t, fp);
  const stop = await daemon.stop(15_000);
  t.ok(stop.clean, `containerd exited on SIGTERM in ${stop.ms} ms`);
  lib.reportFailures(t, s, [daemon]);
});

t.test('Podman (--cgroup-manager systemd --runtime runts)', async (t) => {
  const why = lib.unavailable([lib.PODMAN, lib.CONMON]);
  if (why) return t.fail(why);
  const s = lib.scaffold('podman-systemd', {});
  const { podman } = lib.podmanSetup(s, 'systemd');
  t.teardown(() => lib.teardown(s, [], async () => {
    await podman(['rm', '-af', '-t', '0'], { timeoutMs: 60_000 });
  }));
  const img = lib.image();
  const load = await podman(['load', '-i', img.oci], { timeoutMs: 120_000 });
  t.equal(load.code, 0, lib.describe(load));

  const r = await podman(['run', '-d', '--network', 'none', '--pull', 'never', '--memory', '64m', '--pids-limit', '77', img.name, 'sleep', '1000'], { timeoutMs: 120_000 });
  t.equal(r.code, 0, lib.describe(r));
  const id = r.stdout.trim().split('\n').pop() ?? '';
  lib.assertThroughWrapper(t, s.wrapper, id);
  systemdCreate(t, s, id);
  const pid = Number((await podman(['inspect', '-f', '{{.State.Pid}}', id])).stdout.trim());
  t.ok(pid > 0 && lib.alive(pid), `init pid ${pid}`);
  const fp = lib.footprint(s.wrapper, id, pid);
  const unit = `libpod-${id}.scope`;
  const dir = `/machine.slice/${unit}`;
  t.equal(cgroupOf(pid), dir, "the init runs in Podman's scope for it");
  t.same(show(unit, ['ActiveState', 'Delegate', 'MemoryMax', 'TasksMax']), { ActiveState: 'active', Delegate: 'yes', MemoryMax: String(64 << 20), TasksMax: '77' }, 'systemd holds the limits');
  t.same([read(dir, 'memory.max'), read(dir, 'pids.max')], [String(64 << 20), '77'], 'the live cgroup enforces them');

  const execArgv = ['sleep', '1002'];
  const exec = await podman(['exec', '-d', id, ...execArgv], { timeoutMs: 60_000 });
  t.equal(exec.code, 0, lib.describe(exec));
  t.equal(await hostCgroupOfProcess(execArgv.join(' ')), dir, 'the exec joins the scope');

  // Podman 4.3's update has no --pids-limit.
  const update = await podman(['update', '--memory', '32m', '--cpu-shares', '512', id], { timeoutMs: 60_000 });
  t.equal(update.code, 0, lib.describe(update));
  t.same(show(unit, ['MemoryMax', 'CPUWeight']), { MemoryMax: String(32 << 20), CPUWeight: '20' }, 'update reached the unit');
  t.same([read(dir, 'memory.max'), read(dir, 'cpu.weight')], [String(32 << 20), '20'], 'and the cgroup');

  const rm = await podman(['rm', '-f', '-t', '0', id], { timeoutMs: 60_000 });
  t.equal(rm.code, 0, lib.describe(rm));
  t.equal(show(unit, ['LoadState']).LoadState, 'not-found', 'the unit is gone');
  t.equal(show(`libpod-conmon-${id}.scope`, ['LoadState']).LoadState, 'not-found', "and conmon's");
  t.notOk(fs.existsSync(path.join('/sys/fs/cgroup', dir)), 'the cgroup is gone');
  await lib.assertNoFootprint(t, fp);
  lib.reportFailures(t, s, []);
});
