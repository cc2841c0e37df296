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
import fs = require('fs');
import path = require('path');
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
  let imageName = '';

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

  lib.dockerLikeContainerTests(t, s, {
    name: 'docker',
    cli: docker,
    runFlags: ['--network', 'none', '--pull', 'never'],
    imageName: () => imageName,
    parseId: (stdout) => stdout.trim(),
    execTty: { flags: ['--console-socket'], message: 'exec got a --console-socket' },
    topCallsRuntime: true,
    rm: ['rm', '-f'],
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
    await lib.assertNothingLeft(t, s, 'no containerd, shim or helper left');
  });

  t.test('runtime errors seen', async (t) => {
    lib.reportFailures(t, s, daemons);
    t.pass('reported');
  });
}
