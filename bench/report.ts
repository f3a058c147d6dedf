// The benchmark tables and their JSON form. Ratios are throughput ratios (req/s of the row over req/s of the
// reference), so above 1 means faster than the reference.

import type { WrkResult } from './wrk.ts';

export interface TargetOutcome {
  name: string;
  url?: string;
  result?: WrkResult;
  /** Peak RSS of the balancer's processes after its run (memory.ts); absent for direct runs. */
  peakRssMiB?: number;
  /** Why there is no result (not installed, failed to start, wrk failed), in one line. */
  skipped?: string;
  /** The full error behind `skipped` (process output included). */
  detail?: string;
}

export type ReportRow = TargetOutcome & { vsApache?: number; vsStickler?: number };

function ratio(row: TargetOutcome, reference: TargetOutcome | undefined): number | undefined {
  const a = row.result?.requestsPerSec;
  const b = reference?.result?.requestsPerSec;
  return a !== undefined && b ? a / b : undefined;
}

export function withRatios(rows: TargetOutcome[], apacheName: string, sticklerName: string): ReportRow[] {
  const apache = rows.find((r) => r.name === apacheName);
  const stickler = rows.find((r) => r.name === sticklerName);
  return rows.map((r) => ({ ...r, vsApache: ratio(r, apache), vsStickler: ratio(r, stickler) }));
}

const HEADER = ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs Apache', 'vs Stickler', 'peak RSS MiB'];

function fmt(n: number | undefined, digits: number, suffix = ''): string {
  return n === undefined ? '-' : `${n.toFixed(digits)}${suffix}`;
}

function cells(r: ReportRow): string[] {
  if (!r.result) return [r.name, `skipped: ${r.skipped ?? 'no result'}`];
  return [
    r.name,
    fmt(r.result.requestsPerSec, 0),
    fmt(r.result.p50Ms, 2),
    fmt(r.result.p99Ms, 2),
    String(r.result.errors),
    fmt(r.vsApache, 2, 'x'),
    fmt(r.vsStickler, 2, 'x'),
    fmt(r.peakRssMiB, 1),
  ];
}

export function formatTable(rows: ReportRow[]): string {
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
