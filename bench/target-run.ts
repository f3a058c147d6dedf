// One run against one target: start it, check that it serves the path, measure, stop it. A target that
// cannot start or serve is reported with the reason instead of failing the bench.

import { request } from '../test/support/client.ts';
import type { Started, Target } from './targets.ts';

export interface Skipped {
  /** Why there is no result, in one line. */
  skipped: string;
  /** The full error behind `skipped` (process output included). */
  detail: string;
}

export function firstLine(err: unknown): Skipped {
  const detail = err instanceof Error ? err.message : String(err);
  return { skipped: detail.split('\n', 1)[0]!, detail };
}

/** Starts `target`, probes `path` for a 200, runs `use` on it and stops it, whatever happened. */
export async function withTarget<T extends object>(
  target: Target,
  path: string,
  use: (server: Started, url: string) => Promise<T>,
): Promise<(T | Skipped) & { url?: string }> {
  let server: Started;
  try {
    server = await target.start();
  } catch (err) {
    return firstLine(err);
  }
  const url = `https://127.0.0.1:${server.port}${path}`;
  try {
    const probe = await request(url);
    if (probe.status !== 200) throw new Error(`GET ${path} answered ${probe.status}, expected 200`);
    return { url, ...(await use(server, url)) };
  } catch (err) {
    return { url, ...firstLine(err) };
  } finally {
    const note = await server.stop?.();
    if (note) console.log(`    ${target.name} stop: ${note}`);
  }
}
