// A balancer's memory cost: the peak resident set (VmHWM) of every process in its process group, summed.
// Pages shared between those processes count once per process, as `ps` would show them.

import { groupStats, readProc } from './process-group.ts';

/** VmHWM of a /proc/<pid>/status text, in KiB. */
export function parseVmHwmKiB(status: string): number | undefined {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib);
}

/** Peak RSS of all processes in group `pgid`, in MiB; undefined when none of them can be read. */
export async function groupPeakRssMiB(pgid: number): Promise<number | undefined> {
  let totalKiB: number | undefined;
  for (const { pid } of await groupStats(pgid)) {
    const kib = parseVmHwmKiB((await readProc(pid, 'status')) ?? '');
    if (kib !== undefined) totalKiB = (totalKiB ?? 0) + kib;
  }
  return totalKiB === undefined ? undefined : totalKiB / 1024;
}
