/**
 * How a container's processes get into their cgroups, seen in strace and from inside. With runts'
 * fs driver on v1 hierarchies nobody writes a pid into a cgroup.procs file (a write that waits out
 * an RCU grace period in the kernel): the container's init writes "0" into each v1 hierarchy's
 * `tasks` file, and on the hybrid layout the process is cloned into its unified cgroup
 * (native/init/cgroups.cc, PlanCgroupJoin); with a new cgroup namespace, the cloned process
 * makes it. Where the runtime still writes a pid and the entry can tell from argv (the systemd
 * driver's create), runts' entry gets the kernel's wait going first from a thread of its own
 * (src/cgroups/warmup.ts); `state` does neither. (Pure v2: test/vm/cgroup-v2-live.test.ts.)
 */
import t, { type Test } from 'tap';
import fs = require('fs');
import path = require('path');
import { spawnSync } from 'child_process';
import { CLI, baseSpec, bundleFor, childEnv, cleanupRoot, runts, scratchDir } from '../helpers/runts';
import type { Spec } from '../../src/config/types';
import { skipUnless } from '../helpers/skip';
import { probeHierarchy } from '../../src/cgroups/path';

const STRACE = '/usr/bin/strace';
const hierarchy = probeHierarchy();
const skip = skipUnless({ root: true, fixture: true }) || (fs.existsSync(STRACE) ? false : 'strace missing: apt-get install strace') ||
  (hierarchy.mode === 'v2' ? 'no v1 hierarchies here (pure cgroup v2: the runtime joins the pid)' : false);

/** runts' own cgroup.procs file as warmup.ts picks it (runts runs in this test's cgroup). */
function ownProcsFile(): string {
  const [controller, mount] = hierarchy.unified ? ['', hierarchy.unified] : [...hierarchy.v1][0];
  return path.join(mount.mountpoint, path.posix.relative(mount.root, hierarchy.own.get(controller)!), 'cgroup.procs');
}

interface Traced {
  code: number;
  stdout: string;
  /** strace's lines: "<tid> <call>". */
  lines: string[];
  /** The runts process (the first one traced). */
  pid: number;
}

