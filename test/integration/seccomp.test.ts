/**
 * linux.seccomp, proven from inside real containers: /proc/self/status, the errno a denied
 * syscall returns, processes killed by SIGSYS, argument conditions, runc's -ENOSYS stub, flags,
 * SCMP_ACT_NOTIFY with a listener owned by the test, and bad input. Wherever Debian's runc 1.1.5
 * accepts the same config, it runs too and must print exactly what runts prints.
 *
 * Syscalls busybox cannot make come from `probe`, a tiny static C program built here with gcc
 * and copied into each bundle: `probe NR[,ARG...]...` makes each syscall (a leading "i": the i386
 * ABI through int $0x80) and prints "<spec> <errno>" (0: it succeeded). Return values are left
 * out: pids and fd numbers differ between runtimes.
 */
import { spawnSync } from 'child_process';
import fs = require('fs');
import path = require('path');
import t, { type Test } from 'tap';
import { native } from '../../src/native';
import type { LinuxSeccomp, Spec } from '../../src/config/types';
import { REPO, baseSpec, cleanupRoot, makeBundle, runts, scratchDir, type Result } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';

const RUNC = '/usr/bin/runc';

const PROBE_SOURCE = String.raw`
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
static long int80(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return ret;
}
int main(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    char* s = argv[i];
    int i386 = *s == 'i';
    if (i386) s++;
    unsigned long a[7] = {0};
    for (int j = 0; j < 7 && s; j++) { a[j] = strtoul(s, &s, 0); if (*s == ',') s++; else s = NULL; }
    long r;
    int err = 0;
    if (i386) {
      r = int80((long)a[0], (long)a[1], (long)a[2], (long)a[3]);
      if (r < 0 && r > -4096) { err = (int)-r; r = -1; }
    } else {
      errno = 0;
      r = syscall((long)a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
      if (r < 0) err = errno;
    }
    printf("%s %d\n", argv[i], r < 0 ? err : 0);
  }
  return 0;
}
`;

const root = scratchDir('seccomp-root');
const work = scratchDir('seccomp-work');
t.teardown(() => {
  cleanupRoot(root);
  fs.rmSync(work, { recursive: true, force: true });
});

function sleepMs(ms: number) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

let idCounter = 0;
const newId = (tag: string) => `sc-${tag}-${process.pid}-${++idCounter}`;

function buildProbe(): string | null {
  const src = path.join(work, 'probe.c');
  const bin = path.join(work, 'probe');
  fs.writeFileSync(src, PROBE_SOURCE);
  const r = spawnSync('gcc', ['-static', '-O2', '-o', bin, src], { encoding: 'utf8' });
  return r.status === 0 ? bin : null;
}

const runcAvailable = spawnSync(RUNC, ['--version'], { encoding: 'utf8' }).status === 0;
const skip =
  skipUnless({ root: true, fixture: true });
const probe = skip ? null : buildProbe();

/** A bundle for `spec` with the probe as /bin/probe (and under `extraNames` too), removed at teardown. */
function bundleFor(t: Test, spec: Spec, extraNames: string[] = []): string {
  const bundle = makeBundle(spec, fs.mkdtempSync(path.join(work, 'bundle-')));
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  if (probe) for (const name of ['probe', ...extraNames]) fs.copyFileSync(probe, path.join(bundle, 'rootfs', 'bin', name));
  return bundle;
}

/** baseSpec running `sh -c script` (stderr folded into stdout) under `seccomp`. */
function shSpec(script: string, seccomp: LinuxSeccomp | undefined, noNewPrivileges = true): Spec {
  const spec = baseSpec(['sh', '-c', `{ ${script}; } 2>&1; exit 0`]);
  spec.process!.noNewPrivileges = noNewPrivileges;
  if (seccomp) spec.linux!.seccomp = seccomp;
  return spec;
}

