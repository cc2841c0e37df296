/**
 * The LSM decision logic (src/plan/lsm.ts) on hosts with and without AppArmor/SELinux. The VM these
 * tests run on has no LSM that labels (/sys/kernel/security/lsm: lockdown,capability,landlock,bpf),
 * so the "enabled" cases can only be decided here; the attr writes themselves are proven by
 * test/integration/hardening-lsm.test.ts through the RUNTS_TEST_LSM_ATTR_ROOT seam.
 */
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decideLsm, lsmProblems, probeLsmHost, takesMountContext, withMountContext, type LsmHost } from '../../src/plan/lsm';

const host = (over: Partial<LsmHost> = {}): LsmHost => ({
  apparmor: false, selinux: false, apparmorAttrDir: false, ...over,
});

t.test('no labels asked: nothing to write, nothing to say', async (t) => {
  const d = decideLsm({}, host({ apparmor: true, selinux: true }));
  t.same(d.lsm, { apparmor: null, selinuxExec: null, selinuxKey: null });
  t.equal(d.mountContext, null);
  t.same(d.notes, []);
  t.same(lsmProblems({}, host()), []);
});

t.test('AppArmor profile: written as runc writes it, enabled or not', async (t) => {
  const enabled = decideLsm({ apparmorProfile: 'runts-test' }, host({ apparmor: true, apparmorAttrDir: true }));
  t.same(enabled.lsm.apparmor, { attr: '/proc/self/attr/apparmor/exec', value: 'exec runts-test', context: '' },
    'the stacking-era attr/apparmor/exec when the kernel has it');
  const legacy = decideLsm({ apparmorProfile: 'runts-test' }, host({ apparmor: true }));
  t.equal(legacy.lsm.apparmor?.attr, '/proc/self/attr/exec', 'attr/exec on older kernels');
  const disabled = decideLsm({ apparmorProfile: 'runts-test' }, host());
  t.same(disabled.lsm.apparmor, { attr: '/proc/self/attr/exec', value: 'exec runts-test', context: ' (AppArmor is not enabled on this host)' },
    'runc 1.1.5 still writes and fails on the kernel\'s EINVAL: so does runts, saying why');
  t.same(lsmProblems({ apparmorProfile: 'x' }, host()), [], 'not a validation error (runc fails in its init)');
});

t.test('SELinux process label: exec and key labels when enabled, a validation error otherwise', async (t) => {
  const label = 'system_u:system_r:container_t:s0:c1,c2';
  const d = decideLsm({ selinuxLabel: label }, host({ selinux: true }));
  t.same(d.lsm.selinuxExec, { attr: '/proc/self/attr/exec', value: label, context: '' });
  t.same(d.lsm.selinuxKey, { attr: '/proc/self/attr/keycreate', value: label, context: '' });
  t.same(lsmProblems({ selinuxLabel: label }, host({ selinux: true })), []);
  t.same(lsmProblems({ selinuxLabel: label }, host()), [
    { pointer: '/process/selinuxLabel', message: 'selinux label is specified in config, but selinux is disabled or not supported' },
  ], 'runc\'s validator message');
  t.equal(decideLsm({ selinuxLabel: label }, host()).lsm.selinuxExec, null);
});

t.test('mount label: context= on the mounts that take it, or a debug note', async (t) => {
  const label = 'system_u:object_r:container_file_t:s0:c1,c2';
  const on = decideLsm({ mountLabel: label }, host({ selinux: true }));
  t.equal(on.mountContext, `context="${label}"`);
  t.same(on.notes, []);
  const off = decideLsm({ mountLabel: label }, host());
  t.equal(off.mountContext, null);
  t.equal(off.notes.length, 1);
  t.equal(off.notes[0].level, 'debug');
  t.match(off.notes[0].msg, /mountLabel .* ignored: SELinux is not enabled/);

  t.equal(withMountContext('mode=755,size=65536k', on.mountContext), `mode=755,size=65536k,context="${label}"`);
  t.equal(withMountContext('', on.mountContext), `context="${label}"`);
  t.equal(withMountContext('mode=755', null), 'mode=755');
  for (const type of ['tmpfs', 'devpts', 'overlay']) t.ok(takesMountContext(type, false), `${type} takes it`);
  for (const type of ['proc', 'sysfs', 'mqueue']) t.notOk(takesMountContext(type, false), `${type} does not`);
  t.notOk(takesMountContext('tmpfs', true), 'nor any bind');
});

t.test('host probe: this VM has neither, and no environment changes the answer', async (t) => {
  const real = probeLsmHost();
  t.equal(real.apparmor, fs.existsSync('/sys/kernel/security/apparmor'), 'AppArmor as securityfs shows it');
  if (!fs.existsSync('/sys/fs/selinux')) t.equal(real.selinux, false, 'no selinuxfs: SELinux off');
  t.equal(real.apparmorAttrDir, fs.existsSync('/proc/self/attr/apparmor'));

  // The variables older runts read as test seams: a real call's environment must not reach labelling.
  const saved = { ...process.env };
  t.teardown(() => {
    delete process.env.RUNTS_TEST_LSM;
    delete process.env.RUNTS_TEST_LSM_ATTR_ROOT;
    Object.assign(process.env, saved);
  });
  process.env.RUNTS_TEST_LSM = 'apparmor,selinux';
  process.env.RUNTS_TEST_LSM_ATTR_ROOT = os.tmpdir();
  t.same(probeLsmHost(), real, 'RUNTS_TEST_LSM* are ignored');
  t.equal(decideLsm({ apparmorProfile: 'p' }, probeLsmHost()).lsm.apparmor?.attr.startsWith('/proc/self/attr/'), true, 'the attr is always the kernel\'s');
});
