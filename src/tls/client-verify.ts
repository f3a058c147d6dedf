// The verdict on a client's certificate, given after the handshake the way mod_ssl gives it. OpenSSL verifies the
// chain during the handshake against the configured CAs and CRLs, but Node lets every client through
// (rejectUnauthorized false) and keeps only OpenSSL's last error, so the level's rules are applied here:
// - require: a certificate, verified; optional: a verified certificate or none; both as mod_ssl's SSLVerifyClient;
// - optional_no_ca: also a certificate whose only fault is that its issuer is unknown. mod_ssl's documentation
//   calls that GENEROUS, but httpd 2.4.71 on OpenSSL 3 passes on FAILED:<OpenSSL's last error> and lets
//   the client in (GENEROUS needs a verify result of OK, which OpenSSL no longer leaves after an accepted error;
//   test/integration/client-verify-differential.test.ts against Debian's apache2), so Stickler does the same.
//   OpenSSL stops at the unknown issuer and may not report an expired certificate or a missing CRL after it, so
//   those two are checked here, as mod_ssl's verify callback fails them;
// - SSLVerifyDepth, which Node does not pass to OpenSSL, on the chain built again here from what the client sent and
//   the CAs (Node gives the certificates the client sent, linked by issuer, without the CAs OpenSSL added).
import { printable } from '../log/printable.ts';
import type { X509Certificate } from 'node:crypto';
import type { ClientCertificates } from '../config/model.ts';

/** What a connection's client certificate came to, as the log formats and request headers see it. */
export interface ClientCertificateFacts {
  /** mod_ssl's SSL_CLIENT_VERIFY: NONE, SUCCESS, GENEROUS or FAILED:reason (also on a client let in by optional_no_ca) */
  verify: string;
  /** The peer's leaf. */
  certificate?: X509Certificate;
  /** What the client sent after the leaf, in order. */
  chain: X509Certificate[];
}

/** What the handshake left to judge. */
export interface HandshakeOutcome {
  /** The client's certificate, then the certificates it sent that issued it, in issuer order; empty when it sent none. */
  sent: X509Certificate[];
  /** Node's authorizationError: OpenSSL's last verify error code, null when the chain verified. */
  error: string | null;
}

export interface Verdict {
  facts: ClientCertificateFacts;
  /** Why the client is refused, in mod_ssl's words; undefined when it may go on. */
  refusal?: string;
}

/** mod_ssl's ssl_verify_error_is_optional: the errors that only say the issuer is not known or not trusted. */
const ISSUER_UNKNOWN = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_UNTRUSTED',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);

/** OpenSSL's X509_verify_cert_error_string, which mod_ssl puts after FAILED:, for the codes a client can cause. */
const OPENSSL_REASONS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get issuer certificate',
  UNABLE_TO_GET_CRL: 'unable to get certificate CRL',
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: "unable to decrypt certificate's signature",
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: 'unable to decode issuer public key',
  CERT_SIGNATURE_FAILURE: 'certificate signature failure',
  CRL_SIGNATURE_FAILURE: 'CRL signature failure',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CRL_NOT_YET_VALID: 'CRL is not yet valid',
  CRL_HAS_EXPIRED: 'CRL has expired',
  ERROR_IN_CERT_NOT_BEFORE_FIELD: "format error in certificate's notBefore field",
  ERROR_IN_CERT_NOT_AFTER_FIELD: "format error in certificate's notAfter field",
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  CERT_CHAIN_TOO_LONG: 'certificate chain too long',
  CERT_REVOKED: 'certificate revoked',
  INVALID_CA: 'invalid CA certificate',
  PATH_LENGTH_EXCEEDED: 'path length constraint exceeded',
  INVALID_PURPOSE: 'unsupported certificate purpose',
  CERT_UNTRUSTED: 'certificate not trusted',
  CERT_REJECTED: 'certificate rejected',
  KEYUSAGE_NO_CERTSIGN: 'key usage does not include certificate signing',
  UNABLE_TO_GET_CRL_ISSUER: 'unable to get CRL issuer certificate',
  KEYUSAGE_NO_CRL_SIGN: 'key usage does not include CRL signing',
  INVALID_NON_CA: 'invalid non-CA certificate (has CA markings)',
};

