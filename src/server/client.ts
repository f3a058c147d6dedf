// One client connection: parses requests with Stickler's reader and runs their exchanges one at a time, so
// pipelined responses go out in request order. Reading pauses while a request waits, which bounds memory.
// The connection also enforces the client policy's clocks: keep-alive idle time, the request head and body read
// timeouts (deadlines, not inactivity), and the send timeout for a client that stops reading.
import type net from 'node:net';
import type { ClientPolicy } from '../config/model.ts';
import { HttpError } from '../http/errors.ts';
import { MessageReader, type ReaderEvent } from '../http/reader.ts';
import type { HeaderList, RequestHead, ResponseBody } from '../http/head.ts';
import type { LogConnection } from '../log/entry.ts';
import { encodeChunk, lastChunk, serializeResponseHead, serializeTrailers } from '../http/serialize.ts';
import { errorResponse, reasonPhrase } from './error-page.ts';
import type { ClientSide } from './client-side.ts';
import { Exchange } from './exchange.ts';
import { peerOf } from './peer.ts';
import { ReadClock } from './read-clock.ts';
import { requestLimits } from './request-limits.ts';
import { resetConnection } from './reset.ts';
import type { Runtime, RuntimeConnection } from './runtime.ts';

/** Stop reading from a client that has sent this much ahead of what we could process. */
const maxBufferedAhead = 64 * 1024;

/**
 * After its last response is flushed, a closing connection waits this long for the client to close (Apache's
 * lingering close): closing at once could reset the connection before the client has read the response.
 */
const LINGER_MS = 2_000;

const EMPTY = Buffer.alloc(0);

/** What the connection is waiting for from the client. */
type ReadStage = 'idle' | 'header' | 'body' | 'none';

export class ClientConnection implements ClientSide, RuntimeConnection {
  readonly runtime: Runtime;
  readonly socket: net.Socket;
  readonly clientIp: string;
  readonly localPort: number;
  readonly sniName: string | undefined;
  readonly scheme: 'https' | 'http';
  readonly logConnection: LogConnection;
  answered = 0;
  private readonly reader: MessageReader;
  private readonly policy: ClientPolicy;
  private current: Exchange | undefined;
  private closed = false;
  /** Stickler ended the connection: what the client sends now is discarded. */
  private closing = false;
  private stage: ReadStage = 'header';
  private readonly clock = new ReadClock(() => this.onReadTimeout());
  /** Runs while the client leaves Stickler's send buffer full, or while a closing connection flushes and lingers. */
  private sendTimer: NodeJS.Timeout | undefined;
  /** Stickler timed the request out: its 408 goes out without waiting for the client to read it. */
  private timedOut = false;
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

  constructor(runtime: Runtime, socket: net.Socket, scheme: 'https' | 'http') {
    this.runtime = runtime;
    this.socket = socket;
    this.scheme = scheme;
    this.policy = runtime.client;
    this.reader = new MessageReader('request', requestLimits(runtime.client));
    ({ clientIp: this.clientIp, localPort: this.localPort, sniName: this.sniName, log: this.logConnection } = peerOf(socket));
    socket.setNoDelay(true);
    // The head of the first request is awaited from the start: a client that connects and sends nothing is a slow one.
    this.enterStage('header');
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    // A closing connection's timer bounds its whole flush, not one buffer's.
    socket.on('drain', () => this.closing || this.stopSendTimer());
    socket.on('error', () => {});
    runtime.connectionOpened(this);
    socket.on('close', () => {
      this.closed = true;
      this.clock.dispose();
      this.stopSendTimer();
      this.current?.clientClosed();
      // After this tick, so an exchange that ends with the socket still logs before a retired runtime closes its log.
      setImmediate(() => runtime.connectionClosed(this));
    });
  }

  /** Stickler stops reading (a member not ready for the body yet): that time does not count against the client. */
  pauseReading(): void {
    this.socket.pause();
    this.clock.pause();
  }

  resumeReading(): void {
    if (this.reader.buffered >= maxBufferedAhead || this.closing) return;
    this.socket.resume();
    this.clock.resume();
  }

