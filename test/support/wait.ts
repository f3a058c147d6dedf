// Every wait in the harness is bounded: a hung server must fail a test with a message, not hang the run.

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
