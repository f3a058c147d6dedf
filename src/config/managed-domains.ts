// The managed domains of a configuration, from its virtual hosts, one rule for both readers: virtual hosts whose
// certificates are for the same names in the same store share one domain (one order, one renewal).
import type { ManagedDomain, SticklerConfig, VirtualHostConfig } from './model.ts';

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
