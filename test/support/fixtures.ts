// Model builders and comparisons that several unit tests share: each test states only what it cares about.
import type { ForwardContext } from '../../src/proxy/forward.ts';
import { DEFAULT_STOP_WHEN_IDLE, type BalancerConfig, type MemberConfig, type Source, type VirtualHostConfig } from '../../src/config/model.ts';

export const TEST_SOURCE: Source = { file: 'test.conf', line: 1 };

/** Member http://a:8080 with route a, loadfactor 1, lbset 0, retry 60 s, unless overridden. */
export function memberConfig(over: Partial<MemberConfig> = {}): MemberConfig {
  return {
    source: TEST_SOURCE, url: 'http://a:8080', route: 'a', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000,
    ...over,
  };
}

/** Balancer `cluster`, byrequests, with Apache's defaults except forceRecovery on and no timeout, unless overridden. */
export function balancerConfig(members: MemberConfig[], over: Partial<BalancerConfig> = {}): BalancerConfig {
  return {
    source: TEST_SOURCE, name: 'cluster', lbmethod: 'byrequests', stickySeparator: '.', scolonPathDelim: false,
    nofailover: false, timeout: 0, forceRecovery: true, failOnStatus: [], members, ...over,
  };
}

/** What a virtual host holds when its configuration sets nothing beyond its address. */
export function vhostDefaults(): Omit<VirtualHostConfig, 'source' | 'host' | 'port'> {
  return {
    serverAliases: [],
    backendTls: { enabled: false, verify: 'none', checkPeerName: true },
    preserveHost: false,
    addForwardedHeaders: true,
    routes: [],
    reverse: [],
    cookiePaths: [],
    cookieDomains: [],
    locations: [],
    proxyAccess: [],
  };
}

/** Source lines and the dialect necessarily differ between two readings of the same setup; everything else must not. */
/**
 * A model without where each part came from, for comparing what two readers built. stop-when-idle at its default
 * is the same as unset: convert writes it out for an Apache file (Stickler's own behaviour, which httpd lacks).
 */
export function comparable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value)
    .filter(([key, v]) => key !== 'source' && !key.endsWith('Source') && key !== 'dialect' && !(key === 'stopWhenIdle' && v === DEFAULT_STOP_WHEN_IDLE))
    .map(([key, v]) => [key, comparable(v)]));
}

/** A request forwarded for a client at 203.0.113.7 to login.example.com, through proxy.example.com, to node1. */
export const forwardContext: ForwardContext = {
  clientIp: '203.0.113.7',
  hostHeader: 'login.example.com',
  serverName: 'proxy.example.com',
  preserveHost: false,
  addForwardedHeaders: true,
  memberUrl: 'https://node1.internal:9443',
  scheme: 'https',
};
