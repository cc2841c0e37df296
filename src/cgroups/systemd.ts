/**
 * The systemd cgroup driver (--systemd-cgroup), as runc's: each container is a transient scope
 * started over D-Bus (StartTransientUnit, Delegate=yes, its limits as unit properties, the
 * container's init as its PID), so systemd owns the cgroup and keeps the limits through its own
 * rewrites; then the fs driver writes everything systemd has no property for (and, on v1, makes
 * and joins the hierarchies systemd does not manage). `update` sends SetUnitProperties, then
 * the files; `delete` stops the unit. Loaded only for such containers: the hot path never
 * requires this module, and libsystemd lives in its own addon (runts_sdbus.node).
 */
import fs = require('fs');
import path = require('path');
import { RuntimeError } from '../base/errors';
import { sdbus, type DbusVariant } from '../native';
import type { LinuxDevice, LinuxResources } from '../config/types';
import { containerDeviceRules } from './devices';
import { parseUint, rmdirRetry } from './fs';
import type { Cgroup, MemoryEvents } from './index';
import { V1_CONTROLLERS, parseProcCgroup, probeHierarchy } from './path';
import type { Stats } from './stats';
import {
  annotationProperties, delegatedFiles, placeUnit, resourceProperties, systemdVersionNumber, unifiedUnitDir, unitProperties, v1UnitDir,
  type Layout, type PropertyContext, type UnitPlace, type UnitProperty,
} from './systemdUnit';
import { V1Cgroup } from './v1';
import { V2Cgroup } from './v2';

const SYSTEMD = 'org.freedesktop.systemd1';
const MANAGER_PATH = '/org/freedesktop/systemd1';
const MANAGER = 'org.freedesktop.systemd1.Manager';
/** How long systemd gets to run a start or stop job (runc: 30 s). */
const JOB_TIMEOUT_MS = 30_000;
const CALL_TIMEOUT_MS = 25_000;

/** A D-Bus error reply's name (org.freedesktop.systemd1.NoSuchUnit …), if the error is one. */
function dbusName(err: unknown): string | undefined {
  return (err as { dbusName?: string } | undefined)?.dbusName;
}

function describeProperties(props: UnitProperty[]): string {
  return props.map((p) => p.name).filter((n, i, all) => all.indexOf(n) === i).join(', ');
}

/** The manager calls the driver makes; one connection per process. */
export class SystemdManager {
  private cachedVersion: number | undefined;

  private call(member: string, signature: string, args: unknown[]): unknown[] {
    return sdbus().call(SYSTEMD, MANAGER_PATH, MANAGER, member, signature, args, CALL_TIMEOUT_MS);
  }

  /** systemd's version number (-1 when it cannot be read), asked once. */
  version(): number {
    if (this.cachedVersion === undefined) {
      try {
        const [v] = sdbus().call(SYSTEMD, MANAGER_PATH, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [MANAGER, 'Version'], CALL_TIMEOUT_MS) as DbusVariant[];
        this.cachedVersion = systemdVersionNumber(String(v.value));
      } catch (err) {
        throw new RuntimeError(`systemd cgroup driver: cannot talk to systemd: ${(err as Error).message}`);
      }
    }
    return this.cachedVersion;
  }

  /**
   * StartTransientUnit and wait for its job. True when this call started the unit; false when a
   * live unit of that name was there already: runc 1.1 takes such a unit as it is (a second
   * container given the same cgroupsPath joins it) instead of failing. A leftover unit of that
   * name that is not active is reset and the start retried once.
   */
  startUnit(unit: string, props: UnitProperty[]): boolean {
    const wire = props.map((p) => [p.name, { type: p.type, value: p.value }]);
    let job: string;
    try {
      job = this.startJob(unit, wire);
    } catch (err) {
      if (dbusName(err) !== 'org.freedesktop.systemd1.UnitExists') throw this.startError(unit, props, err);
      if (this.isActive(unit)) return false;
      this.resetFailed(unit);
      try {
        job = this.startJob(unit, wire);
      } catch (again) {
        if (dbusName(again) === 'org.freedesktop.systemd1.UnitExists' && this.isActive(unit)) return false;
        throw this.startError(unit, props, again);
      }
    }
    const result = sdbus().waitJob(job, JOB_TIMEOUT_MS);
    if (result === 'done') return true;
    this.resetFailed(unit);
    if (result === null) throw new RuntimeError(`timeout waiting for systemd to create unit ${JSON.stringify(unit)} (${JOB_TIMEOUT_MS / 1000} s)`);
    throw new RuntimeError(`error creating systemd unit ${JSON.stringify(unit)}: job ${result}`);
  }

