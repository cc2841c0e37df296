/** What the container sees, proven from inside: namespaces, pid 1, mounts, devices, users. */
import fs = require('fs');
import t, { type Test } from 'tap';
import type { Spec } from '../../src/config/types';
import { baseSpec, cleanupRoot, makeBundle, runInContainer, runts, scratchDir } from '../helpers/runts';

const root = scratchDir('root');
t.teardown(() => cleanupRoot(root));

function inside(t: Test, script: string, edit: (spec: Spec) => void = () => {}): string {
  const spec = baseSpec(['sh', '-c', script]);
  edit(spec);
  const r = runInContainer(root, spec);
  t.equal(r.code, 0, `container ran: ${r.stderr.trim()}`);
  return r.stdout;
}

const NS_FILES: Record<string, string> = { pid: 'pid', network: 'net', ipc: 'ipc', uts: 'uts', mount: 'mnt', cgroup: 'cgroup', time: 'time_for_children' };

function hostNs(file: string): string {
  return fs.readlinkSync(`/proc/self/ns/${file}`);
}

t.test('every configured namespace is new, the others are the host\'s', async (t) => {
  const script = Object.values(NS_FILES).map((f) => `echo ${f}=$(readlink /proc/self/ns/${f})`).join('; ');
  const all = inside(t, script, (s) => (s.linux!.namespaces = Object.keys(NS_FILES).map((type) => ({ type: type as 'pid' }))));
  for (const file of Object.values(NS_FILES)) t.not(all.match(new RegExp(`^${file}=(.*)$`, 'm'))?.[1], hostNs(file), `${file} is new`);
  const some = inside(t, script, (s) => {
    s.linux!.namespaces = [{ type: 'mount' }, { type: 'pid' }];
    delete s.hostname;
  });
  for (const file of ['net', 'ipc', 'uts', 'cgroup']) t.equal(some.match(new RegExp(`^${file}=(.*)$`, 'm'))?.[1], hostNs(file), `${file} is the host's`);
});

t.test('namespaces given by path are joined', async (t) => {
  const bundle = makeBundle(baseSpec(['sleep', '60']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, 'owner']).code, 0);
  const pid = JSON.parse(runts(root, ['state', 'owner']).stdout).pid;
  const out = inside(t, 'readlink /proc/self/ns/net; readlink /proc/self/ns/uts; hostname', (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' || n.type === 'uts' ? { type: n.type, path: `/proc/${pid}/ns/${NS_FILES[n.type]}` } : n));
    delete s.hostname;
  });
  const [net, uts, hostname] = out.trim().split('\n');
  t.equal(net, fs.readlinkSync(`/proc/${pid}/ns/net`), 'joined the network namespace');
  t.equal(uts, fs.readlinkSync(`/proc/${pid}/ns/uts`), 'joined the uts namespace');
  t.equal(hostname, 'runts', "sees the owner's hostname");
  t.equal(runts(root, ['delete', '--force', 'owner']).code, 0);
});

t.test('the process is pid 1 with the configured hostname, domainname, env and cwd', async (t) => {
  const out = inside(t, 'echo pid=$$; echo host=$(hostname); echo domain=$(cat /proc/sys/kernel/domainname); echo cwd=$(pwd); echo greeting=$GREETING', (s) => {
    s.hostname = 'box';
    s.domainname = 'example.org';
    s.process!.cwd = '/work/new/dir';
    s.process!.env!.push('GREETING=hello world');
  });
  t.match(out, /^pid=1$/m);
  t.match(out, /^host=box$/m);
  t.match(out, /^domain=example.org$/m);
  t.match(out, /^cwd=\/work\/new\/dir$/m, 'a missing cwd is created');
  t.match(out, /^greeting=hello world$/m);
});

t.test('uid, gid, additional groups and umask', async (t) => {
  const out = inside(t, 'id; umask; touch /tmp/f; stat -c %a /tmp/f', (s) => {
    s.process!.user = { uid: 1000, gid: 1000, additionalGids: [100], umask: 0o077 };
    s.root!.readonly = false;
  });
  t.match(out, /uid=1000\(user\) gid=1000\(user\) groups=100\(users\)/);
  t.match(out, /^0077$/m);
  t.match(out, /^600$/m, 'files are created through the umask');
});

