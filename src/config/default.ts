/**
 * The starter config.json that `runc spec` (and `runc spec --rootless`) writes, field for field
 * as runc 1.1 produces it; only ociVersion differs. Keys are built in the order of runc's Go
 * structs so that formatSpec() output lines up with runc's file.
 */
import { probeHierarchy } from '../cgroups/path';
import type { Mount, Spec } from './types';

/** The runtime-spec version runts writes into new configs. */
export const SPEC_VERSION = '1.2.0';

const DEFAULT_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export interface DefaultSpecOptions {
  rootless: boolean;
  /** Host uid/gid mapped to root in the rootless spec; defaults to the effective ids. */
  uid?: number;
  gid?: number;
  /** A cgroup namespace, which runc adds on a pure cgroup v2 host; defaults to probing the host. */
  cgroupNamespace?: boolean;
}

export function defaultSpec(opts: DefaultSpecOptions): Spec {
  const spec: Spec = {
    ociVersion: SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: {
        bounding: [...DEFAULT_CAPS],
        effective: [...DEFAULT_CAPS],
        permitted: [...DEFAULT_CAPS],
        ambient: [...DEFAULT_CAPS],
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts: defaultMounts(),
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces: [
        { type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' },
        ...(opts.cgroupNamespace ?? probeHierarchy().mode === 'v2' ? [{ type: 'cgroup' as const }] : []),
      ],
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
        '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  return opts.rootless ? toRootless(spec, opts.uid ?? process.geteuid!(), opts.gid ?? process.getegid!()) : spec;
}

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

/**
 * runc's rootless conversion: a user namespace mapping only the caller, no new network
 * namespace, no cgroup resources, /sys bind-mounted (sysfs needs a netns we own) and no
 * gid=5 on devpts (an unmapped group).
 */
function toRootless(spec: Spec, uid: number, gid: number): Spec {
  const { resources: _dropped, ...linux } = spec.linux!;
  const namespaces = linux.namespaces!.filter((ns) => ns.type !== 'network');
  namespaces.push({ type: 'user' });
  const mounts = spec.mounts!.map((m) => {
    if (m.destination === '/sys') return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    if (m.type === 'devpts') return { ...m, options: m.options!.filter((o) => o !== 'gid=5') };
    return m;
  });
  return {
    ...spec,
    mounts,
    linux: {
      uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
      ...linux,
      namespaces,
    },
  };
}

/**
 * JSON as runc writes it: Go's json.MarshalIndent with a tab, no trailing newline, and Go's
 * escaping of <, >, & and the JavaScript line separators. Key order is the object's own.
 */
export function formatSpec(spec: Spec): string {
  return JSON.stringify(spec, null, '\t').replace(/[<>&\u2028\u2029]/g, goEscape);
}

function goEscape(ch: string): string {
  return '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0');
}
