/**
 * `runts features`: runtime-spec features.md JSON, built from the tables the runtime itself
 * uses (mount options, capabilities, seccomp names), so it says what runts really does.
 */
import { spawnSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { CAPABILITY_NAMES } from '../../plan/capabilities';
import { probeHierarchy } from '../../cgroups/path';
import { NAMESPACE_PROC_NAMES } from '../../base/formats';
import { printOut } from '../../base/log';
import { initBinaryPath } from '../../native';
import { knownMountOptions } from '../../plan/mountOptions';
import { SCMP_CMP, SECCOMP_ARCH_NAMES } from '../../plan/seccomp';


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
  return Object.keys(NAMESPACE_PROC_NAMES).filter((type) => existsSync(`/proc/self/ns/${NAMESPACE_PROC_NAMES[type]}`));
}

const SECCOMP_ACTIONS = [
  'SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY', 'SCMP_ACT_TRACE', 'SCMP_ACT_TRAP',
];

/** The LSM runts would apply labels for: one the kernel runs (see src/plan/lsm.ts). */
function lsmEnabled(name: string): boolean {
  try {
    return readFileSync('/sys/kernel/security/lsm', 'utf8').split(',').includes(name);
  } catch {
    return false;
  }
}

/** Asked of runts-init itself: it is the binary that links libseccomp. */
function linkedLibseccompVersion(): string {
  const r = spawnSync(initBinaryPath(), ['--libseccomp-version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

export function features(): object {
  const cgroups = probeHierarchy();
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: '1.2.0',
    hooks: HOOKS,
    mountOptions: knownMountOptions(),
    linux: {
      namespaces: kernelNamespaces(),
      capabilities: kernelCapabilities(),
      cgroup: { v1: cgroups.mode !== 'v2', v2: cgroups.mode !== 'v1', systemd: true, systemdUser: false },
      seccomp: {
        enabled: true,
        actions: SECCOMP_ACTIONS,
        operators: Object.keys(SCMP_CMP).sort(),
        archs: Object.keys(SECCOMP_ARCH_NAMES).filter((arch) => arch !== 'SCMP_ARCH_NATIVE').sort(),
      },
      apparmor: { enabled: lsmEnabled('apparmor') },
      selinux: { enabled: lsmEnabled('selinux') },
    },
    annotations: {
      'io.github.seccomp.libseccomp.version': linkedLibseccompVersion(),
      'org.opencontainers.runc.checkpoint.enabled': 'false',
    },
  };
}

/** Printed like runc: 4-space indent, trailing newline. */
export function run(): number {
  printOut(JSON.stringify(features(), null, 4) + '\n');
  return 0;
}
