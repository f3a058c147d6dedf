// HTTP/2 at the front: a TLS connection that negotiated `h2` by ALPN is handed to node:http2 (nghttp2 does the
// framing, flow control, HPACK and stream limits), and every stream becomes an Exchange exactly like an HTTP/1.1
// request: the same routing, stickiness and members, which are spoken to in HTTP/1.1.
import http2 from 'node:http2';
import type tls from 'node:tls';
import type net from 'node:net';
import { clientPolicy, type ClientPolicy } from '../config/model.ts';
import type { HeaderList, RequestHead, Framing } from '../http/head.ts';
import { HttpError } from '../http/errors.ts';
import { isToken } from '../http/syntax.ts';
import { Exchange, type ClientSide, type ResponseBody } from './exchange.ts';
import { peerOf } from './peer.ts';
import type { Runtime } from './runtime.ts';

/** Per-connection limits: enough for a browser, small enough that one client cannot hold much memory. */
const settings: http2.Settings = { maxConcurrentStreams: 100, maxHeaderListSize: 64 * 1024, initialWindowSize: 256 * 1024 };
/** An idle HTTP/2 connection is closed (GOAWAY) after this long. */
const idleTimeout = 30_000;

/** RFC 9113 §8.2.2: these must not appear in HTTP/2; a response from an HTTP/1.1 member may still carry some. */
const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

const kRuntime = Symbol('stickler.runtime');
type Session = http2.ServerHttp2Session & { [kRuntime]?: Runtime };

export class H2Front {
  private readonly server: http2.Http2Server;
  /** The runtime of the connection being handed over; read synchronously by the 'session' handler. */
  private handing: Runtime | undefined;

  constructor() {
    this.server = http2.createServer({ settings, maxSessionMemory: 16 });
    this.server.on('session', (session: Session) => {
      const runtime = this.handing!;
      session[kRuntime] = runtime;
      // Retiring sends GOAWAY: the streams in progress finish, the client opens a new connection for the next ones.
      const connection = { retire: () => session.close(), destroy: () => session.destroy() };
      runtime.connectionOpened(connection);
      session.setTimeout(idleTimeout, () => session.close());
      session.on('error', () => {});
      session.once('close', () => setImmediate(() => runtime.connectionClosed(connection)));
    });
    this.server.on('stream', (stream, headers, _flags, rawHeaders) => this.stream(stream as http2.ServerHttp2Stream, headers, rawHeaders));
  }

  accept(socket: tls.TLSSocket, runtime: Runtime): void {
    this.handing = runtime;
    try {
      this.server.emit('connection', socket);
    } finally {
      this.handing = undefined;
    }
  }

  private stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    stream.on('error', () => {});
    const session = stream.session as Session | undefined;
    const runtime = session?.[kRuntime];
    if (!session || !runtime) return void stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    const policy = clientPolicy(runtime.config);
    const head = requestHead(headers, rawHeaders, stream.endAfterHeaders, policy);
    if (typeof head === 'number') {
      stream.respond({ ':status': head }, { endStream: true });
      return;
    }
    const client = new H2Stream(runtime, stream, session.socket as unknown as net.Socket);
    const exchange = new Exchange(client, head);
    const maxBody = policy.bodySize || Infinity;
    let received = 0;
    stream.on('data', (data: Buffer) => {
      received += data.length;
      // A body without content-length, or longer than it said: cut off at the limit, never passed on whole.
      if (received > maxBody) exchange.requestAborted(new HttpError(413, 'STK_HTTP_BODY_TOO_LARGE', `request body exceeds ${maxBody} bytes`));
      else exchange.requestData(data);
    });
    stream.on('end', () => exchange.requestEnd([]));
    stream.on('close', () => exchange.clientClosed());
    exchange.start();
  }
}

/** One HTTP/2 stream as the client side of an exchange. */
class H2Stream implements ClientSide {
  readonly runtime: Runtime;
  readonly clientIp: string;
  readonly localPort: number;
  readonly sniName: string | undefined;
  readonly scheme = 'https' as const;
  readonly logProtocol = 'HTTP/2.0';
  private readonly stream: http2.ServerHttp2Stream;
  private bodyless = false;

  constructor(runtime: Runtime, stream: http2.ServerHttp2Stream, socket: net.Socket) {
    this.runtime = runtime;
    this.stream = stream;
    ({ clientIp: this.clientIp, localPort: this.localPort, sniName: this.sniName } = peerOf(socket));
  }

  pauseReading(): void {
    this.stream.pause();
  }

  resumeReading(): void {
    this.stream.resume();
  }

