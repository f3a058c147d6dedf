// The challenges this process answers while the CA validates an order: HTTP-01 tokens on the plain port and
// TLS-ALPN-01 certificates on the TLS port. The main thread orders and sets the list; every worker thread gets
// the same list (worker protocol), so whichever thread the kernel hands the CA's connection to answers it.
import { createHash } from 'node:crypto';
import tls from 'node:tls';
import { createSelfSigned } from '../tls/selfsigned.ts';
import type { ChallengeType } from '../config/model.ts';

export interface PendingChallenge {
  type: ChallengeType;
  /** The DNS name being validated, lower case. */
  name: string;
  /** HTTP-01: the path's last segment. */
  token: string;
  /** `token.thumbprint`: the HTTP-01 body, and what TLS-ALPN-01's certificate carries the digest of. */
  keyAuthorization: string;
}

export const HTTP01_PREFIX = '/.well-known/acme-challenge/';

/** What the plain port answers at HTTP01_PREFIX while the name has an HTTP-01 challenge pending. */
export type HttpAnswer = { status: 200; body: string } | { status: 404 };

export class ChallengeBoard {
  private http = new Map<string, PendingChallenge[]>();
  private alpn = new Map<string, PendingChallenge>();
  private contexts = new Map<string, tls.SecureContext>();

  /** Replaces every pending challenge (the main thread's list, whole, so a lost message cannot leave one behind). */
  set(pending: readonly PendingChallenge[]): void {
    this.http = new Map();
    const alpn = new Map<string, PendingChallenge>();
    for (const c of pending) {
      if (c.type === 'http-01') this.http.set(c.name, [...(this.http.get(c.name) ?? []), c]);
      else alpn.set(c.name, c);
    }
    // A certificate made for a key authorization no longer pending must not answer the next one.
    for (const name of this.contexts.keys()) if (alpn.get(name)?.keyAuthorization !== this.alpn.get(name)?.keyAuthorization) this.contexts.delete(name);
    this.alpn = alpn;
  }

  /** Checked on every TLS connection: with nothing pending, connections go straight to TLS. */
  get alpnPending(): boolean {
    return this.alpn.size > 0;
  }

  /**
   * The answer to a plain-port request for `path` with Host `host`; undefined when the request is not the
   * ACME server's (no HTTP-01 challenge pending for that name, or another path), and it goes its usual way.
   */
  httpAnswer(host: string | undefined, path: string): HttpAnswer | undefined {
    if (this.http.size === 0 || !path.startsWith(HTTP01_PREFIX) || host === undefined) return undefined;
    const pending = this.http.get(hostName(host));
    if (!pending) return undefined;
    const token = path.slice(HTTP01_PREFIX.length);
    const found = pending.find((c) => c.token === token);
    return found ? { status: 200, body: found.keyAuthorization } : { status: 404 };
  }

  /** The RFC 8737 certificate for `name`, made on first use in this thread; undefined when none is pending. */
  alpnContext(name: string | undefined): tls.SecureContext | undefined {
    if (name === undefined) return undefined;
    const pending = this.alpn.get(name.toLowerCase());
    if (!pending) return undefined;
    let context = this.contexts.get(pending.name);
    if (!context) {
      context = tls.createSecureContext(alpnCertificate(pending.name, pending.keyAuthorization));
      this.contexts.set(pending.name, context);
    }
    return context;
  }
}

/** RFC 8737 3: a self-signed certificate for `name` alone, with the key authorization's SHA-256 digest. */
export function alpnCertificate(name: string, keyAuthorization: string): { cert: string; key: string } {
  const digest = createHash('sha256').update(keyAuthorization).digest();
  return createSelfSigned({ commonName: name, altNames: { dns: [name] }, days: 7, acmeIdentifier: digest });
}

/** `Host` without its port, lower case (`[v6]:port` keeps its brackets: no IP is ever a managed name). */
function hostName(host: string): string {
  const colon = host.lastIndexOf(':');
  const bare = colon > host.lastIndexOf(']') ? host.slice(0, colon) : host;
  return bare.toLowerCase();
}
