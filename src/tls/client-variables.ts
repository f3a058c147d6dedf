// mod_ssl's SSL_CLIENT_* variables (modules/ssl/ssl_engine_vars.c, httpd 2.4), computed from the client's
// certificate as httpd computes them, format for format: what `RequestHeader ... %{VAR}s`, the access log's `%{VAR}x`
// and, under `SSLOptions +StdEnvVars` / `+ExportCertData`, the request's environment hold. Values are byte strings
// (one character per byte), as OpenSSL writes them and as head fields are held here; an empty value is none, as
// mod_ssl's callers treat it.
import type { X509Certificate } from 'node:crypto';
import { childrenOf, integerValue, isContext, isUniversal, oidText, readOne, TAG, type Tlv } from './der.ts';
import { nameEntries, printString, rfc2253, type NameEntry, type PrintMode } from './asn1-print.ts';
import { longName } from './object-names.ts';
import type { ClientCertificateFacts } from './client-verify.ts';

/** What mod_ssl reads of a certificate, taken from its DER once. */
interface Parsed {
  version: bigint;
  serial: Tlv;
  signatureOid: string | undefined;
  issuer: NameEntry[];
  subject: NameEntry[];
  notBefore: Tlv;
  notAfter: Tlv;
  keyOid: string | undefined;
  /** The subjectAltName entries; empty when there is none or it cannot be read (OpenSSL then finds none). */
  altNames: Tlv[];
}

/**
 * What is known of a certificate, kept as long as its X509Certificate: the connection's, so each certificate is
 * parsed, and each variable of it printed, once per connection however many requests, rules and log items ask.
 */
interface Known {
  parsed: Parsed | null | undefined;
  pem: string | undefined;
  values: Map<string, string | undefined>;
}
const known = new WeakMap<X509Certificate, Known>();

function knownOf(cert: X509Certificate): Known {
  let k = known.get(cert);
  if (k === undefined) known.set(cert, (k = { parsed: undefined, pem: undefined, values: new Map() }));
  return k;
}

function parsed(cert: X509Certificate): Parsed | undefined {
  const k = knownOf(cert);
  if (k.parsed === undefined) k.parsed = parseCertificate(new Uint8Array(cert.raw)) ?? null;
  return k.parsed ?? undefined;
}

function pemOf(cert: X509Certificate): string {
  const k = knownOf(cert);
  return (k.pem ??= pem(new Uint8Array(cert.raw)));
}

const SUBJECT_ALT_NAME = '2.5.29.17';

/** A Certificate's TBSCertificate fields (RFC 5280 4.1); undefined for anything that is not one. */
export function parseCertificate(der: Uint8Array): Parsed | undefined {
  const tbs = childrenOf(childrenOf(readOne(der))?.[0]);
  if (tbs === undefined) return undefined;
  let i = 0;
  let version = 0n;
  if (isContext(tbs[0], 0)) {
    const v = childrenOf(tbs[0]);
    const value = isUniversal(v?.[0], TAG.INTEGER) ? integerValue(v[0].content) : undefined;
    if (value === undefined) return undefined;
    version = value;
    i = 1;
  }
  const [serial, signature, issuer, validity, subject, spki] = tbs.slice(i, i + 6);
  const times = childrenOf(validity);
  const issuerEntries = nameEntries(issuer);
  const subjectEntries = nameEntries(subject);
  if (!isUniversal(serial, TAG.INTEGER) || times?.length !== 2 || issuerEntries === undefined || subjectEntries === undefined) return undefined;
  const extensions = tbs.slice(i + 6).find((t) => isContext(t, 3));
  return {
    version,
    serial,
    signatureOid: algorithmOid(signature),
    issuer: issuerEntries,
    subject: subjectEntries,
    notBefore: times[0]!,
    notAfter: times[1]!,
    keyOid: algorithmOid(childrenOf(spki)?.[0]),
    altNames: altNames(childrenOf(childrenOf(extensions)?.[0])),
  };
}

function algorithmOid(algorithm: Tlv | undefined): string | undefined {
  const oid = childrenOf(algorithm)?.[0];
  return isUniversal(oid, TAG.OID) ? oidText(oid.content) : undefined;
}