/** OpenSSL's words for a Node verify error code; a code not listed is spelt out from its name. */
export function opensslReason(code: string): string {
  return OPENSSL_REASONS[code] ?? code.toLowerCase().replaceAll('_', ' ');
}

/**
 * The verdict for a handshake on a port that asks for client certificates. `cas` are the configured CA
 * certificates; `now` is when the certificate dates are judged.
 */
export function clientVerdict(settings: ClientCertificates, outcome: HandshakeOutcome, cas: readonly X509Certificate[], now: Date): Verdict {
  const [leaf, ...sent] = outcome.sent;
  if (leaf === undefined) {
    const facts = { verify: 'NONE', chain: [] };
    return settings.verify === 'require' ? { facts, refusal: 'no certificate was sent, and SSLVerifyClient require asks for one' } : { facts };
  }
  const fail = (reason: string): Verdict => ({ facts: { verify: `FAILED:${reason}`, certificate: leaf, chain: sent }, refusal: reason });
  const chain = issuerChain(outcome.sent, cas);
  // mod_ssl fails a certificate whose chain reaches further above it than SSLVerifyDepth allows.
  if (chain.length - 1 > settings.depth) return fail(opensslReason('CERT_CHAIN_TOO_LONG'));
  if (outcome.error === null) return { facts: { verify: 'SUCCESS', certificate: leaf, chain: sent } };
  const trusted = new Set(cas.map((c) => c.fingerprint256));
  const issuerUnknown = ISSUER_UNKNOWN.has(outcome.error) && !chain.some((c) => trusted.has(c.fingerprint256));
  if (settings.verify !== 'optional_no_ca' || !issuerUnknown) return fail(opensslReason(outcome.error));
  const outOfDate = chain.find((c) => now < c.validFromDate || now > c.validToDate);
  if (outOfDate) return fail(opensslReason(now > outOfDate.validToDate ? 'CERT_HAS_EXPIRED' : 'CERT_NOT_YET_VALID'));
  // No CA of ours issued it, so no CRL of ours can speak for it; mod_ssl fails it when CRLs are checked.
  if (settings.crlCheck !== 'none') return fail(opensslReason('UNABLE_TO_GET_CRL'));
  return { facts: { verify: `FAILED:${opensslReason(outcome.error)}`, certificate: leaf, chain: sent } };
}

/**
 * The chain as OpenSSL builds it for the depth check: what the client sent, then the CAs that issued its last
 * certificate, up to a self-issued one. Bounded: a CA bundle whose certificates issue each other in a ring ends it.
 */
export function issuerChain(sent: readonly X509Certificate[], cas: readonly X509Certificate[]): X509Certificate[] {
  const chain = [...sent];
  for (let last = chain.at(-1); last !== undefined && !last.checkIssued(last) && chain.length <= MAX_CHAIN; ) {
    last = cas.find((ca) => last!.checkIssued(ca) && !chain.includes(ca));
    if (last) chain.push(last);
  }
  return chain;
}

/** OpenSSL's own bound on a chain it builds. */
const MAX_CHAIN = 100;

/**
 * The log line of a refusal. The DN is the client's own text, which Node passes on as UTF-8: no control character,
 * line break or format character of it reaches the log (bidi overrides would make a terminal show the line other
 * than it is), nor a DN of any length.
 */
export function refusalLine(address: string, port: number, verdict: Verdict): string {
  const { certificate } = verdict.facts;
  // Node gives no subject at all for an empty one (a certificate may have only a subjectAltName).
  const subjectText = certificate?.subject as string | undefined;
  const dn = subjectText === undefined ? undefined : printable(subjectText.replaceAll('\n', ', '));
  // Cut by code points: half a surrogate pair would be a character of its own.
  const points = [...(dn ?? '')];
  const shown = points.length > MAX_LOGGED_DN ? `${points.slice(0, MAX_LOGGED_DN).join('')}...` : dn;
  const subject = certificate === undefined ? '' : shown ? ` (certificate ${shown})` : ' (certificate with an empty subject)';
  return `client ${address} refused on port ${port}${subject}: ${verdict.refusal ?? 'not refused'}`;
}

const MAX_LOGGED_DN = 200;
