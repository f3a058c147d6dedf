// A balancer's memory cost: the peak resident set (VmHWM) of every process in its process group, summed.
// Each server is spawned as its own group leader (test/support/process.ts), so the group is exactly the
// balancer: Apache's parent and its child, nginx's master and worker, one process for HAProxy and Stickler.
// Pages shared between those processes count once per process, as `ps` would show them.

import { readdir, readFile } from 'node:fs/promises';

/** VmHWM of a /proc/<pid>/status text, in KiB. */
export function parseVmHwmKiB(status: string): number | undefined {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib);
}

/** The process group of a /proc/<pid>/stat text. */
export function parseProcessGroup(stat: string): number | undefined {
  // The command name is in parentheses and may itself contain spaces and parentheses: count from the last `)`.
  const fields = stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
  const pgrp = Number(fields[2]);
  return Number.isInteger(pgrp) && pgrp > 0 ? pgrp : undefined;
}

async function readProc(pid: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    // The process exited between listing /proc and reading it.
    return undefined;
  }
}

/** Peak RSS of all processes in group `pgid`, in MiB; undefined when none of them can be read. */
export async function groupPeakRssMiB(pgid: number): Promise<number | undefined> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  let totalKiB: number | undefined;
  for (const pid of pids) {
    const stat = await readProc(pid, 'stat');
    if (stat === undefined || parseProcessGroup(stat) !== pgid) continue;
    const kib = parseVmHwmKiB((await readProc(pid, 'status')) ?? '');
    if (kib !== undefined) totalKiB = (totalKiB ?? 0) + kib;
  }
  return totalKiB === undefined ? undefined : totalKiB / 1024;
}