/** X509_get_ext_d2i: two subjectAltName extensions, or one that does not decode, give none. */
function altNames(extensions: Tlv[] | undefined): Tlv[] {
  const found = (extensions ?? []).flatMap((ext) => {
    const parts = childrenOf(ext);
    return parts && isUniversal(parts[0], TAG.OID) && oidText(parts[0].content) === SUBJECT_ALT_NAME ? [parts.at(-1)] : [];
  });
  if (found.length !== 1 || !isUniversal(found[0], TAG.OCTET_STRING)) return [];
  const names = readOne(found[0].content);
  return (isUniversal(names, TAG.SEQUENCE) ? childrenOf(names) : undefined) ?? [];
}

/** mod_ssl's ssl_var_lookup_ssl_cert_dn_rec: the component names and whether StdEnvVars exports them. */
const DN_COMPONENTS: ReadonlyArray<{ name: string; oid: string; exported: boolean }> = [
  { name: 'C', oid: '2.5.4.6', exported: true },
  { name: 'ST', oid: '2.5.4.8', exported: true },
  { name: 'SP', oid: '2.5.4.8', exported: false },
  { name: 'L', oid: '2.5.4.7', exported: true },
  { name: 'O', oid: '2.5.4.10', exported: true },
  { name: 'OU', oid: '2.5.4.11', exported: true },
  { name: 'CN', oid: '2.5.4.3', exported: true },
  { name: 'T', oid: '2.5.4.12', exported: true },
  { name: 'I', oid: '2.5.4.43', exported: true },
  { name: 'G', oid: '2.5.4.42', exported: true },
  { name: 'S', oid: '2.5.4.4', exported: true },
  { name: 'D', oid: '2.5.4.13', exported: true },
  { name: 'UID', oid: '0.9.2342.19200300.100.1.1', exported: true },
  { name: 'Email', oid: '1.2.840.113549.1.9.1', exported: true },
];

/** The subjectAltName kinds mod_ssl names: rfc822Name [1], dNSName [2], and two otherName forms [0]. */
const SAN_KINDS = {
  Email: { tag: 1 },
  DNS: { tag: 2 },
  msUPN: { tag: 0, otherName: '1.3.6.1.4.1.311.20.2.3', valueTag: TAG.UTF8_STRING },
  dnsSRV: { tag: 0, otherName: '1.3.6.1.5.5.7.8.7', valueTag: TAG.IA5_STRING },
} as const;
type SanKind = keyof typeof SAN_KINDS;

/**
 * modssl_X509_getSAN: the entries of a kind, as UTF-8 text, numbered as mod_ssl numbers them: an otherName of the
 * right form whose value is not the expected string type keeps its number and has no text.
 */
function sanEntries(p: Parsed, kind: SanKind): Array<string | undefined> {
  const want = SAN_KINDS[kind];
  const out: Array<string | undefined> = [];
  for (const name of p.altNames) {
    if (!isContext(name, want.tag)) continue;
    if (!('otherName' in want)) {
      // rfc822Name and dNSName are IMPLICIT IA5String.
      out.push(printString({ ...name, cls: 0, tag: TAG.IA5_STRING }, 'utf8'));
      continue;
    }
    const parts = childrenOf(name);
    if (!parts || !isUniversal(parts[0], TAG.OID) || oidText(parts[0].content) !== want.otherName) continue;
    const value = isContext(parts[1], 0) ? childrenOf(parts[1])?.[0] : undefined;
    out.push(isUniversal(value, want.valueTag) ? printString(value, 'utf8') : undefined);
  }
  return out;
}

/** i2a_ASN1_INTEGER: `-` for a negative serial, then its magnitude in upper-case hex, two digits a byte. */
function serialHex(serial: Tlv): string | undefined {
  const value = integerValue(serial.content);
  if (value === undefined) return undefined;
  const magnitude = value < 0n ? -value : value;
  let digits = magnitude.toString(16).toUpperCase();
  if (digits.length % 2) digits = '0' + digits;
  // OpenSSL breaks a long number after every 35 bytes with a backslash and a newline.
  const lines = digits.match(/.{1,70}/g)!;
  return (value < 0n ? '-' : '') + lines.join('\\\n');
}

