/**
 * The statistics `runc events` prints (runc's types/events.go as runc 1.1 encodes it), with
 * uint64 counters kept as bigint so 2^64-1 ("max") survives, and the Go-style JSON encoder
 * that honours runc's `omitempty` fields.
 */

export interface MemoryEntry {
  limit: bigint;
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface BlkioEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface Stats {
  cpu: {
    usage: { total: bigint; percpu: bigint[]; percpu_kernel: bigint[]; percpu_user: bigint[]; kernel: bigint; user: bigint };
    throttling: { periods: bigint; throttledPeriods: bigint; throttledTime: bigint };
  };
  cpuset: {
    cpus: number[];
    cpu_exclusive: bigint;
    mems: number[];
    mem_hardwall: bigint;
    mem_exclusive: bigint;
    memory_migrate: bigint;
    memory_spread_page: bigint;
    memory_spread_slab: bigint;
    memory_pressure: bigint;
    sched_load_balance: bigint;
    sched_relax_domain_level: bigint;
  };
  memory: {
    cache: bigint;
    usage: MemoryEntry;
    swap: MemoryEntry;
    kernel: MemoryEntry;
    kernelTCP: MemoryEntry;
    raw: Map<string, bigint>;
  };
  pids: { current: bigint; limit: bigint };
  blkio: {
    ioServiceBytesRecursive: BlkioEntry[];
    ioServicedRecursive: BlkioEntry[];
    ioQueueRecursive: BlkioEntry[];
    ioServiceTimeRecursive: BlkioEntry[];
    ioWaitTimeRecursive: BlkioEntry[];
    ioMergedRecursive: BlkioEntry[];
    ioTimeRecursive: BlkioEntry[];
    sectorsRecursive: BlkioEntry[];
  };
  hugetlb: Map<string, { usage: bigint; max: bigint; failcnt: bigint }>;
}

export function memoryEntry(): MemoryEntry {
  return { limit: 0n, usage: 0n, max: 0n, failcnt: 0n };
}

export function emptyStats(): Stats {
  return {
    cpu: {
      usage: { total: 0n, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 0n, user: 0n },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    cpuset: {
      cpus: [], cpu_exclusive: 0n, mems: [], mem_hardwall: 0n, mem_exclusive: 0n, memory_migrate: 0n,
      memory_spread_page: 0n, memory_spread_slab: 0n, memory_pressure: 0n, sched_load_balance: 0n,
      sched_relax_domain_level: 0n,
    },
    memory: { cache: 0n, usage: memoryEntry(), swap: memoryEntry(), kernel: memoryEntry(), kernelTCP: memoryEntry(), raw: new Map() },
    pids: { current: 0n, limit: 0n },
    blkio: {
      ioServiceBytesRecursive: [], ioServicedRecursive: [], ioQueueRecursive: [], ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [], ioMergedRecursive: [], ioTimeRecursive: [], sectorsRecursive: [],
    },
    hugetlb: new Map(),
  };
}

// ---------------------------------------------------------------- Go-shaped JSON

type Json = bigint | number | string | boolean | null | Json[] | { [k: string]: Json };

const omitZero = (v: bigint): bigint | undefined => (v === 0n ? undefined : v);
const omitEmpty = <T>(a: T[]): T[] | undefined => (a.length === 0 ? undefined : a);

function blkioJson(entries: BlkioEntry[]): Json[] | undefined {
  return omitEmpty(entries.map((e) => prune({ major: omitZero(e.major), minor: omitZero(e.minor), op: e.op || undefined, value: omitZero(e.value) })));
}

function memoryEntryJson(e: MemoryEntry): Json {
  return prune({ limit: e.limit, usage: omitZero(e.usage), max: omitZero(e.max), failcnt: e.failcnt });
}

function prune(o: Record<string, Json | undefined>): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

function sortedMap<V>(m: Map<string, V>, f: (v: V) => Json): { [k: string]: Json } {
  const out: { [k: string]: Json } = {};
  for (const k of [...m.keys()].sort()) out[k] = f(m.get(k)!);
  return out;
}

/** The `data` object of a stats event, fields and omissions as runc 1.1 prints them. */
export function statsJson(s: Stats): Json {
  const u = s.cpu.usage;
  const t = s.cpu.throttling;
  return {
    cpu: {
      usage: prune({
        total: omitZero(u.total), percpu: omitEmpty(u.percpu), percpu_kernel: omitEmpty(u.percpu_kernel),
        percpu_user: omitEmpty(u.percpu_user), kernel: u.kernel, user: u.user,
      }),
      throttling: prune({ periods: omitZero(t.periods), throttledPeriods: omitZero(t.throttledPeriods), throttledTime: omitZero(t.throttledTime) }),
    },
    cpuset: prune({
      cpus: omitEmpty(s.cpuset.cpus), cpu_exclusive: s.cpuset.cpu_exclusive, mems: omitEmpty(s.cpuset.mems),
      mem_hardwall: s.cpuset.mem_hardwall, mem_exclusive: s.cpuset.mem_exclusive, memory_migrate: s.cpuset.memory_migrate,
      memory_spread_page: s.cpuset.memory_spread_page, memory_spread_slab: s.cpuset.memory_spread_slab,
      memory_pressure: s.cpuset.memory_pressure, sched_load_balance: s.cpuset.sched_load_balance,
      sched_relax_domain_level: s.cpuset.sched_relax_domain_level,
    }),
    memory: prune({
      cache: omitZero(s.memory.cache),
      usage: memoryEntryJson(s.memory.usage),
      swap: memoryEntryJson(s.memory.swap),
      kernel: memoryEntryJson(s.memory.kernel),
      kernelTCP: memoryEntryJson(s.memory.kernelTCP),
      raw: s.memory.raw.size > 0 ? sortedMap(s.memory.raw, (v) => v) : undefined,
    }),
    pids: prune({ current: omitZero(s.pids.current), limit: omitZero(s.pids.limit) }),
    blkio: prune({
      ioServiceBytesRecursive: blkioJson(s.blkio.ioServiceBytesRecursive),
      ioServicedRecursive: blkioJson(s.blkio.ioServicedRecursive),
      ioQueueRecursive: blkioJson(s.blkio.ioQueueRecursive),
      ioServiceTimeRecursive: blkioJson(s.blkio.ioServiceTimeRecursive),
      ioWaitTimeRecursive: blkioJson(s.blkio.ioWaitTimeRecursive),
      ioMergedRecursive: blkioJson(s.blkio.ioMergedRecursive),
      ioTimeRecursive: blkioJson(s.blkio.ioTimeRecursive),
      sectorsRecursive: blkioJson(s.blkio.sectorsRecursive),
    }),
    hugetlb: sortedMap(s.hugetlb, (h) => prune({ usage: omitZero(h.usage), max: omitZero(h.max), failcnt: h.failcnt })),
    intel_rdt: {},
    network_interfaces: null,
  };
}

