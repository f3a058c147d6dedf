// What Stickler's TLS ports offer, after Mozilla's server-side TLS guidelines 6.0
// (ssl-config.mozilla.org/guidelines/6.0.json): TLS 1.2 and 1.3 only, forward-secret AEAD ciphers, the client's
// cipher order, no renegotiation. A configuration may narrow a profile (fewer versions, fewer ciphers, the server's
// order) but never widen it, so an inherited `SSLCipherSuite HIGH` cannot bring back CBC or static-RSA ciphers.
// Also the two extras a TLS virtual host can carry: a stapled OCSP response and Strict-Transport-Security.
import { constants } from 'node:crypto';
import tls from 'node:tls';
import type { Hsts, ListenerConfig, TlsFiles, TlsPolicy, TlsProfileName, TlsVersion, VirtualHostConfig } from './model.ts';
import { equalsLowerCase } from '../http/field-name.ts';
import type { HeaderList } from '../http/head.ts';

interface Profile {
  versions: readonly TlsVersion[];
  /** TLS 1.2 ciphers (OpenSSL names) in Mozilla's order. */
  ciphers: readonly string[];
  /** TLS 1.3 suites in Mozilla's order. */
  suites: readonly string[];
  /** Key-exchange groups, preferred first; X25519MLKEM768 is the post-quantum hybrid (OpenSSL 3.5, Node 24+). */
  curves: readonly string[];
}

const SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const CURVES = ['X25519MLKEM768', 'X25519', 'prime256v1', 'secp384r1'];

const PROFILES: Readonly<Record<TlsProfileName, Profile>> = {
  intermediate: {
    versions: ['TLSv1.2', 'TLSv1.3'],
    ciphers: [
      'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
      'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
    ],
    suites: SUITES,
    curves: CURVES,
  },
  modern: { versions: ['TLSv1.3'], ciphers: [], suites: SUITES, curves: CURVES },
};

export const TLS_VERSIONS: readonly TlsVersion[] = ['TLSv1.2', 'TLSv1.3'];

/** The handshake part of a secure context's options. */
export type HandshakeOptions = Required<Pick<tls.SecureContextOptions,
  'minVersion' | 'maxVersion' | 'ciphers' | 'ecdhCurve' | 'honorCipherOrder' | 'secureOptions'>>;

/**
 * Node options for `policy` (undefined: the intermediate profile as it is). TLS 1.3 has no renegotiation; for
 * TLS 1.2 Node would allow a client three renegotiations per ten minutes (tls.CLIENT_RENEG_LIMIT), and
 * SSL_OP_NO_RENEGOTIATION makes OpenSSL refuse every one instead. Assumes a policy the checks below accepted.
 */
