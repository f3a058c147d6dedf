// The bench's side of the Node TLS client (tls-client.ts): a load generator for a new connection per request,
// with or without session resumption, and the hold of many idle keep-alive connections.

import { fileURLToPath } from 'node:url';
import { spawnManaged, tail } from '../test/support/process.ts';
import { runClient, type LoadGenerator, type LoadResult } from './load.ts';
import { clientReports, type ClientReport, type ClosedReport, type HoldingReport, type IdleJob, type RateJob, type RateReport } from './tls-client.ts';

const CLIENT = fileURLToPath(new URL('./tls-client.ts', import.meta.url));

export function rateResult(report: RateReport): LoadResult | Error {
  if (report.requests === 0 || report.p50Ms === undefined || report.p99Ms === undefined) {
    return new Error(`the TLS client completed no request${report.firstError ? ` (first error: ${report.firstError})` : ''}`);
  }
  return {
    requestsPerSec: report.requests / report.elapsedSec,
    p50Ms: report.p50Ms,
    p99Ms: report.p99Ms,
    requests: report.requests,
    errors: report.errors,
    mibPerSec: report.bytes / report.elapsedSec / 1024 ** 2,
    resumed: report.resumed,
  };
}

function lastReport<E extends ClientReport['event']>(stdout: string, event: E): Extract<ClientReport, { event: E }> | undefined {
  return clientReports(stdout).findLast((r): r is Extract<ClientReport, { event: E }> => r.event === event);
}

/** Client loops of one request per connection, each offering its previous session when `resume` is set. */
export function tlsClientLoad(resume: boolean): LoadGenerator {
  return async (url, opts) => {
    const job: RateJob = { mode: 'rate', url, connections: opts.connections, durationSec: opts.durationSec, resume, headers: opts.headers ?? [] };
    const stdout = await runClient('tls-client', process.execPath, [CLIENT, JSON.stringify(job)], opts.durationSec);
    const report = lastReport(stdout, 'rate');
    if (report === undefined) throw new Error(`the TLS client printed no result:\n${tail(stdout, 20)}`);
    const result = rateResult(report);
    if (result instanceof Error) throw result;
    return result;
  };
}

export interface IdleHold {
  holding: HoldingReport;
  /** Ends the hold: every connection closed and the client exited; resolves with its last count. */
  release(): Promise<ClosedReport | undefined>;
}

/** Opens `job.count` keep-alive connections and resolves once they are open and idle. */
export async function holdIdleConnections(job: Omit<IdleJob, 'mode'>, timeoutMs: number): Promise<IdleHold> {
  const client = spawnManaged('tls-client', process.execPath, [CLIENT, JSON.stringify({ mode: 'idle', ...job } satisfies IdleJob)]);
  try {
    await client.waitForStdout((out) => lastReport(out, 'holding') !== undefined, timeoutMs, `opening ${job.count} connections`);
  } catch (err) {
    await client.stop(5_000);
    throw err;
  }
  return {
    holding: lastReport(client.stdout(), 'holding')!,
    release: async () => {
      // SIGTERM: the client closes its connections (at most 3 s) and exits.
      await client.stop(5_000);
      return lastReport(client.stdout(), 'closed');
    },
  };
}
