/** Linux capability names in number order (linux/capability.h). */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

export function capabilityNumber(name: string): number {
  return (CAPABILITY_NAMES as readonly string[]).indexOf(name);
}

export type CapabilitySetName = 'bounding' | 'effective' | 'permitted' | 'inheritable' | 'ambient';
export const CAPABILITY_SETS: readonly CapabilitySetName[] = ['bounding', 'effective', 'permitted', 'inheritable', 'ambient'];

export interface PlannedCapabilities {
  sets: Record<CapabilitySetName, number[]>;
  /** Names left out because this kernel lacks them (or, past validation, nobody knows them). */
  skipped: string[];
}

/**
 * Capability names → numbers per set, as runc's capabilities.New: a capability the running
 * kernel does not have (number > /proc/sys/kernel/cap_last_cap) is left out of every set and
 * reported once, so runc's warning can be logged.
 */
export function planCapabilitySets(caps: Partial<Record<CapabilitySetName, string[]>> | undefined, lastCap: number): PlannedCapabilities {
  const skipped = new Set<string>();
  const numbers = (names: string[] | undefined): number[] =>
    (names ?? []).flatMap((name) => {
      const n = capabilityNumber(name);
      if (n < 0 || n > lastCap) {
        skipped.add(name);
        return [];
      }
      return [n];
    });
  const sets = Object.fromEntries(CAPABILITY_SETS.map((set) => [set, numbers(caps?.[set])])) as Record<CapabilitySetName, number[]>;
  return { sets, skipped: [...skipped] };
}

/** runc's log line for them (level warning). */
export function skippedCapabilitiesMessage(skipped: string[]): string {
  return `ignoring unknown or unavailable capabilities: [${skipped.join(' ')}]`;
}
