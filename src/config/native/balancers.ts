// A native `balancers` entry → the model's BalancerConfig: defaults filled in, each member's URL checked and
// its health check built; the checks that need the virtual hosts too are in build.ts.
import { MEMBER_SCHEMES, type BalancerConfig, type BalancerCookieConfig, type HealthCheckConfig, type MemberConfig, type StickyConfig } from '../model.ts';
import { healthCheckWarnings } from '../health-check.ts';
import { readKeyFile } from '../key-file.ts';
import { isCookieValue } from '../../http/syntax.ts';
import { NATIVE_DEFAULTS } from './defaults.ts';
import type { KeyPath } from './locate.ts';
import type { NativeReport } from './report.ts';
import type { NativeBalancer } from './schema.ts';
import { buildClientCertificate } from './tls.ts';

type NativeMember = NonNullable<NativeBalancer['members']>[number];

export function buildBalancer(name: string, raw: NativeBalancer, r: NativeReport): BalancerConfig {
  const path = ['balancers', name];
  if (!/^[^\s/]+$/.test(name)) {
    r.report('error', path, `invalid balancer name "${name}"; expected a name without spaces or "/", such as wso2.identity`);
  }
  const members = (raw.members ?? []).map((m, i) => buildMember(m, [...path, 'members', i], r));
  if (members.length === 0) {
    r.report('error', raw.members === undefined ? path : [...path, 'members'],
      `balancer "${name}" has no members; expected a members list with at least one url`);
  }
  r.reportDuplicates(members.map((m) => m.url), (i) => [...path, 'members', i, 'url'], 'member url');
  const d = NATIVE_DEFAULTS.balancer;
  return {
    source: r.source(path),
    name,
    lbmethod: raw.lbmethod ?? d.lbmethod,
    ...(raw['sticky-session'] !== undefined && { sticky: raw['sticky-session'] }),
    stickySeparator: raw['sticky-separator'] !== undefined ? raw['sticky-separator'] : d.stickySeparator,
    scolonPathDelim: raw['scolon-path-delim'] ?? d.scolonPathDelim,
    nofailover: raw['no-failover'] ?? d.nofailover,
    ...(raw['max-attempts'] !== undefined && { maxAttempts: raw['max-attempts'] }),
    timeout: raw.timeout ?? d.timeout,
    forceRecovery: raw['force-recovery'] ?? d.forceRecovery,
    failOnStatus: raw['fail-on-status'] ?? [],
    ...(raw.growth !== undefined && { growth: raw.growth }),
    ...(raw['fail-on-timeout'] !== undefined && { failOnTimeout: raw['fail-on-timeout'] }),
    ...(raw['slow-start'] !== undefined && { slowStart: raw['slow-start'] }),
    ...(raw['stop-when-idle'] !== undefined && { stopWhenIdle: raw['stop-when-idle'] }),
    ...(raw['retry-body-limit'] !== undefined && { retryBodyLimit: raw['retry-body-limit'] }),
    ...(raw.tls?.['client-certificate'] && { clientCertificate: buildClientCertificate(raw.tls['client-certificate'], [...path, 'tls', 'client-certificate'], r) }),
    ...(raw.cookie && { cookie: buildCookie(raw.cookie, raw['sticky-session'], members, [...path, 'cookie'], r) }),
    members,
  };
}

function buildCookie(raw: NonNullable<NativeBalancer['cookie']>, sticky: StickyConfig | undefined, members: MemberConfig[],
                     path: KeyPath, r: NativeReport): BalancerCookieConfig {
  if (raw.name === sticky?.cookie) {
    r.report('error', [...path, 'name'], `"${raw.name}" is the sticky-session cookie, which the members issue; expected another name, such as ROUTEID`);
  }
  const sameSite = raw['same-site'] ?? NATIVE_DEFAULTS.balancerCookie.sameSite;
  if (sameSite === 'None' && raw.secure === false) {
    r.report('error', [...path, 'secure'], 'browsers drop a SameSite=None cookie that is not Secure; expected secure: true (or no secure key) with same-site: None');
  }
  members.forEach((m, i) => {
    // The cookie carries the route: a member without one could never be returned to.
    if (m.route === '' || !isCookieValue(m.route)) {
      r.report('error', ['balancers', path[1] as string, 'members', i, m.route === '' ? 'url' : 'route'],
        `${m.route === '' ? 'has no route' : `route "${m.route}" cannot be a cookie value`}, and the balancer's cookie names members by route; expected a route without spaces, quotes, commas, semicolons or backslashes, such as n1`);
    }
  });
  let key: Uint8Array | undefined;
  if (raw['key-file'] !== undefined) {
    const read = readKeyFile(r.file(raw['key-file']));
    if ('error' in read) r.report('error', [...path, 'key-file'], read.error);
    else key = read.key;
  }
  const d = NATIVE_DEFAULTS.balancerCookie;
  return {
    name: raw.name,
    path: raw.path ?? d.path,
    ...(raw.domain !== undefined && { domain: raw.domain }),
    ...(raw.secure !== undefined && { secure: raw.secure }),
    httpOnly: raw['http-only'] ?? d.httpOnly,
    sameSite,
    ...(typeof raw['max-age'] === 'number' && { maxAge: raw['max-age'] }),
    ...(key && { key }),
  };
}

function buildMember(raw: NativeMember, path: KeyPath, r: NativeReport): MemberConfig {
  if (!isBackendUrl(raw.url)) {
    r.report('error', [...path, 'url'], `expected an http:// or https:// URL such as https://10.0.0.5:9443, got "${raw.url}"`);
  }
  const d = NATIVE_DEFAULTS.member;
  return {
    source: r.source(path),
    url: raw.url,
    route: raw.route ?? d.route,
    redirect: raw.redirect ?? d.redirect,
    loadfactor: raw.loadfactor ?? d.loadfactor,
    lbset: raw.lbset ?? d.lbset,
    status: raw.status ?? [],
    retry: raw.retry ?? d.retry,
    ...(raw.timeout !== undefined && { timeout: raw.timeout }),
    ...(raw['connection-timeout'] !== undefined && { connectionTimeout: raw['connection-timeout'] }),
    ...(raw['health-check'] && { healthCheck: buildHealthCheck(raw['health-check'], [...path, 'health-check'], r) }),
    ...(raw.tls?.['client-certificate'] && { clientCertificate: buildClientCertificate(raw.tls['client-certificate'], [...path, 'tls', 'client-certificate'], r) }),
  };
}

function buildHealthCheck(raw: NonNullable<NativeMember['health-check']>, path: KeyPath, r: NativeReport): HealthCheckConfig {
  const d = NATIVE_DEFAULTS.healthCheck;
  const check: HealthCheckConfig = {
    method: raw.method,
    uri: raw.uri ?? d.uri,
    interval: raw.interval ?? d.interval,
    passes: raw.passes ?? d.passes,
    fails: raw.fails ?? d.fails,
    // The native format writes the condition in place; only Apache's ProxyHCExpr gives it a name.
    ...(raw.expr !== undefined && { expr: { name: '', text: raw.expr, source: r.source([...path, 'expr']) } }),
    ...(raw.scheme !== undefined && { scheme: raw.scheme }),
    ...(raw.host !== undefined && { host: raw.host }),
    ...(raw.port !== undefined && { port: raw.port }),
  };
  for (const warning of healthCheckWarnings(check, { uri: 'uri', expr: 'expr' })) r.report('warning', path, warning);
  return check;
}

function isBackendUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return MEMBER_SCHEMES.some((scheme) => url.protocol === `${scheme}:`) && url.hostname !== '' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}
