// The access logs: Stickler's own line (Apache's `combined` plus the balancer's decision), one JSON object per
// line, or any mod_log_config format; to a file, standard output or a piped logger. Lines are batched so a busy
// proxy does not pay a syscall per request, and a failing log destination never takes the proxy down.
import { isMainThread, threadId } from 'node:worker_threads';
import type { AccessLogConfig, AccessLogFormat, LogConfig, SticklerConfig, VirtualHostConfig } from '../config/model.ts';
import { clientHost, escapeLogItem, formatLogTime, routeMove, type AccessEntry } from './entry.ts';
import { compileLogFormat, environment } from './format.ts';
import { pipedSink } from './piped.ts';
import { fileSink, stdoutSink, type Sink } from './sink.ts';

export interface AccessLog {
  write(e: AccessEntry): void;
  /** A log here shows the routing decision (the JSON log): the requests it takes must record one. */
  readonly recordsDecisions?: boolean;
  /** Flushes what is buffered and releases the destination. */
  close(): Promise<void>;
}

const FLUSH_BYTES = 32 * 1024;
const FLUSH_INTERVAL_MS = 100;
/** Past this much unwritten data the destination is not keeping up: drop lines rather than grow without bound. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/**
 * How long a close waits for a write in progress (a stuck disk, a worker's batch the main thread does not take)
 * before it releases the destination anyway, so that a stop or reload always ends.
 */
export const CLOSE_WAIT_MS = 5_000;

/** A request header as `%{Name}i` shows it: `-` when absent, escaped otherwise (an empty header stays empty). */
const headerItem = (v: string | undefined): string => (v === undefined ? '-' : escapeLogItem(v));

/**
 * `%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"` followed by ` route=… backend_ms=…` (` retries=N`);
 * `route=isNode2->isNode1` when the session's route was not the member's that answered.
 */
export function formatCombined(e: AccessEntry): string {
  const requestLine = escapeLogItem(`${e.method} ${e.target} ${e.protocol}`);
  const bytes = e.bytesSent > 0 ? String(e.bytesSent) : '-';
  const workerRoute = e.balancer?.BALANCER_WORKER_ROUTE;
  const moved = routeMove(e.balancer);
  const route = moved ? `${escapeLogItem(moved.from)}->${moved.to ? escapeLogItem(moved.to) : '-'}` : workerRoute ? escapeLogItem(workerRoute) : '-';
  const backendMs = e.backendMs === undefined ? '-' : String(Math.round(e.backendMs));
  return (
    `${escapeLogItem(clientHost(e.clientIp))} - - ${formatLogTime(e.time)} "${requestLine}" ${e.status} ${bytes} ` +
    `"${headerItem(e.referer)}" "${headerItem(e.userAgent)}" route=${route} backend_ms=${backendMs}${e.retries ? ` retries=${e.retries}` : ''}`
  );
}

/**
 * One JSON object, keys in a fixed order; absent fields are left out. `routeFrom` is the session's route when
 * another member took the request. `thread` is the worker thread that served (Apache's `%{tid}P`), given with
 * `--workers`: how the kernel spread connections shows in the log.
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
    routeFrom: routeMove(e.balancer)?.from,
    backendMs: e.backendMs,
    totalMs: e.totalMs,
    error: e.error,
    retries: e.retries,
    decision: e.decision,
    thread,
  });
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

  readonly recordsDecisions: boolean;

  constructor(format: (e: AccessEntry) => string, sink: Sink, name: string, recordsDecisions: boolean) {
    this.recordsDecisions = recordsDecisions;
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
    if (this.#inFlight) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true)));
      const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS)));
      if (!(await Promise.race([idle, late]))) this.#report(`a write did not complete within ${CLOSE_WAIT_MS / 1000} s; closing without it`);
      clearTimeout(timer);
    }
    try {
      await this.#sink.close();
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
    const lines = this.#pending.length;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#inFlight = true;
    this.#sink.write(data, (err) => {
      this.#inFlight = false;
      if (err) {
        this.#dropped += lines;
        this.#report(`write failed: ${err.message}`);
      }
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

const ALWAYS = (): boolean => true;

/** Lines to several logs, each with its format and condition. */
class AccessLogs implements AccessLog {
  readonly #logs: Array<{ log: AccessLog; when: (e: AccessEntry) => boolean }>;

  readonly recordsDecisions: boolean;

