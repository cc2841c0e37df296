/**
 * Invalid hardening settings are refused before anything exists: `runts run` exits 1 with one
 * error line carrying the JSON pointer of the bad value, and --root stays empty.
 */
import t from 'tap';
import fs = require('fs');
import type { Spec } from '../../src/config/types';
import { baseSpec, cleanupRoot, makeBundle, runts, scratchDir } from '../helpers/runts';
import { skipUnless } from '../helpers/skip';

const skip = skipUnless({ root: true, fixture: true });

const withUserns = (s: Spec) => {
  s.linux!.namespaces!.push({ type: 'user' });
  s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
};

const CASES: { name: string; edit: (s: Spec) => void; pointer: string; message: RegExp }[] = [
  {
    name: 'unknown capability',
    edit: (s) => { s.process!.capabilities!.ambient = ['CAP_KILL', 'CAP_NOT_A_CAP']; },
    pointer: '/process/capabilities/ambient/1',
    message: /unknown capability \\?"CAP_NOT_A_CAP\\?"/,
  },
  {
    name: 'unknown rlimit',
    edit: (s) => { s.process!.rlimits = [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]; },
    pointer: '/process/rlimits/0/type',
    message: /wrong rlimit value: RLIMIT_BOGUS/,
  },
  {
    name: 'net sysctl without a network namespace',
    edit: (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'network');
      s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    },
    pointer: '/linux/sysctl/net.ipv4.ip_forward',
    message: /not allowed in host network namespace/,
  },
  {
    name: 'IPC sysctl without an IPC namespace',
    edit: (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'ipc');
      s.linux!.sysctl = { 'kernel.shmmax': '1000000' };
    },
    pointer: '/linux/sysctl/kernel.shmmax',
    message: /not allowed in the hosts ipc namespace/,
  },
  {
    name: 'sysctl that no namespace isolates',
    edit: (s) => { s.linux!.sysctl = { 'vm.swappiness': '10' }; },
    pointer: '/linux/sysctl/vm.swappiness',
    message: /not in a separate kernel namespace/,
  },
  {
    name: 'idmap mount without mappings or a user namespace',
    edit: (s) => { s.mounts!.push({ destination: '/m', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] }); },
    pointer: '/mounts/7/options/1',
    message: /option idmap needs uidMappings\/gidMappings or a user namespace/,
  },
  {
    name: 'idmap on a mount that is not a bind',
    edit: (s) => { withUserns(s); s.mounts!.push({ destination: '/m', type: 'tmpfs', source: 'tmpfs', options: ['ridmap'] }); },
    pointer: '/mounts/7/options/0',
    message: /option ridmap is supported only for bind mounts/,
  },
  {
    name: 'overlapping container ids',
    edit: (s) => {
      withUserns(s);
      s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 500, hostID: 300000, size: 1000 }];
    },
    pointer: '/linux/uidMappings/1',
    message: /container IDs overlap with \/linux\/uidMappings\/0/,
  },
  {
    name: 'overlapping host ids',
    edit: (s) => {
      withUserns(s);
      s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 1000 }, { containerID: 1000, hostID: 100500, size: 10 }];
    },
    pointer: '/linux/gidMappings/1',
    message: /host IDs overlap with \/linux\/gidMappings\/0/,
  },
  {
    name: 'host ids past the end of the id space',
    edit: (s) => { withUserns(s); s.linux!.uidMappings = [{ containerID: 0, hostID: 4294967200, size: 65536 }]; },
    pointer: '/linux/uidMappings/0',
    message: /host IDs 4294967200-\d+ exceed the ID range/,
  },
  {
    name: 'a mount mapping past the end of the id space',
    edit: (s) => {
      s.mounts!.push({
        destination: '/m', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'],
        uidMappings: [{ containerID: 4294967290, hostID: 0, size: 100 }], gidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
      });
    },
    pointer: '/mounts/7/uidMappings/0',
    message: /container IDs 4294967290-\d+ exceed the ID range/,
  },
  {
    name: 'an empty mapping',
    edit: (s) => { withUserns(s); s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 0 }]; },
    pointer: '/linux/uidMappings/0/size',
    message: /must be at least 1/,
  },
];

if (skip) {
  t.plan(0, skip);
} else {
  const root = scratchDir('hardening-badinput');
  t.teardown(() => cleanupRoot(root));

  for (const c of CASES) {
    t.test(c.name, async (t) => {
      const spec = baseSpec(['true']);
      c.edit(spec);
      const bundle = makeBundle(spec);
      t.teardown(() => fs.rmSync(bundle, { recursive: true, force: true }));
      const r = runts(root, ['run', '--bundle', bundle, `bad${process.pid}`]);
      t.equal(r.code, 1, 'exit 1');
      const lines = r.stderr.trim().split('\n');
      t.equal(lines.length, 1, `one line: ${r.stderr.trim()}`);
      t.ok(lines[0].includes(`${c.pointer}:`), `names ${c.pointer}`);
      t.match(lines[0], c.message);
      t.same(fs.readdirSync(root), [], 'nothing created under --root');
    });
  }
}
