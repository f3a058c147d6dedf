// The access log: Apache's `combined` line (so existing log tooling keeps working) plus the balancer's
// decision, or one JSON object per line. Lines are batched so a busy proxy does not pay a syscall per request,
// and a failing log destination never takes the proxy down.

import type { BalancerFacts } from '../balancer/balancer.ts';
import { closeSync, openSync, write } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';
import type { LogConfig } from '../config/model.ts';

export interface AccessEntry {
  clientIp: string;
  time: Date;
  method: string;
  target: string;
  /** `HTTP/1.1` */
  protocol: string;
  status: number;
  /** Response body bytes. */
  bytesSent: number;
  referer?: string;
  userAgent?: string;
  host?: string;
  /** Apache's BALANCER_* environment for the request: chosen member and route, session stickiness, route change. */
  balancer?: BalancerFacts;
  backendMs?: number;
  totalMs: number;
  /** STK_ error code. */
  error?: string;
  /** Members tried after the first failed (connect refused, reset before answering). */
  retries?: number;
}

export interface AccessLog {
  write(e: AccessEntry): void;
  /** Flushes what is buffered and releases the destination. */
  close(): Promise<void>;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FLUSH_BYTES = 32 * 1024;
const FLUSH_INTERVAL_MS = 100;
/** Past this much unwritten data the destination is not keeping up: drop lines rather than grow without bound. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * Apache's ap_escape_logitem (server/util.c): `"` and `\` get a backslash; \b \n \r \t \v their C escapes;
 * any other control or non-ASCII byte becomes `\xhh` (lower-case hex). Characters up to U+00FF are the
 * bytes they stand for (head fields are decoded as latin1); anything above is escaped byte by byte as UTF-8.
 */
export function escapeLogItem(s: string): string {
  if (/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(s)) return s;
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0x20 && code <= 0x7e) out += ch === '"' || ch === '\\' ? '\\' + ch : ch;
    else if (code in C_ESCAPES) out += C_ESCAPES[code];
    else for (const byte of code <= 0xff ? [code] : Buffer.from(ch, 'utf8')) out += '\\x' + byte.toString(16).padStart(2, '0');
  }
  return out;
}
const C_ESCAPES: Record<number, string> = { 0x08: '\\b', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v' };

let cachedSecond = NaN;
let cachedTime = '';

/** `%t`: `[10/Oct/2000:13:55:36 -0700]` in local time, cached per second as Apache does. */
export function formatLogTime(d: Date): string {
  const ms = d.getTime();
  // A broken clock value must not break the log line.
  if (!Number.isFinite(ms)) return '[-]';
  const second = Math.floor(ms / 1000);
  if (second === cachedSecond) return cachedTime;
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  const zone = `${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
  cachedTime =
    `[${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${zone}]`;
  cachedSecond = second;
  return cachedTime;
}

/** `%h`: APR prints an IPv4-mapped IPv6 peer as plain IPv4. */
function clientHost(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return escapeLogItem(mapped ? mapped[1]! : ip || '-');
}

/** A request header as `%{Name}i` shows it: `-` when absent, escaped otherwise (an empty header stays empty). */
const headerItem = (v: string | undefined): string => (v === undefined ? '-' : escapeLogItem(v));

/** `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"` followed by ` route=… backend_ms=…` (` retries=N`). */
export function formatCombined(e: AccessEntry): string {
  const requestLine = escapeLogItem(`${e.method} ${e.target} ${e.protocol}`);
  const bytes = e.bytesSent > 0 ? String(e.bytesSent) : '-';
  const workerRoute = e.balancer?.BALANCER_WORKER_ROUTE;
  const route = workerRoute ? escapeLogItem(workerRoute) : '-';
  const backendMs = e.backendMs === undefined ? '-' : String(Math.round(e.backendMs));
  return (
    `${clientHost(e.clientIp)} - - ${formatLogTime(e.time)} "${requestLine}" ${e.status} ${bytes} ` +
    `"${headerItem(e.referer)}" "${headerItem(e.userAgent)}" route=${route} backend_ms=${backendMs}${e.retries ? ` retries=${e.retries}` : ''}`
  );
}

/**
 * One JSON object, keys in a fixed order; absent fields are left out. `thread` is the worker thread that served
 * (Apache's `%{tid}P`), given with `--workers`: how the kernel spread connections shows in the log.
 */
export function formatJson(e: AccessEntry, thread?: number): string {
  const time = Number.isFinite(e.time.getTime()) ? e.time.toISOString() : null;
  return JSON.stringify({
    time,
    clientIp: e.clientIp,
    method: e.method,
    target: e.target,
    protocol: e.protocol,
    status: e.status,
    bytesSent: e.bytesSent,
    host: e.host,
    referer: e.referer,
    userAgent: e.userAgent,
    balancer: e.balancer,
    backendMs: e.backendMs,
    totalMs: e.totalMs,
    error: e.error,
    retries: e.retries,
    thread,
  });
}

/** Where batches go. `done` is called once per batch, with the error if it could not be written. */
interface Sink {
  write(data: Buffer, done: (err?: Error | null) => void): void;
  close(): void;
}

function fileSink(path: string): Sink {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o640);
  } catch (err) {
    throw new Error(`cannot open access log ${path}: ${(err as Error).message}`);
  }
  const writeAll = (data: Buffer, done: (err?: Error | null) => void): void => {
    write(fd, data, 0, data.length, null, (err, written) => {
      if (err) done(err);
      else if (written < data.length) writeAll(data.subarray(written), done);
      else done();
    });
  };
  return { write: writeAll, close: () => closeSync(fd) };
}

function stdoutSink(): Sink {
  // Without a listener an EPIPE on stdout would be an uncaught 'error' event and kill the proxy.
  const ignore = (): void => {};
  process.stdout.on('error', ignore);
  return {
    write: (data, done) => void process.stdout.write(data, (err) => done(err)),
    close: () => process.stdout.off('error', ignore),
  };
}

class BufferedAccessLog implements AccessLog {
  readonly #format: (e: AccessEntry) => string;
  readonly #sink: Sink;
  readonly #name: string;
  #pending: string[] = [];
  #pendingBytes = 0;
  #inFlight = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #reported = false;
  #dropped = 0;
  #idle: Array<() => void> = [];

  constructor(format: (e: AccessEntry) => string, sink: Sink, name: string) {
    this.#format = format;
    this.#sink = sink;
    this.#name = name;
  }

  write(e: AccessEntry): void {
    if (this.#closed) return;
    let line: string;
    try {
      line = this.#format(e) + '\n';
    } catch (err) {
      this.#report(`cannot format an access log entry: ${(err as Error).message}`);
      return;
    }
    if (this.#pendingBytes + line.length > MAX_PENDING_BYTES) {
      this.#dropped++;
      this.#report('the destination is not keeping up; dropping lines');
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    if (this.#pendingBytes >= FLUSH_BYTES) this.#flush();
    else this.#schedule();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    if (this.#inFlight) await new Promise<void>((resolve) => this.#idle.push(resolve));
    try {
      this.#sink.close();
    } catch (err) {
      this.#report(`cannot close: ${(err as Error).message}`);
    }
    if (this.#dropped > 0) process.stderr.write(`stickler: ${this.#name}: ${this.#dropped} lines dropped\n`);
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#inFlight || this.#pending.length === 0) return;
    const data = Buffer.from(this.#pending.join(''), 'utf8');
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#inFlight = true;
    this.#sink.write(data, (err) => {
      this.#inFlight = false;
      if (err) this.#report(`write failed: ${err.message}`);
      // Lines that arrived during the write go out now when there are many or we are closing; else the timer takes them.
      if (this.#pending.length > 0 && (this.#closed || this.#pendingBytes >= FLUSH_BYTES)) this.#flush();
      else if (this.#pending.length > 0) this.#schedule();
      if (!this.#inFlight) for (const resolve of this.#idle.splice(0)) resolve();
    });
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.#flush(), FLUSH_INTERVAL_MS).unref();
  }

  /** Only the first problem is printed: a full disk would otherwise flood stderr with one message per request. */
  #report(message: string): void {
    if (this.#reported) return;
    this.#reported = true;
    process.stderr.write(`stickler: ${this.#name}: ${message} (further access log errors are not reported)\n`);
  }
}

const noAccessLog: AccessLog = { write: () => {}, close: async () => {} };

/** Opens the configured access log; throws only when the file cannot be opened at all. */
export function openAccessLog(config: LogConfig): AccessLog {
  if (config.access === undefined) return noAccessLog;
  const thread = isMainThread ? undefined : threadId;
  const format = config.format === 'json' ? (e: AccessEntry) => formatJson(e, thread) : formatCombined;
  if (config.access === '-') return new BufferedAccessLog(format, stdoutSink(), 'access log (stdout)');
  return new BufferedAccessLog(format, fileSink(config.access), `access log ${config.access}`);
}
