// What a load generator (wrk for HTTP/1.1, h2load for HTTP/2) is asked to do and what one run of it measured,
// in the same shape for both so the report does not care which client ran.

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
}

export type LoadGenerator = (url: string, opts: LoadOptions) => Promise<LoadResult>;
