/**
 * The cgroup v1 driver: one directory per controller, written the way runc's libcontainer
 * cgroups/fs driver writes them (file by file, in runc's controller order). In hybrid mode the
 * unified directory (key "") is created and joined too, with no resources in it.
 */
import fs = require('fs');
import path = require('path');
import { RuntimeError } from '../base/errors';
import type { LinuxDevice, LinuxResources } from '../config/types';
import { DeviceState, containerDeviceRules, formatRule, v1Transition, type DeviceRule } from './devices';
import {
  CgroupWriteError, allPids, emptyCgroupRemoved, mkdirTracked, parseKeyValues, parseUint, realIO, removeCgroupDirs, setWithRollback,
  writeOrRetryLater, writePid, type CgroupIO,
} from './fs';
import { v1FreezerFrozen } from './frozen';
import type { Cgroup, InitJoinFiles, MemoryEvents } from './index';
import { parseCpuList } from '../base/formats';
import { emptyStats, memoryEntry, type BlkioEntry, type MemoryEntry, type Stats } from './stats';
import { sleepMs } from '../base/sleep';

export interface V1Options {
  resources?: LinuxResources;
  linuxDevices?: LinuxDevice[];
  warn?: (msg: string) => void;
  /** controller → mount point: create() makes no directory outside (or at) these. */
  mountpoints?: Record<string, string>;
  created?: string[];
  io?: CgroupIO;
}

/** Files whose content reads back in the syntax they are written in (safe to restore). */
const RESTORABLE = new Set([
  'memory.limit_in_bytes', 'memory.memsw.limit_in_bytes', 'memory.soft_limit_in_bytes', 'memory.swappiness',
  'memory.kmem.tcp.limit_in_bytes', 'cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us', 'cpu.cfs_burst_us',
  'cpu.rt_period_us', 'cpu.rt_runtime_us', 'cpu.idle', 'cpuset.cpus', 'cpuset.mems', 'pids.max', 'blkio.weight',
  'blkio.bfq.weight', 'blkio.leaf_weight', 'net_cls.classid',
]);

export class V1Cgroup implements Cgroup {
  readonly paths: Record<string, string>;
  readonly created: string[];
  private readonly io: CgroupIO;
  /** True once `created` is known (create() ran, or the caller passed the stored list). */
  private tracked: boolean;

  constructor(paths: Record<string, string>, private readonly opts: V1Options = {}) {
    this.paths = { ...paths };
    this.created = opts.created ? [...opts.created] : [];
    this.tracked = opts.created !== undefined;
    this.io = opts.io ?? realIO;
  }

  create(): void {
    this.createDirectories();
    try {
      this.writeResources();
    } catch (err) {
      this.destroyQuietly();
      throw err;
    }
  }

  createDirectories(): void {
    this.tracked = true;
    try {
      for (const [controller, dir] of Object.entries(this.paths)) {
        const mount = this.opts.mountpoints?.[controller];
        if (mount !== undefined && !(dir.startsWith(mount + '/') && dir.length > mount.length + 1)) {
          throw new RuntimeError(`cgroup directory ${dir} is not below the ${controller || 'unified'} mount ${mount}`);
        }
        mkdirTracked(dir, this.created);
        if (controller === 'cpuset') this.inheritCpuset(dir, mount ?? path.dirname(dir));
      }
    } catch (err) {
      this.destroyQuietly();
      throw err;
    }
  }

  writeResources(): void {
    const resources = this.opts.resources ?? {};
    this.set(resources, this.io, containerDeviceRules(resources.devices, this.opts.linuxDevices));
  }

  join(pid: number): void {
    const done = new Set<string>();
    for (const dir of Object.values(this.paths)) {
      if (done.has(dir)) continue;
      done.add(dir);
      writePid(this.io, dir, pid);
    }
  }

