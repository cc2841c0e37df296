/**
 * The client suites' cgroup cleanup (lib.removeCgroupTreeOnce) leaves nothing of a parent cgroup
 * a client was given, including what Podman's cgroupfs manager writes under a controller that is
 * not mounted: plain directories and a `tasks` file on the tmpfs /sys/fs/cgroup.
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import { cgroupMounts, removeCgroupTreeOnce } from './lib';

const ROOT = '/sys/fs/cgroup';
const mounted = new Set(cgroupMounts().map((m) => m.dir));
const unmounted = mounted.has(ROOT) || process.getuid?.() !== 0
  ? []
  : fs.readdirSync(ROOT).map((name) => path.join(ROOT, name)).filter((dir) => !mounted.has(dir) && fs.statSync(dir).isDirectory());

t.test('a parent made where no hierarchy is mounted is removed too', { skip: unmounted.length === 0 ? 'needs root and a controller directory with nothing mounted on it under a tmpfs /sys/fs/cgroup' : false }, async (t) => {
  const rel = `/runts-clients-cleanup-${process.pid}`;
  const made = path.join(unmounted[0], rel);
  fs.mkdirSync(path.join(made, 'conmon'), { recursive: true });
  fs.writeFileSync(path.join(made, 'conmon', 'tasks'), '12345\n');
  t.teardown(() => fs.rmSync(made, { recursive: true, force: true }));
  t.ok(removeCgroupTreeOnce(rel), 'nothing is left in any hierarchy');
  t.notOk(fs.existsSync(made), `${made} is gone`);
});
