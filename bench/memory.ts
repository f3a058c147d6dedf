// A balancer's memory: a /proc/<pid>/status figure of every process in its process group, summed. VmHWM, the
// peak resident set, is a run's cost; VmRSS, the resident set now, prices what is held at one moment (idle
// connections). Pages shared between those processes count once per process, as `ps` would show them.

import { groupStats, readProc } from './process-group.ts';

export type StatusField = 'VmHWM' | 'VmRSS';

/** A `kB` line of a /proc/<pid>/status text, in KiB. */
export function parseStatusKiB(status: string, field: StatusField): number | undefined {
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib);
}

/** `field` summed over all processes in group `pgid`, in KiB; undefined when none of them can be read. */
export async function groupStatusKiB(pgid: number, field: StatusField): Promise<number | undefined> {
  let totalKiB: number | undefined;
  for (const { pid } of await groupStats(pgid)) {
    const kib = parseStatusKiB((await readProc(pid, 'status')) ?? '', field);
    if (kib !== undefined) totalKiB = (totalKiB ?? 0) + kib;
  }
  return totalKiB;
}

/** Peak RSS of all processes in group `pgid`, in MiB; undefined when none of them can be read. */
export async function groupPeakRssMiB(pgid: number): Promise<number | undefined> {
  const kib = await groupStatusKiB(pgid, 'VmHWM');
  return kib === undefined ? undefined : kib / 1024;
}
