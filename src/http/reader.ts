// Incremental HTTP/1.1 message reader: bytes in, head/data/end events out, no sockets. One reader serves one
// connection direction for its whole life (pipelined requests, or the responses of a backend connection).

import { ChunkedDecoder } from './chunked.ts';
import { HttpError, asBackendError } from './errors.ts';
import { FieldSectionScanner } from './field-section.ts';
import type { Framing, HeaderList, RequestHead, ResponseHead } from './head.ts';
import { buildRequestHead, parseRequestLine } from './request-head.ts';
import { buildResponseHead, parseStatusLine } from './response-head.ts';
import { CR, LF } from './syntax.ts';

export type ReaderEvent =
  | { type: 'head'; head: RequestHead | ResponseHead }
  | { type: 'data'; data: Buffer }
  | { type: 'end'; trailers: HeaderList };

/** Every limit is counted by the reader itself, before anything is handed out: nothing is silently dropped. */
export interface ReaderLimits {
  /** A whole head, or trailer section → 431 (502 for a response). */
  maxHeadBytes: number;
  /** Field lines of a head or trailer section → 431. */
  maxHeaders: number;
  /** One field line of a request head, CRLF excluded → 431; a response's are bounded by maxHeadBytes alone. */
  maxFieldBytes: number;
  /** The request line, CRLF excluded → 414. */
  maxRequestLineBytes: number;
  /** The request target alone → 414. */
  maxTargetBytes: number;
  maxChunkLineBytes: number;
  /** A request body → 413: from Content-Length before the head is handed out, while decoding a chunked one. */
  maxBodyBytes: number;
}

export const defaultLimits: ReaderLimits = Object.freeze({
  maxHeadBytes: 64 * 1024,
  maxHeaders: 100,
  maxFieldBytes: 8190,
  maxRequestLineBytes: 8190,
  maxTargetBytes: 8 * 1024,
  maxChunkLineBytes: 4 * 1024,
  maxBodyBytes: Infinity,
});

function bodyTooLarge(max: number): HttpError {
  return new HttpError(413, 'STK_HTTP_BODY_TOO_LARGE', `request body exceeds ${max} bytes`);
}

/** Interim responses allowed before a final one; a backend looping on 1xx is broken (cf. CVE-2008-2364). */
const MAX_INTERIM_RESPONSES = 10;

/** Room for the method, the two SPs and the version around a target of maxTargetBytes. */
const REQUEST_LINE_OVERHEAD = 32;

const EMPTY = Buffer.alloc(0);

type State =
  | 'head'
  | 'length'
  | 'chunked'
  | 'close'
  /** A message ended; later bytes wait for resume(). */
  | 'ended'
  /** A 101 response: what follows is another protocol, left buffered. */
  | 'upgraded'
  /** An error was thrown; the connection must be closed. */
  | 'dead';

export class MessageReader {
  private readonly kind: 'request' | 'response';
  private readonly limits: ReaderLimits;
  private readonly headScanner: FieldSectionScanner;
  private buf: Buffer = EMPTY;
  /** Start of the unconsumed bytes in `buf`; section scanners keep offsets relative to it. */
  private pos = 0;
  private state: State = 'head';
  /** Body bytes still expected in state 'length'. */
  private remaining = 0;
  private chunked: ChunkedDecoder | undefined;
  /** Body bytes of the chunked request being decoded, against maxBodyBytes. */
  private chunkedBytes = 0;
  /** Methods of the requests whose final responses have not arrived yet, oldest first. */
  private readonly methods: string[] = [];
  private interimCount = 0;
  /** finish() was called: no more bytes will come. */
  private peerClosed = false;
  /** Size of the last head parsed, as received (the access log's `%I`). */
  headBytes = 0;

  constructor(kind: 'request' | 'response', limits: Partial<ReaderLimits> = {}) {
    this.kind = kind;
    this.limits = { ...defaultLimits, ...limits };
    const isRequest = kind === 'request';
    this.headScanner = new FieldSectionScanner({
      maxBytes: this.limits.maxHeadBytes,
      maxFields: this.limits.maxHeaders,
      startLines: 1,
      maxFirstLineBytes: isRequest ? Math.min(this.limits.maxRequestLineBytes, this.limits.maxTargetBytes + REQUEST_LINE_OVERHEAD) : Infinity,
      ...(isRequest && { maxLineBytes: this.limits.maxFieldBytes }),
      what: 'head',
    });
  }

