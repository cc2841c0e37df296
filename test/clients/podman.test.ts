/**
 * Podman 4.3 (Debian) + conmon 2.1 driving the runtime under test.
 *
 * Podman has no daemon: every command gets private paths (--root, --runroot, --tmpdir,
 * --network-config-dir) and the environment points its config files at the temp dir
 * (CONTAINERS_CONF, CONTAINERS_STORAGE_CONF, and an empty CONTAINERS_REGISTRIES_CONF, so no
 * name can resolve to a registry; every run also says --pull never). --runtime is the wrapper,
 * --cgroup-manager cgroupfs (each container under a cgroup parent private to this run),
 * --events-backend file, --network none. Podman passes the runtime no --root, so runts uses its
 * default root (/run/runts), as runc uses /run/runc.
 *
 * Podman asks for RLIMIT_NOFILE 1048576 and a large RLIMIT_NPROC; this VM's root has no
 * CAP_SYS_RESOURCE, so containers.conf sets default_ulimits within the current hard limits
 * (runc fails the same way otherwise).
 */
import fs = require('fs');
import path = require('path');
import t from 'tap';
import * as lib from './lib';


/**
 * Checks that fail today with runts (a missing feature or a known defect), by check key: each is
 * a tap todo with its reason under RUNTS_CLIENT_RUNTIME=runts, and runs normally under runc and
 * with RUNTS_CLIENT_STRICT=1. Remove a line when the fix lands.
 */
const RUNTS_TODO: Record<string, string> = {};

const why = lib.unavailable([lib.PODMAN, lib.CONMON]);
if (why) t.plan(0, why);
else main();

function main() {
  t.setTimeout(300_000);
  const s = lib.scaffold('podman', RUNTS_TODO);
  const { podman, root } = lib.podmanSetup(s, 'cgroupfs');
  let imageName = '';

  t.teardown(() =>
    lib.teardown(s, [], async () => {
      // Podman's own cleanup first (stops conmon, unmounts its storage), then the generic one.
      await podman(['rm', '-af', '-t', '0'], { timeoutMs: 30_000 });
      await podman(['system', 'prune', '-f'], { timeoutMs: 30_000 }).catch(() => undefined);
    }),
  );

  t.test('podman loads the image offline, with private storage', s.opts('load'), async (t) => {
    const img = lib.image();
    imageName = img.name;
    const v = await podman(['info', '-f', '{{.Store.GraphRoot}} {{.Host.CgroupManager}} {{.Host.OCIRuntime.Path}}']);
    t.equal(v.code, 0, lib.describe(v));
    t.equal(v.stdout.trim(), `${root} cgroupfs ${s.wrapper.path}`, 'graph root, cgroup manager and runtime are ours');
    // Both archive formats load; the OCI layout one is loaded last.
    for (const [what, file] of [
      ['docker-archive', img.docker],
      ['OCI layout', img.oci],
    ]) {
      const r = await podman(['load', '-i', file]);
      t.equal(r.code, 0, `${what}: ${lib.describe(r)}`);
      t.match(r.stdout, img.name, `${what}: podman load names the image`);
    }
  });

  lib.dockerLikeContainerTests(t, s, {
    name: 'podman',
    cli: podman,
    runFlags: ['--network', 'none', '--pull', 'never', '--cgroup-parent', s.cgroupParent],
    imageName: () => imageName,
    parseId: (stdout) => stdout.trim().split('\n').pop() ?? '',
    execTty: { flags: ['--console-socket', '--tty'], message: 'exec got --tty --console-socket' },
    // podman top reads /proc itself (it does not call the runtime's ps).
    topCallsRuntime: false,
    rm: ['rm'],
  });

  t.test('nothing keeps running: no conmon, no mount', s.opts('daemon-stop'), async (t) => {
    // Podman is daemonless: its "daemon stops cleanly" is conmon gone and storage unmounted.
    await lib.assertNothingLeft(t, s, 'no conmon or helper left');
    const rootDir = s.kind === 'runts' ? '/run/runts' : '/run/runc';
    const mine = s.wrapper.calls().filter((c) => lib.RuntimeWrapper.command(c.argv) === 'create').map((c) => c.argv[c.argv.length - 1]);
    t.same(
      mine.filter((c) => fs.existsSync(path.join(rootDir, c))),
      [],
      `no container of this run is left in ${rootDir}`,
    );
  });

  t.test('runtime errors seen', async (t) => {
    lib.reportFailures(t, s, []);
    t.pass('reported');
  });
}