export function handshakeOptions(policy: TlsPolicy | undefined): HandshakeOptions {
  const profile = PROFILES[policy?.profile ?? 'intermediate'];
  const versions = profile.versions.filter((v) => policy?.protocols?.includes(v) ?? true);
  const tls12 = versions.includes('TLSv1.2') ? [tls12Ciphers(profile, policy?.ciphers)] : [];
  const tls13 = versions.includes('TLSv1.3') ? tls13Suites(profile, policy?.cipherSuites) : [];
  return {
    minVersion: versions[0]!,
    maxVersion: versions.at(-1)!,
    ciphers: [...tls13, ...tls12].join(':'),
    ecdhCurve: profile.curves.join(':'),
    honorCipherOrder: policy?.honorCipherOrder ?? false,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}

export type PolicyRequest = Pick<TlsPolicy, 'source'> & Partial<Omit<TlsPolicy, 'source'>>;

/**
 * The policy a configuration asks for, in one shape whichever front end read it: undefined when that is the
 * intermediate profile as it is, and `protocols` only when it leaves out some of the profile's versions.
 */
export function tlsPolicy(request: PolicyRequest): TlsPolicy | undefined {
  const { source, profile = 'intermediate', protocols, ciphers, cipherSuites, honorCipherOrder = false } = request;
  const offered = PROFILES[profile].versions;
  const kept = protocols && offered.filter((v) => protocols.includes(v));
  const narrowed = kept !== undefined && kept.length < offered.length;
  if (profile === 'intermediate' && !narrowed && ciphers === undefined && cipherSuites === undefined && !honorCipherOrder) return undefined;
  return {
    source,
    profile,
    ...(narrowed && { protocols: kept }),
    ...(ciphers !== undefined && { ciphers }),
    ...(cipherSuites !== undefined && { cipherSuites }),
    honorCipherOrder,
  };
}

export interface Finding {
  severity: 'error' | 'warning';
  message: string;
}

/** Versions outside the profile can never be offered; none left is an error. */
export function checkProtocols(profileName: TlsProfileName, protocols: readonly TlsVersion[]): Finding | undefined {
  const profile = PROFILES[profileName];
  if (protocols.some((v) => profile.versions.includes(v))) {
    const outside = protocols.filter((v) => !profile.versions.includes(v));
    return outside.length === 0 ? undefined : {
      severity: 'warning',
      message: `${outside.join(', ')} is never offered with the ${profileName} profile (it offers ${profile.versions.join(', ')})`,
    };
  }
  return { severity: 'error', message: `the ${profileName} profile offers ${profile.versions.join(' and ')}; expected protocols among them, got ${protocols.join(', ')}` };
}

/**
 * An OpenSSL cipher string for TLS 1.2: an error when OpenSSL finds no cipher in it or it selects none of the
 * profile's, a warning when it also selects ciphers the profile leaves out (they stay off).
 */
export function checkCiphers(profileName: TlsProfileName, spec: string): Finding | undefined {
  const profile = PROFILES[profileName];
  if (profile.ciphers.length === 0) {
    return { severity: 'warning', message: `TLS 1.2 ciphers have no effect with the ${profileName} profile, which offers TLS 1.3 only` };
  }
  const mozilla = `Mozilla's ${profileName} ciphers (${profile.ciphers.join(':')})`;
  if (!selectsAny(spec)) return { severity: 'error', message: `OpenSSL finds no cipher in "${spec}"; expected an OpenSSL cipher list selecting some of ${mozilla}` };
  if (!selectsAny(tls12Ciphers(profile, spec))) {
    return { severity: 'error', message: `"${spec}" selects none of ${mozilla}; Stickler never offers others` };
  }
  if (selectsAny([spec, ...profile.ciphers.map((c) => `!${c}`)].join(':'))) {
    return { severity: 'warning', message: `"${spec}" also selects ciphers outside Mozilla's ${profileName} profile; those are never offered` };
  }
  return undefined;
}

/** TLS 1.3 suite names: names outside the profile are never offered (a warning); none left is an error. */
export function checkCipherSuites(profileName: TlsProfileName, spec: string): Finding | undefined {
  const profile = PROFILES[profileName];
  const named = suiteNames(spec);
  const outside = named.filter((s) => !profile.suites.includes(s));
  if (outside.length === named.length) {
    return { severity: 'error', message: `"${spec}" names none of Mozilla's TLS 1.3 suites; expected some of ${profile.suites.join(':')}` };
  }
  return outside.length === 0 ? undefined : { severity: 'warning', message: `${outside.join(', ')} is not in Mozilla's ${profileName} profile and is never offered` };
}

export interface PortConflict {
  port: number;
  /** The port's first TLS virtual host, whose settings the handshakes use. */
  first: VirtualHostConfig;
  vhost: VirtualHostConfig;
}

/** TLS virtual hosts whose TLS settings differ (by `same`) from those of the first on a port they share. */
export function portConflicts(
  listeners: readonly ListenerConfig[], vhosts: readonly VirtualHostConfig[], same: (a: TlsFiles, b: TlsFiles) => boolean,
): PortConflict[] {
  const conflicts: PortConflict[] = [];
  for (const port of new Set(listeners.filter((l) => l.tls).map((l) => l.port))) {
    const [first, ...others] = vhosts.filter((v) => v.tls && (v.port === port || v.port === 0));
    for (const vhost of others) {
      if (!same(first!.tls!, vhost.tls!) && !conflicts.some((c) => c.vhost === vhost)) conflicts.push({ port, first: first!, vhost });
    }
  }
  return conflicts;
}

/** TLS virtual hosts whose policy differs from that of the first on a port they share (Node switches only certificates). */
export function policyConflicts(listeners: readonly ListenerConfig[], vhosts: readonly VirtualHostConfig[]): PortConflict[] {
  return portConflicts(listeners, vhosts, (a, b) => samePolicy(a.policy, b.policy));
}

export function hstsHeader(hsts: Hsts): [string, string] {
  const value = `max-age=${hsts.maxAge}${hsts.includeSubDomains ? '; includeSubDomains' : ''}${hsts.preload ? '; preload' : ''}`;
  return ['Strict-Transport-Security', value];
}

/** `headers` with Stickler's Strict-Transport-Security in place of any a member sent (Apache's `Header always set`). */
export function withHsts(headers: HeaderList, hsts: Hsts): HeaderList {
  return [...headers.filter(([name]) => !equalsLowerCase(name, 'strict-transport-security')), hstsHeader(hsts)];
}

/** RFC 6960 OCSPResponseStatus names; 4 is not used. */
const OCSP_STATUS: Record<number, string> = { 1: 'malformedRequest', 2: 'internalError', 3: 'tryLater', 5: 'sigRequired', 6: 'unauthorized' };

/**
 * Why `der` cannot be stapled, or undefined. It must be an RFC 6960 OCSPResponse whose status is successful and
 * which carries a response; whether it is current and for this certificate is left to the client, as in nginx.
 */
export function ocspResponseProblem(der: Buffer): string | undefined {
  const expected = 'expected a DER OCSP response such as `openssl ocsp -respout` writes';
  const body = derContent(der, 0, 0x30);
  if (body === undefined || body.end !== der.length) return `not a DER OCSP response; ${expected}`;
  if (der[body.start] !== 0x0a || der[body.start + 1] !== 0x01) return `no response status; ${expected}`;
  const status = der[body.start + 2]!;
  if (status !== 0) return `the responder's answer is ${OCSP_STATUS[status] ?? `status ${status}`}, not successful; ${expected} with status successful`;
  if (body.start + 3 >= body.end || der[body.start + 3] !== 0xa0) return `a successful status without a response; ${expected}`;
  return undefined;
}

/** The content range of the DER element at `offset` with tag `tag` (definite lengths only), or undefined. */
function derContent(der: Buffer, offset: number, tag: number): { start: number; end: number } | undefined {
  if (der[offset] !== tag || offset + 2 > der.length) return undefined;
  const first = der[offset + 1]!;
  if (first < 0x80) return { start: offset + 2, end: offset + 2 + first };
  const bytes = first & 0x7f;
  if (bytes === 0 || bytes > 4 || offset + 2 + bytes > der.length) return undefined;
  const length = der.readUIntBE(offset + 2, bytes);
  return { start: offset + 2 + bytes, end: offset + 2 + bytes + length };
}

/** OpenSSL has no intersection: follow `spec`, then delete for good (`!`) every cipher outside the profile. */
function tls12Ciphers(profile: Profile, spec: string | undefined): string {
  if (spec === undefined) return profile.ciphers.join(':');
  return [spec, ...tls12Names().filter((c) => !profile.ciphers.includes(c)).map((c) => `!${c}`)].join(':');
}

function tls13Suites(profile: Profile, spec: string | undefined): string[] {
  return spec === undefined ? [...profile.suites] : suiteNames(spec).filter((s) => profile.suites.includes(s));
}

function suiteNames(spec: string): string[] {
  return spec.split(':').map((s) => s.trim()).filter((s) => s !== '');
}

let knownTls12: string[] | undefined;

/** Every TLS 1.2 cipher this OpenSSL knows, by its OpenSSL name (Node lists them lower-cased). */
function tls12Names(): string[] {
  knownTls12 ??= tls.getCiphers().filter((c) => !c.startsWith('tls_')).map((c) => c.toUpperCase());
  return knownTls12;
}

/** Whether OpenSSL selects at least one TLS 1.2 cipher from `spec`. */
function selectsAny(spec: string): boolean {
  try {
    tls.createSecureContext({ ciphers: spec, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    return true;
  } catch {
    return false;
  }
}

function samePolicy(a: TlsPolicy | undefined, b: TlsPolicy | undefined): boolean {
  const key = (p: TlsPolicy | undefined) => JSON.stringify(p && [p.profile, p.protocols, p.ciphers, p.cipherSuites, p.honorCipherOrder]);
  return key(a) === key(b);
}
