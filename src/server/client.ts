// One client connection: parses requests with Stickler's reader and runs their exchanges one at a time, so
// pipelined responses go out in request order. Reading pauses while a request waits, which bounds memory.
import type net from 'node:net';
import { HttpError } from '../http/errors.ts';
import { MessageReader, type ReaderEvent } from '../http/reader.ts';
import type { RequestHead } from '../http/head.ts';
import type { HeaderList } from '../http/head.ts';
import { encodeChunk, lastChunk, serializeResponseHead, serializeTrailers } from '../http/serialize.ts';
import { errorResponse, reasonPhrase } from './error-page.ts';
import { Exchange, type ClientSide, type ResponseBody } from './exchange.ts';
import { peerOf } from './peer.ts';
import type { Runtime, RuntimeConnection } from './runtime.ts';

export interface ClientTimeouts {
  /** Idle time allowed between requests on a kept-alive connection (Apache KeepAliveTimeout, 5 s). */
  keepAlive: number;
  /** Time allowed to receive a whole request head, and between body bytes (Apache RequestReadTimeout, 20 s). */
  request: number;
}

/** Stop reading from a client that has sent this much ahead of what we could process. */
const maxBufferedAhead = 64 * 1024;

export class ClientConnection implements ClientSide, RuntimeConnection {
  readonly runtime: Runtime;
  readonly socket: net.Socket;
  readonly clientIp: string;
  readonly localPort: number;
  readonly sniName: string | undefined;
  readonly scheme: 'https' | 'http';
  private readonly reader = new MessageReader('request');
  private readonly timeouts: ClientTimeouts;
  private current: Exchange | undefined;
  private closed = false;
  /** The client half-closed: answer what it sent, then close. */
  private peerEnded = false;
  /** Set while a batch of reader events is handed out: a request finished inside it must not start the next one re-entrantly. */
  private dispatching = false;
  private resumeWanted = false;
  /** The connection left HTTP for a tunnel (see takeOver). */
  private tunneled = false;
  /** HTTP minor version of the request being answered: 1.0 clients get no chunking and no interim heads. */
  private minor: 0 | 1 = 1;
  /** How the response in progress is framed on this connection. */
  private framing: 'none' | 'length' | 'chunked' | 'close' = 'none';