/** PEM_write_bio_X509: 64 base64 characters a line, each line ended by a newline. */
export function pem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.map((l) => `${l}\n`).join('')}-----END CERTIFICATE-----\n`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A certificate time's fields, for the Z-terminated forms RFC 5280 allows (with a GeneralizedTime's fraction). */
function timeFields(t: Tlv): { year: number; month: number; day: number; hour: number; minute: number; second: number; fraction: string } | undefined {
  const text = Buffer.from(t.content).toString('latin1');
  const m = isUniversal(t, TAG.UTC_TIME)
    ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text)
    : isUniversal(t, TAG.GENERALIZED_TIME)
      ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d+)?Z$/.exec(text)
      : null;
  if (!m) return undefined;
  const short = m[1]!.length === 2 ? Number(m[1]) : undefined;
  const fields = {
    // RFC 5280: a two-digit year from 50 is 19xx.
    year: short === undefined ? Number(m[1]) : short < 50 ? 2000 + short : 1900 + short,
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
    fraction: m[7] ?? '',
  };
  const days = new Date(Date.UTC(fields.year, fields.month, 0)).getUTCDate();
  const valid = fields.month >= 1 && fields.month <= 12 && fields.day >= 1 && fields.day <= days && fields.hour < 24 && fields.minute < 60 && fields.second < 60;
  return valid ? fields : undefined;
}

/** ASN1_TIME_print: `Mar  7 09:05:00 2031 GMT`; what OpenSSL cannot read prints as it prints it. */
function printTime(t: Tlv): string {
  const f = timeFields(t);
  if (f === undefined) return 'Bad time value';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[f.month - 1]} ${String(f.day).padStart(2, ' ')} ${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}${f.fraction} ${f.year} GMT`;
}

/**
 * ssl_var_lookup_ssl_cert_remain as Debian's httpd 2.4.71 builds it, on ASN1_TIME_diff: whole days from now to the
 * end of validity, 0 once past or for a time OpenSSL cannot read. (httpd's older code, on apr_time_exp_gmt_get,
 * counted a day more.)
 */
function remainingDays(t: Tlv, now: number): string {
  const f = timeFields(t);
  if (f === undefined) return '0';
  const end = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) / 1000;
  const days = Math.trunc((end - Math.floor(now / 1000)) / 86_400);
  return days > 0 ? String(days) : '0';
}

/** X509_get_version + 1, printed as the unsigned long it is in C (ASN1_INTEGER_get gives -1 past a long). */
function versionText(version: bigint): string {
  const long = version >= -(1n << 63n) && version < 1n << 63n ? version : -1n;
  return BigInt.asUintN(64, long + 1n).toString();
}

/** ssl_var_lookup_ssl_cert_dn: `CN`, `CN_1`, `CN_RAW`, `Email_2_RAW`...; names are matched with their case. */
function dnComponent(entries: readonly NameEntry[], spec: string): string | undefined {
  let name = spec;
  let mode: PrintMode = 'utf8';
  const last = name.lastIndexOf('_');
  if (last > 0 && name.slice(last + 1) === 'RAW') {
    name = name.slice(0, last);
    mode = 'raw';
  }
  let index = 0;
  const underscore = name.indexOf('_');
  if (underscore >= 0 && /^\d*$/.test(name.slice(underscore + 1))) {
    // atoi: digits, and 0 for none.
    index = Number(name.slice(underscore + 1) || '0');
    name = name.slice(0, underscore);
  }
  const component = DN_COMPONENTS.find((c) => c.name === name);
  if (component === undefined) return undefined;
  const entry = entries.filter((e) => e.oid === component.oid)[index];
  return entry === undefined ? undefined : printString(entry.value, mode);
}

