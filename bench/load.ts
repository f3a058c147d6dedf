// What a load generator (wrk for HTTP/1.1, h2load for HTTP/2, the Node TLS client for session resumption) is
// asked to do and what one run of it measured, in the same shape for all so the report does not care which
// client ran.

import { spawnManaged, tail } from '../test/support/process.ts';

export interface LoadOptions {
  threads: number;
  connections: number;
  durationSec: number;
  /** Extra request headers, `Name: value`. */
  headers?: string[];
}

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Socket errors plus non-2xx/3xx answers. */
  errors: number;
  /** Response bytes (headers and bodies) read per second, in MiB. */
  mibPerSec: number;
  /** Of `requests`, those whose TLS handshake resumed a session (the Node TLS client counts them). */
  resumed?: number;
}

export type LoadGenerator = (url: string, opts: LoadOptions) => Promise<LoadResult>;

/** Runs a load client to its end and resolves with its stdout; one that overruns its duration is killed. */
export async function runClient(name: string, command: string, args: string[], durationSec: number): Promise<string> {
  const client = spawnManaged(name, command, args);
  // The margin covers start-up and the final report.
  const hardLimit = setTimeout(() => client.kill(), (durationSec + 15) * 1000);
  const status = await client.exited;
  clearTimeout(hardLimit);
  if (status.code !== 0) throw new Error(`${name} ${args.join(' ')} failed (exit ${status.code ?? status.signal}):\n${tail(client.output(), 20)}`);
  return client.stdout();
}