  initJoinFiles(): InitJoinFiles {
    const v1Dirs = new Set(Object.entries(this.paths).filter(([controller]) => controller !== '').map(([, dir]) => dir));
    return { tasks: [...v1Dirs].map((dir) => path.join(dir, 'tasks')), unified: this.paths[''] ?? null };
  }

  apply(resources: LinuxResources): void {
    const rules = resources.devices !== undefined ? containerDeviceRules(resources.devices) : undefined;
    setWithRollback(this.io, RESTORABLE, (io) => this.set(resources, io, rules));
  }

  freeze(): void {
    const dir = this.need('freezer', 'freeze');
    // A v1 freezer can stay in FREEZING while tasks keep forking: retry, with an occasional
    // thaw, then give up thawed rather than leave the container half frozen.
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        this.io.write(dir, 'freezer.state', 'THAWED');
        sleepMs(10);
      }
      this.io.write(dir, 'freezer.state', 'FROZEN');
      const state = (this.io.read(dir, 'freezer.state') ?? '').trim();
      if (state === 'FROZEN') return;
      if (state !== 'FREEZING') throw new RuntimeError(`unexpected freezer state ${JSON.stringify(state)} while freezing ${dir}`);
      if (i % 25 === 24) sleepMs(1);
    }
    this.io.write(dir, 'freezer.state', 'THAWED');
    throw new RuntimeError(`unable to freeze ${dir}`);
  }

  thaw(): void {
    const dir = this.need('freezer', 'thaw');
    this.io.write(dir, 'freezer.state', 'THAWED');
  }

  isFrozen(): boolean {
    const dir = this.paths.freezer;
    return dir !== undefined && v1FreezerFrozen(this.io, dir);
  }

  pids(): number[] {
    const dir = this.processListDir();
    return dir ? allPids(dir) : [];
  }

  private processListDir(): string | undefined {
    return this.paths.pids ?? this.paths.devices ?? this.paths.freezer ?? Object.values(this.paths)[0];
  }

  exists(): boolean {
    const dir = this.paths.memory ?? this.paths.pids ?? this.paths.devices ?? Object.values(this.paths)[0];
    return dir !== undefined && fs.existsSync(dir);
  }

  memoryEvents(): MemoryEvents | undefined {
    const dir = this.paths.memory;
    if (!dir) return undefined;
    const text = this.io.read(dir, 'memory.oom_control');
    if (text === undefined) return undefined;
    const kv = parseKeyValues(text);
    return { oom: 0, oomKill: Number(kv.get('oom_kill') ?? 0n), underOom: kv.get('under_oom') === 1n };
  }

  destroy(): void {
    const failures = this.removeDirs();
    if (failures.length > 0) throw new RuntimeError(failures[0]);
  }

  destroyIfEmpty(): boolean {
    if (!emptyCgroupRemoved(this.processListDir(), this.removableDirs())) return false;
    this.destroy();
    return true;
  }

  private destroyQuietly(): void {
    this.removeDirs();
  }

  private removeDirs(): string[] {
    const failures = removeCgroupDirs(this.removableDirs(), Object.values(this.paths));
    this.created.length = 0;
    return failures;
  }

  private removableDirs(): string[] {
    return this.tracked ? this.created : Object.values(this.paths);
  }

  private need(controller: string, what: string): string {
    const dir = this.paths[controller];
    if (!dir) throw new RuntimeError(`cannot ${what}: the ${controller} cgroup controller is not mounted`);
    return dir;
  }

  /** runc's cpuset ensureParent: an empty cpuset.cpus/mems cannot take tasks, so copy the parent's. */
  private inheritCpuset(dir: string, mount: string): void {
    const chain: string[] = [];
    for (let d = dir; d.startsWith(mount + '/'); d = path.dirname(d)) chain.unshift(d);
    for (const d of chain) {
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        if ((this.io.read(d, file) ?? '').trim() !== '') continue;
        const parent = (this.io.read(path.dirname(d), file) ?? '').trim();
        if (parent !== '') this.io.write(d, file, parent);
      }
    }
  }

  // ---------------------------------------------------------------- resources

  private set(r: LinuxResources, io: CgroupIO, rules: DeviceRule[] | undefined): void {
    validateV1(r);
    const p = this.paths;
    const needed = (controller: string, wanted: boolean): string | undefined => {
      if (!wanted) return undefined;
      const dir = p[controller];
      if (!dir) throw new RuntimeError(`cannot set ${controller} limit: the ${controller} cgroup controller is not mounted`);
      return dir;
    };
    const cpu = r.cpu ?? {};
    const mem = r.memory ?? {};
    const blk = r.blockIO ?? {};

    // cpuset
    const cpusetDir = needed('cpuset', !!cpu.cpus || !!cpu.mems);
    if (cpusetDir) {
      if (cpu.cpus) io.write(cpusetDir, 'cpuset.cpus', cpu.cpus);
      if (cpu.mems) io.write(cpusetDir, 'cpuset.mems', cpu.mems);
    }

    // devices
    if (rules) setDevices(needed('devices', true)!, rules, io);

    // memory
    // Like runc ≥ 1.1: kernel and kernelTCP limits are ignored (the kernel deprecated them).
    if (mem.kernel !== undefined || mem.kernelTCP !== undefined) this.opts.warn?.('Kernel memory settings are ignored and will be removed');
    const memDir = needed('memory', !!mem.limit || !!mem.swap || !!mem.reservation || mem.disableOOMKiller === true ||
      (mem.swappiness !== undefined && mem.swappiness !== -1) || mem.useHierarchy !== undefined);
    if (memDir) setMemory(memDir, mem, io);

    // cpu
    const cpuDir = needed('cpu', !!cpu.shares || !!cpu.quota || !!cpu.period || cpu.burst !== undefined || cpu.idle !== undefined ||
      !!cpu.realtimePeriod || !!cpu.realtimeRuntime);
    if (cpuDir) setCpu(cpuDir, cpu, io);

    // pids
    const pidsDir = needed('pids', !!r.pids?.limit);
    if (pidsDir) io.write(pidsDir, 'pids.max', r.pids!.limit! > 0 ? String(r.pids!.limit) : 'max');

    // blkio
    const blkioWanted = !!blk.weight || !!blk.leafWeight || (blk.weightDevice?.length ?? 0) > 0 ||
      [blk.throttleReadBpsDevice, blk.throttleWriteBpsDevice, blk.throttleReadIOPSDevice, blk.throttleWriteIOPSDevice].some((l) => (l?.length ?? 0) > 0);
    const blkioDir = needed('blkio', blkioWanted);
    if (blkioDir) setBlkio(blkioDir, blk, io);

    // hugetlb
    const hugeDir = needed('hugetlb', (r.hugepageLimits?.length ?? 0) > 0);
    if (hugeDir) setHugetlb(hugeDir, r.hugepageLimits!, io, '.limit_in_bytes');

    // net_cls, net_prio
    const clsDir = needed('net_cls', !!r.network?.classID);
    if (clsDir) io.write(clsDir, 'net_cls.classid', String(r.network!.classID));
    const prioDir = needed('net_prio', (r.network?.priorities?.length ?? 0) > 0);
    if (prioDir) for (const prio of r.network!.priorities!) io.write(prioDir, 'net_prio.ifpriomap', `${prio.name} ${prio.priority}`);

    // rdma
    const rdmaDir = needed('rdma', Object.keys(r.rdma ?? {}).length > 0);
    if (rdmaDir) setRdma(rdmaDir, r.rdma!, io);
  }

  // ---------------------------------------------------------------- stats

  stats(): Stats {
    const s = emptyStats();
    const read = (controller: string, file: string): string | undefined => {
      const dir = this.paths[controller];
      return dir ? this.io.read(dir, file) : undefined;
    };

    // cpuacct
    const acctStat = parseKeyValues(read('cpuacct', 'cpuacct.stat'));
    const ticks = 100n; // USER_HZ
    s.cpu.usage.user = ((acctStat.get('user') ?? 0n) * 1_000_000_000n) / ticks;
    s.cpu.usage.kernel = ((acctStat.get('system') ?? 0n) * 1_000_000_000n) / ticks;
    s.cpu.usage.total = parseUint(read('cpuacct', 'cpuacct.usage'));
    s.cpu.usage.percpu = numbers(read('cpuacct', 'cpuacct.usage_percpu'));
    const all = (read('cpuacct', 'cpuacct.usage_all') ?? '').split('\n').slice(1).map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 3);
    s.cpu.usage.percpu_user = all.map((f) => BigInt(f[1]));
    s.cpu.usage.percpu_kernel = all.map((f) => BigInt(f[2]));
    // cpu
    const cpuStat = parseKeyValues(read('cpu', 'cpu.stat'));
    s.cpu.throttling.periods = cpuStat.get('nr_periods') ?? 0n;
    s.cpu.throttling.throttledPeriods = cpuStat.get('nr_throttled') ?? 0n;
    s.cpu.throttling.throttledTime = cpuStat.get('throttled_time') ?? 0n;

    // cpuset
    if (this.paths.cpuset) {
      const cs = s.cpuset;
      cs.cpus = parseCpuList(read('cpuset', 'cpuset.cpus') ?? '');
      cs.mems = parseCpuList(read('cpuset', 'cpuset.mems') ?? '');
      cs.cpu_exclusive = parseUint(read('cpuset', 'cpuset.cpu_exclusive'));
      cs.mem_hardwall = parseUint(read('cpuset', 'cpuset.mem_hardwall'));
      cs.mem_exclusive = parseUint(read('cpuset', 'cpuset.mem_exclusive'));
      cs.memory_migrate = parseUint(read('cpuset', 'cpuset.memory_migrate'));
      cs.memory_spread_page = parseUint(read('cpuset', 'cpuset.memory_spread_page'));
      cs.memory_spread_slab = parseUint(read('cpuset', 'cpuset.memory_spread_slab'));
      cs.memory_pressure = parseUint(read('cpuset', 'cpuset.memory_pressure'));
      cs.sched_load_balance = parseUint(read('cpuset', 'cpuset.sched_load_balance'));
      cs.sched_relax_domain_level = BigInt((read('cpuset', 'cpuset.sched_relax_domain_level') ?? '0').trim() || '0');
    }

    // memory
    if (this.paths.memory) {
      s.memory.raw = parseKeyValues(read('memory', 'memory.stat'));
      s.memory.cache = s.memory.raw.get('cache') ?? 0n;
      const entry = (prefix: string): MemoryEntry => {
        const e = memoryEntry();
        const usage = read('memory', `${prefix}.usage_in_bytes`);
        if (usage === undefined) return e;
        e.usage = parseUint(usage);
        e.max = parseUint(read('memory', `${prefix}.max_usage_in_bytes`));
        e.failcnt = parseUint(read('memory', `${prefix}.failcnt`));
        e.limit = parseUint(read('memory', `${prefix}.limit_in_bytes`));
        return e;
      };
      s.memory.usage = entry('memory');
      s.memory.swap = entry('memory.memsw');
      s.memory.kernel = entry('memory.kmem');
      s.memory.kernelTCP = entry('memory.kmem.tcp');
    }

    // pids
    s.pids.current = parseUint(read('pids', 'pids.current'));
    const max = read('pids', 'pids.max')?.trim();
    s.pids.limit = max === undefined || max === 'max' ? 0n : parseUint(max);

    // blkio: the first group of files that has data (bfq debug, bfq, cfq, throttle).
    if (this.paths.blkio) blkioStats(this.paths.blkio, this.io, s);

    // hugetlb
    if (this.paths.hugetlb) {
      for (const size of hugePageSizes()) {
        const usage = read('hugetlb', `hugetlb.${size}.usage_in_bytes`);
        if (usage === undefined) continue;
        s.hugetlb.set(size, {
          usage: parseUint(usage),
          max: parseUint(read('hugetlb', `hugetlb.${size}.max_usage_in_bytes`)),
          failcnt: parseUint(read('hugetlb', `hugetlb.${size}.failcnt`)),
        });
      }
    }
    return s;
  }
}