  constructor(logs: Array<{ log: AccessLog; when: (e: AccessEntry) => boolean }>) {
    this.#logs = logs;
    this.recordsDecisions = logs.some(({ log }) => log.recordsDecisions === true);
  }

  write(e: AccessEntry): void {
    for (const { log, when } of this.#logs) if (when(e)) log.write(e);
  }

  async close(): Promise<void> {
    await Promise.all(this.#logs.map(({ log }) => log.close()));
  }
}

/** The line a format writes; mod_log_config formats were checked at load, so one that does not compile is a bug. */
function lineFormat(format: AccessLogFormat): (e: AccessEntry) => string {
  if (format.kind === 'stickler') return formatCombined;
  if (format.kind === 'json') {
    const thread = isMainThread ? undefined : threadId;
    return (e) => formatJson(e, thread);
  }
  const compiled = compileLogFormat(format.text);
  if ('error' in compiled) throw new Error(`access log format: ${compiled.error}`);
  return compiled.render;
}

function openOne(config: AccessLogConfig, exported: Readonly<Record<string, string>>): { log: AccessLog; when: (e: AccessEntry) => boolean } {
  const { destination, format, condition } = config;
  const line = lineFormat(format);
  const json = format.kind === 'json';
  const log =
    destination === '-'
      ? new BufferedAccessLog(line, stdoutSink(), 'access log (stdout)', json)
      : destination.startsWith('|')
        ? new BufferedAccessLog(line, pipedSink(destination, exported), `piped access log ${destination}`, json)
        : new BufferedAccessLog(line, fileSink(destination), `access log ${destination}`, json);
  if (condition === undefined) return { log, when: ALWAYS };
  const { variable, negate } = condition;
  return { log, when: (e) => (environment(e, variable) !== undefined) !== negate };
}

/** Opens logs; throws only when a file cannot be opened at all (after closing those already opened). */
/** `exported`: the variables envvars exports, for piped loggers' environment (SticklerConfig.environment). */
export function openAccessLogs(configs: readonly AccessLogConfig[], exported: Readonly<Record<string, string>> = {}): AccessLog {
  if (configs.length === 0) return noAccessLog;
  const opened: Array<{ log: AccessLog; when: (e: AccessEntry) => boolean }> = [];
  try {
    for (const config of configs) opened.push(openOne(config, exported));
  } catch (err) {
    for (const { log } of opened) void log.close();
    throw err;
  }
  return opened.length === 1 && opened[0]!.when === ALWAYS ? opened[0]!.log : new AccessLogs(opened);
}

/** Stickler's own log (--access-log, the native `log.access`), which takes every request. */
const ownLog = (config: LogConfig): AccessLogConfig[] => (config.access === undefined ? [] : [{ destination: config.access, format: config.format }]);

/** A configuration's logs: which ones each request goes to. */
export interface ConfiguredLogs {
  /** For requests no virtual host took (refused, unknown host). */
  readonly server: AccessLog;
  /**
   * Stickler's own log takes every request; besides it, as httpd's CustomLog, a host with logs of its own writes
   * only to those, one without to the main server's.
   */
  forHost(host: VirtualHostConfig): AccessLog;
  close(): Promise<void>;
}

export function openConfiguredLogs(config: Pick<SticklerConfig, 'log' | 'virtualHosts' | 'environment'>): ConfiguredLogs {
  const opened: AccessLog[] = [];
  const open = (configs: AccessLogConfig[]): AccessLog => {
    try {
      const log = openAccessLogs(configs, config.environment);
      opened.push(log);
      return log;
    } catch (err) {
      for (const log of opened) void log.close();
      throw err;
    }
  };
  const own = open(ownLog(config.log));
  const main = open(config.log.logs ?? []);
  const both = (host: AccessLog): AccessLog => (own === noAccessLog ? host : host === noAccessLog ? own : new AccessLogs([{ log: own, when: ALWAYS }, { log: host, when: ALWAYS }]));
  const server = both(main);
  const hosts = new Map(config.virtualHosts.map((v) => [v, v.logs?.length ? both(open(v.logs)) : server]));
  return {
    server,
    forHost: (host) => hosts.get(host) ?? server,
    close: async () => void (await Promise.all(opened.map((log) => log.close()))),
  };
}

/** Every log destination a configuration names, the main server's and the virtual hosts'. */
export function logDestinations(config: SticklerConfig): string[] {
  return [...ownLog(config.log), ...(config.log.logs ?? []), ...config.virtualHosts.flatMap((v) => v.logs ?? [])].map((l) => l.destination);
}