/** runts under strace; `straceArgs` adds to strace's own (a fault to inject). */
function traced(root: string, args: string[], globals: string[] = [], straceArgs: string[] = []): Traced {
  const dir = scratchDir('join-trace');
  try {
    const file = path.join(dir, 'trace');
    const r = spawnSync(STRACE, ['-f', '-qq', '-y', '-e', 'trace=openat,write,writev,mkdir,clone3,unshare,setns', ...straceArgs, '-o', file, process.execPath, CLI, '--root', root, ...globals, ...args], {
      env: childEnv(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    const lines = joinInterrupted(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean));
    return { code: r.status ?? -1, stdout: r.stdout, lines, pid: Number(lines[0].split(' ')[0]) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A call that another process's call interrupted in strace's output ("<unfinished ...>", later
 * "<... openat resumed>") as one line, where it began: runts and the init run side by side.
 */
function joinInterrupted(lines: string[]): string[] {
  const open = new Map<string, number>();
  const out: string[] = [];
  for (const line of lines) {
    const tid = line.split(' ')[0];
    const unfinished = / <unfinished \.\.\.>$/.exec(line);
    const resumed = /^\d+ +<\.\.\. [a-z0-9_]+ resumed>(.*)$/.exec(line);
    if (resumed && open.has(tid)) {
      out[open.get(tid)!] += resumed[1].replace(/^\) +=/, ') =');  // strace pads a resumed result
      open.delete(tid);
    } else if (unfinished) {
      open.set(tid, out.length);
      out.push(line.slice(0, unfinished.index));
    } else {
      out.push(line);
    }
  }
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What each process wrote into the files under /sys/fs/cgroup named `base` (strace -y names each fd's file). */
function cgroupWrites(trace: Traced, base: string): { tid: string; file: string; value: string }[] {
  const out = [];
  for (const line of trace.lines) {
    const m = /^(\d+) +write\(\d+<(\/sys\/fs\/cgroup\/[^>]+)>, "([^"]*)"/.exec(line);
    if (m && path.basename(m[2]) === base) out.push({ tid: m[1], file: m[2], value: m[3] });
  }
  return out;
}

/** The hierarchy lines of /proc/self/cgroup, as a container's process printed it. */
function hierarchyLines(catOutput: string): string[] {
  return catOutput.split('\n').filter((l) => /^\d+:/.test(l));
}

/** The container's cgroup in each hierarchy line of /proc/self/cgroup. */
function membership(catOutput: string, id: string): { lines: number; outside: string[] } {
  const lines = hierarchyLines(catOutput);
  return { lines: lines.length, outside: lines.filter((l) => !l.endsWith(`/${id}`)) };
}

/** Checks that a process in a cgroup namespace sees every hierarchy at the namespace's root. */
function atNamespaceRoot(t: Test, catOutput: string): void {
  const lines = hierarchyLines(catOutput);
  t.ok(lines.length > 1 && lines.every((l) => l.endsWith(':/')), `inside, every hierarchy is the namespace's root: ${lines.join(' ')}`);
}

/** `spec` with a new cgroup namespace. */
function withCgroupNamespace(spec: Spec): Spec {
  spec.linux!.namespaces!.push({ type: 'cgroup' });
  return spec;
}

const root = scratchDir('join-root');
t.teardown(() => cleanupRoot(root));

t.test('create: the container joins by itself, no pid goes into a cgroup.procs', { skip }, async (t) => {
  const bundle = bundleFor(t, baseSpec(['cat', '/proc/self/cgroup']));
  const id = `join${process.pid}`;
  const trace = traced(root, ['run', '--bundle', bundle, id]);
  t.equal(trace.code, 0, 'run under strace: exit 0');

  const seen = membership(trace.stdout, id);
  t.ok(seen.lines > 1, `the container printed ${seen.lines} hierarchies`);
  t.same(seen.outside, [], `inside, every hierarchy says .../${id}`);

  t.same(cgroupWrites(trace, 'cgroup.procs').filter((w) => w.file.includes(`/${id}/`)), [], 'nobody wrote into the container\'s cgroup.procs');
  const tasks = cgroupWrites(trace, 'tasks').filter((w) => w.file.endsWith(`/${id}/tasks`));
  t.ok(tasks.length >= hierarchy.v1.size - 1, `${tasks.length} v1 tasks files written`);
  t.ok(tasks.every((w) => w.value === '0' && Number(w.tid) !== trace.pid), 'each by the container process itself, with "0"');
  if (hierarchy.unified) {
    // By its absolute path, or (its namespaces made ahead) relative to the host's "/" it kept.
    const unifiedDir = new RegExp(`^(\\d+) +openat\\((?:AT_FDCWD|\\d+</>)[^,]*, "/?${escape(hierarchy.unified.mountpoint.slice(1))}/[^"]*${id}", O_RDONLY[A-Z_|]*\\) = (\\d+)`);
    const opened = trace.lines.map((l) => unifiedDir.exec(l)).find((m) => m && Number(m[1]) !== trace.pid);
    t.ok(opened, 'the init opened the unified cgroup directory');
    t.ok(opened && trace.lines.some((l) => l.startsWith(`${opened[1]} `) && new RegExp(`clone3\\(\\{flags=CLONE_PARENT\\|CLONE_INTO_CGROUP, .*cgroup=${opened[2]}\\}`).test(l)),
      'and cloned the container process into it');
  }
  t.same(cgroupWrites(trace, 'cgroup.procs').filter((w) => w.file === ownProcsFile()), [], 'no head start: nothing to wait for');
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'nothing left');
});

t.test('resources go in while the init sets up, and are in effect inside', { skip }, async (t) => {
  const spec = baseSpec(['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max']);
  spec.linux!.resources = { ...spec.linux!.resources, memory: { limit: 64 * 1024 * 1024 }, pids: { limit: 50 } };
  const bundle = bundleFor(t, spec);
  const id = `joinres${process.pid}`;
  const trace = traced(root, ['run', '--bundle', bundle, id]);
  t.equal(trace.code, 0, 'run under strace: exit 0');
  t.same(trace.stdout.trim().split('\n'), [String(64 * 1024 * 1024), '50'], 'inside, the memory and pids limits are set');
  const index = (re: RegExp) => trace.lines.findIndex((l) => l.startsWith(`${trace.pid} `) && re.test(l));
  // A frame is one writev: its length, then the JSON (the plan's begins with its namespaces).
  const plan = index(/writev\(\d+<socket:\[\d+\]>, \[\{iov_base=".*", iov_len=4\}, \{iov_base="\{\\"namespaces\\"/);
  const limit = index(new RegExp(`write\\(\\d+<[^>]*/${id}/memory\\.limit_in_bytes>, "67108864"`));
  t.ok(plan >= 0 && limit >= 0, 'runts sent the plan and wrote the limit');
  t.ok(plan < limit, `the limit went in after the plan went to the init (lines ${plan} < ${limit})`);
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'nothing left');
});

t.test('the init joins only once runts has written the resources: a device list passes through a deny-all', { skip }, async (t) => {
  const spec = baseSpec(['sh', '-c', 'cat /dev/null && echo null-ok']);
  spec.linux!.resources = { ...spec.linux!.resources, devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }] };
  const bundle = bundleFor(t, spec);
  const id = `joinorder${process.pid}`;
  // Every write held back 20 ms: runts' rule writes are many, the init's before its join few, so
  // without the barrier the init would join long before the last rule.
  const trace = traced(root, ['run', '--bundle', bundle, id], [], ['-e', 'inject=write:delay_enter=20000']);
  t.equal(trace.code, 0, 'run under strace: exit 0');
  t.match(trace.stdout, /^null-ok$/m, 'inside, the allowed device opens');
  const at = (re: RegExp) => trace.lines.map((line, index) => (re.test(line) ? index : -1)).filter((index) => index >= 0);
  const rules = at(new RegExp(`^${trace.pid} +write\\(\\d+<[^>]*/${id}/devices\\.(allow|deny)>`));
  const join = at(new RegExp(`^(?!${trace.pid} )\\d+ +write\\(\\d+<[^>]*devices[^>]*/${id}/tasks>, "0"`));
  t.ok(rules.length >= 2 && join.length === 1, `runts wrote ${rules.length} device rules, the init joined the devices cgroup ${join.length} time(s)`);
  t.ok(rules[rules.length - 1] < join[0], `the last rule went in before the join (lines ${rules[rules.length - 1]} < ${join[0]})`);
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'nothing left');
});

t.test('a resource the kernel refuses while the init sets up: one error, nothing left', { skip }, async (t) => {
  const spec = baseSpec(['true']);
  const cgroupsPath = `/runts-join-bad-${process.pid}/c`;
  spec.linux!.cgroupsPath = cgroupsPath;
  spec.linux!.resources = { ...spec.linux!.resources, cpu: { cpus: '999' } };
  const bundle = bundleFor(t, spec);
  const trace = traced(root, ['run', '--bundle', bundle, `joinbad${process.pid}`]);
  t.equal(trace.code, 1, 'exit 1');
  t.ok(trace.lines.some((l) => /clone3\(\{flags=CLONE_PARENT\|CLONE_INTO_CGROUP/.test(l)) || !hierarchy.unified, 'the container process had been cloned');
  t.same(fs.readdirSync(root), [], 'no state dir');
  const mounts = [...hierarchy.v1.values(), ...(hierarchy.unified ? [hierarchy.unified] : [])].map((m) => m.mountpoint);
  // A live container process would hold its unified cgroup: the directory could not go.
  t.same(mounts.map((m) => path.join(m, cgroupsPath)).filter((d) => fs.existsSync(path.dirname(d))), [], 'no cgroup directory in any hierarchy');
  const error = runts(root, ['run', '--bundle', bundle, `joinbad${process.pid}`]);
  t.match(error.stderr.trim(), /^[^\n]*failed to write \\"999\\": write [^\n]*\/c\/cpuset\.cpus: [^\n]*$/, 'one line naming the value and the file');
  t.same(fs.readdirSync(root), [], 'again nothing left');
});

t.test('a new cgroup namespace: made by the process cloned into its cgroup, rooted there', { skip }, async (t) => {
  const bundle = bundleFor(t, withCgroupNamespace(baseSpec(['cat', '/proc/self/cgroup'])));
  const id = `joinns${process.pid}`;
  const trace = traced(root, ['run', '--bundle', bundle, id]);
  t.equal(trace.code, 0, 'run under strace: exit 0');
  atNamespaceRoot(t, trace.stdout);
  t.same(cgroupWrites(trace, 'cgroup.procs').filter((w) => w.file.includes(`/${id}/`)), [], 'nobody wrote into the container\'s cgroup.procs');
  const clone = trace.lines.map((l) => /^(\d+) +clone3\(\{flags=CLONE_PARENT\|CLONE_INTO_CGROUP, .*\) = (\d+)/.exec(l)).find((m) => m);
  t.ok(clone, 'the container process was cloned into its cgroup');
  const unshared = trace.lines.filter((l) => /unshare\([^)]*CLONE_NEWCGROUP/.test(l)).map((l) => l.split(' ')[0]);
  t.same(unshared, clone ? [clone[2]] : ['?'], 'and only it made the cgroup namespace');
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'nothing left');
});

t.test('a kernel without CLONE_INTO_CGROUP: stage 1 joins the unified hierarchy, the child is born there', { skip }, async (t) => {
  // strace makes every clone3 fail with ENOSYS, as before Linux 5.3 (glibc falls back to clone).
  const bundle = bundleFor(t, withCgroupNamespace(baseSpec(['cat', '/proc/self/cgroup'])));
  const id = `joinold${process.pid}`;
  const trace = traced(root, ['run', '--bundle', bundle, id], [], ['-e', 'inject=clone3:error=ENOSYS']);
  t.equal(trace.code, 0, 'run under strace, clone3 refused: exit 0');
  atNamespaceRoot(t, trace.stdout);
  if (hierarchy.unified) {
    const joins = cgroupWrites(trace, 'cgroup.procs').filter((w) => w.file.includes(`/${id}/`));
    const unshared = trace.lines.find((l) => /unshare\([^)]*CLONE_NEWCGROUP/.test(l));
    t.same(joins.map((w) => w.value), ['0'], 'the init wrote "0" into the unified cgroup.procs');
    t.ok(unshared && joins.length === 1 && !unshared.startsWith(`${joins[0].tid} `), 'and a process other than the one that made the cgroup namespace');
  }
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'nothing left');
});

t.test('exec: the exec\'d process joins by itself too; state writes nothing', { skip }, async (t) => {
  const bundle = bundleFor(t, baseSpec(['sleep', '600']));
  const id = `joinx${process.pid}`;
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, id]).code, 0, 'a running container');
  t.teardown(() => runts(root, ['delete', '--force', id]));

  const exec = traced(root, ['exec', id, 'cat', '/proc/self/cgroup']);
  t.equal(exec.code, 0, 'exec under strace: exit 0');
  const seen = membership(exec.stdout, id);
  t.ok(seen.lines > 1, `the exec'd process printed ${seen.lines} hierarchies`);
  t.same(seen.outside, [], `inside, every hierarchy says .../${id}`);
  t.same(cgroupWrites(exec, 'cgroup.procs'), [], 'no cgroup.procs written at all');
  const tasks = cgroupWrites(exec, 'tasks').filter((w) => w.file.endsWith(`/${id}/tasks`));
  t.ok(tasks.length >= hierarchy.v1.size - 1 && tasks.every((w) => w.value === '0'), `"0" into ${tasks.length} v1 tasks files`);

  const state = traced(root, ['state', id]);
  t.equal(state.code, 0);
  t.same([...cgroupWrites(state, 'cgroup.procs'), ...cgroupWrites(state, 'tasks')], [], 'state writes no cgroup file');
});

t.test('exec into a cgroup namespace: born in the cgroup, then joins the namespace', { skip }, async (t) => {
  const bundle = bundleFor(t, withCgroupNamespace(baseSpec(['sleep', '600'])));
  const id = `joinxns${process.pid}`;
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, id]).code, 0, 'a running container with a cgroup namespace');
  t.teardown(() => runts(root, ['delete', '--force', id]));

  const exec = traced(root, ['exec', id, 'sh', '-c', 'cat /proc/self/cgroup; exec ls -l /proc/self/fd']);
  t.equal(exec.code, 0, 'exec under strace: exit 0');
  atNamespaceRoot(t, exec.stdout);
  // ls's own fd on the directory (3) is listed without a target.
  const fds = exec.stdout.split('\n').map((l) => / (\d+) -> /.exec(l)?.[1]).filter((fd) => fd !== undefined);
  t.same(fds, ['0', '1', '2'], 'and it holds no fd but its stdio (the container\'s pidfd is not passed on)');
  const clone = exec.lines.map((l) => /^(\d+) +clone3\(\{flags=CLONE_PARENT\|CLONE_INTO_CGROUP, .*\) = (\d+)/.exec(l)).find((m) => m);
  t.ok(clone, 'the process was cloned into its cgroup');
  const joins = exec.lines.filter((l) => /setns\([^)]*CLONE_NEWCGROUP/.test(l)).map((l) => l.split(' ')[0]);
  t.same(joins, clone ? [clone[2]] : ['?'], 'and only it joined the cgroup namespace, once born');
  t.same(cgroupWrites(exec, 'cgroup.procs'), [], 'no cgroup.procs written');
});

t.test('--systemd-cgroup still gets the head start from the entry', { skip }, async (t) => {
  // No systemd here, so the create fails; the entry's head start comes before anything else.
  const bundle = bundleFor(t, baseSpec(['/bin/true']));
  const trace = traced(root, ['create', '--bundle', bundle, `joins${process.pid}`], ['--systemd-cgroup']);
  const own = cgroupWrites(trace, 'cgroup.procs').filter((w) => w.file === ownProcsFile());
  t.ok(own.some((w) => w.value === String(trace.pid) && Number(w.tid) !== trace.pid), `a thread of runts wrote its pid into ${ownProcsFile()}`);
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'nothing left');
});
