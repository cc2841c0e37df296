/**
 * LSM labels end to end. This VM has no AppArmor and no SELinux loaded
 * (/sys/kernel/security/lsm: lockdown,capability,landlock,bpf), so:
 * - what a host without them does is compared with Debian's runc 1.1.5 directly;
 * - which attr file gets which value is decided in TypeScript and unit-tested with an injected
 *   LsmHost (test/unit/lsm.test.ts, plan.test.ts); the init writes only to procfs files it opened
 *   through the host's /proc, so no environment of a real call can turn labelling off or redirect it.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'child_process';
import fs = require('fs');
import path = require('path');
import type { Spec } from '../../src/config/types';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir, type Result } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';

const RUNC = '/usr/bin/runc';
const skip = skipUnless({ root: true, fixture: true });
const haveRunc = spawnSync(RUNC, ['--version']).status === 0;
const lsmLoaded = (() => {
  try {
    return fs.existsSync('/sys/kernel/security/apparmor') || fs.existsSync('/sys/fs/selinux/enforce');
  } catch {
    return true;
  }
})();

function runBoth(t: Test, root: string, spec: Spec, env: Record<string, string> = {}): { runts: Result; runc: Result | null; bundle: string } {
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  const id = `lsm${process.pid}${Math.floor(Math.random() * 1e6)}`;
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let r: Result;
  try {
    r = runts(root, ['run', '--bundle', bundle, id]);
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  let runc: Result | null = null;
  if (haveRunc && Object.keys(env).length === 0) {
    const runcRoot = path.join(bundle, 'runc-root');
    const clean = { ...process.env };
    delete clean.NODE_EXTRA_CA_CERTS;
    const res = spawnSync(RUNC, ['--root', runcRoot, 'run', '--bundle', bundle, id], { encoding: 'utf8', env: clean });
    spawnSync(RUNC, ['--root', runcRoot, 'delete', '--force', id]);
    runc = { code: res.status ?? 128, stdout: res.stdout, stderr: res.stderr };
  }
  return { runts: r, runc, bundle };
}

function oneLineError(t: Test, r: Result, pattern: RegExp, root: string): void {
  t.equal(r.code, 1, 'exit 1');
  const lines = r.stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
  t.match(lines[0], pattern);
  t.same(fs.readdirSync(root), [], 'nothing left under --root');
}

if (skip) {
  t.plan(0, skip);
} else {
  const root = scratchDir('hardening-lsm');
  t.teardown(() => cleanupRoot(root));

  t.test('apparmorProfile without AppArmor: the write is refused, as under runc', { skip: lsmLoaded ? 'an LSM is loaded here' : false }, async (t) => {
    const spec = baseSpec(['true']);
    spec.process!.apparmorProfile = 'runts-test-profile';
    const { runts: r, runc } = runBoth(t, root, spec);
    oneLineError(t, r, /unable to apply apparmor profile: apparmor failed to apply profile: write \/proc\/self\/attr\/exec \(AppArmor is not enabled on this host\): Invalid argument/, root);
    if (runc) {
      t.equal(runc.code, 1, 'runc fails too');
      t.match(runc.stderr, /unable to apply apparmor profile: apparmor failed to apply profile: write \/proc\/self\/attr\/exec: invalid argument/);
    }
  });

  t.test('selinuxLabel without SELinux: refused at validation with runc\'s message', { skip: lsmLoaded ? 'an LSM is loaded here' : false }, async (t) => {
    const spec = baseSpec(['true']);
    spec.process!.selinuxLabel = 'system_u:system_r:container_t:s0:c1,c2';
    const { runts: r, runc } = runBoth(t, root, spec);
    oneLineError(t, r, /\/process\/selinuxLabel: selinux label is specified in config, but selinux is disabled or not supported/, root);
    if (runc) {
      t.equal(runc.code, 1);
      t.match(runc.stderr, /selinux label is specified in config, but selinux is disabled or not supported/);
    }
  });

  t.test('mountLabel without SELinux: left out of the mounts (runc 1.1.5 fails on it)', { skip: lsmLoaded ? 'an LSM is loaded here' : false }, async (t) => {
    const spec = baseSpec(['sh', '-c', 'grep -c context= /proc/self/mountinfo; true']);
    spec.linux!.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2';
    const { runts: r, runc } = runBoth(t, root, spec);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout.trim(), '0', 'no mount carries a context');
    if (runc) {
      // Deliberate difference: runc 1.1.5 appends context="…" regardless and the kernel refuses it.
      t.equal(runc.code, 1, 'runc 1.1.5 fails');
      t.match(runc.stderr, /context=.*invalid argument/);
    }
  });

  t.test('no environment redirects or turns off labelling (the old RUNTS_TEST_LSM* seams are gone)', { skip: lsmLoaded ? 'an LSM is loaded here' : false }, async (t) => {
    const attr = scratchDir('lsm-attr');
    t.teardown(() => fs.rmSync(attr, { recursive: true, force: true }));
    fs.mkdirSync(path.join(attr, 'apparmor'));
    for (const f of ['apparmor/exec', 'exec', 'keycreate']) fs.writeFileSync(path.join(attr, f), '');
    const spec = baseSpec(['true']);
    spec.process!.apparmorProfile = 'runts-test-profile';
    const { runts: r } = runBoth(t, root, spec, { RUNTS_TEST_LSM: 'apparmor,selinux', RUNTS_TEST_LSM_ATTR_ROOT: attr });
    oneLineError(t, r, /unable to apply apparmor profile: apparmor failed to apply profile: write \/proc\/self\/attr\/exec \(AppArmor is not enabled on this host\): Invalid argument/, root);
    for (const f of ['apparmor/exec', 'exec', 'keycreate']) t.equal(fs.readFileSync(path.join(attr, f), 'utf8'), '', `${f} untouched`);
  });
}
