// A TLS client for two measurements that wrk and h2load cannot make. `rate`: a new connection per request,
// either always a full handshake or offering the session of the loop's previous connection, the way a
// returning browser does; wrk never resumes, and h2load always resumes without saying how often it managed
// to, while here every handshake is checked with isSessionReused(). `idle`: thousands of keep-alive
// connections that make one request each and then sit idle, so that the bench can price an idle connection
// in the balancer's memory. It runs as its own process (`node bench/tls-client.ts '<job JSON>'`), so that
// its event loop and its sockets are not the bench's, and reports in JSON lines on stdout.

import { performance } from 'node:perf_hooks';
import { connect, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './report.ts';

export interface RateJob {
  mode: 'rate';
  url: string;
  /** Client loops running at once, each one connection at a time. */
  connections: number;
  durationSec: number;
  /** Offer each loop's previous session, so that the server can skip the full handshake. */
  resume: boolean;
  /** Extra request headers, `Name: value`; `Connection: close` makes it one request per connection. */
  headers: string[];
}

export interface IdleJob {
  mode: 'idle';
  url: string;
  count: number;
  /** Connections being opened at once: a bounded batch, so the server's accept queue is not flooded. */
  parallel: number;
  /** Closes everything and exits after this long even if never told to stop. */
  holdLimitSec: number;
}

export type ClientJob = RateJob | IdleJob;

export interface RateReport {
  event: 'rate';
  /** Exchanges answered 2xx or 3xx. */
  requests: number;
  /** Failed connections and other answers. */
  errors: number;
  /** Of `requests`, those whose handshake resumed a session. */
  resumed: number;
  /** Response bytes of `requests`, heads included. */
  bytes: number;
  elapsedSec: number;
  p50Ms?: number;
  p99Ms?: number;
  firstError?: string;
}

export interface HoldingReport {
  event: 'holding';
  /** Connections open and idle after their one request. */
  open: number;
  failed: number;
  openingSec: number;
  firstError?: string;
}

export interface ClosedReport {
  event: 'closed';
  /** Connections still open when told to stop: fewer than `open` means the server closed some while idle. */
  openAtStop: number;
}

export type ClientReport = RateReport | HoldingReport | ClosedReport;

const EXCHANGE_TIMEOUT_MS = 5_000;
// Certificates are not checked, and SNI may not name an IP address (RFC 6066); the probe in
// test/support/probe.ts sends the same name.
const SERVER_NAME = 'localhost';

export function requestText(url: URL, headers: string[]): string {
  return [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`, ...headers, '', ''].join('\r\n');
}

export interface ResponseHead {
  status: number;
  /** Bytes of the whole response when its framing says so; undefined when it ends with the connection. */
  totalBytes?: number;
  chunked: boolean;
}

/** The status and framing of a response whose head has fully arrived in `data`; undefined until then. */
export function responseHead(data: Buffer): ResponseHead | Error | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...fields] = data.subarray(0, end).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1];
  if (status === undefined) return new Error(`not an HTTP/1.1 status line: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const field = (name: string): string | undefined =>
    fields.find((f) => f.slice(0, f.indexOf(':')).trim().toLowerCase() === name)?.slice(name.length + 1).trim();
  const chunked = /(^|,)\s*chunked\s*$/i.test(field('transfer-encoding') ?? '');
  const length = field('content-length');
  const totalBytes = !chunked && length !== undefined && /^\d+$/.test(length) ? end + 4 + Number(length) : undefined;
  return { status: Number(status), totalBytes, chunked };
}

/** True once `data` holds a whole keep-alive response. */
export function responseComplete(data: Buffer, head: ResponseHead): boolean {
  if (head.totalBytes !== undefined) return data.length >= head.totalBytes;
  return head.chunked && data.subarray(-5).toString('latin1') === '0\r\n\r\n';
}

const answered = (status: number): boolean => status >= 200 && status < 400;

function open(url: URL, session: Buffer | undefined): TLSSocket {
  return connect({ host: url.hostname, port: Number(url.port), servername: SERVER_NAME, rejectUnauthorized: false, session });
}

interface ClosedExchange {
  status: number;
  bytes: number;
  reused: boolean;
  /** The last session ticket the server sent, to resume with next time. */
  session?: Buffer;
}

/** One request on a new connection, answered once the server closes it. */
function exchangeOnce(url: URL, request: string, session: Buffer | undefined): Promise<ClosedExchange> {
  return new Promise((resolve, reject) => {
    const socket = open(url, session);
    const chunks: Buffer[] = [];
    let reused = false;
    let latest: Buffer | undefined;
    socket.setTimeout(EXCHANGE_TIMEOUT_MS, () => socket.destroy(new Error(`no complete answer within ${EXCHANGE_TIMEOUT_MS} ms`)));
    socket.on('session', (s: Buffer) => {
      latest = s;
    });
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write(request);
    });
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('error', reject);
    socket.once('close', () => {
      const data = Buffer.concat(chunks);
      const head = responseHead(data);
      if (head === undefined) reject(new Error('connection closed before a response head'));
      else if (head instanceof Error) reject(head);
      else resolve({ status: head.status, bytes: data.length, reused, session: latest });
    });
  });
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function runRate(job: RateJob): Promise<RateReport> {
  const url = new URL(job.url);
  const request = requestText(url, job.headers);
  const started = performance.now();
  const deadline = started + job.durationSec * 1000;
  const times: number[] = [];
  const report: RateReport = { event: 'rate', requests: 0, errors: 0, resumed: 0, bytes: 0, elapsedSec: 0 };
  const loop = async (): Promise<void> => {
    let session: Buffer | undefined;
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        const result = await exchangeOnce(url, request, job.resume ? session : undefined);
        session = result.session ?? session;
        if (!answered(result.status)) throw new Error(`answered ${result.status}`);
        times.push(performance.now() - sent);
        report.requests++;
        report.bytes += result.bytes;
        if (result.reused) report.resumed++;
      } catch (err) {
        report.errors++;
        report.firstError ??= message(err);
        // A server that refuses at once would otherwise be hammered in a tight loop.
        await sleep(10);
      }
    }
  };
  await Promise.all(Array.from({ length: job.connections }, loop));
  report.elapsedSec = (performance.now() - started) / 1000;
  const sorted = Float64Array.from(times).sort();
  return sorted.length ? { ...report, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) } : report;
}

