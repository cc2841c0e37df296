/**
 * Docker 20.10 (Debian's docker.io) driving the runtime under test.
 *
 * dockerd runs with every path private to the test (--data-root, --exec-root, -H unix://…,
 * --pidfile, an empty --config-file), no networking of its own (--bridge=none, no iptables,
 * no ip forwarding or masquerading: containers get --network none, a netns with loopback
 * only), the cgroupfs driver under a cgroup parent private to this run, and the wrapper as its
 * default runtime (--add-runtime runts=WRAPPER --default-runtime runts). dockerd starts and
 * supervises its own containerd under the exec-root; only when a system containerd socket
 * exists (which dockerd would pick up instead) does the test start a private containerd and
 * pass --containerd.
 */
import * as fs from 'fs';
import * as path from 'path';
import t from 'tap';
import * as lib from './lib';

const DOCKERD = '/usr/sbin/dockerd';
// Debian's CLI, by path: another `docker` may come first in PATH.
const DOCKER = '/usr/bin/docker';

/**
 * Checks that fail today with runts (a missing feature or a known defect), by check key: each is
 * a tap todo with its reason under RUNTS_CLIENT_RUNTIME=runts, and runs normally under runc and
 * with RUNTS_CLIENT_STRICT=1. Remove a line when the fix lands.
 */
const RUNTS_TODO: Record<string, string> = {};

const why = lib.unavailable([DOCKERD, DOCKER, lib.CONTAINERD, '/usr/bin/containerd-shim-runc-v2']);
if (why) t.plan(0, why);
else main();