function numbers(text: string | undefined): bigint[] {
  return (text ?? '').trim().split(/\s+/).filter((x) => /^\d+$/.test(x)).map((x) => BigInt(x));
}

/** Checks that need no file: refuse before writing anything. */
function validateV1(r: LinuxResources): void {
  if (r.unified && Object.keys(r.unified).length > 0) throw new RuntimeError('invalid configuration: cannot use unified on cgroup v1');
  const sw = r.memory?.swappiness;
  if (sw !== undefined && sw !== -1 && (sw < 0 || sw > 100)) {
    throw new RuntimeError(`invalid memory swappiness value: ${sw} (valid range is 0-100)`);
  }
  for (const h of r.hugepageLimits ?? []) checkPageSize(h.pageSize);
}

export function checkPageSize(pageSize: string): void {
  if (!/^\d+[KMGTP]?B$/.test(pageSize)) throw new RuntimeError(`invalid hugepage size ${JSON.stringify(pageSize)}: expected a size like "2MB"`);
}

/** The page sizes the kernel offers, in runc's naming: hugepages-2048kB → "2MB". */
export function hugePageSizes(): string[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  const out: string[] = [];
  for (const e of entries) {
    const m = /^hugepages-(\d+)kB$/.exec(e);
    if (!m) continue;
    let size = Number(m[1]) * 1024;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit++;
    }
    out.push(`${size}${units[unit]}`);
  }
  return out.sort();
}

