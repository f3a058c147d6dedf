// Runs Debian's wrk against one URL and reads its summary. wrk prints human units (`1.23ms`, `12.5k`), so the
// parser below turns them into numbers; it is pure so a bad run is reported, not crashed on.

import { tail } from '../test/support/process.ts';
import { runClient, type LoadOptions, type LoadResult } from './load.ts';

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

/**
 * A wrk script that paces the run to `ratePerSec` requests in total. wrk calls delay() before each request of
 * any of a thread's connections, in one Lua state per thread, so each thread keeps a schedule of its own share
 * and returns the time left until its next slot: a request that came back late leaves no gap in the schedule,
 * and wrk's whole-millisecond timer does not accumulate into a rate error. Lua has no clock finer than a
 * second, hence clock_gettime through LuaJIT's FFI (wrk links LuaJIT).
 */
export function pacingScript(ratePerSec: number, threads: number): string {
  return `local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local interval_ms = ${((threads * 1000) / ratePerSec).toPrecision(6)}
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local start, slots
function init(args)
  start = now_ms()
  slots = 0
end
function delay()
  local due = start + slots * interval_ms
  slots = slots + 1
  return math.max(0, due - now_ms())
end
`;
}

/** wrk as fast as it goes, or paced by a Lua script (`pacingScript`) written to `scriptFile`. */
export async function runWrk(url: string, opts: LoadOptions, scriptFile?: string): Promise<LoadResult> {
  const args = [
    `-t${opts.threads}`,
    `-c${opts.connections}`,
    `-d${opts.durationSec}s`,
    '--latency',
    '--timeout',
    '5s',
    ...(scriptFile === undefined ? [] : ['-s', scriptFile]),
    ...(opts.headers ?? []).flatMap((h) => ['-H', h]),
    url,
  ];
  const result = parseWrkOutput(await runClient('wrk', 'wrk', args, opts.durationSec));
  if (result instanceof Error) throw result;
  return result;
}
