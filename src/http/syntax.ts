// Character classes of RFC 9110/9112 as 256-entry lookup tables: one array index per byte is the cheapest
// check JavaScript offers, and the parser runs it on every byte of every head.

function table(accept: (byte: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = accept(b) ? 1 : 0;
  return t;
}

function isAlnum(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

export const SP = 0x20;
export const HTAB = 0x09;
export const CR = 0x0d;
export const LF = 0x0a;
export const COLON = 0x3a;

/** tchar (RFC 9110 §5.6.2). */
export const TOKEN = table((b) => isAlnum(b) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(b)));

/** field-vchar / obs-text / SP / HTAB (RFC 9110 §5.5): everything but CTLs (HTAB excepted) and DEL. */
export const FIELD_VALUE = table((b) => b === HTAB || (b >= 0x20 && b !== 0x7f));

/** Request-target bytes: visible ASCII; `#` is refused because a fragment is never sent and splits routing. */
export const TARGET = table((b) => b > 0x20 && b < 0x7f && b !== 0x23);

/** Host name bytes: unreserved only. Sub-delims and pct-encoding are legal in a reg-name but never in a real
 *  host name, and commas or quotes there would confuse list-valued fields such as X-Forwarded-Host. */
const HOST_NAME = table((b) => isAlnum(b) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e);

const IPV6 = table((b) => (b >= 0x30 && b <= 0x3a) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66) || b === 0x2e);

const DIGIT = table((b) => b >= 0x30 && b <= 0x39);

export const HEXDIG = table((b) => (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));

function allIn(s: string, start: number, end: number, t: Uint8Array): boolean {
  for (let i = start; i < end; i++) if (t[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** TOKEN as a regex: for the same reason as NOT_FIELD_VALUE, every header name sent is checked against it. */
const TOKEN_STRING = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isToken(s: string): boolean {
  return TOKEN_STRING.test(s);
}

/** RFC 6265 §4.1.1 cookie-octets: printable ASCII but for space, `"`, `,`, `;` and `\`; empty is allowed. */
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

export function isCookieValue(s: string): boolean {
  return COOKIE_VALUE.test(s);
}

export function isDigits(s: string): boolean {
  return s.length > 0 && allIn(s, 0, s.length, DIGIT);
}

/**
 * A character outside FIELD_VALUE, or beyond latin1. The serializer checks every value it sends, some of them
 * hundreds of bytes long (Cookie, User-Agent), and V8's compiled character class scans about twice as fast as a
 * charCodeAt loop over the table.
 */
const NOT_FIELD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

export function isFieldValue(s: string): boolean {
  return !NOT_FIELD_VALUE.test(s);
}

/** `s` with every character a field value cannot hold (CR, LF, other controls, DEL, beyond latin1) made a space. */
export function asFieldValue(s: string): string {
  return NOT_FIELD_VALUE.test(s) ? s.replace(/[^\t\x20-\x7e\x80-\xff]/g, ' ') : s;
}

/** `host [ ":" port ]` as in a Host field or an absolute-form authority; port 0..65535, present when `:` is. */
export function isValidHostPort(s: string): boolean {
  let hostEnd: number;
  if (s.charCodeAt(0) === 0x5b) {
    hostEnd = s.indexOf(']') + 1;
    if (hostEnd < 3 || !allIn(s, 1, hostEnd - 1, IPV6)) return false;
  } else {
    const colon = s.indexOf(':');
    hostEnd = colon === -1 ? s.length : colon;
    if (hostEnd === 0 || !allIn(s, 0, hostEnd, HOST_NAME)) return false;
  }
  if (hostEnd === s.length) return true;
  if (s.charCodeAt(hostEnd) !== COLON) return false;
  const port = s.slice(hostEnd + 1);
  return port.length <= 5 && isDigits(port) && Number(port) <= 65535;
}

/**
 * Splits a list-valued field (`a, b ,c`) into its elements, trimmed (RFC 9110 §5.6.1). Empty elements are
 * kept so callers that must refuse them (Transfer-Encoding) can; the others skip them.
 */
export function splitList(value: string): string[] {
  const elements = value.split(',');
  for (let i = 0; i < elements.length; i++) elements[i] = trimOws(elements[i]!);
  return elements;
}

/** Without the SP and HTAB at either end; a loop, since a regex replace costs more than the usual no-op. */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isOwsCode(s.charCodeAt(start))) start++;
  while (end > start && isOwsCode(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

function isOwsCode(c: number): boolean {
  return c === SP || c === HTAB;
}

/** Lower-cased tokens of a `Connection`-style list; `undefined` if an element is not a token. */
export function tokenList(value: string): string[] | undefined {
  const out: string[] = [];
  for (const element of splitList(value)) {
    if (element === '') continue;
    if (!isToken(element)) return undefined;
    out.push(element.toLowerCase());
  }
  return out;
}
