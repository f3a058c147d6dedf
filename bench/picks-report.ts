// The pure parts of `npm run bench:picks` (picks.ts): its arguments, the figures of one run from what each
// thread counted, and the table.

import { parseArgs } from 'node:util';
import { fmt, renderTable } from './report.ts';

export interface PickOptions {
  /** How long each thread picks in each run. */
  seconds: number;
  /** One run per entry, with that many threads contending on one balancer. */
  threads: number[];
}

export const DEFAULT_PICK_OPTIONS: PickOptions = { seconds: 2, threads: [1, 2, 4, 8, 16] };
/** More threads than this is a typing error, not a machine. */
export const MAX_THREADS = 256;
/** Each run must stop by itself soon: a run of minutes is a typing error too. */
export const MAX_SECONDS = 60;

export const PICKS_USAGE = `usage: npm run bench:picks -- [--seconds S] [--threads N,N,...]
  --seconds S   how long each thread picks in each run, 0 < S <= ${MAX_SECONDS} (default ${DEFAULT_PICK_OPTIONS.seconds})
  --threads     thread counts to run, each 1..${MAX_THREADS} (default ${DEFAULT_PICK_OPTIONS.threads.join(',')})`;

export function parsePickArgs(args: string[]): PickOptions | Error {
  let values: { seconds?: string; threads?: string };
  try {
    ({ values } = parseArgs({ args, options: { seconds: { type: 'string' }, threads: { type: 'string' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    return new Error(err instanceof Error ? err.message : String(err));
  }
  const seconds = values.seconds === undefined ? DEFAULT_PICK_OPTIONS.seconds : Number(values.seconds);
  if (!(seconds > 0 && seconds <= MAX_SECONDS)) {
    return new Error(`--seconds must be a number of seconds above 0 and at most ${MAX_SECONDS}, not ${JSON.stringify(values.seconds)}`);
  }
  if (values.threads === undefined) return { seconds, threads: DEFAULT_PICK_OPTIONS.threads };
  const threads = values.threads.split(',').map((t) => Number(t.trim()));
  const bad = threads.findIndex((n) => !Number.isInteger(n) || n < 1 || n > MAX_THREADS);
  if (bad >= 0 || threads.length === 0) {
    return new Error(`--threads must be thread counts from 1 to ${MAX_THREADS} separated by commas, not ${JSON.stringify(values.threads)}`);
  }
  return { seconds, threads };
}

/** What one thread counted: its picks, and the wall and CPU time they took. */
export interface ThreadCount {
  picks: number;
  wallNs: number;
  cpuNs: number;
}

export type PickMode = 'sticky' | 'balanced';

export interface PickRow {
  mode: PickMode;
  threads: number;
  /** Picks of all threads over the longest thread's wall time. */
  totalPerSec: number;
  /** The mean of each thread's own picks per second. */
  perThreadPerSec: number;
  /** The mean of each thread's wall time per pick: grows with contention, and with threads beyond free cores. */
  wallNsPerPick: number;
  /** The mean of each thread's CPU time per pick: grows with contention (spinning, cache lines moving), not with sleep. */
  cpuNsPerPick: number;
}

const mean = (values: number[]): number => values.reduce((a, b) => a + b, 0) / values.length;

export function pickRow(mode: PickMode, counts: ThreadCount[]): PickRow {
  const picks = counts.reduce((sum, c) => sum + c.picks, 0);
  const wallNs = Math.max(...counts.map((c) => c.wallNs));
  return {
    mode,
    threads: counts.length,
    totalPerSec: picks / (wallNs / 1e9),
    perThreadPerSec: mean(counts.map((c) => c.picks / (c.wallNs / 1e9))),
    wallNsPerPick: mean(counts.map((c) => c.wallNs / c.picks)),
    cpuNsPerPick: mean(counts.map((c) => c.cpuNs / c.picks)),
  };
}

/** One row per run; "x 1 thread" is the total over the same mode's one-thread total, when that ran. */
export function formatPickTable(rows: PickRow[]): string {
  const single = (mode: PickMode): number | undefined => rows.find((r) => r.mode === mode && r.threads === 1)?.totalPerSec;
  const whole = (n: number): string => Math.round(n).toLocaleString('en-US');
  return renderTable(
    ['picks', 'threads', 'picks/s total', 'picks/s per thread', 'ns/pick wall', 'ns/pick CPU', 'total x 1 thread'],
    rows.map((r) => {
      const one = single(r.mode);
      return [r.mode, String(r.threads), whole(r.totalPerSec), whole(r.perThreadPerSec), fmt(r.wallNsPerPick, 0), fmt(r.cpuNsPerPick, 0), fmt(one && r.totalPerSec / one, 2, 'x')];
    }),
  );
}