  /**
   * Feed bytes. Parses as far as possible but stops after an 'end' event: later bytes (a pipelined next
   * message) stay buffered until resume(). Body data events are views of the pushed buffers, which must not be
   * reused by the caller. Throws HttpError on any violation; after a throw the reader is dead.
   */
  push(chunk: Buffer): ReaderEvent[] {
    this.checkAlive();
    if (chunk.length > 0) this.append(chunk);
    return this.run();
  }

  /** Continue with buffered bytes after an 'end' (next pipelined message). */
  resume(): ReaderEvent[] {
    this.checkAlive();
    if (this.state === 'ended') this.state = 'head';
    return this.run();
  }

  /**
   * The peer closed. Ends a close-delimited response body; throws HttpError if a message is incomplete; returns
   * [] when idle between messages. Complete pipelined messages still buffered stay readable through resume(),
   * which then throws if the bytes after them stop mid-message.
   */
  finish(): ReaderEvent[] {
    this.checkAlive();
    this.peerClosed = true;
    if (this.state === 'close') {
      this.state = 'ended';
      return [{ type: 'end', trailers: [] }];
    }
    return this.run();
  }

  /**
   * Hands over the bytes not yet parsed and retires the reader: after a protocol switch (101) they belong to the
   * new protocol, not to HTTP.
   */
  takeRest(): Buffer {
    const rest = this.buf.subarray(this.pos);
    this.buf = EMPTY;
    this.pos = 0;
    this.state = 'upgraded';
    return rest;
  }

  /** Response readers must know the request method before the response head arrives (HEAD → no body). */
  expectResponseTo(method: string): void {
    this.methods.push(method);
  }

  /** Bytes held but not yet parsed or emitted. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /** Between messages, nothing buffered. */
  get idle(): boolean {
    return (this.state === 'head' || this.state === 'ended') && this.buffered === 0;
  }

  /** After the peer closed, the only states that are not a cut message. */
  private checkNothingCut(): void {
    const complete = this.state === 'ended' || this.state === 'upgraded' || (this.state === 'head' && this.buffered === 0);
    if (!complete) throw new HttpError(400, 'STK_HTTP_INCOMPLETE_MESSAGE', 'connection closed in the middle of a message');
  }

  private checkAlive(): void {
    if (this.state === 'dead') throw this.adapt(new HttpError(400, 'STK_HTTP_READER_DEAD', 'reader used after a protocol error'));
  }

  private append(chunk: Buffer): void {
    if (this.pos === this.buf.length) this.buf = chunk;
    else this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    this.pos = 0;
  }

  private run(): ReaderEvent[] {
    const events: ReaderEvent[] = [];
    try {
      while (this.step(events));
      if (this.peerClosed) this.checkNothingCut();
    } catch (err) {
      this.state = 'dead';
      this.buf = EMPTY;
      this.pos = 0;
      throw err instanceof HttpError ? this.adapt(err) : err;
    }
    if (this.pos === this.buf.length) {
      this.buf = EMPTY;
      this.pos = 0;
    }
    return events;
  }

  /** Advances one state; false when it needs more bytes or must stop. */
  private step(events: ReaderEvent[]): boolean {
    switch (this.state) {
      case 'head':
        return this.readHead(events);
      case 'length': {
        const n = Math.min(this.remaining, this.buffered);
        if (n === 0) return false;
        // A chunk that is all body is handed out as it is: a view of it would cost a typed array per chunk.
        events.push({ type: 'data', data: n === this.buf.length ? this.buf : this.buf.subarray(this.pos, this.pos + n) });
        this.pos += n;
        this.remaining -= n;
        if (this.remaining === 0) this.end(events, []);
        return this.remaining === 0;
      }
      case 'chunked': {
        const decoder = this.chunked!;
        const slices: Buffer[] = [];
        this.pos = decoder.decode(this.buf, this.pos, slices);
        for (const data of slices) {
          if (data.length === 0) continue;
          this.chunkedBytes += data.length;
          events.push({ type: 'data', data });
        }
        // Chunks past the limit are refused before they are handed out; the head already went.
        if (this.chunkedBytes > this.limits.maxBodyBytes) throw bodyTooLarge(this.limits.maxBodyBytes);
        if (decoder.trailers === undefined) return false;
        this.end(events, decoder.trailers);
        return true;
      }
      case 'close':
        if (this.buffered > 0) events.push({ type: 'data', data: this.buf.subarray(this.pos) });
        this.pos = this.buf.length;
        return false;
      case 'ended':
      case 'upgraded':
      case 'dead':
        return false;
    }
  }

