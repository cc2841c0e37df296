/** The six OCI hooks: each at its point, in its namespaces, with the state on stdin. */
import fs = require('fs');
import path = require('path');
import t from 'tap';
import type { Hook } from '../../src/config/types';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir } from '../helpers/runts';

const root = scratchDir('root');
t.teardown(() => cleanupRoot(root));
const out = scratchDir('hooks');
t.teardown(() => fs.rmSync(out, { recursive: true, force: true }));

/** A hook that records its name, the state it got, and which mount/uts namespace it ran in. */
function recorder(name: string): Hook {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `state=$(cat); echo "${name} $(readlink /proc/self/ns/mnt) $(hostname) $state" >> ${out}/log`],
  };
}

t.test('hooks run in order, at their points, in the right namespaces', async (t) => {
  const spec = baseSpec(['sh', '-c', `echo process >> /hooklog`]);
  spec.root!.readonly = false;
  spec.hooks = {
    prestart: [recorder('prestart')],
    createRuntime: [recorder('createRuntime')],
    createContainer: [recorder('createContainer')],
    // startContainer resolves in the container: busybox's sh, the rootfs' file.
    startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'cat > /dev/null; echo startContainer $(hostname) >> /hooklog'] }],
    poststart: [recorder('poststart')],
    poststop: [recorder('poststop')],
  };
  const bundle = makeBundle(spec);
  t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
  t.equal(runts(root, ['create', '--bundle', bundle, 'hk']).code, 0);
  const afterCreate = fs.readFileSync(`${out}/log`, 'utf8').trim().split('\n');
  t.same(afterCreate.map((l) => l.split(' ')[0]), ['prestart', 'createRuntime', 'createContainer'], 'create runs the create hooks in order');
  const hostMnt = fs.readlinkSync('/proc/self/ns/mnt');
  const [prestart, , createContainer] = afterCreate;
  t.equal(prestart.split(' ')[1], hostMnt, 'prestart runs in the runtime namespace');
  t.not(createContainer.split(' ')[1], hostMnt, 'createContainer runs in the container mount namespace');
  const state = JSON.parse(prestart.slice(prestart.indexOf('{')));
  t.match(state, { id: 'hk', status: 'creating', bundle }, 'the state arrives on stdin');
  t.ok(state.pid > 0, 'with the container pid');

  t.equal(runts(root, ['start', 'hk']).code, 0);
  t.equal(fs.readFileSync(`${out}/log`, 'utf8').trim().split('\n').at(-1)!.split(' ')[0], 'poststart', 'start runs poststart');
  for (let i = 0; i < 100 && JSON.parse(runts(root, ['state', 'hk']).stdout).status !== 'stopped'; i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  t.same(fs.readFileSync(path.join(bundle, 'rootfs', 'hooklog'), 'utf8').trim().split('\n'), ['startContainer runts', 'process'], 'startContainer runs in the container before the process');
  t.equal(runts(root, ['delete', 'hk']).code, 0);
  t.equal(fs.readFileSync(`${out}/log`, 'utf8').trim().split('\n').at(-1)!.split(' ')[0], 'poststop', 'delete runs poststop');
});

t.test('a failing or hanging hook fails create and leaves nothing', async (t) => {
  const cases: [string, Partial<Record<'prestart' | 'createRuntime' | 'createContainer', Hook[]>>, RegExp][] = [
    ['prestart exit 1', { prestart: [{ path: '/bin/false' }] }, /error running hook #0 \(prestart\): exit status 1/],
    ['missing createRuntime hook', { createRuntime: [{ path: '/nonexistent/hook' }] }, /error running hook #0 \(createRuntime\): .*nonexistent/],
    ['createContainer timeout', { createContainer: [{ path: '/bin/sleep', args: ['sleep', '10'], timeout: 1 }] }, /error running hook #0 \(createContainer\): timed out after 1s/],
  ];
  for (const [name, hooks, pattern] of cases) {
    const spec = baseSpec(['true']);
    spec.hooks = hooks;
    const bundle = makeBundle(spec);
    const r = runts(root, ['create', '--bundle', bundle, 'bad']);
    fs.rmSync(bundle, { recursive: true, force: true });
    t.equal(r.code, 1, name);
    t.match(r.stderr.trim(), pattern, name);
    t.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line`);
    t.notOk(fs.existsSync(path.join(root, 'bad')), `${name}: no state left`);
  }
});
