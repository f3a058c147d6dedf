// A balancer's CPU cost: user plus system time of every process in its process group, read from
// /proc/<pid>/stat before and after a run. Worker threads are counted in their process's figures; a process
// that exits during the run takes its time with it, which none of the measured servers do under load.

import { groupStats, statFields } from './process-group.ts';

// /proc reports times in USER_HZ, which the kernel ABI fixes at 100 on every architecture Linux exports it.
const TICKS_PER_SECOND = 100;

/** utime + stime of a /proc/<pid>/stat text (fields 14 and 15 of proc(5)), in seconds. */
export function parseCpuSeconds(stat: string): number | undefined {
  const fields = statFields(stat);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (fields.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime)) return undefined;
  return (utime + stime) / TICKS_PER_SECOND;
}

/** CPU time a group used so far, keyed by pid so that only processes alive at both samples are compared. */
export type CpuSample = Map<string, number>;

export async function sampleGroupCpu(pgid: number): Promise<CpuSample> {
  const sample: CpuSample = new Map();
  for (const { pid, stat } of await groupStats(pgid)) {
    const seconds = parseCpuSeconds(stat);
    if (seconds !== undefined) sample.set(pid, seconds);
  }
  return sample;
}

/**
 * CPU seconds the group spent per 10 000 requests between two samples; a process born during the run counts
 * from zero. Undefined when nothing was sampled or no request was served.
 */
export function cpuSecondsPer10k(before: CpuSample, after: CpuSample, requests: number): number | undefined {
  if (after.size === 0 || !(requests > 0)) return undefined;
  let spent = 0;
  for (const [pid, seconds] of after) spent += seconds - (before.get(pid) ?? 0);
  return (spent / requests) * 10_000;
}