/** Opens a connection, makes one keep-alive request and resolves with the socket once answered. */
function openIdle(url: URL, request: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = open(url, undefined);
    let data = Buffer.alloc(0);
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    const onClose = (): void => fail(new Error('closed before a complete answer'));
    const onData = (chunk: Buffer): void => {
      data = Buffer.concat([data, chunk]);
      const head = responseHead(data);
      if (head === undefined) return;
      if (head instanceof Error) return fail(head);
      if (!answered(head.status)) return fail(new Error(`answered ${head.status}`));
      if (head.totalBytes === undefined && !head.chunked) return fail(new Error('answer without a length cannot be kept alive'));
      if (!responseComplete(data, head)) return;
      socket.off('data', onData).off('close', onClose).off('error', fail);
      socket.setTimeout(0);
      // An error on an idle socket (a reset) only ends it, which the caller's 'close' listener counts.
      socket.on('error', () => {});
      resolve(socket);
    };
    socket.setTimeout(EXCHANGE_TIMEOUT_MS, () => fail(new Error(`no complete answer within ${EXCHANGE_TIMEOUT_MS} ms`)));
    socket.once('secureConnect', () => socket.write(request));
    socket.on('error', fail);
    socket.on('close', onClose);
    socket.on('data', onData);
  });
}

function print(report: ClientReport): void {
  // Writes to a pipe are synchronous on Linux, so a line printed before process.exit() is not lost.
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

async function runIdle(job: IdleJob): Promise<void> {
  const url = new URL(job.url);
  const request = requestText(url, []);
  const sockets = new Set<TLSSocket>();
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const started = performance.now();
  const opener = async (): Promise<void> => {
    while (next < job.count) {
      next++;
      try {
        const socket = await openIdle(url, request);
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      } catch (err) {
        failed++;
        firstError ??= message(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.parallel, job.count) }, opener));
  print({ event: 'holding', open: sockets.size, failed, openingSec: (performance.now() - started) / 1000, firstError });

  await new Promise<void>((resolve) => {
    const limit = setTimeout(resolve, job.holdLimitSec * 1000);
    process.once('SIGTERM', () => {
      clearTimeout(limit);
      resolve();
    });
  });
  print({ event: 'closed', openAtStop: sockets.size });
  for (const socket of sockets) socket.end();
  // A server that never answers the close must not keep this process alive.
  const closeLimit = Date.now() + 3_000;
  while (sockets.size > 0 && Date.now() < closeLimit) await sleep(50);
  process.exit(0);
}

/** The reports a client printed, in order; lines that are not reports (warnings) are left out. */
export function clientReports(stdout: string): ClientReport[] {
  return stdout.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const parsed = JSON.parse(line) as { event?: unknown };
      return parsed.event === 'rate' || parsed.event === 'holding' || parsed.event === 'closed' ? [parsed as ClientReport] : [];
    } catch {
      return [];
    }
  });
}

if (import.meta.main) {
  const job = JSON.parse(process.argv[2] ?? '{}') as ClientJob;
  if (job.mode === 'rate') print(await runRate(job));
  else await runIdle(job);
}
