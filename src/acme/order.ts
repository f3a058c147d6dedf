// One certificate order, start to finish, through acme-client (RFC 8555: account, order, authorizations,
// challenges, finalize, download). Stickler only supplies what acme-client asks for: the account key from the
// store, a CSR for the domain's names with a fresh key, and the challenges posted to the board it answers from.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import acme from 'acme-client';
import type { ChallengeType, ManagedDomain } from '../config/model.ts';
import type { PendingChallenge } from './challenges.ts';
import { accountKey, newPrivateKey } from './store.ts';

/** Where an order puts the challenges it needs answered, and takes them back when the CA has looked. */
export interface ChallengeSink {
  /** Resolves once the challenge can be answered (by every instance of a group): then the CA is told to look. */
  add(challenge: PendingChallenge): void | Promise<void>;
  remove(challenge: PendingChallenge): void | Promise<void>;
}

export interface Issued {
  /** The leaf and its chain, PEM. */
  certificate: string;
  key: string;
}

/** The agents trusting each CA's own bundle (MDCACertificateFile), by directory origin; other CAs use the system's. */
const agents = new Map<string, https.Agent>();
let routed = false;

function trustCaBundle(caUrl: string, bundleFile: string): void {
  agents.set(new URL(caUrl).origin, new https.Agent({ ca: readFileSync(bundleFile), keepAlive: true }));
  if (routed) return;
  routed = true;
  // acme-client sends every request through its one axios instance: each goes out with its CA's agent.
  acme.axios.interceptors.request.use((config) => {
    const agent = config.url ? agents.get(new URL(config.url).origin) : undefined;
    if (agent) config.httpsAgent = agent;
    return config;
  });
}

/** `challenges`: the types the CA can reach this configuration's listeners for (config/managed-domains.ts). */
export async function orderCertificate(domain: ManagedDomain, challenges: ChallengeType[], sink: ChallengeSink): Promise<Issued> {
  const { settings } = domain;
  if (challenges.length === 0) throw new Error(`none of the challenge types ${settings.challenges.join(', ')} can reach this instance: HTTP-01 needs a plain listener on port ${settings.portMap.http}, TLS-ALPN-01 a TLS listener on port ${settings.portMap.https} (MDPortMap, native acme.port-map, say where the CA's ports 80 and 443 arrive)`);
  if (!settings.agreementAccepted) throw new Error(`the CA's terms of service are not accepted; ${domain.names[0]} needs MDCertificateAgreement accepted (native acme.agreement-accepted: true) before an account can be made`);
  if (settings.caCertificateFile !== undefined) trustCaBundle(settings.caUrl, settings.caCertificateFile);
  const client = new acme.Client({
    directoryUrl: settings.caUrl, accountKey: accountKey(settings.storeDir, settings.caUrl),
    // The status of a challenge or order is asked again after 1 s, doubling (acme-client's 5 s first wait would add
    // 5 s to most renewals; a CA's Retry-After still wins).
    backoffMin: 1000, backoffMax: 30_000, backoffAttempts: 10,
  });
  const key = newPrivateKey(settings.keyType);
  const [, csr] = await acme.crypto.createCsr({ commonName: domain.names[0]!, altNames: domain.names }, key);
  const pending = (challenge: { type: string; token: string }, authz: { identifier: { value: string } }, keyAuthorization: string): PendingChallenge => ({
    type: challenge.type as PendingChallenge['type'], name: authz.identifier.value.toLowerCase(), token: challenge.token, keyAuthorization,
  });
  const certificate = await client.auto({
    csr,
    ...(settings.contactEmail !== undefined && { email: settings.contactEmail }),
    termsOfServiceAgreed: true,
    challengePriority: challenges,
    // The CA's own validation is the test that counts; a self-check would need the outside view (port maps, NAT).
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => sink.add(pending(challenge, authz, keyAuthorization)),
    challengeRemoveFn: async (authz, challenge, keyAuthorization) => sink.remove(pending(challenge, authz, keyAuthorization)),
  });
  return { certificate, key };
}
