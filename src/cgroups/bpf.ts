/**
 * The cgroup v2 device filter mechanism: hands the instructions devices.ts built to the
 * addon's bpf(2) wrapper (native/addon/bpf_devices.cc), which loads them as a
 * BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup directory.
 */
import { RuntimeError } from '../base/errors';
import { native } from '../native';
import { deviceProgram, encodeProgram, type DeviceRule } from './devices';

/** What bpf_devices.cc adds to the addon (see the report to the lead for the wiring). */
export interface BpfDevicesAddon {
  /**
   * Loads `insns` (struct bpf_insn[], 8 bytes each) as a cgroup device program under
   * `license`, attaches it to `cgroupDir` with BPF_F_ALLOW_MULTI (BPF_F_REPLACE when exactly
   * one program was attached there before), then detaches any other program that was attached
   * directly to that cgroup. Returns the new program's id. Throws an Error with `errno`, and the
   * verifier log in the message when the kernel refuses the program.
   */
  attachDeviceFilter(cgroupDir: string, insns: Uint8Array, license: string): number;
  /** Ids of the device programs attached directly to `cgroupDir` (BPF_PROG_QUERY). */
  deviceFilterIds(cgroupDir: string): number[];
}

export const BPF_LICENSE = 'Apache';

function addon(): Partial<BpfDevicesAddon> {
  return native() as unknown as Partial<BpfDevicesAddon>;
}

export function bpfAvailable(): boolean {
  try {
    return typeof addon().attachDeviceFilter === 'function';
  } catch {
    return false;
  }
}

/** Builds the program for `rules` and puts it on `dir`, replacing runts' previous one. */
export function attachDeviceRules(dir: string, rules: DeviceRule[]): number {
  const a = addon();
  if (typeof a.attachDeviceFilter !== 'function') {
    throw new RuntimeError('cannot apply device rules on cgroup v2: this runts.node lacks the eBPF device filter (rebuild the addon)');
  }
  const insns = encodeProgram(deviceProgram(rules));
  try {
    return a.attachDeviceFilter(dir, insns, BPF_LICENSE);
  } catch (err) {
    throw new RuntimeError(`failed to load the device filter into ${dir}: ${(err as Error).message}`);
  }
}

export function attachedDeviceFilters(dir: string): number[] {
  const a = addon();
  if (typeof a.deviceFilterIds !== 'function') return [];
  return a.deviceFilterIds(dir);
}