  retire(stopping: boolean): void {
    // Between requests a reload leaves the connection to its keep-alive timeout: closing it now could cross a
    // request already on its way. A stop closes it, as every server does.
    if (stopping && !this.tunneled && !this.current && this.reader.idle && this.reader.buffered === 0) this.close();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The exchange switched protocols: this connection is no longer HTTP. */
  takeOver(): { socket: net.Socket; rest: Buffer } {
    this.current = undefined;
    this.tunneled = true;
    // The tunnel has its own idle timeout.
    this.enterStage('none');
    this.stopSendTimer();
    return { socket: this.socket, rest: this.reader.takeRest() };
  }

  sendInterim(status: number, reason: string, headers: HeaderList): void {
    // HTTP/1.0 has no interim responses (RFC 9110 §15.2); a 101 is only ever asked for in HTTP/1.1.
    if (this.minor === 1) this.write(serializeResponseHead(status, reason, headers));
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
    this.write(serializeResponseHead(status, reason, headers));
  }

  sendBody(data: Buffer): boolean {
    if (this.framing === 'none') return true;
    if (this.framing !== 'chunked') return this.write(data);
    let ok = true;
    for (const piece of encodeChunk(data)) ok = this.write(piece);
    return ok;
  }

  endBody(trailers: HeaderList): void {
    if (this.framing === 'chunked') this.write(trailers.length ? serializeTrailers(trailers) : lastChunk);
  }

  /**
   * Every response byte goes through here. Writers stop at a full buffer and wait for 'drain' (backpressure), so
   * a client that stops reading holds at most a buffer's worth; if it leaves that buffer full for the send
   * timeout, it is dropped.
   */
  private write(data: Buffer): boolean {
    const ok = this.socket.write(data);
    if (!ok) this.startSendTimer();
    return ok;
  }

  /** Unless it already runs: the send timeout counts from when the client first stopped keeping up. */
  private startSendTimer(): void {
    this.sendTimer ??= setTimeout(() => resetConnection(this.socket), this.policy.sendTimeout);
  }

  private stopSendTimer(): void {
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
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

  get headBytes(): number {
    return this.reader.headBytes;
  }

  bytesWritten(): number {
    return this.socket.bytesWritten;
  }

  exchangeDone(keepAlive: boolean): void {
    this.current = undefined;
    this.answered++;
    if (!keepAlive || this.framing === 'close' || this.closed) return this.close();
    if (this.reader.buffered > 0) this.enterStage('header');
    // Below the high-water mark the response is as good as sent (a TLS write completes a turn later; waiting for
    // it would cost a write and a timer per request).
    else if (!this.socket.writableNeedDrain) this.enterStage('idle');
    else {
      // A client still taking the tail of a large response is not idle yet: its keep-alive time starts once the
      // response has left, and the send timeout bounds how long that may take.
      this.startSendTimer();
      this.socket.write(EMPTY, () => this.responseFlushed());
    }
    this.socket.resume();
    this.feed(() => this.reader.resume());
  }

  private responseFlushed(): void {
    if (this.socket.writableLength === 0) this.stopSendTimer();
    if (this.closed || this.closing || this.current || this.stage !== 'none') return;
    this.enterStage(this.reader.idle ? 'idle' : 'header');
  }

  private onData(chunk: Buffer): void {
    // A closing connection only drains what the client still sends, so closing never resets it.
    if (this.closing) return;
    // Between requests (idle, or the last response still leaving) the first byte starts the head's clock.
    if (this.stage === 'idle' || (this.stage === 'none' && !this.current)) this.enterStage('header');
    this.clock.received(chunk.length);
    this.feed(() => this.reader.push(chunk));
    if (this.reader.buffered >= maxBufferedAhead) this.socket.pause();
  }

  private onEnd(): void {
    if (this.closing) return;
    // A half-closed client still gets the answers to what it sent; an idle one is simply closed.
    this.peerEnded = true;
    this.feed(() => this.reader.finish());
  }

  /** What is awaited next from the client, and its deadline; `none` while Stickler has the next move. */
  private enterStage(stage: ReadStage): void {
    this.stage = stage;
    if (stage === 'idle') this.clock.start(this.runtime.config.keepAliveTimeout);
    else if (stage === 'header') this.clock.start(this.policy.headerTimeout);
    else if (stage === 'body') this.clock.start(this.policy.bodyTimeout);
    else this.clock.stop();
  }

  private onReadTimeout(): void {
    if (this.closing) return;
    this.timedOut = true;
    const stage = this.stage;
    this.enterStage('none');
    if (stage === 'body' && this.current) return this.current.requestTimedOut();
    // 408 only when part of a request arrived; an idle connection is closed silently, as Apache does.
    if (stage === 'header' && (this.reader.buffered > 0 || !this.reader.idle)) {
      this.refuse(new HttpError(408, 'STK_HTTP_REQUEST_TIMEOUT', 'request head not received in time'));
    } else this.socket.destroy();
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
    if (this.peerEnded && !this.current) this.close();
  }

  private read(step: () => ReaderEvent[]): ReaderEvent[] | undefined {
    try {
      return step();
    } catch (err) {
      if (this.current) this.current.requestAborted(err instanceof HttpError ? err : undefined);
      else this.refuse(err);
      return undefined;
    }
  }

  /** Body events go to the exchange their head started, even if that exchange has finished meanwhile. */
  private dispatch(events: ReaderEvent[]): void {
    let target = this.current;
    for (const ev of events) {
      if (ev.type === 'head') {
        const head = ev.head as RequestHead;
        this.minor = head.minor;
        this.framing = 'none';
        this.enterStage(head.framing.kind === 'none' ? 'none' : 'body');
        target = this.current = new Exchange(this, head);
        target.start();
      } else if (ev.type === 'data') target?.requestData(ev.data);
      else {
        if (target === this.current && this.stage === 'body') this.enterStage('none');
        target?.requestEnd(ev.trailers);
      }
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
    this.close(Buffer.concat([head, page.body]));
  }

  /**
   * Ends the connection after `last`. Flushing what is still buffered is bounded by the send timeout; then the
   * client gets LINGER_MS to read it and close, except after a timeout, when it has had its time already.
   */
  private close(last?: Buffer): void {
    if (this.closing || this.socket.destroyed) return;
    this.closing = true;
    this.enterStage('none');
    this.socket.resume();
    if (last) this.socket.end(last);
    else this.socket.end();
    this.stopSendTimer();
    this.startSendTimer();
    this.socket.once('finish', () => {
      this.stopSendTimer();
      if (this.timedOut) this.socket.destroy();
      else this.sendTimer = setTimeout(() => this.socket.destroy(), LINGER_MS);
    });
  }
}
