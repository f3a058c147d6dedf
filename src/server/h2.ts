// HTTP/2 at the front: a TLS connection that negotiated `h2` by ALPN is handed to node:http2 (nghttp2 does the
// framing, flow control, HPACK and stream limits), and every stream becomes an Exchange exactly like an HTTP/1.1
// request: the same routing, stickiness and members, which are spoken to in HTTP/1.1. The client policy holds per
// stream as it holds per HTTP/1.1 connection: the header deadline (header blocks, CONTINUATION included), the body
// deadline with its minimum rate, the send timeout, the size limits; and a client that leaves cancels its streams.
import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import type tls from 'node:tls';
import type { ClientPolicy } from '../config/model.ts';
import type { HeaderList, RequestHead, ResponseBody } from '../http/head.ts';
import { HttpError } from '../http/errors.ts';
import { FrameScanner } from '../http2/frame-scanner.ts';
import type { ClientSide } from './client-side.ts';
import { Exchange } from './exchange.ts';
import { fields, requestHead } from './h2-fields.ts';
import type { LogConnection } from '../log/entry.ts';
import { peerOf, type Peer } from './peer.ts';
import { ReadClock } from './read-clock.ts';
import { resetConnection } from './reset.ts';
import type { Runtime, RuntimeConnection } from './runtime.ts';

/**
 * Per-connection settings besides the stream cap: a 256 KiB window per stream bounds what a client may send ahead
 * of a stream Stickler has paused; the header list is bounded by the client policy's head size.
 */
const INITIAL_WINDOW = 256 * 1024;
/**
 * Response bytes one stream may hold before the member is paused: well under node:http2's 64 KiB high-water mark,
 * since a connection has up to max-streams of them and a client can leave every window shut.
 */
const STREAM_BUFFER = 16 * 1024;
/** nghttp2's own memory per session, in MiB: past it the session is refused further work (ENHANCE_YOUR_CALM). */
const MAX_SESSION_MEMORY = 16;


const kConnection = Symbol('stickler.h2connection');
type Session = http2.ServerHttp2Session & { [kConnection]?: H2Connection };

export class H2Front {
  /** One node:http2 server per stream cap and head size, since nghttp2 takes its settings per server. */
  private readonly servers = new Map<string, http2.Http2Server>();
  /** The connection being handed over; read synchronously by the 'session' handler. */
  private handing: H2Connection | undefined;

  accept(socket: tls.TLSSocket, runtime: Runtime): void {
    const connection = new H2Connection(runtime, socket);
    this.handing = connection;
    try {
      this.serverFor(runtime.client).emit('connection', connection.pipe);
    } finally {
      this.handing = undefined;
    }
  }

  private serverFor(policy: ClientPolicy): http2.Http2Server {
    const key = `${policy.maxStreams}/${policy.headSize}`;
    let server = this.servers.get(key);
    if (!server) {
      const settings: http2.Settings = { maxConcurrentStreams: policy.maxStreams, maxHeaderListSize: policy.headSize, initialWindowSize: INITIAL_WINDOW };
      server = http2.createServer({ settings, maxSessionMemory: MAX_SESSION_MEMORY });
      server.on('session', (session: Session) => {
        const connection = this.handing!;
        session[kConnection] = connection;
        connection.attach(session);
      });
      server.on('stream', (stream, headers, _flags, rawHeaders) => {
        const session = stream.session as Session | undefined;
        const connection = session?.[kConnection];
        if (!connection) return void stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        connection.stream(stream as http2.ServerHttp2Stream, headers, rawHeaders);
      });
      this.servers.set(key, server);
    }
    return server;
  }
}

/**
 * One client's HTTP/2 connection. Its bytes pass through a scanner of frame boundaries on their way to nghttp2,
 * so a header block, or any frame, that the client is slow to finish runs on the header deadline.
 */
class H2Connection implements RuntimeConnection {
  readonly runtime: Runtime;
  readonly socket: tls.TLSSocket;
  /** Read once: every stream of the connection has the same client. */
  readonly peer: Peer;
  /** What node:http2 reads and writes instead of the TLS socket, so Stickler sees every byte first. */
  readonly pipe: Duplex;
  private session: Session | undefined;
  private readonly scanner = new FrameScanner();
  private readonly headerClock = new ReadClock(() => this.headerTimedOut());
  private readonly streams = new Set<H2Stream>();
  /** Streams whose client has left a response unread past the send timeout's start. */
  private readonly stalled = new Set<H2Stream>();