  /** Whether the unit is active (or becoming so): one that holds processes. */
  private isActive(unit: string): boolean {
    try {
      const [state] = this.properties(unit, 'org.freedesktop.systemd1.Unit', ['ActiveState']);
      return state !== undefined && ['active', 'activating', 'reloading'].includes(String(state.value));
    } catch {
      return false;
    }
  }

  private startJob(unit: string, wire: unknown[]): string {
    return String(this.call('StartTransientUnit', 'ssa(sv)a(sa(sv))', [unit, 'replace', wire, []])[0]);
  }

  private startError(unit: string, props: UnitProperty[], err: unknown): RuntimeError {
    return new RuntimeError(`unable to start unit ${JSON.stringify(unit)} (properties ${describeProperties(props)}): ${(err as Error).message}`);
  }

  setProperties(unit: string, props: UnitProperty[]): void {
    if (props.length === 0) return;
    try {
      this.call('SetUnitProperties', 'sba(sv)', [unit, true, props.map((p) => [p.name, { type: p.type, value: p.value }])]);
    } catch (err) {
      throw new RuntimeError(`unable to set properties ${describeProperties(props)} of unit ${JSON.stringify(unit)}: ${(err as Error).message}`);
    }
  }

  /** The unit's current value of each named property (for putting them back), skipping unknown ones. */
  properties(unit: string, iface: string, names: string[]): UnitProperty[] {
    let unitPath: string;
    try {
      unitPath = String(this.call('GetUnit', 's', [unit])[0]);
    } catch (err) {
      throw new RuntimeError(`unable to find unit ${JSON.stringify(unit)}: ${(err as Error).message}`);
    }
    const out: UnitProperty[] = [];
    for (const name of names) {
      try {
        const [v] = sdbus().call(SYSTEMD, unitPath, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [iface, name], CALL_TIMEOUT_MS) as DbusVariant[];
        out.push({ name, type: v.type, value: v.value });
      } catch {
        // a property this systemd does not show cannot be restored either
      }
    }
    return out;
  }

  /** StopUnit and wait; a unit already gone is fine. Then ResetFailedUnit so systemd forgets it. */
  stopUnit(unit: string): void {
    let job: string | undefined;
    try {
      job = String(this.call('StopUnit', 'ss', [unit, 'replace'])[0]);
    } catch (err) {
      if (dbusName(err) !== 'org.freedesktop.systemd1.NoSuchUnit') throw new RuntimeError(`unable to stop unit ${JSON.stringify(unit)}: ${(err as Error).message}`);
    }
    if (job !== undefined) {
      const result = sdbus().waitJob(job, JOB_TIMEOUT_MS);
      if (result === null) throw new RuntimeError(`timed out while waiting for systemd to remove unit ${JSON.stringify(unit)}`);
    }
    this.resetFailed(unit);
  }

  resetFailed(unit: string): void {
    try {
      this.call('ResetFailedUnit', 's', [unit]);
    } catch {
      // not failed, or already gone
    }
  }
}

let manager: SystemdManager | undefined;
function systemd(): SystemdManager {
  return (manager ??= new SystemdManager());
}

export interface SystemdCgroupOptions {
  id: string;
  cgroupsPath?: string;
  resources?: LinuxResources;
  devices?: LinuxDevice[];
  annotations?: Record<string, string>;
  /** v2: the host uid that gets the unit's cgroup (cgroupOwner), or none. */
  ownerUid?: number;
  warn?: (msg: string) => void;
}

/** The Cgroup of a new container under --systemd-cgroup. */
export function openSystemdCgroup(opts: SystemdCgroupOptions): Cgroup {
  const place = placeUnit(opts.cgroupsPath, opts.id);
  const h = probeHierarchy();
  if (!h.unified && h.mode === 'v2') throw new RuntimeError('cgroup v2 hierarchy not found');
  if (h.mode === 'v2') {
    const dir = unifiedUnitDir(h.unified!.mountpoint, place);
    return new SystemdCgroup(place.unit, { '': dir }, { ...opts, place, layout: 'v2', mountpoint: h.unified!.mountpoint });
  }
  // v1 / hybrid: the unit's place in every hierarchy, below the cgroup of PID 1 there.
  const pid1 = parseProcCgroup(fs.readFileSync('/proc/1/cgroup', 'utf8'));
  const paths: Record<string, string> = {};
  const mountpoints: Record<string, string> = {};
  for (const controller of V1_CONTROLLERS) {
    const mount = h.v1.get(controller);
    if (!mount) continue;
    paths[controller] = v1UnitDir(mount.mountpoint, pid1.get(controller) ?? '/', place);
    mountpoints[controller] = mount.mountpoint;
  }
  if (!paths.devices) throw new RuntimeError('the devices cgroup controller is not mounted: refusing to run a container without device isolation');
  if (h.mode === 'hybrid' && h.unified) {
    paths[''] = v1UnitDir(h.unified.mountpoint, pid1.get('') ?? '/', place);
    mountpoints[''] = h.unified.mountpoint;
  }
  return new SystemdCgroup(place.unit, paths, { ...opts, place, layout: 'v1', mountpoints });
}

