// A small reader of DER (X.690), enough to walk a certificate's fields: a client's certificate is outside input, so
// every function answers undefined for bytes it cannot read and none of them throws.

/** One encoded value: its identifier, its content octets and the whole encoding (identifier, length, content). */
export interface Tlv {
  /** 0 universal, 1 application, 2 context-specific, 3 private. */
  cls: number;
  constructed: boolean;
  tag: number;
  content: Uint8Array;
  encoding: Uint8Array;
}

/** Universal tags this project reads. */
export const TAG = {
  BOOLEAN: 1,
  INTEGER: 2,
  BIT_STRING: 3,
  OCTET_STRING: 4,
  OID: 6,
  UTF8_STRING: 12,
  SEQUENCE: 16,
  SET: 17,
  IA5_STRING: 22,
  UTC_TIME: 23,
  GENERALIZED_TIME: 24,
} as const;

/** The value starting at `offset` of `bytes` and where the next one starts; definite lengths only, as DER has. */
export function readTlv(bytes: Uint8Array, offset: number): { tlv: Tlv; next: number } | undefined {
  let i = offset;
  if (i >= bytes.length) return undefined;
  const first = bytes[i++]!;
  let tag = first & 0x1f;
  if (tag === 0x1f) {
    tag = 0;
    for (;;) {
      if (i >= bytes.length || tag > 0xffffff) return undefined;
      const b = bytes[i++]!;
      tag = tag * 128 + (b & 0x7f);
      if ((b & 0x80) === 0) break;
    }
  }
  if (i >= bytes.length) return undefined;
  let length = bytes[i++]!;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || i + count > bytes.length) return undefined;
    length = 0;
    for (let k = 0; k < count; k++) length = length * 256 + bytes[i++]!;
  }
  if (i + length > bytes.length) return undefined;
  return {
    tlv: { cls: first >> 6, constructed: (first & 0x20) !== 0, tag, content: bytes.subarray(i, i + length), encoding: bytes.subarray(offset, i + length) },
    next: i + length,
  };
}

/** A whole buffer holding exactly one value. */
export function readOne(bytes: Uint8Array): Tlv | undefined {
  const read = readTlv(bytes, 0);
  return read && read.next === bytes.length ? read.tlv : undefined;
}

/** The values inside a constructed one, in order; undefined when it is not constructed or its content does not parse. */
export function childrenOf(tlv: Tlv | undefined): Tlv[] | undefined {
  if (tlv === undefined || !tlv.constructed) return undefined;
  const out: Tlv[] = [];
  let i = 0;
  while (i < tlv.content.length) {
    const read = readTlv(tlv.content, i);
    if (read === undefined) return undefined;
    out.push(read.tlv);
    i = read.next;
  }
  return out;
}

/** Whether `tlv` is the universal type `tag`. */
export const isUniversal = (tlv: Tlv | undefined, tag: number): tlv is Tlv => tlv !== undefined && tlv.cls === 0 && tlv.tag === tag;

/** Whether `tlv` is the context-specific `[tag]`. */
export const isContext = (tlv: Tlv | undefined, tag: number): tlv is Tlv => tlv !== undefined && tlv.cls === 2 && tlv.tag === tag;

/**
 * An OBJECT IDENTIFIER's content as OBJ_obj2txt writes it with numeric output: dotted decimal, the first two arcs
 * folded into the first subidentifier, and at most 79 characters (mod_ssl's buffer is 80 bytes). Undefined when the
 * content is not a valid encoding.
 */
export function oidText(content: Uint8Array): string | undefined {
  if (content.length === 0) return undefined;
  const arcs: bigint[] = [];
  let value = 0n;
  let started = false;
  for (const b of content) {
    // A subidentifier may not start with 0x80 (X.690 8.19.2).
    if (!started && b === 0x80) return undefined;
    started = (b & 0x80) !== 0;
    value = value * 128n + BigInt(b & 0x7f);
    if (!started) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (started) return undefined;
  const head = arcs[0]!;
  const first = head < 40n ? [0n, head] : head < 80n ? [1n, head - 40n] : [2n, head - 80n];
  return [...first, ...arcs.slice(1)].join('.').slice(0, 79);
}

/** An INTEGER's content as a signed number (two's complement, big-endian); undefined for no content. */
export function integerValue(content: Uint8Array): bigint | undefined {
  if (content.length === 0) return undefined;
  let value = 0n;
  for (const b of content) value = value * 256n + BigInt(b);
  return content[0]! & 0x80 ? value - (1n << BigInt(content.length * 8)) : value;
}
