// The managed domains of a configuration, from its virtual hosts, one rule for both readers: virtual hosts whose
// certificates are for the same names in the same store share one domain (one order, one renewal).
import { domainFiles, type ChallengeType, type ListenerConfig, type ManagedDomain, type SticklerConfig, type TlsFiles, type VirtualHostConfig } from './model.ts';

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
 * Two domains that share a name: mod_md refuses a name in two MDomains, and in one store they would share files
 * (named after the first name), each renewal replacing the other's certificate. Each clash once, at the later one.
 */
export function domainClashes(domains: readonly ManagedDomain[]): Array<{ domain: ManagedDomain; other: ManagedDomain; name: string }> {
  const owner = new Map<string, ManagedDomain>();
  const clashes: Array<{ domain: ManagedDomain; other: ManagedDomain; name: string }> = [];
  for (const domain of domains) {
    const name = domain.names.find((n) => owner.has(n.toLowerCase()));
    if (name !== undefined) clashes.push({ domain, other: owner.get(name.toLowerCase())!, name });
    else for (const n of domain.names) owner.set(n.toLowerCase(), domain);
  }
  return clashes;
}

/**
 * The challenge types the CA can reach Stickler for: HTTP-01 needs a plain listener on the port the CA's port 80
 * arrives at (portMap.http), TLS-ALPN-01 a TLS listener on portMap.https; in the configured order.
 */
export function usableChallenges(domain: ManagedDomain, listeners: readonly ListenerConfig[]): ChallengeType[] {
  const { challenges, portMap } = domain.settings;
  return challenges.filter((type) => listeners.some((l) => (type === 'http-01' ? !l.tls && l.port === portMap.http : l.tls && l.port === portMap.https)));
}

/** A domain is the same across reloads while its names, CA and store are: its renewal and its certificate follow it. */
export function managedDomainIdentity(d: ManagedDomain): string {
  return JSON.stringify([d.names, d.settings.caUrl, d.settings.storeDir]);
}

/**
 * The virtual hosts of `config` that serve the domain's certificate, by index, with the files to serve. Looked up
 * in the configuration running when a certificate is swapped in: a reload may have moved or removed them since the
 * order began, and an index kept from then would put the certificate on another host.
 */
export function managedHosts(config: SticklerConfig, identity: string): Array<{ vhost: number; files: TlsFiles }> {
  return config.virtualHosts.flatMap((vh, vhost) => (vh.tls && vh.acme && managedDomainIdentity(vh.acme) === identity
    ? [{ vhost, files: { ...vh.tls, ...domainFiles(vh.acme.settings.storeDir, vh.acme) } }] : []));
}