  constructor(runtime: Runtime, socket: tls.TLSSocket) {
    this.runtime = runtime;
    this.socket = socket;
    this.peer = peerOf(socket);
    this.pipe = new Duplex({
      read: () => void socket.resume(),
      write: (chunk: Buffer, _encoding, done) => (socket.write(chunk) ? done() : socket.once('drain', () => done())),
      final: (done) => void socket.end(done),
      destroy: (err, done) => {
        socket.destroy();
        done(err);
      },
    });
    this.pipe.on('error', () => {});
    // The preface is owed from the start: a client that connects and sends nothing is a slow one.
    this.headerClock.start(runtime.client.headerTimeout);
    socket.on('data', (chunk: Buffer) => {
      this.scanned(chunk);
      if (!this.pipe.push(chunk)) socket.pause();
    });
    // A client that closes its side (TCP FIN, TLS close_notify) will read no more answers: its streams are
    // cancelled at once rather than left to run on members until their timeout.
    socket.on('end', () => this.destroy());
    socket.on('error', () => {});
    socket.on('close', () => {
      this.headerClock.dispose();
      this.pipe.destroy();
    });
  }

  attach(session: Session): void {
    this.session = session;
    this.runtime.connectionOpened(this);
    session.setTimeout(this.runtime.config.keepAliveTimeout, () => session.close());
    session.on('error', () => {});
    session.once('close', () => setImmediate(() => this.runtime.connectionClosed(this)));
  }

  /** Reloads send GOAWAY: the streams in progress finish, the client opens a new connection for the next ones. */
  retire(): void {
    this.session?.close();
  }

  destroy(): void {
    this.session?.destroy();
    this.socket.destroy();
  }

  private scanned(chunk: Buffer): void {
    const owing = this.scanner.owing;
    this.scanner.push(chunk);
    if (!this.scanner.owing) return this.headerClock.stop();
    if (!owing) this.headerClock.start(this.runtime.client.headerTimeout);
    this.headerClock.received(chunk.length);
  }

  /** A header block (or a frame) not finished in time: as HTTP/1.1 answers 408 and closes, the connection ends. */
  private headerTimedOut(): void {
    this.logRefusal(new HttpError(408, 'STK_HTTP_REQUEST_TIMEOUT', 'request head not received in time'));
    this.reset();
  }

  /** Ends the connection with GOAWAY CANCEL and a TCP reset, so the kernel drops what the client left unread. */
  private reset(): void {
    this.session?.destroy(undefined, http2.constants.NGHTTP2_CANCEL);
    resetConnection(this.socket);
  }

  /** One access-log line for a request refused before it became an exchange, as HTTP/1.1 logs its refusals. */
  private logRefusal(err: HttpError, headers?: http2.IncomingHttpHeaders): void {
    const method = headers?.[':method'];
    const path = headers?.[':path'];
    this.runtime.accessLog.write({
      clientIp: this.peer.clientIp,
      time: new Date(),
      method: typeof method === 'string' ? method : '-',
      target: typeof path === 'string' ? path : '-',
      protocol: 'HTTP/2.0',
      status: err.status,
      bytesSent: 0,
      totalMs: 0,
      error: err.code,
    });
  }

