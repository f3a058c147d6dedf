// RFC 9440's request fields, by which a TLS-terminating proxy tells the origin which certificate the client
// presented: Client-Cert is a Structured Field Byte Sequence (RFC 8941 3.3.5) of the certificate's DER, and
// Client-Cert-Chain a List of them, the certificates the client sent after it, in order.
import type { X509Certificate } from 'node:crypto';

export const CLIENT_CERT = 'Client-Cert';
export const CLIENT_CERT_CHAIN = 'Client-Cert-Chain';

/** `:<base64 of the DER>:`, padded base64 as RFC 8941 writes it; once per certificate, which is the connection's. */
export function clientCertField(certificate: X509Certificate): string {
  let field = fields.get(certificate);
  if (field === undefined) fields.set(certificate, (field = `:${certificate.raw.toString('base64')}:`));
  return field;
}
const fields = new WeakMap<X509Certificate, string>();

/** The chain as a List of Byte Sequences; undefined for none, where RFC 9440 sends no field. */
export function clientCertChainField(chain: readonly X509Certificate[]): string | undefined {
  return chain.length === 0 ? undefined : chain.map(clientCertField).join(', ');
}