t.test('mounts appear in mountinfo with their options and propagation', async (t) => {
  const hostDir = scratchDir('bindsrc');
  fs.writeFileSync(`${hostDir}/hello`, 'from the host');
  t.teardown(() => fs.rmSync(hostDir, { recursive: true, force: true }));
  const out = inside(t, 'cat /proc/self/mountinfo; cat /data/hello; echo; cat /etc/conf; echo; touch /data/x 2>&1; touch /tmp/x 2>&1 || true', (s) => {
    s.mounts!.push({ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'nosuid'] });
    s.mounts!.push({ destination: '/etc/conf', type: 'bind', source: `${hostDir}/hello`, options: ['bind', 'ro'] });
    s.mounts!.push({ destination: '/shared', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'rshared'] });
  });
  const line = (mountPoint: string) => out.split('\n').find((l) => l.split(' ')[4] === mountPoint) ?? '';
  t.match(line('/'), / \/ ro,/, 'the root is read-only');
  t.match(line('/proc'), / - proc proc /);
  t.match(line('/dev'), /nosuid.* - tmpfs tmpfs .*size=65536k,mode=755/);
  t.match(line('/dev/pts'), / - devpts devpts .*ptmxmode=666/);
  t.match(line('/sys'), /^\S+ \S+ \S+ \S+ \/sys ro,nosuid,nodev,noexec/);
  t.match(line('/data'), /^\S+ \S+ \S+ \S+ \/data ro,nosuid/, 'a ro,nosuid rbind');
  t.match(line('/etc/conf'), /\/etc\/conf ro/, 'a file bind mount');
  t.match(line('/shared'), / shared:\d+ /, 'rshared propagation');
  t.match(out, /from the host\nfrom the host/, 'bind mounts show the host content');
  t.match(out, /touch: \/data\/x: Read-only file system/);
});

t.test('default and configured devices, /dev links', async (t) => {
  const out = inside(t, 'ls -ln /dev; ls -ln /dev/extra', (s) => {
    s.linux!.devices = [{ path: '/dev/extra/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o600, uid: 1000, gid: 1000 }];
  });
  for (const [name, major, minor] of [['null', 1, 3], ['zero', 1, 5], ['full', 1, 7], ['tty', 5, 0], ['random', 1, 8], ['urandom', 1, 9]] as const)
    t.match(out, new RegExp(`^crw-rw-rw-\\s+1 0\\s+0\\s+${major},\\s+${minor} .* ${name}$`, 'm'), `/dev/${name}`);
  t.match(out, /^crw-------\s+1 1000\s+1000\s+10,\s+229 .* fuse$/m, 'a configured device with mode and owner');
  t.match(out, /fd -> \/proc\/self\/fd$/m);
  t.match(out, /stdin -> \/proc\/self\/fd\/0$/m);
  t.match(out, /ptmx -> pts\/ptmx$/m);
});

t.test('masked paths are empty, read-only paths refuse writes', async (t) => {
  const out = inside(t, 'echo keys=$(wc -c < /proc/keys); echo timers=$(wc -c < /proc/timer_list); echo acpi=$(ls /proc/acpi | wc -l); (echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; grep -c " /proc/bus ro," /proc/self/mountinfo; umount /proc/keys 2>&1 || echo umount-refused');
  t.match(out, /^keys=0$/m, '/proc/keys masked by /dev/null');
  t.match(out, /^timers=0$/m, '/proc/timer_list masked by /dev/null');
  t.match(out, /^acpi=0$/m, '/proc/acpi masked by an empty tmpfs');
  t.match(out, /ns_last_pid: Read-only file system/);
  t.match(out, /^1$/m, '/proc/bus is mounted read-only');
  t.match(out, /umount-refused/, 'the container cannot unmask');
});

t.test('root.readonly false makes / writable', async (t) => {
  const out = inside(t, 'touch /newfile && echo wrote', (s) => (s.root!.readonly = false));
  t.match(out, /^wrote$/m);
});

t.test('rlimits and noNewPrivileges apply', async (t) => {
  const out = inside(t, 'ulimit -n; grep NoNewPrivs /proc/self/status', (s) => (s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }]));
  t.match(out, /^321$/m);
  t.match(out, /NoNewPrivs:\s+1/);
});
