// The managed domains of a configuration, from its virtual hosts, one rule for both readers: virtual hosts whose
// certificates are for the same names in the same store share one domain (one order, one renewal).
import type { ChallengeType, ListenerConfig, ManagedDomain, SticklerConfig, VirtualHostConfig } from './model.ts';

/** Gathers the domains of `virtualHosts`, pointing each host at the one domain kept for its names. */
export function managedDomains(virtualHosts: VirtualHostConfig[]): Pick<SticklerConfig, 'managedDomains'> {
  const byKey = new Map<string, ManagedDomain>();
  for (const vh of virtualHosts) {
    if (!vh.acme) continue;
    const key = JSON.stringify([[...vh.acme.names].sort(), vh.acme.settings.storeDir]);
    const kept = byKey.get(key);
    if (kept) vh.acme = kept;
    else byKey.set(key, vh.acme);
  }
  return byKey.size > 0 ? { managedDomains: [...byKey.values()] } : {};
}

/**
 * The challenge types the CA can reach Stickler for: HTTP-01 needs a plain listener on the port the CA's port 80
 * arrives at (portMap.http), TLS-ALPN-01 a TLS listener on portMap.https; in the configured order.
 */
export function usableChallenges(domain: ManagedDomain, listeners: readonly ListenerConfig[]): ChallengeType[] {
  const { challenges, portMap } = domain.settings;
  return challenges.filter((type) => listeners.some((l) => (type === 'http-01' ? !l.tls && l.port === portMap.http : l.tls && l.port === portMap.https)));
}
