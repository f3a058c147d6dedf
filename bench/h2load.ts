// Runs Debian's h2load (package nghttp2-client) as the HTTP/2 client. Its summary has throughput and byte
// counts but no latency percentiles, so it also writes one line per request to a log file (`--log-file`),
// from which p50 and p99 are computed. The parsers are pure so a bad run is reported, not crashed on.

import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tail } from '../test/support/process.ts';
import { runClient, type LoadOptions, type LoadResult } from './load.ts';
import { percentile } from './report.ts';

export const H2LOAD = '/usr/bin/h2load';
/** Concurrent streams each h2load connection keeps open: HTTP/2 clients multiplex instead of opening more. */
export const H2_STREAMS_PER_CONNECTION = 10;

export interface H2loadSummary {
  durationSec: number;
  requestsPerSec: number;
  /** Responses completed (`done`). */
  requests: number;
  /** Completed requests that did not succeed (4xx/5xx) plus streams that failed. */
  errors: number;
  /** Every byte read, headers and data. */
  trafficBytes: number;
}

const DURATION_UNITS_SEC: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1 };

export function parseH2loadOutput(output: string): H2loadSummary | Error {
  const finished = /^finished in ([\d.]+)(us|ms|s), ([\d.]+) req\/s/m.exec(output);
  const requests = /^requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/m.exec(output);
  const traffic = /^traffic: \S+ \((\d+)\) total/m.exec(output);
  if (!finished || !requests || !traffic) return new Error(`h2load output not understood:\n${tail(output, 20)}`);
  const done = Number(requests[1]);
  if (done === 0) return new Error(`h2load completed no request (could it connect?):\n${tail(output, 20)}`);
  return {
    durationSec: Number(finished[1]) * DURATION_UNITS_SEC[finished[2]!]!,
    requestsPerSec: Number(finished[3]),
    requests: done,
    errors: done - Number(requests[2]),
    trafficBytes: Number(traffic[1]),
  };
}

export interface Percentiles {
  p50Ms: number;
  p99Ms: number;
}

/**
 * p50 and p99 of an h2load `--log-file` (start time, status, microseconds to the end of the response, tab
 * separated); streams that failed (status -1) have no response time and are left out.
 */
export function logPercentiles(log: string): Percentiles | Error {
  const times: number[] = [];
  for (const line of log.split('\n')) {
    const [start, status, micros] = line.split('\t');
    if (start === undefined || status === undefined || micros === undefined) continue;
    const us = Number(micros);
    if (status !== '-1' && Number.isFinite(us) && us >= 0) times.push(us);
  }
  if (times.length === 0) return new Error('h2load log has no completed request');
  const sorted = Float64Array.from(times).sort();
  return { p50Ms: percentile(sorted, 50) / 1000, p99Ms: percentile(sorted, 99) / 1000 };
}

export function h2loadResult(summary: H2loadSummary, latency: Percentiles): LoadResult {
  return {
    requestsPerSec: summary.requestsPerSec,
    requests: summary.requests,
    errors: summary.errors,
    mibPerSec: summary.durationSec > 0 ? summary.trafficBytes / summary.durationSec / 1024 ** 2 : 0,
    ...latency,
  };
}

export function h2loadInstalled(): boolean {
  return existsSync(H2LOAD);
}

/** h2load with `opts.connections` connections of H2_STREAMS_PER_CONNECTION streams; `logFile` is removed after. */
export async function runH2load(url: string, opts: LoadOptions, logFile: string): Promise<LoadResult> {
  const args = [
    `--threads=${opts.threads}`,
    `--clients=${opts.connections}`,
    `--max-concurrent-streams=${H2_STREAMS_PER_CONNECTION}`,
    `--duration=${opts.durationSec}`,
    `--log-file=${logFile}`,
    ...(opts.headers ?? []).map((h) => `--header=${h}`),
    url,
  ];
  try {
    const summary = parseH2loadOutput(await runClient('h2load', H2LOAD, args, opts.durationSec));
    if (summary instanceof Error) throw summary;
    const latency = logPercentiles(await readFile(logFile, 'utf8'));
    if (latency instanceof Error) throw latency;
    return h2loadResult(summary, latency);
  } finally {
    await rm(logFile, { force: true });
  }
}