  private readHead(events: ReaderEvent[]): boolean {
    if (this.kind === 'request' && !this.skipEmptyLines()) return false;
    if (this.buffered === 0) return false;
    if (this.kind === 'response' && this.methods.length === 0) {
      throw new HttpError(502, 'STK_HTTP_UNSOLICITED_RESPONSE', 'bytes received while no request is outstanding');
    }
    const length = this.headScanner.scan(this.buf, this.pos);
    if (length === -1) return false;
    const { buf, pos } = this;
    this.headBytes = length;
    const lines = this.headScanner.lines;
    const lineEnd = pos + lines[1]!;
    if (this.kind === 'request') {
      const line = parseRequestLine(buf, pos, lineEnd, this.limits.maxTargetBytes);
      const head = buildRequestHead(line, buf, pos, lines);
      // Decided before the head is handed out, so no 100 Continue goes out and no byte goes upstream.
      if (head.framing.kind === 'length' && head.framing.length > this.limits.maxBodyBytes) throw bodyTooLarge(this.limits.maxBodyBytes);
      this.startBody(events, head);
    } else {
      const line = parseStatusLine(buf, pos, lineEnd);
      this.startResponseBody(events, buildResponseHead(line, this.methods[0]!, buf, pos, lines));
    }
    this.pos += length;
    this.headScanner.reset();
    return this.state !== 'ended' && this.state !== 'upgraded';
  }

  private startResponseBody(events: ReaderEvent[], head: ResponseHead): void {
    if (head.status >= 200) {
      this.methods.shift();
      this.interimCount = 0;
      this.startBody(events, head);
      return;
    }
    events.push({ type: 'head', head });
    if (head.status === 101) this.state = 'upgraded';
    else if (++this.interimCount > MAX_INTERIM_RESPONSES) {
      throw new HttpError(502, 'STK_HTTP_TOO_MANY_INTERIM', `more than ${MAX_INTERIM_RESPONSES} interim responses`);
    }
  }

  private startBody(events: ReaderEvent[], head: RequestHead | ResponseHead): void {
    events.push({ type: 'head', head });
    const framing: Framing = head.framing;
    switch (framing.kind) {
      case 'none':
        this.end(events, []);
        break;
      case 'length':
        this.remaining = framing.length;
        if (framing.length === 0) this.end(events, []);
        else this.state = 'length';
        break;
      case 'chunked':
        this.chunked = new ChunkedDecoder(this.limits);
        this.chunkedBytes = 0;
        this.state = 'chunked';
        break;
      case 'close':
        this.state = 'close';
        break;
    }
  }

  private end(events: ReaderEvent[], trailers: HeaderList): void {
    events.push({ type: 'end', trailers });
    this.chunked = undefined;
    this.state = 'ended';
  }

  /** RFC 9112 §2.2: empty lines before a request line are ignored. False while a lone CR leaves it undecided. */
  private skipEmptyLines(): boolean {
    const { buf } = this;
    while (this.pos < buf.length) {
      const b = buf[this.pos];
      if (b === LF) throw new HttpError(400, 'STK_HTTP_BARE_LF', 'empty line before the request line ends in LF without CR');
      if (b !== CR) return true;
      if (this.pos + 1 === buf.length) return false;
      if (buf[this.pos + 1] !== LF) throw new HttpError(400, 'STK_HTTP_BARE_CR', 'CR not followed by LF before the request line');
      this.pos += 2;
    }
    return true;
  }

  private adapt(err: HttpError): HttpError {
    return this.kind === 'response' ? asBackendError(err) : err;
  }
}
