/**
 * The head start on the kernel's cgroup-attach wait (src/cgroups/warmup.ts), seen in strace:
 * create (through run) and exec write runts' own pid into the cgroup runts is already in, from
 * a thread of their own, before the container's cgroup is made or joined; a command that joins
 * no cgroup does not.
 */
import t from 'tap';
import fs = require('fs');
import path = require('path');
import { spawnSync } from 'child_process';
import { CLI, baseSpec, childEnv, cleanupRoot, makeBundle, runts, scratchDir } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';
import { probeHierarchy } from '../../src/cgroups/path';

const STRACE = '/usr/bin/strace';
const skip = skipUnless({ root: true, fixture: true }) || (fs.existsSync(STRACE) ? false : 'strace missing: apt-get install strace');

/** runts' own cgroup.procs file as warmup.ts picks it (runts runs in this test's cgroup). */
function ownProcsFile(): string {
  const h = probeHierarchy();
  const [controller, mount] = h.unified ? ['', h.unified] : [...h.v1][0];
  return path.join(mount.mountpoint, path.posix.relative(mount.root, h.own.get(controller)!), 'cgroup.procs');
}

interface Traced {
  code: number;
  /** strace's lines: "<tid> <call>". */
  lines: string[];
  /** The runts process (the first one traced). */
  pid: number;
}

function traced(root: string, args: string[]): Traced {
  const dir = scratchDir('warmup-trace');
  try {
    const file = path.join(dir, 'trace');
    const r = spawnSync(STRACE, ['-f', '-qq', '-e', 'trace=openat,write,mkdir', '-o', file, process.execPath, CLI, '--root', root, ...args], {
      env: childEnv(),
      stdio: 'ignore',
      timeout: 60_000,
    });
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    return { code: r.status ?? -1, lines, pid: Number(lines[0].split(' ')[0]) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Index of the line where a thread other than runts' main one opens `file` and writes runts' pid into it, or -1. */
function warmupWrite(trace: Traced, file: string): number {
  const open = new RegExp(`^(\\d+) +openat\\(AT_FDCWD, "${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}", O_WRONLY\\|O_CLOEXEC\\) = (\\d+)`);
  for (let i = 0; i < trace.lines.length; i++) {
    const m = open.exec(trace.lines[i]);
    if (!m || Number(m[1]) === trace.pid) continue;
    const write = `${m[1]} write(${m[2]}, "${trace.pid}", ${String(trace.pid).length}`;
    if (trace.lines.slice(i + 1).some((line) => line.replace(/ +/, ' ').startsWith(write))) return i;
  }
  return -1;
}

const root = scratchDir('warmup-root');
t.teardown(() => cleanupRoot(root));

t.test('create starts the wait before it makes the container cgroup', { skip }, async (t) => {
  const bundle = makeBundle(baseSpec(['/bin/true']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const id = `warm${process.pid}`;
  const trace = traced(root, ['run', '--bundle', bundle, id]);
  t.equal(trace.code, 0, 'run under strace: exit 0');
  const at = warmupWrite(trace, ownProcsFile());
  t.ok(at >= 0, `a thread of runts wrote its pid into ${ownProcsFile()}`);
  const mkdir = trace.lines.findIndex((line) => new RegExp(`mkdir\\("/sys/fs/cgroup/[^"]*/${id}"`).test(line));
  t.ok(mkdir > at, `before the container's cgroup was made (line ${at} < line ${mkdir})`);
  t.equal(runts(root, ['list', '-q']).stdout.trim(), '', 'nothing left');
});

t.test('exec starts it before it joins the container cgroup; state does not', { skip }, async (t) => {
  const bundle = makeBundle(baseSpec(['sleep', '600']));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const id = `warmx${process.pid}`;
  t.equal(runts(root, ['run', '-d', '--bundle', bundle, id]).code, 0, 'a running container');
  t.teardown(() => runts(root, ['delete', '--force', id]));

  const exec = traced(root, ['exec', id, '/bin/true']);
  t.equal(exec.code, 0, 'exec under strace: exit 0');
  const at = warmupWrite(exec, ownProcsFile());
  t.ok(at >= 0, 'a thread of runts wrote its pid into its own cgroup');
  const join = exec.lines.findIndex((line, i) => i > at && /openat\(AT_FDCWD, "\/sys\/fs\/cgroup\/[^"]*\/cgroup\.procs", O_WRONLY/.test(line) && line.includes(`/${id}/`));
  t.ok(join > at, `before the exec'd process joined the container's cgroup (line ${at} < line ${join})`);

  const state = traced(root, ['state', id]);
  t.equal(state.code, 0);
  t.equal(warmupWrite(state, ownProcsFile()), -1, 'state writes no cgroup.procs');
});
