/**
 * The cgroup v2 (unified) driver: one directory, written the way runc's libcontainer
 * cgroups/fs2 driver writes it, including runc's v1→v2 conversions (cpu shares → cpu.weight,
 * blkio weight → io.weight, memory+swap → memory.swap.max). Device rules become an eBPF
 * program (devices.ts builds it, the addon attaches it).
 */
import fs = require('fs');
import path = require('path');
import { RuntimeError } from '../base/errors';
import type { LinuxDevice, LinuxResources } from '../config/types';
import { attachDeviceRules } from './bpf';
import { containerDeviceRules, type DeviceRule } from './devices';
import {
  CgroupWriteError, allPids, emptyCgroupRemoved, errnoCode, mkdirTracked, parseKeyValues, parseUint, realIO, removeCgroupDirs, setWithRollback,
  writeOrRetryLater, writePid, MAX_UINT64, type CgroupIO,
} from './fs';
import { v2Frozen } from './frozen';
import type { Cgroup, InitJoinFiles, MemoryEvents } from './index';
import { emptyStats, type MemoryEntry, type Stats } from './stats';
import { checkPageSize, hugePageSizes, setHugetlb, setRdma } from './v1';
import { sleepMs } from '../base/sleep';

export interface V2Options {
  resources?: LinuxResources;
  linuxDevices?: LinuxDevice[];
  warn?: (msg: string) => void;
  /** The cgroup2 mount point; create() makes nothing outside it. Default /sys/fs/cgroup. */
  mountpoint?: string;
  created?: string[];
  io?: CgroupIO;
  /** Replaces the eBPF attach (unit tests on a fake tree). */
  attachDevices?: (dir: string, rules: DeviceRule[]) => void;
}

const RESTORABLE = new Set([
  'memory.max', 'memory.swap.max', 'memory.low', 'cpu.weight', 'cpu.max', 'cpu.max.burst', 'cpu.idle', 'cpuset.cpus',
  'cpuset.mems', 'pids.max', 'io.weight',
]);

/** Controllers that cannot live in a threaded cgroup. */
const DOMAIN_CONTROLLERS = ['memory', 'io', 'hugetlb', 'rdma', 'misc'];

/** runc's cpu shares [2, 262144] → cpu.weight [1, 10000] (linear, as runc ≤ 1.2 and crun map it). */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  const s = Math.min(Math.max(shares, 2), 262144);
  return 1 + Math.floor(((s - 2) * 9999) / 262142);
}

