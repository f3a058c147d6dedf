// A deliberately plain HTTPS client for tests: no certificate checks (every server here is self-signed), an
// optional cookie jar that behaves like a browser with one site, and a hard timeout on every exchange.

import { connect as h2Connect } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

const DEFAULT_TIMEOUT_MS = 10_000;

export interface HttpsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names and values in arrival order, as node:http reports them. */
  rawHeaders: string[];
  body: string;
}

/** Cookie name → value; attributes (Path, Domain, expiry) are ignored because tests talk to one origin. */
export class CookieJar {
  readonly #cookies = new Map<string, string>();

  get(name: string): string | undefined {
    return this.#cookies.get(name);
  }

  set(name: string, value: string): void {
    this.#cookies.set(name, value);
  }

  clear(): void {
    this.#cookies.clear();
  }

  /** The `Cookie` request header value, or undefined when the jar is empty. */
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  }

  store(setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  jar?: CookieJar;
  /** A shared keep-alive agent (see `keepAliveAgent`); without one each request uses a fresh connection. */
  agent?: Agent;
  timeoutMs?: number;
  /** Presented when the server asks for a client certificate: the certificate (and any chain after it, in PEM) and its key. */
  clientCertificate?: { cert: string | Buffer; key: string | Buffer };
}

/** An agent that reuses connections across requests; `destroy()` it when done. */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
}

export function request(url: string | URL, opts: RequestOptions = {}): Promise<HttpsResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const headers: Record<string, string | string[]> = { ...opts.headers };
  const cookie = opts.jar?.header();
  if (cookie !== undefined && headers.cookie === undefined && headers.Cookie === undefined) headers.cookie = cookie;
  if (opts.agent === undefined) headers.connection ??= 'close';
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: opts.method ?? 'GET',
      headers,
      agent: opts.agent ?? false,
      rejectUnauthorized: false,
      ...opts.clientCertificate,
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${opts.method ?? 'GET'} ${url}: no complete response within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      res.once('end', () => {
        clearTimeout(timer);
        opts.jar?.store(res.headers['set-cookie']);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.end(opts.body);
  });
}

/**
 * One GET over HTTP/2 on a session of its own, which is closed after it; the status. The body is read and dropped.
 */
export async function h2Status(url: string, opts: Pick<RequestOptions, 'headers' | 'clientCertificate' | 'timeoutMs'> = {}): Promise<number> {
  const target = new URL(url);
  const session = h2Connect(target.origin, { rejectUnauthorized: false, ...opts.clientCertificate });
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<number>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`GET ${url} over HTTP/2: no response within ${timeoutMs} ms`)), timeoutMs);
      session.once('error', reject);
      const stream = session.request({ ':path': target.pathname + target.search, ...opts.headers });
      stream.once('response', (h) => resolve(Number(h[':status'])));
      stream.once('error', reject);
      stream.resume();
    });
  } finally {
    clearTimeout(timer);
    session.close();
  }
}

export interface RawOptions {
  /** Default true: wrap the bytes in TLS (no certificate check). */
  tls?: boolean;
  host?: string;
  /** Stop collecting after this long even if the server keeps the connection open. */
  timeoutMs?: number;
}

export interface RawResponse {
  bytes: Buffer;
  /** `bytes` as latin1, so every byte survives as one character. */
  text: string;
  /** True when the server closed the connection; false when the timeout ended the collection. */
  closedByPeer: boolean;
}

/** Sends `bytes` exactly as given and collects whatever comes back until close or timeout. */
export function rawRequest(port: number, bytes: string | Buffer, opts: RawOptions = {}): Promise<RawResponse> {
  const host = opts.host ?? '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByPeer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const all = Buffer.concat(chunks);
      resolve({ bytes: all, text: all.toString('latin1'), closedByPeer });
    };
    const send = (): void => {
      socket.write(bytes);
    };
    const socket: Socket =
      opts.tls === false
        ? netConnect({ host, port }, send)
        : tlsConnect({ host, port, rejectUnauthorized: false, servername: 'localhost' }, send);
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => finish(true));
    socket.once('close', () => finish(true));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // A reset after the server answered is still an answer; a reset before it is a failure to report.
      if (chunks.length > 0 || err.code === 'ECONNRESET') finish(true);
      else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(err);
      }
    });
  });
}