/** ssl_var_lookup_ssl_cert_san: `Email_0`, `DNS_1`, `OTHER_msUPN_0`, `OTHER_dnsSRV_0`; one to four digits. */
function sanVariable(p: Parsed, spec: string): string | undefined {
  const m = /^(email_|dns_|other_(msUPN_|dnsSRV_))(\d{1,4})$/i.exec(spec);
  if (!m) return undefined;
  const prefix = m[1]!.toLowerCase();
  // The kind is matched without case, the otherName form with it.
  if (prefix.startsWith('other_') && !/^(msUPN_|dnsSRV_)$/.test(m[2]!)) return undefined;
  const kind: SanKind = prefix === 'email_' ? 'Email' : prefix === 'dns_' ? 'DNS' : m[2] === 'msUPN_' ? 'msUPN' : 'dnsSRV';
  return sanEntries(p, kind)[Number(m[3])];
}

/** ssl_var_lookup_ssl_cert: one variable of a certificate, by the name after `SSL_CLIENT_`; all but V_REMAIN kept. */
function certificateVariable(cert: X509Certificate, spec: string, now: number): string | undefined {
  const upper = spec.toUpperCase();
  if (upper === 'V_REMAIN') {
    const p = parsed(cert);
    return p && remainingDays(p.notAfter, now);
  }
  const { values } = knownOf(cert);
  if (values.has(spec)) return values.get(spec);
  const value = printedVariable(cert, spec, upper);
  values.set(spec, value);
  return value;
}

function printedVariable(cert: X509Certificate, spec: string, upper: string): string | undefined {
  const p = parsed(cert);
  if (p === undefined) return undefined;
  switch (upper) {
    case 'M_VERSION':
      return versionText(p.version);
    case 'M_SERIAL':
      return serialHex(p.serial);
    case 'V_START':
      return printTime(p.notBefore);
    case 'V_END':
      return printTime(p.notAfter);
    case 'A_SIG':
      return (p.signatureOid && longName(p.signatureOid)) ?? 'UNKNOWN';
    case 'A_KEY':
      return (p.keyOid && longName(p.keyOid)) ?? 'UNKNOWN';
    case 'CERT':
      return pemOf(cert);
    case 'CERT_RFC4523_CEA':
      return certificateExactAssertion(p);
  }
  // `S_DN`, `I_DN` match `_DN` without case but the S or I with it.
  const side = spec[0] === 'S' ? p.subject : spec[0] === 'I' ? p.issuer : undefined;
  if (upper.slice(1) === '_DN') return side && rfc2253(side);
  if (upper.length > 5 && upper.slice(1, 5) === '_DN_') return side && dnComponent(side, spec.slice(5));
  if (upper.length > 4 && upper.startsWith('SAN_')) return sanVariable(p, spec.slice(4));
  return undefined;
}

/** SSL_CLIENT_CERT_RFC4523_CEA: the serial in decimal and the issuer as modssl_X509_NAME_to_string writes it. */
function certificateExactAssertion(p: Parsed): string | undefined {
  const serial = integerValue(p.serial.content);
  if (serial === undefined) return undefined;
  return `{ serialNumber ${serial}, issuer rdnSequence:"${rfc2253(p.issuer)}" }`;
}

/**
 * A client variable on a TLS connection (`SSL_CLIENT_VERIFY`, `SSL_CLIENT_S_DN_CN`...; `SSL_` and `CLIENT_` in any
 * case, as mod_ssl matches them). `facts` undefined is a connection that asked for no certificate. Undefined is
 * none: not a client variable, no certificate, or an empty value.
 */
export function clientVariable(facts: ClientCertificateFacts | undefined, name: string, now = Date.now()): string | undefined {
  if (name.length <= 11 || name.slice(0, 11).toUpperCase() !== 'SSL_CLIENT_') return undefined;
  const spec = name.slice(11);
  const upper = spec.toUpperCase();
  let value: string | undefined;
  if (upper.length > 11 && upper.startsWith('CERT_CHAIN_')) {
    const digits = spec.slice(11);
    const cert = /^\d+$/.test(digits) ? facts?.chain[Number(digits)] : undefined;
    value = cert && pemOf(cert);
  } else if (upper === 'VERIFY') value = facts?.verify ?? 'NONE';
  else value = facts?.certificate && certificateVariable(facts.certificate, spec, now);
  return value || undefined;
}

