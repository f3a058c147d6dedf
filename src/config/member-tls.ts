// Which TLS settings a member's connections use. A member has one connection pool whatever virtual host a request
// came through, so it takes the backend TLS of the first virtual host routing to its balancer; the runtime builds
// pools by this rule and both readers refuse, by it, virtual hosts that would present different client certificates.
import type { BackendTls, BalancerConfig, ClientCertificate, SticklerConfig, VirtualHostConfig } from './model.ts';

/** The virtual hosts routing to `balancer`, in configuration order. */
function routingTo(virtualHosts: readonly VirtualHostConfig[], balancer: BalancerConfig): VirtualHostConfig[] {
  return virtualHosts.filter((vh) => vh.routes.some((r) => r.target.kind === 'balancer' && r.target.balancer === balancer.name));
}

/** The backend TLS `balancer`'s members are reached with: the first routing virtual host's, else the dialect's default. */
export function backendTlsOf(config: Pick<SticklerConfig, 'virtualHosts' | 'dialect'>, balancer: BalancerConfig): BackendTls {
  return routingTo(config.virtualHosts, balancer)[0]?.backendTls ?? { enabled: true, verify: config.dialect === 'apache' ? 'none' : 'require', checkPeerName: true };
}

/** A virtual host whose client certificate would be ignored for `balancer`, and the first one, whose is used. */
export interface MemberCertificateConflict {
  balancer: BalancerConfig;
  first: VirtualHostConfig;
  vhost: VirtualHostConfig;
}

/**
 * Virtual hosts that route to one balancer with different client certificates, where some member has none of its
 * own or of its balancer's: that member would present the first virtual host's identity for the others' requests.
 */
export function memberCertificateConflicts(balancers: readonly BalancerConfig[], virtualHosts: readonly VirtualHostConfig[]): MemberCertificateConflict[] {
  return balancers.flatMap((balancer) => {
    if (balancer.clientCertificate || balancer.members.every((m) => m.clientCertificate)) return [];
    const [first, ...others] = routingTo(virtualHosts, balancer);
    return others.filter((vhost) => !sameFiles(first!.backendTls.clientCertificate, vhost.backendTls.clientCertificate)).map((vhost) => ({ balancer, first: first!, vhost }));
  });
}

function sameFiles(a: ClientCertificate | undefined, b: ClientCertificate | undefined): boolean {
  return a?.certificateFile === b?.certificateFile && a?.keyFile === b?.keyFile && a?.chainFile === b?.chainFile;
}

/** For messages: which client certificate, if any. */
export function certificateNamed(c: ClientCertificate | undefined): string {
  return c ? `the client certificate ${c.certificateFile}` : 'no client certificate';
}