function setDevices(dir: string, rules: DeviceRule[], io: CgroupIO): void {
  const target = DeviceState.fromRules(rules);
  const current = DeviceState.fromList(io.read(dir, 'devices.list') ?? '');
  for (const w of v1Transition(current, target)) io.write(dir, w.file, w.value);
  // The kernel can refuse silently (a child never gets more than its parent): verify.
  const after = DeviceState.fromList(io.read(dir, 'devices.list') ?? '');
  const ok = target.defaultAllow ? after.defaultAllow : after.equals(target);
  if (!ok) {
    const wanted = target.sortedExceptions().map((e) => formatRule(e)).join(', ');
    throw new RuntimeError(`the devices cgroup ${dir} does not match the requested rules (${target.defaultAllow ? 'allow all but' : 'deny all but'} ${wanted})`);
  }
}

function setMemory(dir: string, mem: NonNullable<LinuxResources['memory']>, io: CgroupIO): void {
  const limit = mem.limit ?? 0;
  let swap = mem.swap ?? 0;
  // Unlimited memory with swap unset: unlimited swap too (when swap accounting exists).
  if (limit === -1 && swap === 0 && io.exists(dir, 'memory.memsw.limit_in_bytes')) swap = -1;

  const writeLimit = (): void => {
    if (limit === 0) return;
    try {
      io.write(dir, 'memory.limit_in_bytes', String(limit));
    } catch (err) {
      if (!(err instanceof CgroupWriteError) || err.code !== 'EBUSY') throw err;
      const usage = parseUint(io.read(dir, 'memory.usage_in_bytes'));
      const peak = parseUint(io.read(dir, 'memory.max_usage_in_bytes'));
      throw new RuntimeError(`unable to set memory limit to ${limit} (current usage: ${usage}, peak usage: ${peak})`);
    }
  };
  const writeSwap = (): void => {
    if (swap !== 0) io.write(dir, 'memory.memsw.limit_in_bytes', String(swap));
  };
  // memsw must stay >= the memory limit at every step: raise swap first when it grows.
  if (limit !== 0 && swap !== 0) {
    const current = parseUint(io.read(dir, 'memory.limit_in_bytes'));
    if (swap === -1 || current < BigInt(swap)) {
      writeSwap();
      writeLimit();
    } else {
      writeLimit();
      writeSwap();
    }
  } else {
    writeLimit();
    writeSwap();
  }
  if (mem.reservation) io.write(dir, 'memory.soft_limit_in_bytes', String(mem.reservation));
  if (mem.disableOOMKiller === true) io.write(dir, 'memory.oom_control', '1');
  if (mem.swappiness !== undefined && mem.swappiness !== -1) io.write(dir, 'memory.swappiness', String(mem.swappiness));
  if (mem.useHierarchy !== undefined) io.write(dir, 'memory.use_hierarchy', mem.useHierarchy ? '1' : '0');
}