function runRuntsSpec(t: Test, spec: Spec, extraNames: string[] = []): Result {
  const bundle = bundleFor(t, spec, extraNames);
  return runts(root, ['run', '--bundle', bundle, newId('run')]);
}

function runRuncSpec(t: Test, spec: Spec): Result {
  const bundle = bundleFor(t, spec);
  const runcRoot = fs.mkdtempSync(path.join(work, 'runc-root-'));
  const id = newId('runc');
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  t.teardown(() => {
    spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
    fs.rmSync(runcRoot, { recursive: true, force: true });
  });
  const r = spawnSync(RUNC, ['--root', runcRoot, 'run', '--bundle', bundle, id], { encoding: 'utf8', env, timeout: 30_000 });
  return { code: r.status ?? 128 + (r.signal === 'SIGKILL' ? 9 : 0), stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs `spec` under runts (exit 0 expected) and, when runc is there, checks runc prints the same. */
function sameAsRunc(t: Test, spec: Spec, expectCode = 0): Result {
  const ours = runRuntsSpec(t, spec);
  t.equal(ours.code, expectCode, `runts exits ${expectCode}`, { stderr: ours.stderr, stdout: ours.stdout });
  if (runcAvailable) {
    const theirs = runRuncSpec(t, spec);
    t.equal(theirs.code, ours.code, 'runc exits the same', { stderr: theirs.stderr });
    t.equal(ours.stdout, theirs.stdout, 'runts shows what runc shows');
  }
  return ours;
}

/** Asserts a refused config: exit 1, one stderr line naming the JSON pointer, nothing created. */
function assertRefused(t: Test, spec: Spec, pointer: string, pattern: RegExp) {
  const bundle = bundleFor(t, spec);
  const id = newId('bad');
  const r = runts(root, ['create', '--bundle', bundle, id]);
  t.equal(r.code, 1, 'exits 1');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
  t.ok(lines[0].includes(`config.json: ${pointer}: `), `names ${pointer}`);
  t.match(lines[0], pattern);
  t.notOk(fs.existsSync(path.join(root, id)), 'no state directory');
  t.match(runts(root, ['state', id]).stderr, /does not exist/, 'no container');
}

const ALLOW = 'SCMP_ACT_ALLOW' as const;
const STATUS = 'grep -E "^Seccomp(_filters)?:" /proc/self/status';

function dockerProfile(): LinuxSeccomp {
  const spec = JSON.parse(fs.readFileSync(path.join(REPO, 'fixtures', 'configs', 'valid', 'docker-spec-1.json'), 'utf8')) as Spec;
  return spec.linux!.seccomp!;
}

if (skip) {
  t.plan(0, skip);
} else {
  t.test('a denied syscall fails with EPERM, or with errnoRet, before the filesystem is asked', async (t) => {
    const out = sameAsRunc(
      t,
      shSpec(`${STATUS}; mkdir /newdir; rmdir /nonexistent; touch /tmp/f`, {
        defaultAction: ALLOW,
        syscalls: [
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' },
          { names: ['rmdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        ],
      }),
    );
    t.match(out.stdout, /^Seccomp:\t2$/m, 'filter mode');
    t.match(out.stdout, /^Seccomp_filters:\t1$/m, 'one filter');
    t.match(out.stdout, /mkdir: can't create directory '\/newdir': Operation not permitted/, 'EPERM by default, not EROFS');
    t.match(out.stdout, /rmdir: '\/nonexistent': Function not implemented/, 'errnoRet 38, not ENOENT');
    t.match(out.stdout, /touch: \/tmp\/f: Read-only file system/, 'other syscalls untouched');
  });

  t.test('no seccomp section: no filter', async (t) => {
    const out = runRuntsSpec(t, shSpec(STATUS, undefined));
    t.match(out.stdout, /^Seccomp:\t0$/m);
  });

  t.test('flags: SECCOMP_FILTER_FLAG_LOG makes the kernel log an ERRNO action; the others load', { skip: !probe && 'no gcc' }, async (t) => {
    const comm = `sclog${process.pid % 100000}${idCounter}`.slice(0, 15);
    const seccomp = (flags: LinuxSeccomp['flags']): LinuxSeccomp => ({
      defaultAction: ALLOW,
      ...(flags ? { flags } : {}),
      syscalls: [{ names: ['getpgid'], action: 'SCMP_ACT_ERRNO', errnoRet: 5 }],
    });
    const dmesg = () => spawnSync('dmesg', [], { encoding: 'utf8' });
    const logged = () => (dmesg().stdout ?? '').split('\n').some((l) => l.includes(`comm="${comm}"`) && / syscall=121 /.test(l));
    const canRead = dmesg().status === 0;

    let out = runRuntsSpec(t, shSpec(`${comm} 121,0`, seccomp(['SECCOMP_FILTER_FLAG_LOG'])), [comm]);
    t.match(out.stdout, /^121,0 5$/m, 'denied with errnoRet under the LOG flag');
    if (canRead) {
      // The kernel rate-limits audit printks; give it one more chance after the window.
      if (!logged()) {
        sleepMs(5500);
        runRuntsSpec(t, shSpec(`${comm} 121,0`, seccomp(['SECCOMP_FILTER_FLAG_LOG'])), [comm]);
      }
      t.ok(logged(), 'the kernel logged the denied call (audit type=1326)');
    } else {
      t.comment('dmesg unreadable: the LOG record is not checked');
    }
    for (const flags of [[], ['SECCOMP_FILTER_FLAG_SPEC_ALLOW'], ['SECCOMP_FILTER_FLAG_TSYNC'], undefined] as LinuxSeccomp['flags'][]) {
      out = runRuntsSpec(t, shSpec(`${STATUS}; probe 121,0`, seccomp(flags)));
      t.equal(out.code, 0, `flags ${JSON.stringify(flags)} load`, { stdout: out.stdout });
      t.match(out.stdout, /^Seccomp:\t2$/m);
      t.match(out.stdout, /^121,0 5$/m);
    }
    t.comment('runc 1.1.5 refuses every flag ("seccomp flags are not yet supported by runc"): no differential here');
  });

  t.test('KILL, KILL_THREAD, KILL_PROCESS and TRAP end the process with SIGSYS: run exits 159', async (t) => {
    for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP'] as const) {
      const spec = baseSpec(['mkdir', '/x']);
      spec.linux!.seccomp = { defaultAction: ALLOW, syscalls: [{ names: ['mkdir'], action }] };
      t.test(action, async (t) => {
        sameAsRunc(t, spec, 159);
      });
    }
  });

  t.test('SCMP_ACT_LOG lets the call through; SCMP_ACT_TRACE without a tracer gives ENOSYS', async (t) => {
    const out = sameAsRunc(
      t,
      shSpec('mkdir /logged; rmdir /traced', {
        defaultAction: ALLOW,
        syscalls: [
          { names: ['mkdir'], action: 'SCMP_ACT_LOG' },
          { names: ['rmdir'], action: 'SCMP_ACT_TRACE' },
        ],
      }),
    );
    t.match(out.stdout, /mkdir: can't create directory '\/logged': Read-only file system/, 'LOG: the syscall ran');
    t.match(out.stdout, /rmdir: '\/traced': Function not implemented/, 'TRACE: no tracer, ENOSYS');
  });

  t.test('syscall names libseccomp does not know are ignored, as runc ignores them', async (t) => {
    const out = sameAsRunc(
      t,
      shSpec('mkdir /a; echo survived', {
        defaultAction: ALLOW,
        syscalls: [
          { names: ['no_such_syscall_one', 'mkdir'], action: 'SCMP_ACT_ERRNO' },
          { names: ['no_such_syscall_two'], action: 'SCMP_ACT_KILL' },
        ],
      }),
    );
    t.match(out.stdout, /Operation not permitted/);
    t.match(out.stdout, /survived/);
  });

  t.test('argument conditions: every operator, 64-bit values, AND across arguments, OR on one argument', { skip: !probe && 'no gcc' }, async (t) => {
    const errno = (names: string[], errnoRet: number, args: NonNullable<LinuxSeccomp['syscalls']>[number]['args']) => ({
      names,
      action: 'SCMP_ACT_ERRNO' as const,
      errnoRet,
      args,
    });
    const seccomp: LinuxSeccomp = {
      defaultAction: ALLOW,
      syscalls: [
        errno(['getpid'], 201, [{ index: 0, value: 5, op: 'SCMP_CMP_NE' }]),
        errno(['getppid'], 202, [{ index: 0, value: 5, op: 'SCMP_CMP_LT' }]),
        errno(['getuid'], 203, [{ index: 0, value: 5, op: 'SCMP_CMP_LE' }]),
        errno(['getgid'], 204, [{ index: 0, value: 5, op: 'SCMP_CMP_EQ' }]),
        errno(['geteuid'], 205, [{ index: 0, value: 5, op: 'SCMP_CMP_GE' }]),
        errno(['getegid'], 206, [{ index: 0, value: 5, op: 'SCMP_CMP_GT' }]),
        errno(['gettid'], 207, [{ index: 0, value: 0xf0, valueTwo: 0x30, op: 'SCMP_CMP_MASKED_EQ' }]),
        errno(['getpgrp'], 208, [{ index: 0, value: 2 ** 32 + 5, op: 'SCMP_CMP_EQ' }]),
        // socket(AF_INET, SOCK_DGRAM, …) only: both conditions must hold.
        errno(['socket'], 209, [
          { index: 0, value: 2, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 2, op: 'SCMP_CMP_EQ' },
        ]),
        // Two conditions on one argument: runc makes one rule of each, so either denies.
        errno(['getsid'], 210, [
          { index: 0, value: 7, op: 'SCMP_CMP_EQ' },
          { index: 0, value: 9, op: 'SCMP_CMP_EQ' },
        ]),
      ],
    };
    const calls = [
      '39,5', '39,6', '110,4', '110,5', '102,5', '102,6', '104,5', '104,4', '107,5', '107,4', '108,6', '108,5',
      '186,0x31', '186,0x41', '111,4294967301', '111,5', '41,2,2,0', '41,2,1,0', '41,1,2,0', '124,7', '124,9', '124,8',
    ];
    const out = sameAsRunc(t, shSpec(`probe ${calls.join(' ')}`, seccomp));
    const result = new Map(out.stdout.trim().split('\n').map((l) => [l.split(' ')[0], Number(l.split(' ')[1])]));
    const denied: Record<string, number> = {
      '39,6': 201, '110,4': 202, '102,5': 203, '104,5': 204, '107,5': 205, '108,6': 206, '186,0x31': 207,
      '111,4294967301': 208, '41,2,2,0': 209, '124,7': 210, '124,9': 210,
    };
    for (const call of calls) {
      if (denied[call]) t.equal(result.get(call), denied[call], `${call} denied with ${denied[call]}`);
      else t.ok(result.has(call) && !Object.values(denied).includes(result.get(call)!), `${call} not denied`);
    }
  });

  t.test('the Docker default profile loads; busybox runs; runc\'s -ENOSYS stub for newer syscalls', { skip: !probe && 'no gcc' }, async (t) => {
    const out = sameAsRunc(t, shSpec(`${STATUS}; echo hello; ls /bin/sh; probe 449 450 451 1000 443 i20 i450 i1000 135,0 135,1 56,0x7e020000`, dockerProfile()));
    t.match(out.stdout, /^Seccomp:\t2$/m);
    t.match(out.stdout, /^hello$/m);
    t.match(out.stdout, /^\/bin\/sh$/m);
    t.match(out.stdout, /^450 38$/m, 'above the profile\'s highest syscall (futex_waitv, 449): ENOSYS');
    t.match(out.stdout, /^i1000 38$/m, 'the same on the i386 ABI');
    t.match(out.stdout, /^443 1$/m, 'a syscall below it that the profile does not allow: EPERM');
    t.match(out.stdout, /^135,1 1$/m, 'personality(1) is not in the profile');
    t.match(out.stdout, /^135,0 0$/m, 'personality(0) is');
  });

  t.test('defaultErrnoRet is what every call outside the profile gets', { skip: !probe && 'no gcc' }, async (t) => {
    const profile = dockerProfile();
    profile.defaultErrnoRet = 13;
    profile.syscalls = profile.syscalls!.map((s) => ({ ...s, names: s.names.filter((n) => n !== 'mkdir' && n !== 'mkdirat') }));
    const out = sameAsRunc(t, shSpec('mkdir /d; probe 443 450', profile));
    t.match(out.stdout, /mkdir: can't create directory '\/d': Permission denied/);
    t.match(out.stdout, /^443 13$/m);
    t.match(out.stdout, /^450 38$/m, 'the -ENOSYS stub still applies above the profile');
  });

  t.test('without noNewPrivileges the filter is loaded before the capability drop, with it after (runc 1.1 order)', async (t) => {
    const seccomp: LinuxSeccomp = { defaultAction: ALLOW, syscalls: [{ names: ['capset'], action: 'SCMP_ACT_ERRNO' }] };
    const withNnp = sameAsRunc(t, shSpec('echo ran', seccomp, true));
    t.match(withNnp.stdout, /^ran$/m, 'noNewPrivileges: capset happens before the filter');

    const bundle = bundleFor(t, shSpec('echo ran', seccomp, false));
    const id = newId('order');
    const r = runts(root, ['run', '--bundle', bundle, id]);
    t.equal(r.code, 1, 'no noNewPrivileges: the filter already refuses capset');
    t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
    t.match(r.stderr, /set capabilities: Operation not permitted/);
    t.notOk(fs.existsSync(path.join(root, id)), 'nothing left');
    if (runcAvailable) t.equal(runRuncSpec(t, shSpec('echo ran', seccomp, false)).code, 1, 'runc fails the same way');
  });

  t.test('SCMP_ACT_NOTIFY: the listener gets the fd and the state, its answers reach the container', async (t) => {
    const runtimes = runcAvailable ? (['runts', 'runc'] as const) : (['runts'] as const);
    const seen: Record<string, { result: string; state: Record<string, unknown> }> = {};
    for (const runtime of runtimes) {
      for (const noNewPrivileges of [true, false]) {
        t.test(`${runtime}, noNewPrivileges ${noNewPrivileges}`, async (t) => {
          seen[`${runtime}-${noNewPrivileges}`] = notifyRound(t, runtime, noNewPrivileges);
        });
      }
    }
    t.test('runts and runc agree', async (t) => {
      if (!runcAvailable) return;
      for (const nnp of [true, false]) {
        t.equal(seen[`runts-${nnp}`]?.result, seen[`runc-${nnp}`]?.result, 'the container saw the same answers');
        t.same(Object.keys(seen[`runts-${nnp}`]?.state ?? {}).sort(), Object.keys(seen[`runc-${nnp}`]?.state ?? {}).sort(), 'the state has the same fields');
      }
    });
  });

  t.test('SCMP_ACT_NOTIFY with nobody on listenerPath: create fails, nothing left', async (t) => {
    const spec = shSpec('true', {
      defaultAction: ALLOW,
      listenerPath: path.join(work, 'nobody.sock'),
      syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
    });
    const bundle = bundleFor(t, spec);
    const id = newId('nolistener');
    const r = runts(root, ['create', '--bundle', bundle, id]);
    t.equal(r.code, 1);
    t.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr.trim()}`);
    t.match(r.stderr, /failed to connect with seccomp agent specified in the seccomp profile: connect .*nobody\.sock.*No such file or directory/);
    t.notOk(fs.existsSync(path.join(root, id)), 'no state directory');
  });

  t.test('bad input: exit 1, one line with the JSON pointer, nothing created', async (t) => {
    const bad = (seccomp: Partial<LinuxSeccomp>) => shSpec('true', { defaultAction: ALLOW, ...seccomp } as LinuxSeccomp);
    const cases: [string, Spec, string, RegExp][] = [
      ['unknown architecture', bad({ architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_PDP11'] }), '/linux/seccomp/architectures/1', /SCMP_ARCH_PDP11 is not a valid arch/],
      ['architecture the linked libseccomp lacks', bad({ architectures: ['SCMP_ARCH_LOONGARCH64'] }), '/linux/seccomp/architectures/0', /SCMP_ARCH_LOONGARCH64 is not a valid arch/],
      ['errnoRet with a KILL action', bad({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_KILL', errnoRet: 5 }] }), '/linux/seccomp/syscalls/0/errnoRet', /only supported with SCMP_ACT_ERRNO/],
      ['defaultErrnoRet with an ALLOW default', bad({ defaultErrnoRet: 5 }), '/linux/seccomp/defaultErrnoRet', /only supported with SCMP_ACT_ERRNO/],
      ['unknown operator', bad({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ALMOST' as 'SCMP_CMP_EQ' }] }] }), '/linux/seccomp/syscalls/0/args/0/op', /SCMP_CMP_ALMOST is not a valid operator/],
      ['unknown action', bad({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_MAYBE' as 'SCMP_ACT_ALLOW' }] }), '/linux/seccomp/syscalls/0/action', /SCMP_ACT_MAYBE is not a valid action/],
      ['unknown flag', bad({ flags: ['SECCOMP_FILTER_FLAG_FAST' as 'SECCOMP_FILTER_FLAG_LOG'] }), '/linux/seccomp/flags/0', /SECCOMP_FILTER_FLAG_FAST is not a valid flag/],
      ['argument index beyond the sixth', bad({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }), '/linux/seccomp/syscalls/0/args/0/index', /at most 5/],
      ['NOTIFY on write', bad({ listenerPath: '/tmp/x.sock', syscalls: [{ names: ['write'], action: 'SCMP_ACT_NOTIFY' }] }), '/linux/seccomp/syscalls/0/names', /write/],
      ['NOTIFY without listenerPath', bad({ syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }), '/linux/seccomp/syscalls/0/action', /listenerPath/],
      ['NOTIFY as the default action', bad({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/tmp/x.sock' }), '/linux/seccomp/defaultAction', /default action/],
      ['an empty syscall name', bad({ syscalls: [{ names: ['mkdir', ''], action: 'SCMP_ACT_ERRNO' }] }), '/linux/seccomp/syscalls/0/names/1', /empty string is not a valid syscall/],
    ];
    for (const [name, spec, pointer, pattern] of cases) {
      t.test(name, async (t) => assertRefused(t, spec, pointer, pattern));
    }
  });
}

/**
 * One SCMP_ACT_NOTIFY round under `runtime`: a listener socket owned by the test, create, take
 * the fd and the state from the socket, start, answer the container's two mkdir calls (EACCES,
 * then let it run), and read what the container saw.
 */
function notifyRound(t: Test, runtime: 'runts' | 'runc', noNewPrivileges: boolean): { result: string; state: Record<string, unknown> } {
  const addon = native();
  const socketPath = path.join(work, `agent-${runtime}-${++idCounter}.sock`);
  const listenFd = addon.unixListen(socketPath);
  const received: number[] = [];
  t.teardown(() => {
    for (const fd of [listenFd, ...received]) fs.closeSync(fd);
    fs.rmSync(socketPath, { force: true });
  });
  const script = 'mkdir /first; echo "first=$?"; mkdir /second; echo "second=$?"; test -d /second && echo second-exists';
  const spec = baseSpec(['sh', '-c', `{ ${script}; } >/result 2>&1`]);
  spec.process!.noNewPrivileges = noNewPrivileges;
  spec.root = { path: 'rootfs', readonly: false };
  spec.annotations = { 'org.example.seccomp': 'yes' };
  spec.linux!.seccomp = {
    defaultAction: ALLOW,
    listenerPath: socketPath,
    listenerMetadata: 'agent=test;mode=answer',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  };
  const bundle = bundleFor(t, spec);
  const id = newId(`notify-${runtime}`);

  const runcRoot = path.join(work, `runc-notify-${idCounter}`);
  const runcOut = path.join(work, `runc-out-${idCounter}`);
  const cli = (args: string[]): Result => {
    if (runtime === 'runts') return runts(root, args);
    // Files, not pipes: the container inherits runc's stdio and would hold a pipe open.
    const out = fs.openSync(runcOut, 'w+');
    try {
      const r = spawnSync(RUNC, ['--root', runcRoot, ...args], { stdio: ['ignore', out, out], timeout: 30_000 });
      const text = fs.readFileSync(runcOut, 'utf8');
      return { code: r.status ?? 1, stdout: text, stderr: text };
    } finally {
      fs.closeSync(out);
    }
  };
  t.teardown(() => {
    cli(['delete', '--force', id]);
    if (runtime === 'runc') fs.rmSync(runcRoot, { recursive: true, force: true });
  });

  const created = cli(['create', '--bundle', bundle, id]);
  t.equal(created.code, 0, 'create', { stderr: created.stderr });
  const message = addon.unixAcceptMessage(listenFd, 10_000);
  received.push(...message.fds);
  t.equal(message.fds.length, 1, 'one fd with the state');
  const state = JSON.parse(message.data) as Record<string, any>;
  const shown = cli(['state', id]);
  t.equal(shown.code, 0, 'state', { stderr: shown.stderr });
  const pid = shown.code === 0 ? (JSON.parse(shown.stdout) as { pid: number }).pid : -1;
  t.same(state.fds, ['seccompFd'], 'fds names the seccomp fd');
  t.equal(state.metadata, 'agent=test;mode=answer', 'listenerMetadata');
  t.equal(typeof state.ociVersion, 'string', 'ociVersion');
  t.equal(state.pid, pid, 'pid: the container process');
  t.match(state.state, { id, status: 'creating', pid, bundle, annotations: { 'org.example.seccomp': 'yes' } }, 'the container state');

  t.equal(cli(['start', id]).code, 0, 'start');
  const fd = message.fds[0];
  const first = addon.seccompNotifyReceive(fd, 10_000);
  t.equal(first.syscall, 83, 'mkdir notified');
  t.equal(first.arch, 0xc000003e, 'AUDIT_ARCH_X86_64');
  addon.seccompNotifyRespond(fd, first.id, 13);
  const second = addon.seccompNotifyReceive(fd, 10_000);
  t.not(second.id, first.id, 'a new notification');
  addon.seccompNotifyRespond(fd, second.id, 0, 0, 1); // SECCOMP_USER_NOTIF_FLAG_CONTINUE

  const resultFile = path.join(bundle, 'rootfs', 'result');
  let result = '';
  for (let i = 0; i < 250 && !/second-exists|second=\d+\n$/.test(result); i++) {
    sleepMs(20);
    result = fs.existsSync(resultFile) ? fs.readFileSync(resultFile, 'utf8') : '';
  }
  t.match(result, /mkdir: can't create directory '\/first': Permission denied\nfirst=1\n/, 'the agent\'s errno');
  t.match(result, /second=0\nsecond-exists/, 'CONTINUE: the real mkdir ran');
  return { result, state };
}
