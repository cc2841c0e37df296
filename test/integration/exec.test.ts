/** exec joins a running container: namespaces, cgroup, settings, exit codes, errors. */
import fs = require('fs');
import path = require('path');
import t from 'tap';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir } from '../helpers/runts';

const root = scratchDir('root');
t.teardown(() => cleanupRoot(root));

const bundle = makeBundle(baseSpec(['sleep', '300']));
t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
t.before(() => {
  const r = runts(root, ['run', '-d', '--bundle', bundle, 'box']);
  if (r.code !== 0) throw new Error(r.stderr);
});
const initPid = () => JSON.parse(runts(root, ['state', 'box']).stdout).pid as number;

t.test('the process joins every namespace of the container', async (t) => {
  const pid = initPid();
  const r = runts(root, ['exec', 'box', 'sh', '-c', 'for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done; hostname; ls /proc/$$/fd; true']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const expected = ['pid', 'net', 'ipc', 'uts', 'mnt'].map((n) => fs.readlinkSync(`/proc/${pid}/ns/${n}`));
  t.same(lines.slice(0, 5), expected, 'same namespaces as the init');
  t.equal(lines[5], 'runts', "the container's hostname");
  t.same(lines.slice(6), ['0', '1', '2'], 'no runtime fd');
});

t.test('the process joins the cgroup and keeps the container settings', async (t) => {
  const r = runts(root, ['exec', 'box', 'sh', '-c', 'cat /proc/self/cgroup; grep -E "^(CapBnd|NoNewPrivs)" /proc/self/status']);
  t.equal(r.code, 0, r.stderr);
  const initCgroups = fs.readFileSync(`/proc/${initPid()}/cgroup`, 'utf8');
  t.equal(r.stdout.split('\n').filter((l) => /^\d+:/.test(l)).join('\n'), initCgroups.trim(), "the init's cgroups");
  t.match(r.stdout, /CapBnd:\s+0000000020000420/);
  t.match(r.stdout, /NoNewPrivs:\s+1/);
});

t.test("the runtime's signal settings do not reach the processes", async (t) => {
  // Node ignores SIGPIPE and SIGXFSZ, glibc's posix_spawn hands on its internal 32 and 33 as
  // ignored: an ignored signal or a blocked mask would survive execve into the container.
  const exec = runts(root, ['exec', 'box', 'grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status']);
  t.equal(exec.code, 0, exec.stderr);
  t.match(exec.stdout, /SigBlk:\s+0{16}\n/, "the exec'd process blocks nothing");
  t.match(exec.stdout, /SigIgn:\s+0{16}\n/, "the exec'd process ignores nothing");
  const init = fs.readFileSync(`/proc/${initPid()}/status`, 'utf8');
  t.match(init, /SigBlk:\s+0{16}\n/, "the container's init blocks nothing");
  t.match(init, /SigIgn:\s+0{16}\n/, "the container's init ignores nothing");
});

t.test('flags override user, cwd, env and add capabilities', async (t) => {
  const r = runts(root, ['exec', '--user', '1000:1000', '-g', '100', '--cwd', '/tmp', '-e', 'FOO=bar', '--cap', 'CAP_CHOWN', 'box', 'sh', '-c', 'id; pwd; echo $FOO; grep CapBnd /proc/self/status']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /uid=1000\(user\) gid=1000\(user\) groups=100\(users\)/);
  t.match(r.stdout, /^\/tmp$/m);
  t.match(r.stdout, /^bar$/m);
  t.match(r.stdout, /CapBnd:\s+0000000020000421/, 'CAP_CHOWN added');
});

t.test('--process runs a process.json; bad ones are refused', async (t) => {
  const dir = scratchDir('proc');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const good = path.join(dir, 'good.json');
  fs.writeFileSync(good, JSON.stringify({ user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo from-process-json; exit 3'], cwd: '/', env: ['PATH=/bin'] }));
  const r = runts(root, ['exec', '--process', good, 'box']);
  t.equal(r.code, 3, 'exit status of the process');
  t.match(r.stdout, /from-process-json/);
  const notJson = path.join(dir, 'bad.json');
  fs.writeFileSync(notJson, '{ nope');
  const bad = runts(root, ['exec', '--process', notJson, 'box']);
  t.equal(bad.code, 255, "runc's status when exec itself fails");
  t.match(bad.stderr, /process\.json: invalid JSON/);
  const invalid = path.join(dir, 'invalid.json');
  fs.writeFileSync(invalid, JSON.stringify({ cwd: '/', args: [] }));
  const inv = runts(root, ['exec', '--process', invalid, 'box']);
  t.equal(inv.code, 255);
  t.match(inv.stderr, /\/args/);
});

t.test('exit codes, --detach and --pid-file', async (t) => {
  t.equal(runts(root, ['exec', 'box', 'sh', '-c', 'exit 42']).code, 42);
  t.equal(runts(root, ['exec', 'box', 'sh', '-c', 'kill -9 $$']).code, 137, '128 + SIGKILL');
  const pidFile = path.join(bundle, 'exec.pid');
  const r = runts(root, ['exec', '--detach', '--pid-file', pidFile, 'box', 'sleep', '30']);
  t.equal(r.code, 0, r.stderr);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  t.ok(fs.existsSync(`/proc/${pid}`), 'the detached process runs');
  t.equal(fs.readlinkSync(`/proc/${pid}/ns/pid`), fs.readlinkSync(`/proc/${initPid()}/ns/pid`));
});

t.test('exec into an unknown or stopped container fails cleanly (255), into a created one works', async (t) => {
  const unknown = runts(root, ['exec', 'ghost', 'true']);
  t.equal(unknown.code, 255);
  t.match(unknown.stderr, /container does not exist/);
  const created = makeBundle(baseSpec(['sleep', '30']));
  t.teardown(() => fs.rmSync(created, { recursive: true, force: true }));
  t.equal(runts(root, ['create', '--bundle', created, 'fresh']).code, 0);
  const r = runts(root, ['exec', 'fresh', 'true']);
  t.equal(r.code, 0, `as runc allows it: ${r.stderr}`);
  t.equal(runts(root, ['kill', 'fresh', 'KILL']).code, 0);
  for (let i = 0; i < 100 && JSON.parse(runts(root, ['state', 'fresh']).stdout).status !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  const stopped = runts(root, ['exec', 'fresh', 'true']);
  t.equal(stopped.code, 255);
  t.match(stopped.stderr, /cannot exec in a stopped container/);
  t.equal(runts(root, ['delete', 'fresh']).code, 0);
  const missing = runts(root, ['exec', 'box', 'no-such-binary']);
  t.equal(missing.code, 255);
  t.match(missing.stderr, /executable file not found/);
});

t.test("an exec'd process gets the container's seccomp filter", async (t) => {
  const spec = baseSpec(['sleep', '60']);
  spec.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }] };
  const filtered = makeBundle(spec);
  t.teardown(() => fs.rmSync(filtered, { recursive: true, force: true }));
  t.equal(runts(root, ['run', '-d', '--bundle', filtered, 'filtered']).code, 0);
  const r = runts(root, ['exec', 'filtered', 'sh', '-c', 'grep ^Seccomp: /proc/self/status; mkdir /tmp/x 2>&1; true']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /Seccomp:\s+2/);
  t.match(r.stdout, /Function not implemented/, 'mkdir refused with the configured errno');
  t.equal(runts(root, ['delete', '--force', 'filtered']).code, 0);
});