function setCpu(dir: string, cpu: NonNullable<LinuxResources['cpu']>, io: CgroupIO): void {
  if (cpu.shares) {
    io.write(dir, 'cpu.shares', String(cpu.shares));
    // The kernel clamps silently: read back and report the bound.
    const got = parseUint(io.read(dir, 'cpu.shares'));
    const want = BigInt(cpu.shares);
    if (want > got) throw new RuntimeError(`the maximum allowed cpu-shares is ${got}`);
    if (want < got) throw new RuntimeError(`the minimum allowed cpu-shares is ${got}`);
  }
  // A smaller period can be refused (EINVAL) until the new quota is in: retry it after.
  const retryPeriod = !!cpu.period && writeOrRetryLater(io, dir, 'cpu.cfs_period_us', String(cpu.period), !!cpu.quota);
  const retryBurst = cpu.burst !== undefined && writeOrRetryLater(io, dir, 'cpu.cfs_burst_us', String(cpu.burst), !!cpu.quota);
  if (cpu.quota) {
    io.write(dir, 'cpu.cfs_quota_us', String(cpu.quota));
    if (retryPeriod) io.write(dir, 'cpu.cfs_period_us', String(cpu.period));
    if (retryBurst) io.write(dir, 'cpu.cfs_burst_us', String(cpu.burst));
  }
  if (cpu.idle !== undefined) io.write(dir, 'cpu.idle', String(cpu.idle));
  if (cpu.realtimePeriod) io.write(dir, 'cpu.rt_period_us', String(cpu.realtimePeriod));
  if (cpu.realtimeRuntime) io.write(dir, 'cpu.rt_runtime_us', String(cpu.realtimeRuntime));
}