/** The `SSL_CLIENT_*` names `SSLOptions +StdEnvVars` sets when they have a value (ssl_hook_Fixup_vars). */
const STD_ENV_VARS = ['VERIFY', 'M_VERSION', 'M_SERIAL', 'V_START', 'V_END', 'V_REMAIN', 'S_DN', 'I_DN', 'A_KEY', 'A_SIG', 'CERT_RFC4523_CEA'];

/** Which SSLOptions put the client's variables in the request's environment. */
export interface EnvironmentOptions {
  stdEnvVars: boolean;
  exportCertData: boolean;
}

/**
 * The SSL_CLIENT_* variables ssl_hook_Fixup puts in a request's environment, by upper-case name (httpd's table
 * matches names without case). +StdEnvVars: the fixed list, every exported DN component (`_1`, `_2`... for a
 * repeated one) and every SAN entry (`_0`, `_1`...); +ExportCertData: SSL_CLIENT_CERT, even empty, and each
 * SSL_CLIENT_CERT_CHAIN_n.
 */
export function clientEnvironment(facts: ClientCertificateFacts | undefined, options: EnvironmentOptions, now = Date.now()): ReadonlyMap<string, string> {
  if (facts === undefined) return environmentOf(facts, options, now);
  // The connection's facts and the virtual host's options give the same environment to every request but for
  // V_REMAIN, which counts days from now.
  let byOptions = environments.get(facts);
  if (byOptions === undefined) environments.set(facts, (byOptions = new WeakMap()));
  let env = byOptions.get(options);
  if (env === undefined) byOptions.set(options, (env = environmentOf(facts, options, now)));
  else if (options.stdEnvVars) {
    const remain = clientVariable(facts, 'SSL_CLIENT_V_REMAIN', now);
    if (remain === undefined) env.delete('SSL_CLIENT_V_REMAIN');
    else env.set('SSL_CLIENT_V_REMAIN', remain);
  }
  return env;
}
const environments = new WeakMap<ClientCertificateFacts, WeakMap<EnvironmentOptions, Map<string, string>>>();

function environmentOf(facts: ClientCertificateFacts | undefined, options: EnvironmentOptions, now: number): Map<string, string> {
  const env = new Map<string, string>();
  const p = facts?.certificate && parsed(facts.certificate);
  if (options.stdEnvVars) {
    if (p) {
      for (const [side, entries] of [['S', p.subject], ['I', p.issuer]] as const) extractComponents(env, `SSL_CLIENT_${side}_DN_`, entries);
      for (const kind of ['Email', 'DNS', 'msUPN'] as const) {
        const label = kind === 'msUPN' ? 'OTHER_msUPN' : kind;
        const values = sanEntries(p, kind).filter((v) => v !== undefined);
        values.forEach((value, i) => env.set(`SSL_CLIENT_SAN_${label}_${i}`.toUpperCase(), value));
      }
    }
    for (const name of STD_ENV_VARS) {
      const value = clientVariable(facts, `SSL_CLIENT_${name}`, now);
      if (value !== undefined) env.set(`SSL_CLIENT_${name}`, value);
    }
  }
  if (options.exportCertData) {
    env.set('SSL_CLIENT_CERT', clientVariable(facts, 'SSL_CLIENT_CERT', now) ?? '');
    facts?.chain.forEach((_, i) => env.set(`SSL_CLIENT_CERT_CHAIN_${i}`, clientVariable(facts, `SSL_CLIENT_CERT_CHAIN_${i}`, now) ?? ''));
  }
  return env;
}

/** extract_dn: each exported component under its name, a repeated one with `_1`, `_2`... after the first. */
function extractComponents(env: Map<string, string>, prefix: string, entries: readonly NameEntry[]): void {
  const seen = new Map<string, number>();
  for (const entry of entries) {
    const component = DN_COMPONENTS.find((c) => c.exported && c.oid === entry.oid);
    if (component === undefined) continue;
    const count = seen.get(component.oid);
    seen.set(component.oid, (count ?? 0) + 1);
    const key = `${prefix}${component.name}${count === undefined ? '' : `_${count}`}`.toUpperCase();
    env.set(key, printString(entry.value, 'utf8') ?? '');
  }
}
