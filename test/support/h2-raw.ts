// A raw HTTP/2 client: TLS with ALPN h2, frames and HPACK literals written by hand, so tests can send what
// well-behaved clients refuse to (a header block that never ends, a window left at 0, more streams than allowed)
// and leave in every way a client can (TCP FIN without close_notify, close_notify, GOAWAY, TCP reset).
import net from 'node:net';
import tls from 'node:tls';
import { withTimeout } from './wait.ts';

export const FRAME = { DATA: 0x0, HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9 } as const;
export const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
export const SETTING = { MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4 } as const;
export const ERROR = { NO_ERROR: 0x0, PROTOCOL_ERROR: 0x1, CANCEL: 0x8, REFUSED_STREAM: 0x7, ENHANCE_YOUR_CALM: 0xb } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** RFC 7541 §5.1: an integer with an N-bit prefix. */
function hpackInt(value: number, prefixBits: number, firstByte: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [firstByte | value];
  const out = [firstByte | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  return Buffer.concat([Buffer.from(hpackInt(bytes.length, 7, 0)), bytes]);
}

/** A header block of literal fields without indexing (RFC 7541 §6.2.2), no Huffman: readable on the wire. */
export function headerBlock(fields: Array<[string, string]>): Buffer {
  return Buffer.concat(fields.flatMap(([name, value]) => [Buffer.from([0x00]), hpackString(name), hpackString(value)]));
}

/** The pseudo-header fields of a request to `path` on the test certificate's host. */
export function requestFields(method: string, path: string, extra: Array<[string, string]> = []): Array<[string, string]> {
  return [[':method', method], [':scheme', 'https'], [':authority', 'localhost'], [':path', path], ...extra];
}

export class RawH2 {
  readonly frames: Frame[] = [];
  readonly tcp: net.Socket;
  readonly tls: tls.TLSSocket;
  closed = false;
  private buffered = Buffer.alloc(0);
  private readonly waiters = new Set<() => void>();

  private constructor(tcp: net.Socket, socket: tls.TLSSocket) {
    this.tcp = tcp;
    this.tls = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    tcp.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Connects, sends the preface and SETTINGS (`settings` by identifier), and acknowledges the server's SETTINGS. */
  static async connect(port: number, settings: Record<number, number> = {}): Promise<RawH2> {
    const tcp = net.connect(port, '127.0.0.1');
    const socket = tls.connect({ socket: tcp, servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false });
    await withTimeout(new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    }), 10_000, 'h2 TLS handshake');
    if (socket.alpnProtocol !== 'h2') throw new Error(`ALPN chose ${socket.alpnProtocol}, not h2`);
    const client = new RawH2(tcp, socket);
    const entries = Object.entries(settings).map(([id, value]) => {
      const entry = Buffer.alloc(6);
      entry.writeUInt16BE(Number(id), 0);
      entry.writeUInt32BE(value, 2);
      return entry;
    });
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.concat(entries))]));
    await client.waitFor((f) => f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0, 10_000, 'server SETTINGS');
    return client;
  }

  send(bytes: Buffer): void {
    if (!this.closed) this.tls.write(bytes);
  }

  headers(stream: number, fields: Array<[string, string]>, opts: { endStream?: boolean; endHeaders?: boolean } = {}): void {
    const flags = (opts.endStream ? FLAG.END_STREAM : 0) | (opts.endHeaders === false ? 0 : FLAG.END_HEADERS);
    this.send(frame(FRAME.HEADERS, flags, stream, headerBlock(fields)));
  }

  data(stream: number, payload: Buffer, endStream = false): void {
    this.send(frame(FRAME.DATA, endStream ? FLAG.END_STREAM : 0, stream, payload));
  }

  goaway(lastStream: number, code: number = ERROR.NO_ERROR): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(lastStream, 0);
    payload.writeUInt32BE(code, 4);
    this.send(frame(FRAME.GOAWAY, 0, 0, payload));
  }

  /** A TCP FIN without TLS close_notify. */
  fin(): void {
    this.tcp.end();
  }

  /** TLS close_notify, then FIN. */
  closeNotify(): void {
    this.tls.end();
  }

  /** A TCP reset. */
  reset(): void {
    this.tcp.resetAndDestroy();
  }

  destroy(): void {
    this.tls.destroy();
    this.tcp.destroy();
  }

  /** The first frame received that `match` accepts; rejects when the connection closes first or time runs out. */
  async waitFor(match: (f: Frame) => boolean, ms: number, what: string): Promise<Frame> {
    return withTimeout(new Promise<Frame>((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(match);
        if (found) return done(() => resolve(found));
        if (this.closed) done(() => reject(new Error(`${what}: the connection closed first`)));
      };
      const done = (settle: () => void) => {
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    }), ms, what);
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(ms: number, what: string): Promise<void> {
    await withTimeout(new Promise<void>((resolve) => {
      const check = () => {
        if (!this.closed) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
      check();
    }), ms, what);
  }

  private onData(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      const f: Frame = { type: this.buffered[3]!, flags: this.buffered[4]!, stream: this.buffered.readUInt32BE(5) & 0x7fffffff, payload: this.buffered.subarray(9, 9 + length) };
      this.buffered = this.buffered.subarray(9 + length);
      this.frames.push(f);
      if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0) this.send(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      if (f.type === FRAME.PING && (f.flags & FLAG.ACK) === 0) this.send(frame(FRAME.PING, FLAG.ACK, 0, f.payload));
    }
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** The error code of a RST_STREAM or GOAWAY frame. */
export function errorCode(f: Frame): number {
  return f.type === FRAME.GOAWAY ? f.payload.readUInt32BE(4) : f.payload.readUInt32BE(0);
}