  sendInterim(status: number, _reason: string, headers: HeaderList): void {
    // 101 has no meaning in HTTP/2 (RFC 9113 §8.6); the exchange never asks for one here.
    if (status !== 101 && this.open && !this.stream.headersSent) this.stream.additionalHeaders({ ...fields(headers), ':status': status });
  }

  sendHead(status: number, _reason: string, headers: HeaderList, body: ResponseBody, _keepAlive: boolean): void {
    const out = fields(headers);
    if (body.kind === 'length') out['content-length'] = String(body.length);
    this.bodyless = body.kind === 'none';
    // A stream the client reset is gone; its 'close' ends the exchange.
    if (this.open) this.stream.respond({ ...out, ':status': status }, { endStream: this.bodyless });
  }

  private get open(): boolean {
    return !this.stream.destroyed && !this.stream.closed;
  }

  sendBody(data: Buffer): boolean {
    return this.bodyless || this.stream.write(data);
  }

  onceDrained(listener: () => void): void {
    this.stream.once('drain', listener);
  }

  cancelDrained(listener: () => void): void {
    this.stream.removeListener('drain', listener);
  }

  endBody(): void {
    // Trailers from an HTTP/1.1 member are dropped: few HTTP/2 clients ask for them, and none of them need them.
    if (!this.bodyless) this.stream.end();
  }

  batch(fn: () => void): void {
    // nghttp2 already gathers what a tick writes into as few frames as it can.
    fn();
  }

  abort(): void {
    this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }

  takeOver(): undefined {
    return undefined;
  }

  exchangeDone(): void {
    // Answered before the request body was all read (an early 4xx, a 503): stop the upload rather than leave the
    // stream paused, holding one of the connection's stream slots (RFC 9113 §8.1).
    if (this.open && !this.stream.readableEnded) this.stream.close(http2.constants.NGHTTP2_NO_ERROR);
  }
}

/**
 * HTTP/2 header fields as an HTTP/1.1-style head; a number is the status to refuse the stream with. The client
 * policy's limits apply as they would to the HTTP/1.1 request the member gets: the path as its request line, a
 * field as its `name: value` line.
 */
function requestHead(headers: http2.IncomingHttpHeaders, raw: string[], endStream: boolean, policy: ClientPolicy): RequestHead | number {
  const method = headers[':method'];
  const path = headers[':path'];
  if (typeof method !== 'string' || !isToken(method)) return 400;
  if (method === 'CONNECT') return 501;
  if (typeof path !== 'string' || path === '') return 400;
  if (method.length + path.length + ' HTTP/1.1'.length + 1 > policy.requestLine) return 414;
  const list: HeaderList = [];
  const cookies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.startsWith(':')) continue;
    // RFC 9113 §8.2.3: cookie crumbs are joined with "; " into the one Cookie field HTTP/1.1 allows.
    if (name === 'cookie') cookies.push(value);
    else list.push([name, value]);
  }
  if (cookies.length > 0) list.push(['cookie', cookies.join('; ')]);
  const authority = headers[':authority'];
  if (typeof authority === 'string' && headers.host === undefined) list.unshift(['host', authority]);
  if (policy.fields > 0 && list.length > policy.fields) return 431;
  if (list.some(([name, value]) => name.length + 2 + value.length > policy.fieldSize)) return 431;
  let framing: Framing = endStream ? { kind: 'none' } : { kind: 'chunked' };
  const length = headers['content-length'];
  if (typeof length === 'string') {
    if (!/^\d{1,15}$/.test(length)) return 400;
    if (policy.bodySize > 0 && Number(length) > policy.bodySize) return 413;
    framing = Number(length) === 0 ? { kind: 'none' } : { kind: 'length', length: Number(length) };
  }
  return {
    method,
    target: path,
    minor: 1,
    headers: list.filter(([n]) => n !== 'content-length'),
    framing,
    keepAlive: true,
    expectContinue: headers.expect?.toLowerCase() === '100-continue',
  };
}

/**
 * A HeaderList as node:http2 wants it: lower-case names, no connection-specific fields. A field repeated by an
 * HTTP/1.1 member is joined with ", " (RFC 9110 §5.3), which node:http2 accepts even for the fields it insists
 * appear once; only Set-Cookie, which cannot be joined, stays a list.
 */
function fields(headers: HeaderList): http2.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (connectionSpecific.has(lower)) continue;
    const existing = out[lower];
    if (existing === undefined) out[lower] = lower === 'set-cookie' ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[lower] = `${existing}, ${value}`;
  }
  return out;
}
