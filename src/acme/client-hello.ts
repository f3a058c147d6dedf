// The server name (SNI) and ALPN protocols of a TLS ClientHello, read from the first bytes of a connection before
// TLS sees them. Only for TLS-ALPN-01 (RFC 8737): Node chooses the certificate (SNICallback) before it sees ALPN in
// TLS 1.2, so a validation connection is recognised here, while a challenge is pending, and every other one is
// handed on untouched. Anything unexpected is `other`: the TLS stack, not this reader, decides what is wrong.

export type HelloPeek =
  | { kind: 'incomplete' }
  | { kind: 'other' }
  | { kind: 'hello'; serverName: string | undefined; alpn: string[] };

/** A ClientHello in one record is at most this big (record header and 2^14 bytes of handshake). */
export const MAX_HELLO_BYTES = 5 + 16384;

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

class Short extends Error {}

/** Reads `data`, the connection's bytes so far. A hello split over several records is `other` (no CA sends one). */
export function peekClientHello(data: Buffer): HelloPeek {
  if (data.length < 5) return data.length > 0 && data[0] !== HANDSHAKE ? { kind: 'other' } : { kind: 'incomplete' };
  if (data[0] !== HANDSHAKE || data[1] !== 3) return { kind: 'other' };
  const recordLength = data.readUInt16BE(3);
  if (recordLength > 16384 + 2048) return { kind: 'other' };
  if (data.length < 5 + recordLength) return { kind: 'incomplete' };
  try {
    return readHello(new Reader(data.subarray(5, 5 + recordLength)));
  } catch (err) {
    if (err instanceof Short) return { kind: 'other' };
    throw err;
  }
}

function readHello(record: Reader): HelloPeek {
  if (record.u8() !== CLIENT_HELLO) return { kind: 'other' };
  const body = record.sub(record.u24());
  body.skip(2 + 32); // legacy_version, random
  body.skip(body.u8()); // legacy_session_id
  body.skip(body.u16()); // cipher_suites
  body.skip(body.u8()); // legacy_compression_methods
  let serverName: string | undefined;
  let alpn: string[] = [];
  if (body.left() === 0) return { kind: 'hello', serverName, alpn };
  const extensions = body.sub(body.u16());
  while (extensions.left() > 0) {
    const type = extensions.u16();
    const data = extensions.sub(extensions.u16());
    if (type === EXT_SERVER_NAME) serverName = readServerName(data);
    else if (type === EXT_ALPN) alpn = readAlpn(data);
  }
  return { kind: 'hello', serverName, alpn };
}

function readServerName(data: Reader): string | undefined {
  const list = data.sub(data.u16());
  while (list.left() > 0) {
    const type = list.u8();
    const name = list.bytes(list.u16());
    // host_name is the only type defined; names are ASCII, compared without case.
    if (type === 0) return name.toString('latin1').toLowerCase();
  }
  return undefined;
}

function readAlpn(data: Reader): string[] {
  const list = data.sub(data.u16());
  const out: string[] = [];
  while (list.left() > 0) out.push(list.bytes(list.u8()).toString('latin1'));
  return out;
}

class Reader {
  private at = 0;
  private readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  left(): number {
    return this.buf.length - this.at;
  }
  private need(n: number): void {
    if (n > this.left()) throw new Short();
  }
  u8(): number {
    this.need(1);
    return this.buf[this.at++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntBE(this.at, 3);
    this.at += 3;
    return v;
  }
  skip(n: number): void {
    this.need(n);
    this.at += n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  sub(n: number): Reader {
    return new Reader(this.bytes(n));
  }
}