  stream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): void {
    stream.on('error', () => {});
    const policy = this.runtime.client;
    let head: RequestHead;
    try {
      head = requestHead(headers, rawHeaders, stream.endAfterHeaders, policy);
    } catch (err) {
      const refusal = err instanceof HttpError ? err : new HttpError(400, 'STK_HTTP_BAD_REQUEST', String(err));
      this.logRefusal(refusal, headers);
      if (!stream.destroyed) stream.respond({ ':status': refusal.status }, { endStream: true });
      return;
    }
    const client = new H2Stream(this, stream);
    this.streams.add(client);
    const exchange = new Exchange(client, head);
    client.exchange = exchange;
    const maxBody = policy.bodySize || Infinity;
    let received = 0;
    if (!stream.endAfterHeaders) client.clock.start(policy.bodyTimeout);
    stream.on('data', (data: Buffer) => {
      received += data.length;
      client.clock.received(data.length);
      // A body without content-length, or longer than it said: cut off at the limit, never passed on whole.
      if (received > maxBody) exchange.requestAborted(new HttpError(413, 'STK_HTTP_BODY_TOO_LARGE', `request body exceeds ${maxBody} bytes`));
      else exchange.requestData(data);
    });
    stream.on('end', () => {
      client.clock.stop();
      exchange.requestEnd([]);
    });
    stream.on('close', () => {
      client.closed();
      this.streams.delete(client);
      this.stalled.delete(client);
      exchange.clientClosed();
    });
    exchange.start();
  }

  stalledFrom(stream: H2Stream): void {
    this.stalled.add(stream);
  }

  flowing(stream: H2Stream): void {
    this.stalled.delete(stream);
  }

  /**
   * A stream's client left its response unread for the send timeout: the stream is reset. When every stream of
   * the connection is stalled (a connection window of 0 stalls them all), the connection itself is reset.
   */
  sendTimedOut(stream: H2Stream): void {
    if (this.stalled.size >= this.streams.size) return this.reset();
    stream.reset();
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
  readonly logConnection: LogConnection;
  readonly answered = 0;
  readonly headBytes = 0;
  /** Body bytes sent: node:http2 does not tell how many bytes a stream's frames took. */
  private bodyWritten = 0;
  /** The request body's deadline. */
  readonly clock = new ReadClock(() => this.exchange?.requestTimedOut());
  exchange: Exchange | undefined;
  private readonly connection: H2Connection;
  private readonly stream: http2.ServerHttp2Stream;
  private bodyless = false;
  private sendTimer: NodeJS.Timeout | undefined;
  /** Over STREAM_BUFFER: the exchange waits for these until nghttp2 has taken the buffer down to half of it. */
  private drainListeners: Array<() => void> = [];
  private readonly written = (): void => {
    if (this.drainListeners.length === 0 || this.stream.writableLength > STREAM_BUFFER / 2) return;
    this.stopSendTimer();
    for (const listener of this.drainListeners.splice(0)) listener();
  };

  constructor(connection: H2Connection, stream: http2.ServerHttp2Stream) {
    this.connection = connection;
    this.runtime = connection.runtime;
    this.stream = stream;
    ({ clientIp: this.clientIp, localPort: this.localPort, sniName: this.sniName, log: this.logConnection } = connection.peer);
  }

  bytesWritten(): number {
    return this.bodyWritten;
  }

  pauseReading(): void {
    this.stream.pause();
    this.clock.pause();
  }

  resumeReading(): void {
    this.stream.resume();
    this.clock.resume();
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

  /** Each write's callback runs when nghttp2 has taken its bytes for frames, which a shut window delays. */
  sendBody(data: Buffer): boolean {
    if (this.bodyless || !this.open) return true;
    this.bodyWritten += data.length;
    this.stream.write(data, this.written);
    if (this.stream.writableLength <= STREAM_BUFFER) return true;
    this.startSendTimer();
    return false;
  }

  onceDrained(listener: () => void): void {
    this.drainListeners.push(listener);
    this.written();
  }

  cancelDrained(listener: () => void): void {
    this.drainListeners = this.drainListeners.filter((l) => l !== listener);
  }

  endBody(): void {
    // Trailers from an HTTP/1.1 member are dropped: few HTTP/2 clients ask for them, and none of them need them.
    if (this.bodyless) return;
    this.stream.end();
    // The last of the response must leave within the send timeout too; the stream's 'close' stops the timer.
    if (this.open) this.startSendTimer();
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

  reset(): void {
    this.stream.close(http2.constants.NGHTTP2_CANCEL);
  }

  closed(): void {
    this.clock.dispose();
    this.stopSendTimer();
  }

  /** Unless it already runs: the send timeout counts from when the client first stopped keeping up. */
  private startSendTimer(): void {
    if (this.sendTimer) return;
    this.connection.stalledFrom(this);
    this.sendTimer = setTimeout(() => this.connection.sendTimedOut(this), this.runtime.client.sendTimeout);
  }

  private stopSendTimer(): void {
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    this.connection.flowing(this);
  }
}