/** blkio.weight [10, 1000] → io.weight [1, 10000]. */
export function blkioToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * OCI memory.swap is memory+swap (v1's memsw); memory.swap.max is swap alone. Returns the
 * value for memory.swap.max, or undefined when nothing is to be written.
 */
export function swapToV2(swap: number, limit: number): string | undefined {
  if (limit === -1 && swap === 0) return 'max';
  if (swap === -1) return 'max';
  if (swap === 0) return undefined;
  if (limit === 0 || limit === -1) throw new RuntimeError('unable to set swap limit without memory limit');
  if (limit < 0) throw new RuntimeError(`invalid memory value: ${limit}`);
  if (swap < limit) throw new RuntimeError('memory+swap limit should be >= memory limit');
  return String(swap - limit);
}

function numToStr(v: number | undefined): string | undefined {
  if (!v) return undefined;
  return v === -1 ? 'max' : String(v);
}

export class V2Cgroup implements Cgroup {
  readonly paths: Record<string, string>;
  readonly created: string[];
  private readonly io: CgroupIO;
  private tracked: boolean;

  constructor(readonly dir: string, private readonly opts: V2Options = {}) {
    this.paths = { '': dir };
    this.created = opts.created ? [...opts.created] : [];
    this.tracked = opts.created !== undefined;
    this.io = opts.io ?? realIO;
  }

  private get mountpoint(): string {
    return this.opts.mountpoint ?? '/sys/fs/cgroup';
  }

  create(): void {
    this.tracked = true;
    const mount = this.mountpoint;
    if (!this.dir.startsWith(mount + '/')) throw new RuntimeError(`cgroup directory ${this.dir} is not below the cgroup2 mount ${mount}`);
    try {
      const resources = this.opts.resources ?? {};
      const enable = (this.io.read(mount, 'cgroup.controllers') ?? '').trim().split(/\s+/).filter(Boolean);
      const chain = [mount];
      for (const part of path.relative(mount, this.dir).split('/')) chain.push(path.join(chain[chain.length - 1], part));
      chain.forEach((d, i) => {
        if (i > 0) {
          mkdirTracked(d, this.created);
          this.checkType(d, resources);
        }
        // Delegate every available controller down to the container's directory.
        if (i < chain.length - 1 && enable.length > 0) this.enableControllers(d, enable);
      });
      this.set(resources, this.io, containerDeviceRules(resources.devices, this.opts.linuxDevices));
    } catch (err) {
      this.removeDirs();
      throw err;
    }
  }

  private enableControllers(dir: string, controllers: string[]): void {
    try {
      this.io.write(dir, 'cgroup.subtree_control', controllers.map((c) => '+' + c).join(' '));
    } catch {
      // One by one: some may be refused (threaded subtree, rootless); the setters report
      // a missing controller when a resource needs it.
      for (const c of controllers) {
        try {
          this.io.write(dir, 'cgroup.subtree_control', '+' + c);
        } catch {
          // ignored
        }
      }
    }
  }

  /** runc's handling of "domain invalid" / threaded cgroups on the way down. */
  private checkType(dir: string, r: LinuxResources): void {
    const type = this.io.read(dir, 'cgroup.type')?.trim();
    const needsDomain = !!(r.memory || r.blockIO || (r.hugepageLimits?.length ?? 0) > 0 || r.rdma ||
      Object.keys(r.unified ?? {}).some((k) => DOMAIN_CONTROLLERS.includes(k.split('.')[0])));
    if (type === 'domain invalid') {
      if (needsDomain) throw new RuntimeError(`cannot enter cgroupv2 ${JSON.stringify(dir)} with domain controllers -- it is in an invalid state`);
      this.io.write(dir, 'cgroup.type', 'threaded');
    } else if ((type === 'threaded' || type === 'domain threaded') && needsDomain) {
      throw new RuntimeError(`cannot enter cgroupv2 ${JSON.stringify(dir)} with domain controllers -- it is in ${type} mode`);
    }
  }

  join(pid: number): void {
    writePid(this.io, this.dir, pid);
  }

  initJoinFiles(): InitJoinFiles {
    return { tasks: [], unified: this.dir };
  }

  apply(resources: LinuxResources): void {
    const rules = resources.devices !== undefined ? containerDeviceRules(resources.devices) : undefined;
    setWithRollback(this.io, RESTORABLE, (io) => this.set(resources, io, rules));
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  private setFrozen(frozen: boolean): void {
    if (!this.io.exists(this.dir, 'cgroup.freeze')) throw new RuntimeError('cannot freeze: cgroup.freeze is missing (kernel older than 5.2?)');
    this.io.write(this.dir, 'cgroup.freeze', frozen ? '1' : '0');
    const want = frozen ? '1' : '0';
    for (let i = 0; i < 1000; i++) {
      const events = parseKeyValues(this.io.read(this.dir, 'cgroup.events'));
      const state = events.get('frozen');
      if (state === undefined || String(state) === want) return;
      // An empty cgroup, or one whose tasks all left, reports frozen at once; others take a moment.
      sleepMs(i < 10 ? 1 : 10);
    }
    if (frozen) {
      this.io.write(this.dir, 'cgroup.freeze', '0');
      throw new RuntimeError(`unable to freeze ${this.dir}`);
    }
    throw new RuntimeError(`unable to thaw ${this.dir}`);
  }

  isFrozen(): boolean {
    return v2Frozen(this.io, this.dir);
  }

  pids(): number[] {
    return allPids(this.dir);
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }

  memoryEvents(): MemoryEvents | undefined {
    const text = this.io.read(this.dir, 'memory.events');
    if (text === undefined) return undefined;
    const kv = parseKeyValues(text);
    return { oom: Number(kv.get('oom') ?? 0n), oomKill: Number(kv.get('oom_kill') ?? 0n), underOom: false };
  }

  destroy(): void {
    const failures = this.removeDirs();
    if (failures.length > 0) throw new RuntimeError(failures[0]);
  }

  destroyIfEmpty(): boolean {
    if (!emptyCgroupRemoved(this.dir, this.removableDirs())) return false;
    this.destroy();
    return true;
  }

  private removableDirs(): string[] {
    return this.tracked ? this.created : [this.dir];
  }

  private removeDirs(): string[] {
    const failures = removeCgroupDirs(this.removableDirs(), [this.dir]);
    this.created.length = 0;
    return failures;
  }

  // ---------------------------------------------------------------- resources

  private set(r: LinuxResources, io: CgroupIO, rules: DeviceRule[] | undefined): void {
    const dir = this.dir;
    const mem = r.memory ?? {};
    const cpu = r.cpu ?? {};
    const blk = r.blockIO ?? {};

    // Refuse what cannot work before writing anything.
    const swapValue = swapToV2(mem.swap ?? 0, mem.limit ?? 0);
    if (cpu.realtimePeriod || cpu.realtimeRuntime) throw new RuntimeError('realtime cpu settings (realtimePeriod, realtimeRuntime) are not supported on cgroup v2');
    for (const h of r.hugepageLimits ?? []) checkPageSize(h.pageSize);
    for (const k of Object.keys(r.unified ?? {})) {
      if (k.includes('/')) throw new RuntimeError(`unified resource ${JSON.stringify(k)} must be a file name (no slashes)`);
    }
    if (r.network?.classID || (r.network?.priorities?.length ?? 0) > 0) {
      throw new RuntimeError('network classID and priorities need the v1 net_cls/net_prio controllers, which cgroup v2 does not have');
    }
    if (mem.kernel !== undefined || mem.kernelTCP !== undefined) this.opts.warn?.('Kernel memory settings are ignored and will be removed');

    // pids
    if (r.pids?.limit) io.write(dir, 'pids.max', r.pids.limit > 0 ? String(r.pids.limit) : 'max');

    // memory (swappiness, disableOOMKiller, useHierarchy have no v2 file: ignored as runc does)
    if (mem.limit || mem.swap || mem.reservation) {
      if (mem.checkBeforeUpdate && mem.limit && mem.limit > 0) {
        const usage = io.read(dir, 'memory.current');
        if (usage !== undefined && parseUint(usage) >= BigInt(mem.limit)) {
          throw new RuntimeError(`rejecting memory limit ${mem.limit} below current usage ${parseUint(usage)}`);
        }
      }
      let swap = swapValue;
      if (swap === undefined && mem.swap !== undefined && mem.swap > 0 && mem.swap === mem.limit) swap = '0';
      if (swap !== undefined) {
        try {
          io.write(dir, 'memory.swap.max', swap);
        } catch (err) {
          // No swap accounting: "unlimited" and "none" are what the kernel does anyway.
          if (!(err instanceof CgroupWriteError && err.code === 'ENOENT' && (swap === 'max' || swap === '0'))) throw err;
        }
      }
      const limit = numToStr(mem.limit);
      if (limit) io.write(dir, 'memory.max', limit);
      const low = numToStr(mem.reservation);
      if (low) io.write(dir, 'memory.low', low);
    }

    // io
    if (blk.weight || (blk.weightDevice?.length ?? 0) > 0 ||
      [blk.throttleReadBpsDevice, blk.throttleWriteBpsDevice, blk.throttleReadIOPSDevice, blk.throttleWriteIOPSDevice].some((l) => (l?.length ?? 0) > 0)) {
      const bfq = io.read(dir, 'io.bfq.weight');
      if (blk.weight) {
        if (bfq !== undefined) io.write(dir, 'io.bfq.weight', String(blk.weight));
        else io.write(dir, 'io.weight', String(blkioToIoWeight(blk.weight)));
      }
      // Per-device BFQ weights (kernel ≥ 5.4 shows "default N" plus device lines).
      if (bfq !== undefined && !/^\s*\d+\s*$/.test(bfq)) {
        for (const wd of blk.weightDevice ?? []) if (wd.weight) io.write(dir, 'io.bfq.weight', `${wd.major}:${wd.minor} ${wd.weight}`);
      }
      const throttles: [keyof typeof blk, string][] = [
        ['throttleReadBpsDevice', 'rbps'], ['throttleWriteBpsDevice', 'wbps'],
        ['throttleReadIOPSDevice', 'riops'], ['throttleWriteIOPSDevice', 'wiops'],
      ];
      for (const [field, key] of throttles) {
        for (const td of (blk[field] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
          io.write(dir, 'io.max', `${td.major}:${td.minor} ${key}=${td.rate}`);
        }
      }
    }

    // cpu
    if (cpu.shares || cpu.quota || cpu.period || cpu.idle !== undefined || cpu.burst !== undefined) {
      if (cpu.shares) io.write(dir, 'cpu.weight', String(sharesToWeight(cpu.shares)));
      if (cpu.idle !== undefined) io.write(dir, 'cpu.idle', String(cpu.idle));
      const retryBurst = cpu.burst !== undefined && writeOrRetryLater(io, dir, 'cpu.max.burst', String(cpu.burst), !!cpu.quota);
      if (cpu.quota || cpu.period) {
        let quota: string;
        if (cpu.quota) quota = cpu.quota > 0 ? String(cpu.quota) : 'max';
        else {
          // Period alone: keep the current quota (runc 1.1 would reset it to "max").
          quota = (io.read(dir, 'cpu.max') ?? 'max').trim().split(/\s+/)[0] || 'max';
        }
        io.write(dir, 'cpu.max', cpu.period ? `${quota} ${cpu.period}` : quota);
        if (retryBurst) io.write(dir, 'cpu.max.burst', String(cpu.burst));
      }
    }

    // devices
    if (rules) (this.opts.attachDevices ?? attachDeviceRules)(dir, rules);

    // cpuset
    if (cpu.cpus) io.write(dir, 'cpuset.cpus', cpu.cpus);
    if (cpu.mems) io.write(dir, 'cpuset.mems', cpu.mems);

    // hugetlb, rdma
    if ((r.hugepageLimits?.length ?? 0) > 0) setHugetlb(dir, r.hugepageLimits!, io, '.max');
    if (Object.keys(r.rdma ?? {}).length > 0) setRdma(dir, r.rdma!, io);

    // unified: written last, so it overrides what the fields above wrote
    for (const k of Object.keys(r.unified ?? {}).sort()) {
      try {
        io.write(dir, k, r.unified![k]);
      } catch (err) {
        const code = err instanceof CgroupWriteError ? err.code : errnoCode(err);
        if (code === 'EPERM' || code === 'ENOENT' || code === 'EACCES') {
          const parts = k.split('.');
          if (parts.length < 2 || parts[0] === '' || parts[1] === '') {
            throw new RuntimeError(`unified resource ${JSON.stringify(k)} must be in the form CONTROLLER.PARAMETER`);
          }
          const available = (io.read(dir, 'cgroup.controllers') ?? '').trim().split(/\s+/);
          if (parts[0] !== 'cgroup' && !available.includes(parts[0])) {
            throw new RuntimeError(`unified resource ${JSON.stringify(k)} can't be set: controller ${JSON.stringify(parts[0])} not available`);
          }
        }
        throw new RuntimeError(`unable to set unified resource ${JSON.stringify(k)}: ${(err as Error).message}`);
      }
    }
  }

  // ---------------------------------------------------------------- stats

  stats(): Stats {
    const s = emptyStats();
    const read = (file: string): string | undefined => this.io.read(this.dir, file);

    // pids: without the controller, count cgroup.procs
    const current = read('pids.current');
    if (current !== undefined) {
      s.pids.current = parseUint(current);
      const max = read('pids.max')?.trim();
      s.pids.limit = max === undefined || max === 'max' ? 0n : parseUint(max);
    } else {
      s.pids.current = BigInt((read('cgroup.procs') ?? '').split('\n').filter(Boolean).length);
    }

    // memory
    const memStat = read('memory.stat');
    if (memStat !== undefined) {
      s.memory.raw = parseKeyValues(memStat);
      s.memory.cache = s.memory.raw.get('file') ?? 0n;
      const entry = (prefix: string): MemoryEntry => ({
        usage: parseUint(read(`${prefix}.current`)),
        limit: parseUint(read(`${prefix}.max`)),
        max: parseUint(read(`${prefix}.peak`)),
        failcnt: 0n,
      });
      s.memory.usage = entry('memory');
      s.memory.usage.failcnt = parseKeyValues(read('memory.events')).get('max') ?? 0n;
      if (read('memory.swap.current') !== undefined) {
        const swap = entry('memory.swap');
        // v1 reports memory+swap: so does runc on v2.
        swap.usage += s.memory.usage.usage;
        if (swap.limit !== MAX_UINT64) swap.limit += s.memory.usage.limit;
        s.memory.swap = swap;
      }
    }

    // io
    for (const line of (read('io.stat') ?? '').split('\n')) {
      const f = line.trim().split(/\s+/);
      const dev = /^(\d+):(\d+)$/.exec(f[0] ?? '');
      if (!dev) continue;
      const major = BigInt(dev[1]);
      const minor = BigInt(dev[2]);
      for (const kv of f.slice(1)) {
        const [k, v] = kv.split('=');
        if (!/^\d+$/.test(v ?? '')) continue;
        const value = BigInt(v);
        if (k === 'rbytes') s.blkio.ioServiceBytesRecursive.push({ major, minor, op: 'Read', value });
        else if (k === 'wbytes') s.blkio.ioServiceBytesRecursive.push({ major, minor, op: 'Write', value });
        else if (k === 'rios') s.blkio.ioServicedRecursive.push({ major, minor, op: 'Read', value });
        else if (k === 'wios') s.blkio.ioServicedRecursive.push({ major, minor, op: 'Write', value });
      }
    }

    // cpu (cpu.stat exists even without the controller)
    const cpuStat = parseKeyValues(read('cpu.stat'));
    s.cpu.usage.total = (cpuStat.get('usage_usec') ?? 0n) * 1000n;
    s.cpu.usage.user = (cpuStat.get('user_usec') ?? 0n) * 1000n;
    s.cpu.usage.kernel = (cpuStat.get('system_usec') ?? 0n) * 1000n;
    s.cpu.throttling.periods = cpuStat.get('nr_periods') ?? 0n;
    s.cpu.throttling.throttledPeriods = cpuStat.get('nr_throttled') ?? 0n;
    s.cpu.throttling.throttledTime = (cpuStat.get('throttled_usec') ?? 0n) * 1000n;

    // hugetlb
    for (const size of hugePageSizes()) {
      const usage = read(`hugetlb.${size}.current`);
      if (usage === undefined) continue;
      s.hugetlb.set(size, { usage: parseUint(usage), max: 0n, failcnt: parseKeyValues(read(`hugetlb.${size}.events`)).get('max') ?? 0n });
    }
    return s;
  }
}