/** The Cgroup of an existing container whose record names its unit. */
export function reopenSystemdCgroup(unit: string, paths: Record<string, string>): Cgroup {
  const keys = Object.keys(paths);
  return new SystemdCgroup(unit, paths, { layout: keys.length === 1 && keys[0] === '' ? 'v2' : 'v1' });
}

interface DriverOptions extends Partial<SystemdCgroupOptions> {
  place?: UnitPlace;
  layout: Layout;
  mountpoint?: string;
  mountpoints?: Record<string, string>;
}

export class SystemdCgroup implements Cgroup {
  readonly paths: Record<string, string>;
  /** Nothing is made by hand: systemd makes the unit's cgroup, destroy() stops the unit. */
  readonly created: string[] = [];
  readonly dirsMadeAtJoin = true;
  private started = false;
  /** This container started the unit (rather than joining a live one of that name): only then may a failed create stop it. */
  private startedUnit = false;
  private startProperties: UnitProperty[] | undefined;
  private resourceProps: UnitProperty[] = [];

  constructor(readonly unit: string, paths: Record<string, string>, private readonly opts: DriverOptions) {
    this.paths = { ...paths };
  }

  private context(): PropertyContext {
    return { layout: this.opts.layout, version: systemd().version(), warn: this.opts.warn };
  }

  /** The fs driver over the unit's directories, for what systemd has no property for. */
  private files(resources?: LinuxResources): V1Cgroup | V2Cgroup {
    const common = { resources, linuxDevices: this.opts.devices, warn: this.opts.warn };
    if (this.opts.layout === 'v2') return new V2Cgroup(this.paths[''], { ...common, mountpoint: this.opts.mountpoint });
    return new V1Cgroup(this.paths, { ...common, mountpoints: this.opts.mountpoints });
  }

  /**
   * Checks the configuration and builds the unit's properties (connecting to systemd), so a
   * bad value fails before the container's init exists. The unit itself starts at join():
   * systemd refuses a scope without a process.
   */
  create(): void {
    const place = this.opts.place;
    if (!place) throw new RuntimeError(`unit ${this.unit}: create() needs the unit's place`);
    const r = this.opts.resources ?? {};
    if (this.opts.layout === 'v1' && r.unified && Object.keys(r.unified).length > 0) throw new RuntimeError('invalid configuration: cannot use unified on cgroup v1');
    const ctx = this.context();
    this.resourceProps = resourceProperties(r, ctx, containerDeviceRules(r.devices, this.opts.devices));
    this.startProperties = [
      ...unitProperties(place, `runts container ${this.opts.id}`, 0, this.opts.layout),
      ...annotationProperties(this.opts.annotations),
      ...this.resourceProps,
    ];
  }

  /**
   * The first join starts the unit with `pid` in it, then writes the files systemd leaves
   * alone; later joins (exec) write cgroup.procs like the fs driver. A live unit of that name
   * is joined as runc 1.1 joins it: its properties set to this container's resources, `pid`
   * written to its cgroup.
   */
  join(pid: number): void {
    if (this.started || !this.startProperties) {
      this.files().join(pid);
      return;
    }
    const props = this.startProperties.map((p) => (p.name === 'PIDs' ? { ...p, value: [pid] } : p));
    this.startedUnit = systemd().startUnit(this.unit, props);
    this.started = true;
    if (!this.startedUnit) systemd().setProperties(this.unit, this.resourceProps);
    const files = this.files(this.opts.resources);
    files.create();
    if (this.opts.layout === 'v1' || !this.startedUnit) files.join(pid);
    if (this.opts.layout === 'v2' && this.opts.ownerUid !== undefined) this.chownToOwner(this.opts.ownerUid);
  }

