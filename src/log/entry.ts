// What an access-log line is made of: the facts of one request, gathered while it is served, and the two
// renderings every log format shares with Apache (its escaping and its `%t` time).
import type { BalancerFacts } from '../balancer/balancer.ts';
import type { SslOptions } from '../config/model-tls.ts';
import type { RoutingDecision } from '../balancer/decision.ts';
import { getHeader, type HeaderList, type RequestHead } from '../http/head.ts';
import type { ClientCertificateFacts } from '../tls/client-verify.ts';

/** The connection a request came on, as the log formats see it (`%A`, `%{remote}p`, `%x`). */
export interface LogConnection {
  localIp: string;
  remotePort: number;
  /** TLS facts, read only when a format asks for them. */
  tls?: () => LogTls;
}

export interface LogTls {
  /** `TLSv1.3` */
  protocol?: string;
  /** OpenSSL's name of the cipher. */
  cipher?: string;
  /** The name the client asked for by SNI. */
  sni?: string;
  /** The client's certificate and its verdict; undefined where the port asks for none. */
  client?: ClientCertificateFacts;
}

export interface AccessEntry {
  clientIp: string;
  /** When the request arrived. */
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
  /** The routing decision, recorded only for logs that show it (the JSON log). */
  decision?: RoutingDecision;
  // What mod_log_config formats read besides the default line; absent where a request never got that far.
  /** The request's header fields as received. */
  requestHeaders?: HeaderList;
  /** The response's header fields as sent to the client. */
  responseHeaders?: HeaderList;
  /** The ServerName of the virtual host that answered (`%v`). */
  serverName?: string;
  /** The local port the request came in on. */
  localPort?: number;
  connection?: LogConnection;
  /** Requests answered on the connection before this one (`%k`). */
  keepalives?: number;
  /** Apache's handler name: `proxy-server` for proxied requests, `balancer-manager` for the manager (`%R`). */
  handler?: string;
  /** Bytes received for the request: head and body (`%I`). */
  bytesIn?: number;
  /** Bytes sent for the response: heads and body (`%O`). */
  bytesOut?: number;
  /** The connection stays open after the response (`%X`). */
  keepAlive?: boolean;
  /** The client left before the response was complete (`%X`). */
  aborted?: boolean;
  /** `https` under TLS. */
  scheme?: 'https' | 'http';
  /** The virtual host's SSLOptions, which decide what of the client's certificate its environment holds (`%{VAR}e`). */
  sslOptions?: SslOptions;
}

/** The client side a request came on, as its log line records it. */
export interface EntrySource {
  readonly clientIp: string;
  readonly localPort: number;
  readonly scheme: 'https' | 'http';
  /** The access log's protocol when the request came without an HTTP/1.x request line (`HTTP/2.0`). */
  readonly logProtocol?: string;
  /** The connection as access logs show it. */
  readonly logConnection: LogConnection;
  /** Requests answered on the connection before this one. */
  readonly answered: number;
}

/** A request's entry as it arrives: what its head and its connection tell; the answer's facts are added as they come. */
export function requestEntry(head: RequestHead, from: EntrySource): AccessEntry {
  return {
    clientIp: from.clientIp,
    time: new Date(),
    method: head.method,
    target: head.target,
    protocol: from.logProtocol ?? `HTTP/1.${head.minor}`,
    status: 0,
    bytesSent: 0,
    referer: getHeader(head.headers, 'referer'),
    userAgent: getHeader(head.headers, 'user-agent'),
    host: getHeader(head.headers, 'host'),
    totalMs: 0,
    requestHeaders: head.headers,
    localPort: from.localPort,
    connection: from.logConnection,
    keepalives: from.answered,
    scheme: from.scheme,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

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
  cachedTime =
    `[${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${timeZone(d)}]`;
  cachedSecond = second;
  return cachedTime;
}

/** `+0200`: the local offset from UTC at `d`. */
export function timeZone(d: Date): string {
  const offset = -d.getTimezoneOffset();
  const abs = Math.abs(offset);
  return `${offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`;
}

/** `%h`: APR prints an IPv4-mapped IPv6 peer as plain IPv4. */
export function clientHost(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip || '-';
}

/** The route as the default line and JSON show it: `isNode2->isNode1` when the session's member could not take it. */
export function routeMove(facts: BalancerFacts | undefined): { from: string; to: string } | undefined {
  const from = facts?.BALANCER_SESSION_ROUTE;
  const to = facts?.BALANCER_WORKER_ROUTE;
  return from && to !== undefined && from !== to ? { from, to } : undefined;
}

export { MONTHS, pad2 };
