/**
 * process.scheduler, process.ioPriority, process.execCPUAffinity and linux.personality turned
 * into the numbers the init passes to sched_setattr(2), ioprio_set(2), sched_setaffinity(2) and
 * personality(2).
 */
import { parseCpuList } from '../base/formats';
import type { CPUAffinity, LinuxIOPriority, LinuxPersonality, Scheduler } from '../config/types';

/** <linux/sched.h> policies. */
export const SCHED_POLICIES: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};

/** <linux/sched.h> sched_attr flags. */
export const SCHED_FLAGS: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

export interface PlanScheduler {
  policy: number;
  flags: number;
  nice: number;
  priority: number;
  /** Nanoseconds, as sched_attr takes them (SCHED_DEADLINE only). */
  runtime: number;
  deadline: number;
  period: number;
}

export function planScheduler(s: Scheduler | undefined): PlanScheduler | null {
  if (!s) return null;
  return {
    policy: SCHED_POLICIES[s.policy],
    flags: (s.flags ?? []).reduce((all, f) => all | (SCHED_FLAGS[f] ?? 0), 0),
    nice: s.nice ?? 0,
    priority: s.priority ?? 0,
    runtime: s.runtime ?? 0,
    deadline: s.deadline ?? 0,
    period: s.period ?? 0,
  };
}

/** <linux/ioprio.h>: the class in the top 3 of 16 bits, the level below. */
export const IOPRIO_CLASSES: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const IOPRIO_CLASS_SHIFT = 13;

export function planIoPriority(p: LinuxIOPriority | undefined): number | null {
  if (!p) return null;
  return (IOPRIO_CLASSES[p.class] << IOPRIO_CLASS_SHIFT) | p.priority;
}

/** <sys/personality.h>: PER_LINUX and PER_LINUX32. The spec defines no flags yet (runc ignores them). */
export const PERSONALITY_DOMAINS: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };

export function planPersonality(p: LinuxPersonality | undefined): number | null {
  return p ? PERSONALITY_DOMAINS[p.domain] : null;
}

export interface PlanCpuAffinity {
  initial: number[] | null;
  final: number[] | null;
}

/** Empty strings mean "not set" (config.md: "If omitted or empty"). */
export function planCpuAffinity(a: CPUAffinity | undefined): PlanCpuAffinity | null {
  if (!a) return null;
  const one = (s: string | undefined) => (s && s.trim() !== '' ? parseCpuList(s) : null);
  const planned = { initial: one(a.initial), final: one(a.final) };
  return planned.initial || planned.final ? planned : null;
}
