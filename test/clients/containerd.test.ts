/**
 * containerd 1.6 (Debian) + its runc shim v2 driving the runtime under test.
 *
 * The daemon runs from a generated config.toml (lib.startContainerd) with every path (root,
 * state, temp, sockets) under a private temp dir and the CRI plugin off. The runc shim's
 * options come from the client: config.toml's runtime options (BinaryName, Root) belong to the
 * CRI plugin and apply only to CRI clients, so `ctr` sets them per container: BinaryName = the
 * test wrapper (--runc-binary), Root = a private runtime root (--runc-root); cgroups by path
 * (cgroupfs) under a parent private to this run; IO fifos in the temp dir. ctr 1.6 has no
 * `task update`, so the cpu-shares update goes through containerd's Tasks.Update gRPC call,
 * which the shim turns into `runtime update --resources - ID`.
 */
import fs = require('fs');
import path = require('path');
import t from 'tap';
import * as lib from './lib';

const CTR = '/usr/bin/ctr';
const SHIM = '/usr/bin/containerd-shim-runc-v2';

/**
 * Checks that fail today with runts (a missing feature or a known defect), by check key: each is
 * a tap todo with its reason under RUNTS_CLIENT_RUNTIME=runts, and runs normally under runc and
 * with RUNTS_CLIENT_STRICT=1. Remove a line when the fix lands.
 */
const RUNTS_TODO: Record<string, string> = {};

/** Keeps a tty process alive briefly: ctr attaches to the console after start (a race in ctr). */
const SETTLE = 'sleep 0.3';

const why = lib.unavailable([lib.CONTAINERD, CTR, SHIM, '/usr/bin/script']);
if (why) t.plan(0, why);
else main();