  constructor(runtime: Runtime, socket: net.Socket, scheme: 'https' | 'http', timeouts: ClientTimeouts) {
    this.runtime = runtime;
    this.socket = socket;
    this.scheme = scheme;
    this.timeouts = timeouts;
    ({ clientIp: this.clientIp, localPort: this.localPort, sniName: this.sniName } = peerOf(socket));
    socket.setNoDelay(true);
    socket.setTimeout(timeouts.request, () => this.onTimeout());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {});
    runtime.connectionOpened(this);
    socket.on('close', () => {
      this.closed = true;
      this.current?.clientClosed();
      // After this tick, so an exchange that ends with the socket still logs before a retired runtime closes its log.
      setImmediate(() => runtime.connectionClosed(this));
    });
  }

  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    if (this.reader.buffered < maxBufferedAhead) this.socket.resume();
  }

  retire(stopping: boolean): void {
    // Between requests a reload leaves the connection to its keep-alive timeout: closing it now could cross a
    // request already on its way. A stop closes it, as every server does.
    if (stopping && !this.tunneled && !this.current && this.reader.idle && this.reader.buffered === 0) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The exchange switched protocols: this connection is no longer HTTP. */
  takeOver(): { socket: net.Socket; rest: Buffer } {
    this.current = undefined;
    this.tunneled = true;
    return { socket: this.socket, rest: this.reader.takeRest() };
  }

  sendInterim(status: number, reason: string, headers: HeaderList): void {
    // HTTP/1.0 has no interim responses (RFC 9110 §15.2); a 101 is only ever asked for in HTTP/1.1.
    if (this.minor === 1) this.socket.write(serializeResponseHead(status, reason, headers));
  }

  sendHead(status: number, reason: string, headers: HeaderList, body: ResponseBody, keepAlive: boolean): void {
    if (body.kind === 'none') this.framing = 'none';
    else if (body.kind === 'length') {
      this.framing = 'length';
      headers.push(['Content-Length', String(body.length)]);
    } else if (this.minor === 1) {
      this.framing = 'chunked';
      headers.push(['Transfer-Encoding', 'chunked']);
    } else this.framing = 'close';
    if (!keepAlive || this.framing === 'close') headers.push(['Connection', 'close']);
    else if (this.minor === 0) headers.push(['Connection', 'keep-alive']);
    this.socket.write(serializeResponseHead(status, reason, headers));
  }

  sendBody(data: Buffer): boolean {
    if (this.framing === 'none') return true;
    if (this.framing !== 'chunked') return this.socket.write(data);
    let ok = true;
    for (const piece of encodeChunk(data)) ok = this.socket.write(piece);
    return ok;
  }

  endBody(trailers: HeaderList): void {
    if (this.framing === 'chunked') this.socket.write(trailers.length ? serializeTrailers(trailers) : lastChunk);
  }

  onceDrained(listener: () => void): void {
    this.socket.once('drain', listener);
  }

  cancelDrained(listener: () => void): void {
    this.socket.removeListener('drain', listener);
  }

  batch(fn: () => void): void {
    this.socket.cork();
    try {
      fn();
    } finally {
      this.socket.uncork();
    }
  }

  abort(): void {
    this.socket.destroy();
  }

  exchangeDone(keepAlive: boolean): void {
    this.current = undefined;
    if (!keepAlive || this.framing === 'close' || this.closed) {
      this.socket.end();
      return;
    }
    this.socket.setTimeout(this.reader.buffered > 0 ? this.timeouts.request : this.timeouts.keepAlive);
    this.socket.resume();
    this.feed(() => this.reader.resume());
  }

  private onData(chunk: Buffer): void {
    this.feed(() => this.reader.push(chunk));
    if (this.reader.buffered >= maxBufferedAhead) this.socket.pause();
  }

  private onEnd(): void {
    // A half-closed client still gets the answers to what it sent; an idle one is simply closed.
    this.peerEnded = true;
    this.feed(() => this.reader.finish());
  }

  private onTimeout(): void {
    if (this.socket.writableEnded) return void this.socket.destroy();
    if (this.current) {
      // Waiting on the member is the member's timeout; waiting on the client's body is the client's.
      if (this.current.awaitingRequestBody) this.current.requestTimedOut();
      return;
    }
    // 408 only when part of a request arrived; an idle keep-alive connection is closed silently, as Apache does.
    if (this.reader.buffered > 0 || !this.reader.idle) this.refuse(new HttpError(408, 'STK_HTTP_REQUEST_TIMEOUT', 'request not received in time'));
    else this.socket.destroy();
  }

  /**
   * Reads with `step` and hands the events out, then goes on with the next pipelined request when the one in
   * progress finished meanwhile. A loop, not recursion: a thousand pipelined requests answered locally must not
   * grow the stack.
   */
  private feed(step: () => ReaderEvent[]): void {
    if (this.dispatching) {
      this.resumeWanted = true;
      return;
    }
    this.dispatching = true;
    try {
      let next: (() => ReaderEvent[]) | undefined = step;
      while (next) {
        const events = this.read(next);
        next = undefined;
        if (!events) break;
        this.dispatch(events);
        if (this.resumeWanted) {
          this.resumeWanted = false;
          next = () => this.reader.resume();
        }
      }
    } finally {
      this.dispatching = false;
    }
    if (this.peerEnded && !this.current && !this.socket.writableEnded) this.socket.end();
  }

  private read(step: () => ReaderEvent[]): ReaderEvent[] | undefined {
    try {
      return step();
    } catch (err) {
      if (this.current) this.current.requestAborted();
      else this.refuse(err);
      return undefined;
    }
  }

  /** Body events go to the exchange their head started, even if that exchange has finished meanwhile. */
  private dispatch(events: ReaderEvent[]): void {
    let target = this.current;
    for (const ev of events) {
      if (ev.type === 'head') {
        this.socket.setTimeout(this.timeouts.request);
        const head = ev.head as RequestHead;
        this.minor = head.minor;
        this.framing = 'none';
        target = this.current = new Exchange(this, head);
        target.start();
      } else if (ev.type === 'data') target?.requestData(ev.data);
      else target?.requestEnd(ev.trailers);
    }
  }

  /** A request we cannot parse gets its error status and the connection is closed: the byte stream is no longer trustworthy. */
  private refuse(err: unknown): void {
    const status = err instanceof HttpError ? err.status : 400;
    const code = err instanceof HttpError ? err.code : 'STK_HTTP_BAD_REQUEST';
    const page = errorResponse(status);
    const head = serializeResponseHead(status, reasonPhrase(status), [
      ...page.headers,
      ['Content-Length', String(page.body.length)],
      ['Connection', 'close'],
    ]);
    this.runtime.accessLog.write({
      clientIp: this.clientIp,
      time: new Date(),
      method: '-',
      target: '-',
      protocol: '-',
      status,
      bytesSent: page.body.length,
      totalMs: 0,
      error: code,
    });
    if (!this.socket.destroyed) this.socket.end(Buffer.concat([head, page.body]));
  }
}
