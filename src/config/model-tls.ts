// TLS in the configuration model: a virtual host's certificate and what its handshakes offer, and how members are
// reached over TLS.
import type { Source } from './model-units.ts';

export interface TlsFiles {
  /** Where the certificate file is named; the other files' lines follow, where they differ. */
  source: Source;
  certificateFile: string;
  keyFile: string;
  /** Where the key file is named; undefined where it is the certificate's line (a key in the certificate's file). */
  keySource?: Source;
  chainFile?: string;
  chainSource?: Source;
  /** A DER OCSP response stapled to this certificate's handshakes, re-read at each reload (nginx `ssl_stapling_file`). */
  ocspResponseFile?: string;
  ocspSource?: Source;
  /** What the handshakes offer; undefined is Mozilla's intermediate profile as it is. */
  policy?: TlsPolicy;
  /** Sent as Strict-Transport-Security on every response of this virtual host; undefined sends none. */
  hsts?: Hsts;
  /** Whether and how clients present certificates; undefined asks for none (Apache `SSLVerifyClient none`). */
  clientCertificates?: ClientCertificates;
  /** Apache `SSLOptions` as far as Stickler has them; undefined is Apache's default (all off). */
  sslOptions?: SslOptions;
}

/**
 * Apache's `SSLVerifyClient` levels: `optional_no_ca` accepts a certificate whose only fault is an issuer it cannot
 * find (with SSL_CLIENT_VERIFY FAILED:reason, as httpd 2.4 does); `optional` lets a client in without a
 * certificate but not with a bad one.
 */
export type VerifyClient = 'none' | 'optional' | 'require' | 'optional_no_ca';

/**
 * Client certificates at the front. One per TLS port: Node asks for a certificate per server, not per SNI name, so
 * the virtual hosts of a port must agree (checked when the configuration is read).
 */
export interface ClientCertificates {
  /** Where the verify level is set. */
  source: Source;
  verify: VerifyClient;
  /** Apache `SSLVerifyDepth`: how many issuers above the client's certificate may be needed; Apache's default 1. */
  depth: number;
  /** `SSLCACertificateFile` plus the certificates of `SSLCACertificatePath`. */
  caFiles: string[];
  caSource?: Source;
  /** `SSLCARevocationFile` and the CRLs of `SSLCARevocationPath`. */
  crlFiles: string[];
  crlCheck: 'none' | 'chain' | 'leaf';
  crlSource?: Source;
  /** Native only: send RFC 9440 Client-Cert / Client-Cert-Chain to members. */
  forwardRfc9440: boolean;
}

/** Apache `SSLOptions` that Stickler carries out. */
export interface SslOptions {
  source: Source;
  /** `+ExportCertData`: SSL_CLIENT_CERT, SSL_CLIENT_CERT_CHAIN_n and SSL_SERVER_CERT are set. */
  exportCertData: boolean;
  /** `+StdEnvVars`: the standard SSL_* variables are set. */
  stdEnvVars: boolean;
}

/**
 * A virtual host's TLS with the certificate files of a swap (a renewal): only the files change; what the handshakes
 * offer, what they ask of clients' certificates (their CAs, CRLs and session context), SSLOptions and HSTS stay as
 * configured, as every virtual host of a port must agree on the first two.
 */
export function withSwappedFiles(configured: TlsFiles | undefined, files: TlsFiles): TlsFiles {
  const { policy: _policy, hsts: _hsts, clientCertificates: _client, sslOptions: _options, ...certificate } = files;
  return {
    ...certificate,
    ...(configured?.policy && { policy: configured.policy }),
    ...(configured?.hsts && { hsts: configured.hsts }),
    ...(configured?.clientCertificates && { clientCertificates: configured.clientCertificates }),
    ...(configured?.sslOptions && { sslOptions: configured.sslOptions }),
  };
}

/** Mozilla's server-side TLS configurations (guidelines 6.0), see src/config/tls-profile.ts. */
export type TlsProfileName = 'intermediate' | 'modern';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * A Mozilla profile, possibly narrowed; never widened. One per TLS port: Node switches only the certificate by SNI,
 * so the virtual hosts of a port must agree (checked when the configuration is read).
 */
export interface TlsPolicy {
  source: Source;
  profile: TlsProfileName;
  /** A subset of the profile's versions (Apache `SSLProtocol`); undefined is all of them. */
  protocols?: TlsVersion[];
  /** OpenSSL cipher string for TLS 1.2 (Apache `SSLCipherSuite`): only the profile's ciphers it selects are offered. */
  ciphers?: string;
  /** TLS 1.3 suite names, colon-separated (Apache `SSLCipherSuite TLSv1.3`): only the profile's named ones are offered. */
  cipherSuites?: string;
  /** The server's order of ciphers wins (Apache `SSLHonorCipherOrder on`); Mozilla leaves it to the client. */
  honorCipherOrder: boolean;
}

/** RFC 6797 Strict-Transport-Security. */
export interface Hsts {
  source: Source;
  /** Seconds. */
  maxAge: number;
  includeSubDomains: boolean;
  preload: boolean;
}

export interface BackendTls {
  /** SSLProxyEngine: may https:// members be used at all. */
  enabled: boolean;
  /** SSLProxyVerify: `none` = no verification (Apache's default); `require` = verify the chain. */
  verify: 'none' | 'require';
  /** SSLProxyCheckPeerName / SSLProxyCheckPeerCN: check the certificate's names against the member host. */
  checkPeerName: boolean;
  caFile?: string;
  /** Where caFile is named. */
  caSource?: Source;
  /** Presented to members that ask for one; a balancer's or a member's own wins (see clientCertificateOf). */
  clientCertificate?: ClientCertificate;
  source?: Source;
}

/**
 * A certificate Stickler presents to members that ask for one (Apache `SSLProxyMachineCertificateFile`, native
 * `client-certificate`). Apache's one file holds the certificate and its key: keyFile is then certificateFile.
 */
export type ClientCertificate = Pick<TlsFiles, 'source' | 'certificateFile' | 'keyFile' | 'keySource' | 'chainFile' | 'chainSource'>;

/** The client certificate a member presents: its own, else its balancer's, else its virtual host's. */
export function clientCertificateOf(
  member: { clientCertificate?: ClientCertificate },
  balancer: { clientCertificate?: ClientCertificate },
  backendTls: BackendTls,
): ClientCertificate | undefined {
  return member.clientCertificate ?? balancer.clientCertificate ?? backendTls.clientCertificate;
}
