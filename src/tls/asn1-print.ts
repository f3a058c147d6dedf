// OpenSSL's printing of names and strings (crypto/asn1/a_strex.c: X509_NAME_print_ex, ASN1_STRING_print_ex), the
// two calls mod_ssl makes for SSL_CLIENT_S_DN and its components, in the flags mod_ssl passes. Output is a byte
// string (one character per byte, as head fields are held here), because OpenSSL writes bytes: a UTF-8 name comes
// out as its UTF-8 bytes, and a string OpenSSL cannot read ends the output where OpenSSL stops writing.
import { childrenOf, isUniversal, oidText, TAG, type Tlv } from './der.ts';
import { shortName } from './object-names.ts';

/** One attribute of a distinguished name, in the order the certificate has them. */
export interface NameEntry {
  /** Dotted identifier of the attribute type, or undefined when its encoding is broken. */
  oid: string | undefined;
  /** Which RDN (SET) it belongs to: equal numbers are one multi-valued RDN. */
  rdn: number;
  value: Tlv;
}

/** A Name (SEQUENCE OF SET OF {type, value}) as its entries; undefined when it is not one. */
export function nameEntries(name: Tlv | undefined): NameEntry[] | undefined {
  const rdns = isUniversal(name, TAG.SEQUENCE) ? childrenOf(name) : undefined;
  if (rdns === undefined) return undefined;
  const out: NameEntry[] = [];
  for (let rdn = 0; rdn < rdns.length; rdn++) {
    const set = isUniversal(rdns[rdn], TAG.SET) ? childrenOf(rdns[rdn]) : undefined;
    if (set === undefined) return undefined;
    for (const attribute of set) {
      const parts = isUniversal(attribute, TAG.SEQUENCE) ? childrenOf(attribute) : undefined;
      if (parts?.length !== 2 || !isUniversal(parts[0], TAG.OID)) return undefined;
      out.push({ oid: oidText(parts[0].content), rdn, value: parts[1]! });
    }
  }
  return out;
}

// ASN1_STRFLGS_* and the character classes of OpenSSL's charmap.h that these flags consult.
const ESC_2253 = 1;
const ESC_CTRL = 2;
const ESC_MSB = 4;
const FIRST_ESC_2253 = 0x20;
const LAST_ESC_2253 = 0x40;
const ESC_2254 = 0x400;
const BACKSLASH_ESCAPED = ESC_2253 | FIRST_ESC_2253 | LAST_ESC_2253;
const ESC_FLAGS = ESC_2253 | ESC_2254 | ESC_CTRL | ESC_MSB;

/** charmap.h's classes of the ASCII characters, for the flags above. */
function charClass(c: number): number {
  let flags = c < 0x20 || c === 0x7f ? ESC_CTRL : 0;
  if ('"+,;<>\\'.includes(String.fromCharCode(c))) flags |= ESC_2253;
  if (c === 0x20) flags |= FIRST_ESC_2253 | LAST_ESC_2253;
  if (c === 0x23) flags |= FIRST_ESC_2253;
  if (c === 0 || c === 0x28 || c === 0x29 || c === 0x2a || c === 0x5c) flags |= ESC_2254;
  return flags;
}
const CLASSES = Array.from({ length: 128 }, (_, c) => charClass(c));

/** How mod_ssl has a string printed. */
export type PrintMode =
  /** Within SSL_CLIENT_S_DN: XN_FLAG_RFC2253 without ASN1_STRFLGS_ESC_MSB. */
  | 'rfc2253'
  /** A component or SAN entry: ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT. */
  | 'utf8'
  /** A `_RAW` component: ASN1_STRFLGS_ESC_CTRL, the string's own character set. */
  | 'raw';

/** a_strex.c's tag2nbyte: bytes per character of each string type, 0 for UTF-8, -1 for what is not a string. */
function charWidth(tag: number): number {
  if (tag === 12) return 0;
  if (tag === 18 || tag === 19 || tag === 20 || tag === 22 || tag === 23 || tag === 24 || tag === 26) return 1;
  if (tag === 28) return 4;
  if (tag === 30) return 2;
  return -1;
}

/**
 * The octets OpenSSL keeps for a value: the whole encoding for a SEQUENCE or SET, the bits without their count for a
 * BIT STRING, the content for the rest.
 */
function stringData(value: Tlv): Uint8Array {
  if (value.cls === 0 && (value.tag === TAG.SEQUENCE || value.tag === 17)) return value.encoding;
  if (value.cls === 0 && value.tag === TAG.BIT_STRING) return value.content.subarray(1);
  return value.content;
}

/** do_print_ex: a value printed in `mode`; undefined where OpenSSL fails and writes nothing of it. */
export function printString(value: Tlv, mode: PrintMode): string | undefined {
  const universal = value.cls === 0 && value.tag > 0 && value.tag < 31;
  let width = universal ? charWidth(value.tag) : -1;
  // ASN1_STRFLGS_DUMP_UNKNOWN is in the RFC 2253 flags only; elsewhere an unknown type prints byte by byte.
  if (width === -1) {
    if (mode === 'rfc2253') return dump(value);
    width = 1;
  }
  const flags = mode === 'rfc2253' ? ESC_2253 | ESC_CTRL : ESC_CTRL;
  // UTF8_CONVERT on a UTF8String reads it byte by byte: it is UTF-8 already, and is not checked.
  const convert = mode !== 'raw' && width !== 0;
  return characters(stringData(value), mode !== 'raw' && width === 0 ? 1 : width, convert, flags);
}