  private chownToOwner(uid: number): void {
    const dir = this.paths[''];
    const chown = (p: string, missingOk: boolean) => {
      try {
        fs.chownSync(p, uid, -1);
      } catch (err) {
        if (missingOk && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw new RuntimeError(`unit ${this.unit}: chown ${p} to the container's root (uid ${uid}): ${(err as Error).message}`);
      }
    };
    chown(dir, false);
    for (const file of delegatedFiles()) chown(path.join(dir, file), true);
  }

  /**
   * Live update: the unit's properties for the changed fields (their old values are read
   * first and put back when a cgroupfs write is then refused), then the files. `current` is
   * the container's resources before the update: a quota or period alone is sent to systemd
   * with the other half it pairs with.
   */
  apply(resources: LinuxResources, current: LinuxResources = {}): void {
    const ctx = this.context();
    const forSystemd: LinuxResources = { ...resources };
    if (resources.cpu && (resources.cpu.quota !== undefined || resources.cpu.period !== undefined)) {
      forSystemd.cpu = { ...resources.cpu, quota: resources.cpu.quota ?? current.cpu?.quota, period: resources.cpu.period ?? current.cpu?.period };
    }
    delete forSystemd.devices;
    const props = resourceProperties(forSystemd, ctx);
    this.checkMemoryUsage(resources);
    // The files get the exact pair too: systemd rounds CPUQuotaPerSecUSec to 10 ms, which for
    // another period is not the quota asked for (runc writes cpu.max itself after systemd).
    const forFiles: LinuxResources = forSystemd.cpu ? { ...resources, cpu: forSystemd.cpu } : resources;
    const iface = this.unit.endsWith('.slice') ? 'org.freedesktop.systemd1.Slice' : 'org.freedesktop.systemd1.Scope';
    const before = props.length > 0 ? systemd().properties(this.unit, iface, [...new Set(props.map((p) => p.name))]) : [];
    systemd().setProperties(this.unit, props);
    try {
      this.files().apply(forFiles);
    } catch (err) {
      try {
        systemd().setProperties(this.unit, before);
      } catch (restoreErr) {
        (err as Error).message += ` (and restoring the unit's properties failed: ${(restoreErr as Error).message})`;
      }
      throw err;
    }
  }

  /** checkBeforeUpdate: refuse a memory limit below the current usage before systemd applies it (it would OOM the container). */
  private checkMemoryUsage(r: LinuxResources): void {
    const limit = r.memory?.limit;
    if (!r.memory?.checkBeforeUpdate || !limit || limit <= 0) return;
    const dir = this.opts.layout === 'v2' ? this.paths[''] : this.paths.memory;
    if (!dir) return;
    const file = this.opts.layout === 'v2' ? 'memory.current' : 'memory.usage_in_bytes';
    let usage: bigint;
    try {
      usage = parseUint(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch {
      return;
    }
    if (usage >= BigInt(limit)) throw new RuntimeError(`rejecting memory limit ${limit} below current usage ${usage}`);
  }

  freeze(): void {
    this.files().freeze();
  }

  thaw(): void {
    this.files().thaw();
  }

  isFrozen(): boolean {
    return this.files().isFrozen();
  }

  pids(): number[] {
    return this.files().pids();
  }

  stats(): Stats {
    return this.files().stats();
  }

  memoryEvents(): MemoryEvents | undefined {
    return this.files().memoryEvents();
  }

  exists(): boolean {
    return this.files().exists();
  }

  /**
   * Stops the unit (systemd removes its cgroup), then removes what is left: the unit's
   * directories in the v1 hierarchies systemd does not manage, and any sub-cgroups. For a new
   * container (a failed create) only when it started the unit itself; delete stops its unit
   * once nothing else is in it (src/container/destroy.ts).
   */
  destroy(): void {
    // A create that fails leaves alone a unit it did not start: another container's, or none.
    if (this.opts.place && !this.startedUnit) return;
    systemd().stopUnit(this.unit);
    const failures: string[] = [];
    for (const dir of new Set(Object.values(this.paths))) removeTree(dir, failures);
    if (failures.length > 0) throw new RuntimeError(failures[0]);
  }
}

/** rmdir `dir` and every cgroup below it, deepest first. */
function removeTree(dir: string, failures: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) if (e.isDirectory()) removeTree(path.join(dir, e.name), failures);
  const failed = rmdirRetry(dir);
  if (failed) failures.push(failed);
}
