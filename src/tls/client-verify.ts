// The verdict on a client's certificate, given after the handshake the way mod_ssl gives it.
import type { X509Certificate } from 'node:crypto';

/** What a connection's client certificate came to, as the log formats and request headers see it. */
export interface ClientCertificateFacts {
  /** mod_ssl's SSL_CLIENT_VERIFY: NONE, SUCCESS, GENEROUS or FAILED:reason */
  verify: string;
  /** The peer's leaf. */
  certificate?: X509Certificate;
  /** What the client sent after the leaf, in order. */
  chain: X509Certificate[];
}