function main() {
  t.setTimeout(300_000);
  const s = lib.scaffold('docker', RUNTS_TODO);
  const sock = path.join(s.dir, 'docker.sock');
  const execRoot = path.join(s.dir, 'exec');
  const dataRoot = path.join(s.dir, 'data');
  const cliEnv = lib.childEnv({ DOCKER_CONFIG: path.join(s.dir, 'cli') });
  fs.writeFileSync(path.join(s.dir, 'daemon.json'), '{}\n');
  const daemons: lib.Daemon[] = [];
  let dockerd: lib.Daemon | undefined;
  let supervisedContainerdPid = 0;
  // dockerd's own containerd (unless replaced below), namespace moby.
  s.containerds.push({ address: path.join(execRoot, 'containerd', 'containerd.sock'), ns: 'moby' });
  t.teardown(() => lib.teardown(s, daemons));

  const docker = (args: string[], opts: { timeoutMs?: number } = {}) => lib.run(DOCKER, ['-H', `unix://${sock}`, ...args], { env: cliEnv, ...opts });
  const inspect = async (id: string, fmt: string) => (await docker(['inspect', '-f', fmt, id])).stdout.trim();
  let imageName = '';
  const runFlags = ['--network', 'none', '--pull', 'never'];
  const cidFile = (name: string) => path.join(s.dir, `${name}.cid`);
  const cid = (name: string) => lib.safeRead(cidFile(name));

  t.test('daemon starts with private dirs and loads the image offline', s.opts('daemon'), async (t) => {
    const img = lib.image();
    imageName = img.name;
    const args = [
      '--config-file', path.join(s.dir, 'daemon.json'),
      '--data-root', dataRoot,
      '--exec-root', execRoot,
      '-H', `unix://${sock}`,
      '--pidfile', path.join(s.dir, 'docker.pid'),
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--userland-proxy=false',
      '--exec-opt', 'native.cgroupdriver=cgroupfs',
      '--cgroup-parent', s.cgroupParent,
      '--add-runtime', `runts=${s.wrapper.path}`,
      '--default-runtime', 'runts',
    ];
    if (fs.existsSync('/run/containerd/containerd.sock')) {
      // dockerd would use the system's containerd: give it a private one instead.
      const ctd = await lib.startContainerd(path.join(s.dir, 'containerd'));
      daemons.push(ctd.daemon);
      args.push('--containerd', ctd.sock);
      s.containerds.push({ address: ctd.sock, ns: 'moby' });
    }
    dockerd = new lib.Daemon('dockerd', DOCKERD, args, path.join(s.dir, 'dockerd.log'));
    daemons.push(dockerd);
    await lib.waitForSocket(sock, dockerd, 60_000);
    const up = await lib.waitFor(async () => (await docker(['version', '-f', '{{.Server.Version}}'])).code === 0, 30_000, 200);
    t.ok(up, `dockerd pid ${dockerd.pid} answers on ${sock}`);
    const own = lib.processesMentioning(path.join(execRoot, 'containerd')).find((p) => / --config /.test(p.cmdline) && /containerd\b/.test(p.cmdline));
    if (own) supervisedContainerdPid = own.pid;
    t.ok(own || daemons.length > 1, `containerd is private to this run (${own ? `supervised by dockerd, pid ${own.pid}` : 'started by the test'})`);
    const info = await docker(['info', '-f', '{{.DefaultRuntime}} {{.CgroupDriver}} {{.Driver}}']);
    t.match(info.stdout.trim(), /^runts cgroupfs /, `default runtime and cgroup driver: ${info.stdout.trim()}`);
    const load = await docker(['load', '-i', img.docker]);
    t.equal(load.code, 0, lib.describe(load));
    t.match(load.stdout, img.name, 'docker load names the image');
  });

  t.test('run: the container output is captured', s.opts('run'), async (t) => {
    const r = await docker(['run', '--rm', '--cidfile', cidFile('run'), ...runFlags, imageName, 'sh', '-c', 'echo hello from $(cat /proc/1/comm)']);
    t.equal(r.code, 0, lib.describe(r));
    t.equal(r.stdout.trim(), 'hello from sh');
    lib.assertThroughWrapper(t, s.wrapper, cid('run'), ['create', 'start', 'delete']);
  });

  t.test('exit code propagates', s.opts('exit-code'), async (t) => {
    const r = await docker(['run', '--rm', '--cidfile', cidFile('exit'), ...runFlags, imageName, 'sh', '-c', 'exit 7']);
    t.equal(r.code, 7, lib.describe(r));
    lib.assertThroughWrapper(t, s.wrapper, cid('exit'));
  });

  t.test('tty run', s.opts('tty'), async (t) => {
    const r = await docker(['run', '--rm', '-t', '--cidfile', cidFile('tty'), ...runFlags, imageName, 'sh', '-c', 'tty; sleep 0.3']);
    t.equal(r.code, 0, lib.describe(r));
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the container sees a terminal');
    const create = s.wrapper.callsFor(cid('tty')).find((c) => lib.RuntimeWrapper.command(c.argv) === 'create');
    t.ok(create?.argv.includes('--console-socket'), 'create got a --console-socket');
    lib.assertThroughWrapper(t, s.wrapper, cid('tty'));
  });

  // One detached container serves exec, top, update, pause, stop and rm.
  let id = '';
  let pid = 0;
  let fp: lib.Footprint | undefined;

  t.test('detached run', s.opts('detached'), async (t) => {
    const r = await docker(['run', '-d', ...runFlags, imageName, 'sleep', '1000']);
    t.equal(r.code, 0, lib.describe(r));
    id = r.stdout.trim();
    t.match(id, /^[0-9a-f]{64}$/, 'docker printed the container id');
    t.equal(await inspect(id, '{{.State.Status}}'), 'running');
    pid = Number(await inspect(id, '{{.State.Pid}}'));
    t.ok(pid > 0 && lib.alive(pid), `init pid ${pid} is alive on the host`);
    fp = lib.footprint(s.wrapper, id, pid);
    t.ok(fp.cgroups.some((d) => d.includes(s.cgroupParent)), `the container runs in its cgroup (${fp.cgroups[0]})`);
    lib.assertThroughWrapper(t, s.wrapper, id);
  });

  t.test('exec', s.opts('exec'), async (t) => {
    const r = await docker(['exec', id, 'sh', '-c', 'echo exec sees $(cat /proc/1/comm); exit 3']);
    t.equal(r.code, 3, `the exec's exit code comes back: ${lib.describe(r)}`);
    t.equal(r.stdout.trim(), 'exec sees sleep', "the exec runs in the container's pid namespace");
    lib.assertThroughWrapper(t, s.wrapper, id, ['exec']);
  });

  t.test('exec with a tty', s.opts('exec-tty'), async (t) => {
    const r = await docker(['exec', '-t', id, 'sh', '-c', 'tty; sleep 0.3']);
    t.equal(r.code, 0, lib.describe(r));
    t.match(r.stdout, /\/dev\/pts\/\d+/, 'the exec sees a terminal');
    const exec = s.wrapper.callsFor(id).filter((c) => lib.RuntimeWrapper.command(c.argv) === 'exec');
    t.ok(exec.some((c) => c.argv.includes('--console-socket')), 'exec got a --console-socket');
  });

  t.test('exec with a tty keeps the output of a process that exits at once', s.opts('exec-tty-short'), async (t) => {
    const lost: string[] = [];
    for (let i = 0; i < lib.SHORT_TTY_RUNS; i++) {
      const r = await docker(['exec', '-t', id, 'tty']);
      if (!/\/dev\/pts\/\d+/.test(r.stdout)) lost.push(`run ${i}: ${lib.describe(r)} stdout ${JSON.stringify(r.stdout.slice(0, 80))}`);
    }
    t.same(lost, [], `\`exec -t ID tty\` printed its tty in all ${lib.SHORT_TTY_RUNS} runs`);
  });

  t.test('top', s.opts('ps'), async (t) => {
    const r = await docker(['top', id]);
    t.equal(r.code, 0, lib.describe(r));
    t.match(r.stdout, /sleep 1000/, 'lists the container process');
    t.match(r.stdout, new RegExp(`\\b${pid}\\b`), 'with its host pid');
    lib.assertThroughWrapper(t, s.wrapper, id, ['ps']);
  });

  t.test('update cpu shares, seen in the cgroup', s.opts('update'), async (t) => {
    const before = lib.readCpuShares(lib.cgroupDirs(pid));
    const r = await docker(['update', '--cpu-shares', '512', id]);
    t.equal(r.code, 0, lib.describe(r));
    const after = lib.readCpuShares(lib.cgroupDirs(pid));
    t.equal(after.value, after.expect(512), `${after.file} (was ${before.value})`);
    lib.assertThroughWrapper(t, s.wrapper, id, ['update']);
  });

  t.test('pause and unpause', s.opts('pause'), async (t) => {
    const p = await docker(['pause', id]);
    t.equal(p.code, 0, lib.describe(p));
    t.equal(await inspect(id, '{{.State.Status}}'), 'paused');
    t.equal(lib.readFreezer(lib.cgroupDirs(pid)), 'FROZEN', 'the freezer cgroup is FROZEN');
    const u = await docker(['unpause', id]);
    t.equal(u.code, 0, lib.describe(u));
    t.equal(await inspect(id, '{{.State.Status}}'), 'running');
    t.equal(lib.readFreezer(lib.cgroupDirs(pid)), 'THAWED', 'the freezer cgroup is THAWED');
    lib.assertThroughWrapper(t, s.wrapper, id, ['pause', 'resume']);
  });

  t.test('stop: SIGTERM, then SIGKILL after the grace time', s.opts('stop'), async (t) => {
    // sleep as pid 1 has no TERM handler: it outlives the SIGTERM and the 1 s grace.
    const r = await docker(['stop', '-t', '1', id]);
    t.equal(r.code, 0, lib.describe(r));
    t.ok(r.ms >= 900 && r.ms < 15_000, `stop waited for the grace time, then killed (${r.ms} ms)`);
    t.equal(await inspect(id, '{{.State.Status}} {{.State.ExitCode}}'), 'exited 137');
    const kills = s.wrapper.callsFor(id).filter((c) => lib.RuntimeWrapper.command(c.argv) === 'kill');
    t.same(
      kills.map((c) => c.argv[c.argv.length - 1]),
      ['15', '9'],
      'the runtime got kill 15 then kill 9',
    );
  });

  t.test('rm leaves no state, mount, cgroup or process', s.opts('rm'), async (t) => {
    if (!fp) return t.fail('no detached container was recorded');
    const r = await docker(['rm', '-f', id]);
    t.equal(r.code, 0, lib.describe(r));
    await lib.assertNoFootprint(t, fp);
    const ps = await docker(['ps', '-aq']);
    t.equal(ps.stdout.trim(), '', 'docker lists no container');
  });

  t.test('daemon stops cleanly', s.opts('daemon-stop'), async (t) => {
    if (!dockerd) return t.fail('no daemon');
    const r = await dockerd.stop(20_000);
    t.ok(r.clean, `dockerd exited on SIGTERM in ${r.ms} ms`);
    t.equal(r.code, 0, `exit code ${r.code} signal ${r.signal}`);
    for (const d of daemons) if (d !== dockerd) await d.stop(15_000);
    if (supervisedContainerdPid) {
      t.ok(await lib.waitFor(() => !lib.alive(supervisedContainerdPid), 10_000), 'its containerd stopped with it');
    }
    await lib.waitFor(() => lib.processesMentioning(s.dir).length === 0, 5_000);
    t.same(
      lib.processesMentioning(s.dir).map((p) => `${p.pid} ${p.cmdline.slice(0, 100)}`),
      [],
      'no containerd, shim or helper left',
    );
    t.same(lib.mountsUnder(s.dir), [], 'no mount left under the temp dir');
  });

  t.test('runtime errors seen', async (t) => {
    lib.reportFailures(t, s, daemons);
    t.pass('reported');
  });
}
