// The benchmark's figures: each target is measured in several rounds, and its row is the median of every
// figure over the rounds it completed, so one noisy run does not decide a comparison. Ratios are to
// HAProxy's row (one thread): for req/s above 1 is faster than HAProxy; for p99, CPU and RSS above 1 is slower
// or costs more. The rows compared (Stickler's) also get their req/s over HAProxy on every core and over the
// Node ceiling, when those rows were measured.

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
  /** Share of the requests whose TLS handshake resumed a session, when the client counted them. */
  resumedShare?: number;
}

export interface Ratios {
  requestsPerSec?: number;
  p99Ms?: number;
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
  /** req/s over the reference rows beyond HAProxy's one thread (see References), for the rows compared. */
  vsHaproxyAllCores?: number;
  vsCeiling?: number;
  /** Which reference this row is, so that its ratio columns are shown, '-' where it has no result. */
  reference?: Reference;
}

type Reference = 'haproxyAllCores' | 'ceiling';

/** The rows every other is divided by, by name. */
export interface References {
  /** HAProxy on one thread: every row gets its ratios to it. */
  haproxy: string;
  haproxyAllCores?: string;
  /** The Node pipe: what Node's TLS and sockets alone allow. */
  ceiling?: string;
  /** The rows that get req/s over haproxyAllCores and ceiling. */
  compared?: (name: string) => boolean;
}

/** Median of the defined values; undefined when there are none. */
export function median(values: (number | undefined)[]): number | undefined {
  const sorted = values.filter((v): v is number => v !== undefined && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
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
    resumedShare: of((r) => (r.result.resumed === undefined ? undefined : r.result.resumed / r.result.requests)),
  };
  return { name, url, runs, median: figures, skipped };
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b ? a / b : undefined;
}

export function withRatios(rows: TargetReport[], refs: References): TargetReport[] {
  const figures = (name: string | undefined): Figures | undefined => rows.find((r) => r.name === name)?.median;
  const ref = figures(refs.haproxy);
  const allCores = figures(refs.haproxyAllCores)?.requestsPerSec;
  const ceiling = figures(refs.ceiling)?.requestsPerSec;
  return rows.map((r) => {
    const compared = refs.compared?.(r.name) ?? false;
    const reference = r.name === refs.haproxyAllCores ? 'haproxyAllCores' : r.name === refs.ceiling ? 'ceiling' : undefined;
    return {
      ...r,
      ...(reference && { reference }),
      vsHaproxy: {
        requestsPerSec: ratio(r.median?.requestsPerSec, ref?.requestsPerSec),
        p99Ms: ratio(r.median?.p99Ms, ref?.p99Ms),
        cpuPer10k: ratio(r.median?.cpuPer10k, ref?.cpuPer10k),
        peakRssMiB: ratio(r.median?.peakRssMiB, ref?.peakRssMiB),
      },
      vsHaproxyAllCores: compared ? ratio(r.median?.requestsPerSec, allCores) : undefined,
      vsCeiling: compared ? ratio(r.median?.requestsPerSec, ceiling) : undefined,
    };
  });
}

export function fmt(n: number | undefined, digits: number, suffix = ''): string {
  return n === undefined ? '-' : `${n.toFixed(digits)}${suffix}`;
}

type Column = [title: string, cell: (m: Figures, r: TargetReport) => string];

/** A column and whether the table needs it, given its rows. */
type OptionalColumn = [column: Column, shown: (rows: TargetReport[]) => boolean];

const always = (): boolean => true;
const measured = (reference: Reference) => (rows: TargetReport[]): boolean => rows.some((r) => r.reference === reference);

const COLUMNS: OptionalColumn[] = [
  [['req/s', (m) => fmt(m.requestsPerSec, 0)], always],
  [['MiB/s', (m) => fmt(m.mibPerSec, 1)], always],
  [['p50 ms', (m) => fmt(m.p50Ms, 2)], always],
  [['p99 ms', (m) => fmt(m.p99Ms, 2)], always],
  [['errors', (m) => String(m.errors)], always],
  [['CPU s/10k', (m) => fmt(m.cpuPer10k, 2)], always],
  [['RSS MiB', (m) => fmt(m.peakRssMiB, 1)], always],
  [['req/s xHAP', (_, r) => fmt(r.vsHaproxy?.requestsPerSec, 2, 'x')], always],
  [['xHAPall', (_, r) => fmt(r.vsHaproxyAllCores, 2, 'x')], measured('haproxyAllCores')],
  [['xNode', (_, r) => fmt(r.vsCeiling, 2, 'x')], measured('ceiling')],
  [['p99 xHAP', (_, r) => fmt(r.vsHaproxy?.p99Ms, 2, 'x')], always],
  [['CPU xHAP', (_, r) => fmt(r.vsHaproxy?.cpuPer10k, 2, 'x')], always],
  [['RSS xHAP', (_, r) => fmt(r.vsHaproxy?.peakRssMiB, 2, 'x')], always],
  [['resumed', (m) => (m.resumedShare === undefined ? '-' : fmt(m.resumedShare * 100, 1, '%'))], (rows) => rows.some((r) => r.median?.resumedShare !== undefined)],
];

/**
 * Right-aligned columns under `header`, the first left-aligned. A row of two cells is a name and a note (why
 * it was skipped), which runs past the columns rather than widening them.
 */
export function renderTable(header: string[], rows: string[][]): string {
  const full = [header, ...rows.filter((l) => l.length === header.length)];
  const widths = header.map((_, i) => Math.max(...full.map((l) => l[i]!.length)));
  const render = (row: string[]): string =>
    row.length === header.length
      ? row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
      : `${row[0]!.padEnd(widths[0]!)}  ${row[1]}`;
  return [render(header), ...rows.map(render)].join('\n');
}

/**
 * One row per target; the ratios to HAProxy on every core and to the Node ceiling only when that reference was
 * among the rows, the resumed share only when the client counted resumptions.
 */
export function formatTable(rows: TargetReport[]): string {
  const columns = COLUMNS.filter(([, shown]) => shown(rows)).map(([column]) => column);
  const lines = rows.map((r) => (r.median ? [r.name, ...columns.map(([, cell]) => cell(r.median!, r))] : [r.name, `skipped: ${r.skipped ?? 'no result'}`]));
  return renderTable(['target', ...columns.map(([title]) => title)], lines);
}