function setBlkio(dir: string, blk: NonNullable<LinuxResources['blockIO']>, io: CgroupIO): void {
  // CFQ's blkio.weight is gone from current kernels; BFQ's files take the same values.
  const cfq = io.exists(dir, 'blkio.weight');
  const weightFile = cfq ? 'blkio.weight' : 'blkio.bfq.weight';
  const weightDeviceFile = cfq ? 'blkio.weight_device' : 'blkio.bfq.weight_device';
  if (blk.weight) io.write(dir, weightFile, String(blk.weight));
  if (blk.leafWeight) io.write(dir, 'blkio.leaf_weight', String(blk.leafWeight));
  for (const wd of blk.weightDevice ?? []) {
    if (wd.weight) io.write(dir, weightDeviceFile, `${wd.major}:${wd.minor} ${wd.weight}`);
    if (wd.leafWeight) io.write(dir, 'blkio.leaf_weight_device', `${wd.major}:${wd.minor} ${wd.leafWeight}`);
  }
  const throttles: [keyof typeof blk, string][] = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ];
  for (const [field, file] of throttles) {
    for (const td of (blk[field] as { major: number; minor: number; rate: number }[] | undefined) ?? []) {
      io.write(dir, file, `${td.major}:${td.minor} ${td.rate}`);
    }
  }
}

