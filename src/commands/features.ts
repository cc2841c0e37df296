/**
 * `runts features`: runtime-spec features.md JSON. FEATURES below is the one place to declare
 * what runts supports; fields left out (seccomp, cgroup, apparmor, selinux …) mean "unknown"
 * and are added when the code behind them works.
 */
import { existsSync, readFileSync } from 'fs';
import { CAPABILITY_NAMES } from '../capabilities';
import { printOut } from '../log';

/** runtime-spec namespace type → the /proc/self/ns entry that shows the kernel has it. */
const NAMESPACES: Record<string, string> = {
  cgroup: 'cgroup', ipc: 'ipc', mount: 'mnt', network: 'net', pid: 'pid', time: 'time', user: 'user', uts: 'uts',
};

/** The options src/mountOptions.ts turns into mount flags or propagation. */
const MOUNT_OPTIONS = [
  'async', 'atime', 'bind', 'defaults', 'dev', 'diratime', 'dirsync', 'exec', 'iversion', 'lazytime',
  'loud', 'mand', 'noatime', 'nodev', 'nodiratime', 'noexec', 'noiversion', 'nolazytime', 'nomand',
  'norelatime', 'nostrictatime', 'nosuid', 'nosymfollow', 'private', 'rbind', 'relatime', 'remount',
  'ro', 'rprivate', 'rshared', 'rslave', 'runbindable', 'rw', 'shared', 'silent', 'slave',
  'strictatime', 'suid', 'symfollow', 'sync', 'unbindable',
];

const HOOKS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];

/** The capabilities this kernel knows (up to /proc/sys/kernel/cap_last_cap). */
function kernelCapabilities(): string[] {
  try {
    const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    return CAPABILITY_NAMES.slice(0, last + 1);
  } catch {
    return [...CAPABILITY_NAMES];
  }
}

function kernelNamespaces(): string[] {
  return Object.keys(NAMESPACES).filter((type) => existsSync(`/proc/self/ns/${NAMESPACES[type]}`));
}

export function features(): object {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: HOOKS,
    mountOptions: MOUNT_OPTIONS,
    linux: {
      namespaces: kernelNamespaces(),
      capabilities: kernelCapabilities(),
    },
  };
}

/** Printed like runc: 4-space indent, trailing newline. */
export function run(): number {
  printOut(JSON.stringify(features(), null, 4) + '\n');
  return 0;
}
