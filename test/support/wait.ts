// Every wait in the harness is bounded: a hung server must fail a test with a message, not hang the run.

import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no result after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Describes the awaited condition in the timeout error. */
  what: string;
  /** Called on timeout; its text is appended to the error (a log tail, say). */
  diagnostics?: () => string | Promise<string>;
  /** Stops polling early with this error (the server process died, say). */
  abort?: () => Error | undefined;
}

/** Polls `probe` until it returns true; probe errors count as "not yet". */
export async function pollUntil(probe: () => Promise<boolean>, opts: PollOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw aborted;
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(opts.intervalMs ?? 200);
  }
  const last = lastError instanceof Error ? ` (last probe error: ${lastError.message})` : '';
  const extra = opts.diagnostics ? `\n${await opts.diagnostics()}` : '';
  throw new TimeoutError(`${opts.what}: not reached within ${opts.timeoutMs} ms${last}${extra}`);
}

/**
 * How long a test may allow for something the code guarantees within `ms`: that and as much again, at least 2 s.
 * Timers fire late, never early, and CI is a loaded two-core machine: a tighter bound fails correct code.
 */
export function loadedBound(ms: number): number {
  return ms + Math.max(2_000, ms);
}

/** The non-empty lines of `file` once it has at least `count` (within 15 s: a log is written within a second). */
export async function fileLines(file: string, count: number, encoding: BufferEncoding = 'utf8'): Promise<string[]> {
  let lines: string[] = [];
  await pollUntil(async () => {
    lines = (await readFile(file, encoding).catch(() => '')).split('\n').filter((l) => l !== '');
    return lines.length >= count;
  }, { timeoutMs: 15_000, intervalMs: 50, what: `${count} lines in ${file}` });
  return lines;
}