/** hugetlb.<size><suffix>, plus the .rsvd twin (reservations) where the kernel has it. */
export function setHugetlb(dir: string, limits: NonNullable<LinuxResources['hugepageLimits']>, io: CgroupIO, suffix: string): void {
  let rsvd = true;
  for (const h of limits) {
    checkPageSize(h.pageSize);
    const value = String(h.limit);
    io.write(dir, `hugetlb.${h.pageSize}${suffix}`, value);
    if (!rsvd) continue;
    try {
      io.write(dir, `hugetlb.${h.pageSize}.rsvd${suffix}`, value);
    } catch (err) {
      if (err instanceof CgroupWriteError && err.code === 'ENOENT') rsvd = false;
      else throw err;
    }
  }
}

/** rdma.max: "<device> hca_handle=N hca_object=M" (same on v1 and v2). */
export function setRdma(dir: string, rdma: NonNullable<LinuxResources['rdma']>, io: CgroupIO): void {
  for (const device of Object.keys(rdma).sort()) {
    const limits = rdma[device];
    let line = device;
    if (limits.hcaHandles !== undefined) line += ` hca_handle=${limits.hcaHandles}`;
    if (limits.hcaObjects !== undefined) line += ` hca_object=${limits.hcaObjects}`;
    io.write(dir, 'rdma.max', line);
  }
}

function blkioStats(dir: string, io: CgroupIO, s: Stats): void {
  type Key = keyof Stats['blkio'];
  const groups: [string, Key][][] = [
    [ // BFQ with CONFIG_BFQ_CGROUP_DEBUG
      ['blkio.bfq.sectors_recursive', 'sectorsRecursive'],
      ['blkio.bfq.io_service_time_recursive', 'ioServiceTimeRecursive'],
      ['blkio.bfq.io_wait_time_recursive', 'ioWaitTimeRecursive'],
      ['blkio.bfq.io_merged_recursive', 'ioMergedRecursive'],
      ['blkio.bfq.io_queued_recursive', 'ioQueueRecursive'],
      ['blkio.bfq.time_recursive', 'ioTimeRecursive'],
      ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
      ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
    ],
    [
      ['blkio.bfq.io_serviced_recursive', 'ioServicedRecursive'],
      ['blkio.bfq.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
    ],
    [ // CFQ
      ['blkio.sectors_recursive', 'sectorsRecursive'],
      ['blkio.io_service_time_recursive', 'ioServiceTimeRecursive'],
      ['blkio.io_wait_time_recursive', 'ioWaitTimeRecursive'],
      ['blkio.io_merged_recursive', 'ioMergedRecursive'],
      ['blkio.io_queued_recursive', 'ioQueueRecursive'],
      ['blkio.time_recursive', 'ioTimeRecursive'],
      ['blkio.io_serviced_recursive', 'ioServicedRecursive'],
      ['blkio.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
    ],
    [
      ['blkio.throttle.io_serviced_recursive', 'ioServicedRecursive'],
      ['blkio.throttle.io_service_bytes_recursive', 'ioServiceBytesRecursive'],
    ],
    [
      ['blkio.throttle.io_serviced', 'ioServicedRecursive'],
      ['blkio.throttle.io_service_bytes', 'ioServiceBytesRecursive'],
    ],
  ];
  for (const group of groups) {
    const first = parseBlkio(io.read(dir, group[0][0]));
    if (first === undefined || first.length === 0) continue;
    for (const [file, field] of group) s.blkio[field] = parseBlkio(io.read(dir, file)) ?? [];
    return;
  }
}

/** "8:0 Read 4096" lines (the "Total" line skipped); undefined when the file is missing. */
function parseBlkio(text: string | undefined): BlkioEntry[] | undefined {
  if (text === undefined) return undefined;
  const out: BlkioEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/[\s:]+/).filter(Boolean);
    if (f.length < 3 || !/^\d+$/.test(f[0])) continue;
    const [op, value] = f.length >= 4 ? [f[2], f[3]] : ['', f[2]];
    out.push({ major: BigInt(f[0]), minor: BigInt(f[1]), op, value: BigInt(value) });
  }
  return out;
}
