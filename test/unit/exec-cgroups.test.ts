/** exec --cgroup: runc 1.1's argument forms and the "never above the container's cgroup" rule. */
import t from 'tap';
import { parseSubCgroups, subCgroupPaths } from '../../src/container/exec';

const paths = { memory: '/sys/fs/cgroup/memory/ct', cpu: '/sys/fs/cgroup/cpu,cpuacct/ct', '': '/sys/fs/cgroup/unified/ct' };

t.test('argument forms', async (t) => {
  t.same(parseSubCgroups([]), {});
  t.same(parseSubCgroups(['sub']), { '': 'sub' }, 'a bare path: every controller');
  t.same(parseSubCgroups(['memory:a', 'cpu,cpuacct:b']), { memory: 'a', cpu: 'b', cpuacct: 'b' }, 'per controller, comma lists');
  t.throws(() => parseSubCgroups(['a', 'memory:b']), { message: 'invalid --cgroup argument: a (missing <controller>: prefix)' });
  t.throws(() => parseSubCgroups(['a:b:c']), { message: 'invalid --cgroup argument: a:b:c' });
});

t.test('paths below the container only', async (t) => {
  t.same(subCgroupPaths(paths, {}), paths, 'none: the container\'s own');
  t.same(subCgroupPaths(paths, { '': '/' }), paths, '"/" is the container\'s own');
  t.same(subCgroupPaths(paths, { memory: 'm/n' }), { ...paths, memory: '/sys/fs/cgroup/memory/ct/m/n' });
  t.same(subCgroupPaths(paths, { '': 'x' }).cpu, '/sys/fs/cgroup/cpu,cpuacct/ct/x');
  t.throws(() => subCgroupPaths(paths, { '': '..' }), { message: '.. is not a sub cgroup path' });
  t.throws(() => subCgroupPaths(paths, { memory: 'a/../../b' }), { message: 'a/../../b is not a sub cgroup path' });
  t.throws(() => subCgroupPaths(paths, { whaaat: '/' }), { message: 'unknown controller whaaat in SubCgroupPaths' });
});
