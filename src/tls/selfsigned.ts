// A self-signed X.509 v3 certificate built with node:crypto alone, so `npm start` works on a bare machine:
// no openssl CLI and no dependency. The DER writer below covers only what a certificate needs.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

export interface SelfSignedOptions {
  commonName: string;
  altNames: { dns?: string[]; ip?: string[] };
  /** Validity in days from now; default 365. */
  days?: number;
  /**
   * RFC 8737's acmeIdentifier: the SHA-256 digest of a TLS-ALPN-01 key authorization, in a critical extension,
   * which makes this the certificate that answers that challenge.
   */
  acmeIdentifier?: Buffer;
}

export interface SelfSigned {
  cert: string;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  key: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdating absorbs small clock differences between this machine and its clients. */
const BACKDATE_MS = 5 * 60 * 1000;

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  acmeIdentifier: '1.3.6.1.5.5.7.1.31',
} as const;

// --- DER writer (X.690) ---

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items));
const octetString = (b: Buffer): Buffer => tlv(0x04, b);
const booleanTrue = (): Buffer => tlv(0x01, Buffer.from([0xff]));
const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));
/** Constructed, context-specific `[n] EXPLICIT`. */
const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);
/** Primitive, context-specific `[n] IMPLICIT`. */
const implicit = (n: number, content: Buffer): Buffer => tlv(0x80 | n, content);

/** Unsigned big-endian magnitude as a DER INTEGER (minimal, with a 0x00 pad when the top bit is set). */
function integer(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const trimmed = magnitude.subarray(start);
  const pad = (trimmed[0] ?? 0) & 0x80 ? Buffer.from([0]) : Buffer.alloc(0);
  return tlv(0x02, Buffer.concat([pad, trimmed]));
}

function bitString(bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([unusedBits]), bytes]));
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first = 0, second = 0, ...rest] = arcs;
  const out: number[] = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = d.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(digits.slice(2), 'ascii'));
  return tlv(0x18, Buffer.from(digits, 'ascii'));
}

// --- certificate parts ---

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (isIPv6(ip)) return ipv6Bytes(ip);
  throw new Error(`self-signed certificate: "${ip}" is not an IPv4 or IPv6 address`);
}

function ipv6Bytes(ip: string): Buffer {
  const zoneless = ip.replace(/%.*$/, '');
  const [head = '', tail] = zoneless.split('::');
  const groups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = ipBytes(g);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const buf = Buffer.alloc(16);
  all.forEach((g, i) => buf.writeUInt16BE(g, i * 2));
  return buf;
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [booleanTrue()] : []), octetString(value));
}

function subjectAltName(dns: string[], ips: string[]): Buffer {
  return sequence(
    ...dns.map((name) => implicit(2, Buffer.from(name, 'ascii'))),
    ...ips.map((ip) => implicit(7, ipBytes(ip))),
  );
}

/** 16 random bytes, top bit cleared so the INTEGER is positive, next bit set so it stays 16 bytes long. */
function serialNumber(): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

export function createSelfSigned(opts: SelfSignedOptions): SelfSigned {
  const days = opts.days ?? 365;
  if (!Number.isFinite(days) || days <= 0) throw new Error(`self-signed certificate: days must be positive, got ${days}`);
  if (opts.acmeIdentifier && opts.acmeIdentifier.length !== 32) throw new Error(`self-signed certificate: an acmeIdentifier is a 32-byte SHA-256 digest, got ${opts.acmeIdentifier.length} bytes`);
  const dns = opts.altNames.dns ?? [];
  const ips = opts.altNames.ip ?? [];
  for (const name of dns) {
    if (!/^[\x21-\x7e]+$/.test(name)) throw new Error(`self-signed certificate: "${name}" is not a valid DNS name`);
  }

  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. The EC point is the SPKI's tail (65 bytes for P-256).
  const keyId = createHash('sha1').update(spki.subarray(spki.length - 65)).digest();

  const now = Date.now();
  const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  const notAfter = new Date(Math.floor((now + days * DAY_MS) / 1000) * 1000);
  const name = sequence(set(sequence(oid(OID.commonName), utf8String(opts.commonName))));
  const signatureAlgorithm = sequence(oid(OID.ecdsaWithSha256));

  const extensions = [
    extension(OID.basicConstraints, true, sequence(booleanTrue())),
    // digitalSignature (bit 0) + keyCertSign (bit 5): 1000 0100, the two trailing zero bits are unused.
    extension(OID.keyUsage, true, bitString(Buffer.from([0x84]), 2)),
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth))),
    ...(dns.length + ips.length > 0 ? [extension(OID.subjectAltName, false, subjectAltName(dns, ips))] : []),
    extension(OID.subjectKeyIdentifier, false, octetString(keyId)),
    // RFC 8737 3: Authorization ::= OCTET STRING (SIZE (32)), itself the extension's OCTET STRING value.
    ...(opts.acmeIdentifier ? [extension(OID.acmeIdentifier, true, octetString(opts.acmeIdentifier))] : []),
  ];

  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(serialNumber()),
    signatureAlgorithm,
    name,
    sequence(time(notBefore), time(notAfter)),
    name,
    spki,
    explicit(3, sequence(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, signatureAlgorithm, bitString(signature));

  return {
    cert: toPem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
