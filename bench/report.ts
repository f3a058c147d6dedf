// The benchmark's figures: each target is measured in several rounds, and its row is the median of every
// figure over the rounds it completed, so one noisy run does not decide a comparison. Ratios are to
// HAProxy's row: for req/s above 1 is faster than HAProxy; for CPU and RSS above 1 costs more.

import type { LoadResult } from './load.ts';

/** One measurement of one target. */
export interface RunOutcome {
  result?: LoadResult;
  /** CPU seconds the target's processes spent per 10 000 requests (cpu.ts); absent for direct runs. */
  cpuPer10k?: number;
  /** Peak RSS of the target's processes after its run (memory.ts); absent for direct runs. */
  peakRssMiB?: number;
  /** Why there is no result (not installed, failed to start, the client failed), in one line. */
  skipped?: string;
  /** The full error behind `skipped` (process output included). */
  detail?: string;
}

export interface Figures {
  requestsPerSec: number;
  mibPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Errors summed over all rounds, so that none is hidden by the median. */
  errors: number;
  cpuPer10k?: number;
  peakRssMiB?: number;
}

export interface Ratios {
  requestsPerSec?: number;
  cpuPer10k?: number;
  peakRssMiB?: number;
}

export interface TargetReport {
  name: string;
  url?: string;
  runs: RunOutcome[];
  /** Medians over the runs with a result; absent when none had one. */
  median?: Figures;
  /** The first reason a run had no result. */
  skipped?: string;
  vsHaproxy?: Ratios;
}

/** Median of the defined values; undefined when there are none. */
export function median(values: (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function summarize(name: string, runs: RunOutcome[], url?: string): TargetReport {
  const done = runs.filter((r): r is RunOutcome & { result: LoadResult } => r.result !== undefined);
  const skipped = runs.find((r) => r.skipped !== undefined)?.skipped;
  if (done.length === 0) return { name, url, runs, skipped: skipped ?? 'no run' };
  const of = (pick: (r: RunOutcome & { result: LoadResult }) => number | undefined): number | undefined => median(done.map(pick));
  const figures: Figures = {
    requestsPerSec: of((r) => r.result.requestsPerSec)!,
    mibPerSec: of((r) => r.result.mibPerSec)!,
    p50Ms: of((r) => r.result.p50Ms)!,
    p99Ms: of((r) => r.result.p99Ms)!,
    errors: done.reduce((sum, r) => sum + r.result.errors, 0),
    cpuPer10k: of((r) => r.cpuPer10k),
    peakRssMiB: of((r) => r.peakRssMiB),
  };
  return { name, url, runs, median: figures, skipped };
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b ? a / b : undefined;
}

export function withRatios(rows: TargetReport[], referenceName: string): TargetReport[] {
  const ref = rows.find((r) => r.name === referenceName)?.median;
  return rows.map((r) => ({
    ...r,
    vsHaproxy: {
      requestsPerSec: ratio(r.median?.requestsPerSec, ref?.requestsPerSec),
      cpuPer10k: ratio(r.median?.cpuPer10k, ref?.cpuPer10k),
      peakRssMiB: ratio(r.median?.peakRssMiB, ref?.peakRssMiB),
    },
  }));
}

const HEADER = ['target', 'req/s', 'MiB/s', 'p50 ms', 'p99 ms', 'errors', 'CPU s/10k', 'RSS MiB', 'req/s xHAP', 'CPU xHAP', 'RSS xHAP'];

function fmt(n: number | undefined, digits: number, suffix = ''): string {
  return n === undefined ? '-' : `${n.toFixed(digits)}${suffix}`;
}

function cells(r: TargetReport): string[] {
  const m = r.median;
  if (!m) return [r.name, `skipped: ${r.skipped ?? 'no result'}`];
  return [
    r.name,
    fmt(m.requestsPerSec, 0),
    fmt(m.mibPerSec, 1),
    fmt(m.p50Ms, 2),
    fmt(m.p99Ms, 2),
    String(m.errors),
    fmt(m.cpuPer10k, 2),
    fmt(m.peakRssMiB, 1),
    fmt(r.vsHaproxy?.requestsPerSec, 2, 'x'),
    fmt(r.vsHaproxy?.cpuPer10k, 2, 'x'),
    fmt(r.vsHaproxy?.peakRssMiB, 2, 'x'),
  ];
}

export function formatTable(rows: TargetReport[]): string {
  const lines = rows.map(cells);
  const full = [HEADER, ...lines.filter((l) => l.length === HEADER.length)];
  const widths = HEADER.map((_, i) => Math.max(...full.map((l) => l[i]!.length)));
  // A skipped row is its name and the reason, which runs past the columns rather than widening them.
  const render = (row: string[]): string =>
    row.length === HEADER.length
      ? row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
      : `${row[0]!.padEnd(widths[0]!)}  ${row[1]}`;
  return [render(HEADER), ...lines.map(render)].join('\n');
}