/** do_dump with ASN1_STRFLGS_DUMP_DER: `#` and the value's encoding in upper-case hex. */
function dump(value: Tlv): string {
  return '#' + Buffer.from(value.encoding).toString('hex').toUpperCase();
}

/** do_buf: each character of `data`, converted to UTF-8 if asked, escaped as `flags` say. */
function characters(data: Uint8Array, width: number, convert: boolean, flags: number): string | undefined {
  if ((width === 4 && data.length % 4 !== 0) || (width === 2 && data.length % 2 !== 0)) return undefined;
  let out = '';
  let p = 0;
  while (p < data.length) {
    let position = p === 0 && flags & ESC_2253 ? FIRST_ESC_2253 : 0;
    let c: number;
    if (width === 4) c = data[p]! * 0x1000000 + (data[p + 1]! << 16) + (data[p + 2]! << 8) + data[p + 3]!;
    else if (width === 2) c = (data[p]! << 8) | data[p + 1]!;
    else if (width === 1) c = data[p]!;
    else {
      const read = utf8Char(data, p);
      if (read === undefined) return undefined;
      c = read.c;
      p += read.length - 1;
    }
    p += width === 0 ? 1 : width;
    if (p === data.length && flags & ESC_2253) position = LAST_ESC_2253;
    if (convert) for (const byte of utf8Bytes(c)) out += escapeChar(byte, flags | position);
    else out += escapeChar(c, flags | position);
  }
  return out;
}

/** UTF8_getc: one character and its length; undefined where OpenSSL refuses the bytes. */
function utf8Char(data: Uint8Array, p: number): { c: number; length: number } | undefined {
  const b = data[p]!;
  const left = data.length - p;
  const cont = (k: number): boolean => (data[p + k]! & 0xc0) === 0x80;
  if ((b & 0x80) === 0) return { c: b, length: 1 };
  if ((b & 0xe0) === 0xc0) {
    if (left < 2 || !cont(1)) return undefined;
    const c = ((b & 0x1f) << 6) | (data[p + 1]! & 0x3f);
    return c < 0x80 ? undefined : { c, length: 2 };
  }
  if ((b & 0xf0) === 0xe0) {
    if (left < 3 || !cont(1) || !cont(2)) return undefined;
    const c = ((b & 0x0f) << 12) | ((data[p + 1]! & 0x3f) << 6) | (data[p + 2]! & 0x3f);
    return c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? undefined : { c, length: 3 };
  }
  if ((b & 0xf8) === 0xf0) {
    if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return undefined;
    const c = ((b & 0x07) << 18) | ((data[p + 1]! & 0x3f) << 12) | ((data[p + 2]! & 0x3f) << 6) | (data[p + 3]! & 0x3f);
    return c < 0x10000 ? undefined : { c, length: 4 };
  }
  return undefined;
}

/** UTF8_putc: nothing for a surrogate or a value past U+10FFFF, which OpenSSL then skips without a word. */
function utf8Bytes(c: number): number[] {
  if (c < 0x80) return [c];
  if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 0x3f)];
  if (c < 0x10000) return c >= 0xd800 && c <= 0xdfff ? [] : [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
  if (c < 0x110000) return [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
  return [];
}

const hex = (n: number, digits: number): string => n.toString(16).toUpperCase().padStart(digits, '0');

/** do_esc_char. */
function escapeChar(c: number, flags: number): string {
  if (c > 0xffff) return '\\W' + hex(c, 8);
  if (c > 0xff) return '\\U' + hex(c, 4);
  const found = c > 0x7f ? flags & ESC_MSB : CLASSES[c]! & flags;
  const ch = String.fromCharCode(c);
  if (found & BACKSLASH_ESCAPED) return '\\' + ch;
  if (found & (ESC_CTRL | ESC_MSB | ESC_2254)) return '\\' + hex(c, 2);
  if (c === 0x5c && flags & ESC_FLAGS) return '\\\\';
  return ch;
}

/**
 * X509_NAME_print_ex(XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB), mod_ssl's SSL_CLIENT_S_DN: the RDNs last first, `,`
 * between them and `+` within one, short names (the dotted identifier for a type OpenSSL does not know, its value
 * dumped in hex), RFC 2253 escapes, UTF-8 left as bytes. A value OpenSSL cannot print ends the output there.
 */
export function rfc2253(entries: readonly NameEntry[]): string {
  let out = '';
  let previous: number | undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (previous !== undefined) out += previous === entry.rdn ? '+' : ',';
    previous = entry.rdn;
    const name = entry.oid === undefined ? undefined : shortName(entry.oid);
    out += (name ?? entry.oid ?? '') + '=';
    const value = name === undefined ? dump(entry.value) : printString(entry.value, 'rfc2253');
    if (value === undefined) return out;
    out += value;
  }
  return out;
}
