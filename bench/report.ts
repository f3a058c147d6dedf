// The benchmark table and its JSON form. Ratios are throughput ratios (req/s of the row over req/s of the
// reference), so above 1 means faster than the reference.

import type { WrkResult } from './wrk.ts';

export interface TargetOutcome {
  name: string;
  url?: string;
  result?: WrkResult;
  /** Why there is no result (not installed, failed to start, wrk failed), in one line. */
  skipped?: string;
  /** The full error behind `skipped` (process output included). */
  detail?: string;
}

function ratio(row: TargetOutcome, reference: TargetOutcome | undefined): number | undefined {
  const a = row.result?.requestsPerSec;
  const b = reference?.result?.requestsPerSec;
  return a !== undefined && b ? a / b : undefined;
}

export function withRatios(rows: TargetOutcome[], apacheName: string, sticklerName: string) {
  const apache = rows.find((r) => r.name === apacheName);
  const stickler = rows.find((r) => r.name === sticklerName);
  return rows.map((r) => ({ ...r, vsApache: ratio(r, apache), vsStickler: ratio(r, stickler) }));
}

export function formatTable(rows: ReturnType<typeof withRatios>): string {
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'vs Apache', 'vs Stickler'];
  const fmt = (n: number | undefined, digits: number, suffix = ''): string =>
    n === undefined ? '-' : `${n.toFixed(digits)}${suffix}`;
  const lines = rows.map((r) =>
    r.result
      ? [r.name, fmt(r.result.requestsPerSec, 0), fmt(r.result.p50Ms, 2), fmt(r.result.p99Ms, 2), String(r.result.errors), fmt(r.vsApache, 2, 'x'), fmt(r.vsStickler, 2, 'x')]
      : [r.name, `skipped: ${r.skipped ?? 'no result'}`],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => l.length > 2).map((l) => (l[i] ?? '').length)));
  const render = (cells: string[]): string =>
    cells.length === 2 ? `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]}` : cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [render(header), ...lines.map(render)].join('\n');
}
