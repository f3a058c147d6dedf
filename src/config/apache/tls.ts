// The argument syntaxes of the Apache directives that shape Stickler's TLS ports: mod_ssl's SSLProtocol and
// SSLCipherSuite, and the one mod_headers form Stickler reads, `Header always set Strict-Transport-Security`.
// What the values may select is decided by src/config/tls-profile.ts; this file only reads Apache's words.
import type { Hsts, TlsVersion } from '../model.ts';
import { TLS_VERSIONS } from '../tls-profile.ts';

/** mod_ssl's protocol names, matched without regard to case as ssl_cmd_protocol_parse does. */
const PROTOCOL_NAMES = new Map(['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'].map((n) => [n.toLowerCase(), n]));
/** `all` in httpd 2.4 built against OpenSSL 1.1.1 or later, which has no SSLv3. */
const ALL = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

export interface Protocols {
  /** What Stickler offers of the result. */
  offered: TlsVersion[];
  /** What the directive enables that Stickler never offers. */
  never: string[];
}

/** `SSLProtocol [+|-]protocol ...`: a word without a sign replaces the set so far, `+` adds, `-` removes. */
export function parseSslProtocol(args: readonly string[]): Protocols | string {
  let set = new Set<string>();
  for (const word of args) {
    const sign = word.startsWith('+') || word.startsWith('-') ? word.charAt(0) : '';
    const name = word.slice(sign.length).toLowerCase();
    const named = name === 'all' ? ALL : PROTOCOL_NAMES.has(name) ? [PROTOCOL_NAMES.get(name)!] : undefined;
    if (named === undefined) return `unknown protocol "${word}"; expected all, TLSv1.2 or TLSv1.3, each with an optional + or - before it`;
    if (sign === '') set = new Set(named);
    for (const n of named) {
      if (sign === '+') set.add(n);
      else if (sign === '-') set.delete(n);
    }
  }
  return {
    offered: TLS_VERSIONS.filter((v) => set.has(v)),
    never: [...set].filter((n) => !(TLS_VERSIONS as readonly string[]).includes(n)),
  };
}

export interface CipherSuite {
  /** `SSL` (TLS 1.2 and below) or `TLSv1.3`, the optional first argument, case-sensitive as in mod_ssl. */
  protocol: 'SSL' | 'TLSv1.3';
  spec: string;
}

/** `SSLCipherSuite [protocol] cipher-spec`. */
export function parseCipherSuite(args: readonly string[]): CipherSuite | string {
  const [first = '', second] = args;
  if (second === undefined) return { protocol: 'SSL', spec: first };
  if (first === 'SSL' || first === 'TLSv1.3') return { protocol: first, spec: second };
  return `protocol "${first}" is not SSL or TLSv1.3; expected SSLCipherSuite [SSL|TLSv1.3] cipher-spec`;
}

const HSTS_HEADER = 'strict-transport-security';
const HSTS_EXPECTED = 'expected max-age=SECONDS, optionally with includeSubDomains and preload, separated by ";"';

/** The value of `Header [always] set Strict-Transport-Security value`; undefined for any other Header line. */
export function hstsHeaderValue(args: readonly string[]): string | undefined {
  const words = args[0]?.toLowerCase() === 'always' ? args.slice(1) : args;
  if (words.length === 3 && words[0]!.toLowerCase() === 'set' && words[1]!.toLowerCase() === HSTS_HEADER) return words[2]!;
  return undefined;
}

/** An RFC 6797 §6.1 header value: `max-age=63072000; includeSubDomains; preload`, names in any case, each once. */
export function parseHstsValue(value: string): Omit<Hsts, 'source'> | string {
  const seen = new Map<string, string | undefined>();
  for (const part of value.split(';')) {
    const directive = part.trim();
    if (directive === '') continue;
    const eq = directive.indexOf('=');
    const name = (eq < 0 ? directive : directive.slice(0, eq)).trim().toLowerCase();
    const arg = eq < 0 ? undefined : directive.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (!['max-age', 'includesubdomains', 'preload'].includes(name)) return `unknown directive "${directive}"; ${HSTS_EXPECTED}`;
    if (seen.has(name)) return `"${name}" appears twice; ${HSTS_EXPECTED}`;
    if ((name === 'max-age') !== (arg !== undefined)) return `"${directive}" is malformed; ${HSTS_EXPECTED}`;
    seen.set(name, arg);
  }
  const maxAge = seen.get('max-age');
  if (maxAge === undefined || !/^\d{1,10}$/.test(maxAge)) return `no max-age in seconds in "${value}"; ${HSTS_EXPECTED}`;
  return { maxAge: Number(maxAge), includeSubDomains: seen.has('includesubdomains'), preload: seen.has('preload') };
}
