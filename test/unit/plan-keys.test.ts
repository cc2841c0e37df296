/**
 * The plan boundary fails closed: the keys the C++ init reads (native/init/*.cc) and the keys
 * the TypeScript plan writes are the same set, and the init refuses a plan with a key missing or
 * of the wrong type, naming it (a renamed field must never quietly turn a protection off).
 */
import { spawn } from 'child_process';
import fs = require('fs');
import path = require('path');
import t from 'tap';
import { InitChannel } from '../../src/init/channel';
import { initBinaryPath, native } from '../../src/native';
import { buildExecPlan, buildPlan, initPart, planCgroupJoin, type InitPlan } from '../../src/plan/plan';
import type { Spec } from '../../src/config/types';

const REPO = path.resolve(__dirname, '..', '..', '..');
/** Keys of channel messages (the runtime's "continue" answer), not of the plan. */
const MESSAGE_KEYS = new Set(['state']);

function keysTheInitReads(): Set<string> {
  const dir = path.join(REPO, 'native', 'init');
  const keys = new Set<string>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cc'))) {
    for (const m of fs.readFileSync(path.join(dir, file), 'utf8').matchAll(/\["([A-Za-z]+)"\]/g)) keys.add(m[1]);
  }
  for (const k of MESSAGE_KEYS) keys.delete(k);
  return keys;
}

function keysOf(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.add(k);
      keysOf(v, into);
    }
  }
  return into;
}

/** A spec that makes the plan use every key it has. */
function everything(): Spec {
  const hook = { path: '/bin/true', args: ['true'], env: ['A=1'], timeout: 5 };
  return {
    ociVersion: '1.2.0',
    root: { path: 'rootfs', readonly: true },
    hostname: 'h',
    domainname: 'd',
    process: {
      terminal: true,
      consoleSize: { height: 24, width: 80 },
      user: { uid: 0, gid: 0, umask: 0o22, additionalGids: [1] },
      args: ['sh'],
      env: ['PATH=/bin'],
      cwd: '/',
      capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'], inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', soft: 1, hard: 2 }],
      noNewPrivileges: true,
      oomScoreAdj: 1,
      ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 7 },
      scheduler: { policy: 'SCHED_OTHER', nice: 1 },
      execCPUAffinity: { initial: '0', final: '0' },
      apparmorProfile: 'p',
      selinuxLabel: 'system_u:system_r:container_t:s0',
    },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts' },
      { destination: '/t', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'rro', 'rprivate'] },
      { destination: '/b', type: 'bind', source: '/tmp', options: ['rbind', 'idmap'] },
    ],
    hooks: { createContainer: [hook], startContainer: [hook] },
    linux: {
      namespaces: [{ type: 'pid' }, { type: 'mount' }, { type: 'network' }, { type: 'user' }, { type: 'time' }],
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      timeOffsets: { monotonic: { secs: 1, nanosecs: 0 }, boottime: { secs: 2, nanosecs: 0 } },
      devices: [{ path: '/dev/x', type: 'c', major: 1, minor: 3 }],
      sysctl: { 'net.ipv4.ip_forward': '1' },
      maskedPaths: ['/proc/kcore'],
      readonlyPaths: ['/proc/sys'],
      mountLabel: 'system_u:object_r:container_file_t:s0',
      personality: { domain: 'LINUX' },
      seccomp: {
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86_64'],
        flags: ['SECCOMP_FILTER_FLAG_LOG'],
        listenerPath: '/run/agent.sock',
        syscalls: [
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8, valueTwo: 0, op: 'SCMP_CMP_EQ' }] },
          { names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' },
        ],
      },
    },
  };
}

const lsmHost = { apparmor: true, selinux: true, apparmorAttrDir: true };

function fullPlans(): InitPlan[] {
  const spec = everything();
  const create = buildPlan(spec, {
    id: 'keys', rootfs: '/bundle/rootfs', execFifo: '/run/runts/keys/exec.fifo', noPivot: false, noNewKeyring: false,
    preserveFds: 0, cgroupPaths: {}, lsmHost,
  });
  const exec = buildExecPlan(spec, spec.process!, { nsPidfd: 5, preserveFds: 0, lsmHost });
  // create.ts adds the self join of the fs driver on v1 hierarchies.
  const cgroupJoin = planCgroupJoin({ tasks: ['/sys/fs/cgroup/pids/keys/tasks'], unified: '/sys/fs/cgroup/unified/keys' }, spec, { beforeSetup: false, exec: false });
  return [{ ...initPart(create), cgroupJoin }, initPart(exec)];
}

t.test('the keys the init reads are exactly the keys the plan writes', async (t) => {
  const written = new Set<string>();
  for (const plan of fullPlans()) keysOf(JSON.parse(JSON.stringify(plan)), written);
  const read = keysTheInitReads();
  t.same([...written].filter((k) => !read.has(k)).sort(), [], 'no key is written that the init never reads');
  t.same([...read].filter((k) => !written.has(k)).sort(), [], 'no key is read that the plan does not write');
  t.notOk('notes' in fullPlans()[0], 'the runtime\'s notes stay with the runtime');
});

/** Starts runts-init with `plan` and returns the error it reports. */
async function initError(plan: object): Promise<string> {
  const [ours, theirs] = native().socketpair();
  const child = spawn(initBinaryPath(), ['3'], { stdio: ['ignore', 'ignore', 'ignore', theirs] });
  fs.closeSync(theirs);
  const channel = new InitChannel(ours);
  channel.sendPlan(plan as Parameters<InitChannel['sendPlan']>[0]); // malformed on purpose
  const exited = new Promise((r) => child.once('exit', r));
  const reply = channel.receive();
  channel.close();
  await exited;
  return reply && reply.type === 'error' ? reply.step : JSON.stringify(reply);
}

t.test('the init fails closed on a missing or mistyped key, naming it', async (t) => {
  // Without the self join, whose made-up cgroup files the init would open first.
  const plan = JSON.parse(JSON.stringify({ ...fullPlans()[0], cgroupJoin: null }));
  delete plan.oomScoreAdj;
  t.equal(await initError(plan), 'invalid plan: (top level): missing key "oomScoreAdj"');
  plan.oomScoreAdj = '5';
  t.equal(await initError(plan), 'invalid plan: oomScoreAdj: must be an integer, not a string');
  plan.oomScoreAdj = null;
  plan.process.rlimits[0].hard = 2.5;
  t.equal(await initError(plan), 'invalid plan: process.rlimits[0].hard: must be an unsigned integer, not a number');
});
