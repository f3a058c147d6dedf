// Runs Debian's wrk against one URL and reads its summary. wrk prints human units (`1.23ms`, `12.5k`), so the
// parser below turns them into numbers; it is pure so a bad run is reported, not crashed on.

import { spawnManaged, tail } from '../test/support/process.ts';
import type { LoadOptions, LoadResult } from './load.ts';

const TIME_UNITS_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function parseDurationMs(text: string): number | undefined {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  const unit = m?.[2] && TIME_UNITS_MS[m[2]];
  return m?.[1] && unit ? Number(m[1]) * unit : undefined;
}

// wrk prints sizes in binary units (format_binary in wrk's units.c).
const SIZE_UNITS_MIB: Record<string, number> = { B: 1 / 1024 ** 2, KB: 1 / 1024, MB: 1, GB: 1024, TB: 1024 ** 2 };

function parseSizeMiB(text: string): number | undefined {
  const m = /^([\d.]+)(B|KB|MB|GB|TB)$/.exec(text);
  const unit = m?.[2] && SIZE_UNITS_MIB[m[2]];
  return m?.[1] && unit ? Number(m[1]) * unit : undefined;
}

export function parseWrkOutput(output: string): LoadResult | Error {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output)?.[1];
  const p50 = /^\s+50%\s+(\S+)/m.exec(output)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(output)?.[1];
  const requests = /^\s+(\d+) requests in /m.exec(output)?.[1];
  const transfer = /^Transfer\/sec:\s+(\S+)/m.exec(output)?.[1];
  if (rps === undefined || p50 === undefined || p99 === undefined || requests === undefined || transfer === undefined) {
    return new Error(`wrk output not understood (was --latency given?):\n${tail(output, 20)}`);
  }
  const p50Ms = parseDurationMs(p50);
  const p99Ms = parseDurationMs(p99);
  if (p50Ms === undefined || p99Ms === undefined) return new Error(`wrk latency not understood: 50%=${p50} 99%=${p99}`);
  const mibPerSec = parseSizeMiB(transfer);
  if (mibPerSec === undefined) return new Error(`wrk Transfer/sec not understood: ${transfer}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0);
  return { requestsPerSec: Number(rps), p50Ms, p99Ms, requests: Number(requests), errors: socketErrors + non2xx, mibPerSec };
}

export async function runWrk(url: string, opts: LoadOptions): Promise<LoadResult> {
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.durationSec}s`,
    '--latency',
    '--timeout',
    '5s',
    ...(opts.headers ?? []).flatMap((h) => ['-H', h]),
    url,
  ];
  const wrk = spawnManaged('wrk', 'wrk', args);
  // wrk stops itself after the duration; the margin covers start-up and the final report.
  const hardLimit = setTimeout(() => wrk.kill(), (opts.durationSec + 15) * 1000);
  const status = await wrk.exited;
  clearTimeout(hardLimit);
  if (status.code !== 0) throw new Error(`wrk ${args.join(' ')} failed (exit ${status.code ?? status.signal}):\n${tail(wrk.output(), 20)}`);
  const result = parseWrkOutput(wrk.stdout());
  if (result instanceof Error) throw result;
  return result;
}