function main() {
  t.setTimeout(300_000 + lib.SHORT_TTY_RUNS * 3_000);
  const s = lib.scaffold('containerd', RUNTS_TODO);
  const ns = 'runts-test';
  const runtimeRoot = path.join(s.dir, 'runtime-root');
  const fifoDir = path.join(s.dir, 'fifo');
  fs.mkdirSync(fifoDir);
  let sock = '';

  let daemon: lib.Daemon | undefined;
  t.teardown(() => lib.teardown(s, daemon ? [daemon] : []));

  const ctr = (args: string[], opts: { timeoutMs?: number } = {}) => lib.run(CTR, ['--address', sock, '--namespace', ns, ...args], opts);
  const ctrPty = (args: string[]) => lib.runOnPty(CTR, ['--address', sock, '--namespace', ns, ...args]);
  let imageName = '';
  const runArgs = (id: string) => ['--runc-binary', s.wrapper.path, '--runc-root', runtimeRoot, '--cgroup', `${s.cgroupParent}/${id}`, '--fifo-dir', fifoDir];
  const taskStatus = async (id: string) => {
    const r = await ctr(['task', 'ls']);
    const line = r.stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
    return line?.split(/\s+/)[2] ?? 'NONE';
  };

  t.test('daemon starts with private dirs and imports the image offline', s.opts('daemon'), async (t) => {
    const img = lib.image();
    imageName = img.name;
    const started = await lib.startContainerd(s.dir);
    daemon = started.daemon;
    sock = started.sock;
    s.containerds.push({ address: sock, ns });
    t.pass(`containerd pid ${daemon.pid} serving ${sock}`);
    // Both archive formats import; the OCI layout one is imported last and is the one run.
    const impDocker = await ctr(['images', 'import', img.docker]);
    t.equal(impDocker.code, 0, `docker-archive: ${lib.describe(impDocker)}`);
    const imp = await ctr(['images', 'import', img.oci]);
    t.equal(imp.code, 0, `OCI layout: ${lib.describe(imp)}`);
    const ls = await ctr(['images', 'ls', '-q']);
    t.match(ls.stdout, img.name, 'the image is listed');
  });

  t.test('run: the container output is captured', s.opts('run'), async (t) => {
    const id = 'ctd-run';
    const r = await ctr(['run', '--rm', ...runArgs(id), imageName, id, 'sh', '-c', 'echo hello from $(cat /proc/1/comm)']);
    t.equal(r.code, 0, lib.describe(r));
    t.equal(r.stdout.trim(), 'hello from sh');
    lib.assertThroughWrapper(t, s.wrapper, id, ['create', 'start', 'delete']);
  });

  t.test('exit code propagates', s.opts('exit-code'), async (t) => {
    const id = 'ctd-exit';
    const r = await ctr(['run', '--rm', ...runArgs(id), imageName, id, 'sh', '-c', 'exit 7']);
    t.equal(r.code, 7, lib.describe(r));
    lib.assertThroughWrapper(t, s.wrapper, id);
  });

  t.test('tty run', s.opts('tty'), async (t) => {
    const id = 'ctd-tty';
    const r = await ctrPty(['run', '--rm', '-t', ...runArgs(id), imageName, id, 'sh', '-c', `tty; ${SETTLE}`]);
    t.equal(r.code, 0, lib.describe(r));
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the container sees a terminal');
    const create = s.wrapper.callsFor(id).find((c) => lib.RuntimeWrapper.command(c.argv) === 'create');
    t.ok(create?.argv.includes('--console-socket'), 'create got a --console-socket');
    lib.assertThroughWrapper(t, s.wrapper, id);
  });

  // One detached container serves exec, ps, update, pause, stop and rm.
  const id = 'ctd-detached';
  let fp: lib.Footprint | undefined;
  let pid = 0;

  t.test('detached run', s.opts('detached'), async (t) => {
    const r = await ctr(['run', '-d', ...runArgs(id), imageName, id, 'sleep', '1000']);
    t.equal(r.code, 0, lib.describe(r));
    t.ok(await lib.waitFor(async () => (await taskStatus(id)) === 'RUNNING'), 'the task is RUNNING');
    const ls = await ctr(['task', 'ls']);
    pid = Number(ls.stdout.split('\n').find((l) => l.startsWith(id))?.split(/\s+/)[1]);
    t.ok(pid > 0 && lib.alive(pid), `init pid ${pid} is alive on the host`);
    fp = lib.footprint(s.wrapper, id, pid);
    t.ok(fp.cgroups.some((d) => d.includes(s.cgroupParent)), `the container runs in its cgroup (${fp.cgroups[0]})`);
    lib.assertThroughWrapper(t, s.wrapper, id);
  });

  t.test('exec', s.opts('exec'), async (t) => {
    const r = await ctr(['task', 'exec', '--fifo-dir', fifoDir, '--exec-id', 'e1', id, 'sh', '-c', 'echo exec sees $(cat /proc/1/comm); exit 3']);
    t.equal(r.code, 3, `the exec's exit code comes back: ${lib.describe(r)}`);
    t.equal(r.stdout.trim(), 'exec sees sleep', "the exec runs in the container's pid namespace");
    lib.assertThroughWrapper(t, s.wrapper, id, ['exec']);
  });

  t.test('exec with a tty', s.opts('exec-tty'), async (t) => {
    const r = await ctrPty(['task', 'exec', '-t', '--fifo-dir', fifoDir, '--exec-id', 'e2', id, 'sh', '-c', `tty; ${SETTLE}`]);
    t.match(r.stdout, /\/dev\/pts\/\d+/, `the exec sees a terminal: ${lib.describe(r)}`);
    const exec = s.wrapper.callsFor(id).filter((c) => lib.RuntimeWrapper.command(c.argv) === 'exec');
    t.ok(exec.some((c) => c.argv.includes('--console-socket')), 'exec got a --console-socket');
  });

  t.test('exec with a tty keeps the output of a process that exits at once', { ...s.opts('exec-tty-short'), timeout: 60_000 + lib.SHORT_TTY_RUNS * 3_000 }, async (t) => {
    const lost: string[] = [];
    for (let i = 0; i < lib.SHORT_TTY_RUNS; i++) {
      const r = await ctrPty(['task', 'exec', '-t', '--fifo-dir', fifoDir, '--exec-id', `short${i}`, id, 'tty']);
      if (!/\/dev\/pts\/\d+/.test(r.stdout)) lost.push(`run ${i}: ${lib.describe(r)} stdout ${JSON.stringify(r.stdout.slice(0, 80))}`);
    }
    t.same(lost, [], `\`exec -t ID tty\` printed its tty in all ${lib.SHORT_TTY_RUNS} runs`);
  });

  t.test('ps', s.opts('ps'), async (t) => {
    const r = await ctr(['task', 'ps', id]);
    t.equal(r.code, 0, lib.describe(r));
    t.match(r.stdout, new RegExp(`^${pid}\\b`, 'm'), 'lists the init pid');
    lib.assertThroughWrapper(t, s.wrapper, id, ['ps']);
  });

  t.test('update cpu shares, seen in the cgroup', s.opts('update'), async (t) => {
    const before = lib.readCpuShares(lib.cgroupDirs(pid));
    const status = await lib.tasksUpdate(sock, ns, id, { cpu: { shares: 512 } });
    t.equal(status.code, 0, `Tasks.Update: ${status.message}`);
    const after = lib.readCpuShares(lib.cgroupDirs(pid));
    t.equal(after.value, after.expect(512), `${after.file} (was ${before.value})`);
    lib.assertThroughWrapper(t, s.wrapper, id, ['update']);
  });

  t.test('pause and unpause', s.opts('pause'), async (t) => {
    const p = await ctr(['task', 'pause', id]);
    t.equal(p.code, 0, lib.describe(p));
    t.equal(await taskStatus(id), 'PAUSED');
    t.equal(lib.readFreezer(lib.cgroupDirs(pid)), 'FROZEN', 'the freezer cgroup is FROZEN');
    const r = await ctr(['task', 'resume', id]);
    t.equal(r.code, 0, lib.describe(r));
    t.equal(await taskStatus(id), 'RUNNING');
    t.equal(lib.readFreezer(lib.cgroupDirs(pid)), 'THAWED', 'the freezer cgroup is THAWED');
    lib.assertThroughWrapper(t, s.wrapper, id, ['pause', 'resume']);
  });

  t.test('stop: SIGTERM, then SIGKILL after the grace time', s.opts('stop'), async (t) => {
    // ctr has no `stop`: do what `docker stop -t 1` does. sleep as pid 1 has no TERM handler,
    // so it survives the SIGTERM and dies of the SIGKILL.
    const term = await ctr(['task', 'kill', id]);
    t.equal(term.code, 0, lib.describe(term));
    await lib.sleep(1000);
    t.equal(await taskStatus(id), 'RUNNING', 'still running after SIGTERM and a 1 s grace');
    const kill = await ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    t.equal(kill.code, 0, lib.describe(kill));
    t.ok(await lib.waitFor(async () => (await taskStatus(id)) === 'STOPPED'), 'STOPPED after SIGKILL');
    const kills = s.wrapper.callsFor(id).filter((c) => lib.RuntimeWrapper.command(c.argv) === 'kill');
    t.same(
      kills.map((c) => c.argv[c.argv.length - 1]),
      ['15', '9'],
      'the runtime got kill 15 then kill 9',
    );
    const del = await ctr(['task', 'delete', id]);
    t.equal(del.code, 0, lib.describe(del));
    t.match(del.stderr + del.stdout, /137/, 'exit status 137 (SIGKILL)');
  });

  t.test('rm leaves no state, mount, cgroup or process', s.opts('rm'), async (t) => {
    if (!fp) return t.fail('no detached container was recorded');
    if ((await taskStatus(id)) !== 'NONE') await ctr(['task', 'delete', '--force', id]);
    const r = await ctr(['containers', 'delete', id]);
    t.equal(r.code, 0, lib.describe(r));
    t.equal(lib.processesMentioning(`-id ${id}`).length, 0);
    await lib.assertNoFootprint(t, fp);
    t.same(safeList(path.join(runtimeRoot, ns)), [], 'the runtime root holds no container');
  });

  t.test('daemon stops cleanly', s.opts('daemon-stop'), async (t) => {
    if (!daemon) return t.fail('no daemon');
    const r = await daemon.stop(15_000);
    t.ok(r.clean, `containerd exited on SIGTERM in ${r.ms} ms`);
    t.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}`);
    await lib.assertNothingLeft(t, s, 'no shim or helper left');
  });

  t.test('runtime errors seen', async (t) => {
    lib.reportFailures(t, s, daemon ? [daemon] : []);
    t.pass('reported');
  });
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
