// The processes of one measured server. Each server is spawned as its own group leader
// (test/support/process.ts), so its process group is exactly the server: Apache's parent and its child,
// nginx's master and worker, one process for HAProxy and Stickler (whose worker threads live inside it).

import { readdir, readFile } from 'node:fs/promises';

/** The fields of a /proc/<pid>/stat text after the command name, so index 0 is field 3 (`state`) of proc(5). */
export function statFields(stat: string): string[] {
  // The command name is in parentheses and may itself contain spaces and parentheses: count from the last `)`.
  return stat.slice(stat.lastIndexOf(')') + 1).trim().split(/\s+/);
}

/** The process group of a /proc/<pid>/stat text. */
export function parseProcessGroup(stat: string): number | undefined {
  const pgrp = Number(statFields(stat)[2]);
  return Number.isInteger(pgrp) && pgrp > 0 ? pgrp : undefined;
}

export async function readProc(pid: string, file: string): Promise<string | undefined> {
  try {
    return await readFile(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    // The process exited between listing /proc and reading it.
    return undefined;
  }
}

/** Pid and /proc/<pid>/stat text of every live process in group `pgid`. */
export async function groupStats(pgid: number): Promise<{ pid: string; stat: string }[]> {
  const pids = (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry));
  const members: { pid: string; stat: string }[] = [];
  for (const pid of pids) {
    const stat = await readProc(pid, 'stat');
    if (stat !== undefined && parseProcessGroup(stat) === pgid) members.push({ pid, stat });
  }
  return members;
}
