// The model written back as native YAML: what `stickler convert` and `stickler --check` print. Values equal
// to the native defaults are left out so the output reads like a hand-written file; the one exception is an
// Apache configuration's unverified backend TLS, which is spelled out because the native default differs.

import { Document, isScalar, visit } from 'yaml';
import type {
  AccountRef, AccessLogConfig, AccessRule, BackendTls, BalancerConfig, ClientCertificate, ClientCertificates, ClientPolicy, CookieRewrite, HeaderRule, HealthCheckConfig, ListenerConfig, ManagerConfig,
  ManagedDomain, MemberConfig, RouteConfig, SharedStateConfig, SticklerConfig, TlsFiles, VirtualHostConfig,
} from './model.ts';
import { acmeDefaults, formatRenewWindow, formatSticky, isPlainUrl, stopWhenIdleOf } from './model.ts';
import { DEFAULT_KEY_PREFIX } from './model-shared.ts';
import { NATIVE_DEFAULTS } from './native/defaults.ts';
import { DEFAULT_VERIFY_DEPTH } from './client-certificates.ts';
import { CLIENT_KEYS } from './native/schema.ts';
import {
  formatDuration, formatHostMatch, formatLogCondition, formatLogFormat, formatReadTimeout, formatRequire, formatSeparator, formatSize, formatStatus,
} from './native/values.ts';

type Yaml = Record<string, unknown>;

const APACHE_VERIFY_COMMENT =
  ' Apache\'s default (SSLProxyVerify none): backend certificates are not checked. Consider require plus ca-file.';
const APACHE_STOP_WHEN_IDLE_COMMENT =
  ' Stickler\'s default, which httpd lacks: a drained member with no active session for this long is stopped. 0: it stays draining, as in httpd.';

export function toYaml(config: SticklerConfig): string {
  // The manager's own listener and virtual host (the last of each) are written back as the manager section.
  const own = config.manager?.ownListener === true;
  const listeners = own ? config.listeners.slice(0, -1) : config.listeners;
  const virtualHosts = own ? config.virtualHosts.slice(0, -1) : config.virtualHosts;
  const ownListener = own ? config.listeners.at(-1) : undefined;
  const ownVhost = own ? config.virtualHosts.at(-1) : undefined;
  const doc = new Document({
    ...(config.timeout !== NATIVE_DEFAULTS.timeout && { timeout: formatDuration(config.timeout) }),
    ...(config.keepAliveTimeout !== NATIVE_DEFAULTS.keepAliveTimeout && { 'keep-alive-timeout': formatDuration(config.keepAliveTimeout) }),
    ...(config.gracefulShutdownTimeout !== NATIVE_DEFAULTS.gracefulShutdownTimeout && {
      'graceful-shutdown-timeout': formatDuration(config.gracefulShutdownTimeout),
    }),
    ...(config.workers !== undefined && { workers: config.workers }),
    ...(config.runAs && { user: account(config.runAs.user), ...(config.runAs.group && { group: account(config.runAs.group) }) }),
    ...(config.trustedProxies !== undefined && { 'trusted-proxies': config.trustedProxies }),
    ...log(config),
    ...client(config.client),
    listeners: listeners.map((l) => listener(l, virtualHosts)),
    'virtual-hosts': virtualHosts.map(virtualHost),
    balancers: Object.fromEntries(config.balancers.map((b) => [b.name, balancer(b, config.dialect === 'apache')])),
    ...(config.manager && { manager: manager(config.manager, ownVhost, ownListener) }),
    ...(config.sharedState && { 'shared-state': sharedState(config.sharedState) }),
  });
  if (config.dialect === 'apache') {
    doc.commentBefore = ' Stickler native configuration, converted from an Apache httpd configuration.';
    config.virtualHosts.forEach((v, i) => {
      if (v.backendTls.verify !== 'none') return;
      const node = doc.getIn(['virtual-hosts', i, 'backend-tls', 'verify'], true);
      if (isScalar(node)) node.comment = APACHE_VERIFY_COMMENT;
    });
    for (const b of config.balancers) {
      const node = b.stopWhenIdle === undefined ? doc.getIn(['balancers', b.name, 'stop-when-idle'], true) : undefined;
      if (isScalar(node)) node.comment = APACHE_STOP_WHEN_IDLE_COMMENT;
    }
  }
  // Lists of plain values (aliases, status codes, allow entries) read best on one line.
  visit(doc, { Seq: (_, seq) => { if (seq.items.every(isScalar)) seq.flow = true; } });
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

function log(config: SticklerConfig): Yaml {
  const entry: Yaml = {
    ...(config.log.access !== undefined && { access: config.log.access }),
    ...(config.log.format.kind !== NATIVE_DEFAULTS.logFormat.kind && { format: formatLogFormat(config.log.format) }),
    ...nonEmpty('logs', (config.log.logs ?? []).map(accessLog)),
  };
  return Object.keys(entry).length > 0 ? { log: entry } : {};
}

const CLIENT_FORMATS: { [F in keyof ClientPolicy]: (value: ClientPolicy[F]) => unknown } = {
  requestLine: formatSize,
  fieldSize: formatSize,
  fields: (n) => n,
  headSize: formatSize,
  bodySize: formatSize,
  maxConnections: (n) => n,
  maxStreams: (n) => n,
  maxRequests: (n) => n,
  handshakeTimeout: formatDuration,
  headerTimeout: formatReadTimeout,
  bodyTimeout: formatReadTimeout,
  sendTimeout: formatDuration,
};

/** Every client setting the source gave, defaults included: the model keeps only what was written. */
function client(settings: Partial<ClientPolicy> | undefined): Yaml {
  const entry: Yaml = {};
  for (const [key, field] of Object.entries(CLIENT_KEYS)) {
    const value = settings?.[field];
    if (value !== undefined) entry[key] = (CLIENT_FORMATS[field] as (v: typeof value) => unknown)(value);
  }
  return Object.keys(entry).length > 0 ? { client: entry } : {};
}

function listener(l: ListenerConfig, virtualHosts: VirtualHostConfig[]): Yaml {
  // The loader derives `tls` from the virtual hosts on the port; only a listener that disagrees needs it.
  const derived = virtualHosts.some((v) => v.port === l.port && v.tls !== undefined);
  return { host: l.host, port: l.port, ...(l.tls !== derived && { tls: l.tls }) };
}

function virtualHost(v: VirtualHostConfig): Yaml {
  const d = NATIVE_DEFAULTS.virtualHost;
  return {
    ...(v.host !== d.host && { host: v.host }),
    port: v.port,
    ...(v.serverName !== undefined && { 'server-name': v.serverName }),
    ...nonEmpty('server-aliases', v.serverAliases),
    ...(v.serverAdmin !== undefined && { 'server-admin': v.serverAdmin }),
    // A managed host with the default profile says all it needs in its acme key.
    ...(v.tls && !(v.acme && Object.keys(tls(v.tls, true)).length === 0) && { tls: tls(v.tls, v.acme !== undefined) }),
    ...(v.acme && { acme: acme(v.acme, [...(v.serverName === undefined ? [] : [v.serverName]), ...v.serverAliases], v.serverAdmin) }),
    ...backendTls(v.backendTls),
    ...(v.preserveHost !== d.preserveHost && { 'preserve-host': v.preserveHost }),
    ...(v.addForwardedHeaders !== d.addForwardedHeaders && { 'forwarded-headers': v.addForwardedHeaders }),
    ...nonEmpty('routes', v.routes.map(route)),
    ...nonEmpty('reverse', v.reverse.map((r) => ({ path: r.path, url: r.url }))),
    ...nonEmpty('cookie-paths', v.cookiePaths.map(rewrite)),
    ...nonEmpty('cookie-domains', v.cookieDomains.map(rewrite)),
    ...nonEmpty('locations', v.locations.map((l) => ({
      path: l.path,
      ...(l.handler !== undefined && { handler: l.handler }),
      ...nonEmpty('access', l.access.map(accessRule)),
    }))),
    ...nonEmpty('proxy-access', v.proxyAccess.map(accessRule)),
    ...nonEmpty('logs', (v.logs ?? []).map(accessLog)),
    ...nonEmpty('header-rules', (v.headerRules ?? []).map(headerRule)),
  };
}

function headerRule(r: HeaderRule): Yaml {
  return {
    direction: r.direction,
    ...(r.condition !== 'onsuccess' && { condition: r.condition }),
    action: r.action,
    // echo's name is a pattern over the request's field names, and native says so.
    ...(r.action === 'echo' ? { pattern: r.header } : { header: r.header }),
    ...(r.pattern !== undefined && { pattern: r.pattern }),
    ...(r.value !== undefined && { value: r.value }),
    ...(r.env && { env: `${r.env.negate ? '!' : ''}${r.env.variable}` }),
    ...(r.location !== undefined && { location: r.location }),
    ...(r.proxy !== undefined && { proxy: proxyUrl(r.proxy, r.proxyPath) }),
  };
}

/** A bare balancer name where it is enough; with a path, the <Proxy> URL the reader splits again. */
function proxyUrl(proxy: string, path: string | undefined): string {
  if (path === undefined) return proxy;
  return isPlainUrl(proxy) ? `${proxy}${path}` : `balancer://${proxy}${path}`;
}

function accessLog(l: AccessLogConfig): Yaml {
  return {
    access: l.destination,
    ...(l.format.kind !== NATIVE_DEFAULTS.logFormat.kind && { format: formatLogFormat(l.format) }),
    ...(l.condition && { when: formatLogCondition(l.condition) }),
  };
}

function manager(m: ManagerConfig, vhost: VirtualHostConfig | undefined, own: ListenerConfig | undefined): Yaml {
  const d = NATIVE_DEFAULTS.manager;
  const location = vhost?.locations[0];
  return {
    ...(!own && { 'own-listener': false }),
    ...(own && own.host !== d.host && { host: own.host }),
    ...(own && own.port !== d.port && { port: own.port }),
    ...(location && location.path !== d.path && { path: location.path }),
    ...(vhost?.tls && { tls: tls(vhost.tls) }),
    ...nonEmpty('access', (location?.access ?? []).map(accessRule)),
    ...(m.htpasswdFile !== undefined && { 'htpasswd-file': m.htpasswdFile }),
    ...(m.tokenFile !== undefined && { 'token-file': m.tokenFile }),
    ...(m.stateFile !== undefined && { 'state-file': m.stateFile }),
    ...(m.auditLog !== undefined && { 'audit-log': m.auditLog }),
  };
}

function sharedState(s: SharedStateConfig): Yaml {
  return {
    url: s.url,
    ...(s.keyPrefix !== DEFAULT_KEY_PREFIX && { 'key-prefix': s.keyPrefix }),
    ...(s.passwordFile !== undefined && { 'password-file': s.passwordFile }),
    ...(s.tls && {
      tls: {
        ...(s.tls.caFile !== undefined && { 'ca-file': s.tls.caFile }),
        ...(s.tls.certificateFile !== undefined && { 'certificate-file': s.tls.certificateFile }),
        ...(s.tls.keyFile !== undefined && { 'key-file': s.tls.keyFile }),
      },
    }),
    ...(s.sentinels && { sentinels: s.sentinels.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`) }),
    ...(s.masterName !== undefined && { 'master-name': s.masterName }),
    ...(s.instance !== undefined && { instance: s.instance }),
  };
}

/** A virtual host's acme: its names when they are not the host's own, and every setting mod_md's default does not give. */
function acme(domain: ManagedDomain, hostNames: string[], serverAdmin: string | undefined): Yaml {
  const s = domain.settings;
  const d = acmeDefaults(s.storeDir);
  const sameNames = domain.names.length === hostNames.length && hostNames.every((n) => domain.names.includes(n.toLowerCase()));
  return {
    ...(!sameNames && { names: domain.names }),
    ...(s.caUrl !== d.caUrl && { 'ca-url': s.caUrl }),
    ...(s.caCertificateFile !== undefined && { 'ca-certificate-file': s.caCertificateFile }),
    ...(s.contactEmail !== undefined && s.contactEmail !== serverAdmin && { 'contact-email': s.contactEmail }),
    ...(s.agreementAccepted && { 'agreement-accepted': true }),
    'store-dir': s.storeDir,
    ...(formatRenewWindow(s.renewWindow) !== formatRenewWindow(d.renewWindow) && { 'renew-window': formatRenewWindow(s.renewWindow) }),
    ...(s.challenges.join() !== d.challenges.join() && { challenges: s.challenges }),
    ...(s.keyType !== d.keyType && { 'key-type': s.keyType }),
    ...(s.renewMode !== d.renewMode && { 'renew-mode': s.renewMode }),
    ...((s.portMap.http !== d.portMap.http || s.portMap.https !== d.portMap.https) && { 'port-map': s.portMap }),
  };
}

/** `managed`: the certificate is the virtual host's acme domain's, so no files are named. */
function tls(t: TlsFiles, managed = false): Yaml {
  const p = t.policy;
  const h = t.hsts;
  const d = NATIVE_DEFAULTS.hsts;
  return {
    ...(!managed && { 'certificate-file': t.certificateFile, 'key-file': t.keyFile }),
    ...(t.chainFile !== undefined && { 'chain-file': t.chainFile }),
    ...(t.ocspResponseFile !== undefined && { 'ocsp-response-file': t.ocspResponseFile }),
    ...(p && p.profile !== 'intermediate' && { profile: p.profile }),
    ...(p?.protocols && { protocols: p.protocols }),
    ...(p?.ciphers !== undefined && { ciphers: p.ciphers }),
    ...(p?.cipherSuites !== undefined && { 'cipher-suites': p.cipherSuites }),
    ...(p?.honorCipherOrder && { 'honor-cipher-order': true }),
    ...(h && {
      hsts: {
        ...(h.maxAge !== d.maxAge && { 'max-age': h.maxAge }),
        ...(h.includeSubDomains !== d.includeSubDomains && { 'include-subdomains': h.includeSubDomains }),
        ...(h.preload !== d.preload && { preload: h.preload }),
      },
    }),
    ...(t.clientCertificates && { 'client-certificates': clientCertificates(t.clientCertificates) }),
    ...(t.sslOptions && { 'ssl-options': { 'export-cert-data': t.sslOptions.exportCertData, 'std-env-vars': t.sslOptions.stdEnvVars } }),
  };
}

/** A directory's certificates are written as the files it held; one file is written without a list. */
function clientCertificates(c: ClientCertificates): Yaml {
  const files = (list: string[]) => (list.length === 1 ? list[0] : list);
  const derivedCheck = c.crlFiles.length > 0 ? 'chain' : 'none';
  return {
    verify: c.verify,
    ...(c.depth !== DEFAULT_VERIFY_DEPTH && { 'verify-depth': c.depth }),
    ...(c.caFiles.length > 0 && { 'ca-file': files(c.caFiles) }),
    ...(c.crlFiles.length > 0 && { 'crl-file': files(c.crlFiles) }),
    ...(c.crlCheck !== derivedCheck && { 'crl-check': c.crlCheck }),
    ...(c.forwardRfc9440 && { forward: 'rfc9440' }),
  };
}

function backendTls(tls: BackendTls): Yaml {
  const d = NATIVE_DEFAULTS.backendTls;
  const entry: Yaml = {
    ...(tls.enabled !== d.enabled && { enabled: tls.enabled }),
    ...(tls.verify !== d.verify && { verify: tls.verify }),
    ...(tls.checkPeerName !== d.checkPeerName && { 'check-peer-name': tls.checkPeerName }),
    ...(tls.caFile !== undefined && { 'ca-file': tls.caFile }),
    ...(tls.clientCertificate && { 'client-certificate': clientCertificate(tls.clientCertificate) }),
  };
  return Object.keys(entry).length > 0 ? { 'backend-tls': entry } : {};
}

function route(r: RouteConfig): Yaml {
  if (r.target.kind === 'exclude') return { path: r.path, exclude: true };
  return {
    path: r.path,
    balancer: r.target.balancer,
    ...(r.target.path !== r.path && { 'backend-path': r.target.path }),
    ...(r.target.upgrade && { upgrade: r.target.upgrade.map((p) => (p === '*' ? 'ANY' : p)) }),
  };
}

function rewrite(c: CookieRewrite): Yaml {
  return { from: c.from, to: c.to };
}

function accessRule(rule: AccessRule): Yaml {
  if (rule.kind === 'require') return { require: formatRequire(rule.negate, rule.match) };
  return {
    order: rule.order,
    ...nonEmpty('allow', rule.allow.map(formatHostMatch)),
    ...nonEmpty('deny', rule.deny.map(formatHostMatch)),
  };
}

function balancer(b: BalancerConfig, fromApache: boolean): Yaml {
  const d = NATIVE_DEFAULTS.balancer;
  return {
    ...(b.lbmethod !== d.lbmethod && { lbmethod: b.lbmethod }),
    ...(b.sticky && { 'sticky-session': formatSticky(b.sticky) }),
    ...(b.stickySeparator !== d.stickySeparator && { 'sticky-separator': formatSeparator(b.stickySeparator) }),
    ...(b.scolonPathDelim !== d.scolonPathDelim && { 'scolon-path-delim': b.scolonPathDelim }),
    ...(b.nofailover !== d.nofailover && { 'no-failover': b.nofailover }),
    ...(b.maxAttempts !== undefined && { 'max-attempts': b.maxAttempts }),
    ...(b.timeout !== d.timeout && { timeout: formatDuration(b.timeout) }),
    ...(b.forceRecovery !== d.forceRecovery && { 'force-recovery': b.forceRecovery }),
    ...nonEmpty('fail-on-status', b.failOnStatus),
    ...(b.growth !== undefined && { growth: b.growth }),
    ...(b.failOnTimeout !== undefined && { 'fail-on-timeout': b.failOnTimeout }),
    ...(b.slowStart !== undefined && { 'slow-start': formatDuration(b.slowStart) }),
    // Written out for an Apache file too: the behaviour is Stickler's own, and a reader of httpd.conf would not expect it.
    ...((b.stopWhenIdle !== undefined || fromApache) && { 'stop-when-idle': formatDuration(stopWhenIdleOf(b)) }),
    ...(b.retryBodyLimit !== undefined && { 'retry-body-limit': b.retryBodyLimit }),
    ...(b.clientCertificate && { tls: { 'client-certificate': clientCertificate(b.clientCertificate) } }),
    members: b.members.map(member),
  };
}

/** Apache's one file with the certificate and its key is named as both. */
function clientCertificate(c: ClientCertificate): Yaml {
  return { 'certificate-file': c.certificateFile, 'key-file': c.keyFile, ...(c.chainFile !== undefined && { 'chain-file': c.chainFile }) };
}

function member(m: MemberConfig): Yaml {
  const d = NATIVE_DEFAULTS.member;
  return {
    url: m.url,
    ...(m.route !== d.route && { route: m.route }),
    ...(m.redirect !== d.redirect && { redirect: m.redirect }),
    ...(m.loadfactor !== d.loadfactor && { loadfactor: m.loadfactor }),
    ...(m.lbset !== d.lbset && { lbset: m.lbset }),
    ...(m.status.length > 0 && { status: formatStatus(m.status) }),
    ...(m.retry !== d.retry && { retry: formatDuration(m.retry) }),
    ...(m.timeout !== undefined && { timeout: formatDuration(m.timeout) }),
    ...(m.connectionTimeout !== undefined && { 'connection-timeout': formatDuration(m.connectionTimeout) }),
    ...(m.healthCheck && { 'health-check': healthCheck(m.healthCheck) }),
    ...(m.clientCertificate && { tls: { 'client-certificate': clientCertificate(m.clientCertificate) } }),
  };
}

/** A ProxyHCExpr's name is not kept: the native format writes the condition itself. */
function healthCheck(h: HealthCheckConfig): Yaml {
  const d = NATIVE_DEFAULTS.healthCheck;
  return {
    method: h.method,
    ...(h.uri !== d.uri && { uri: h.uri }),
    ...(h.interval !== d.interval && { interval: formatDuration(h.interval) }),
    ...(h.passes !== d.passes && { passes: h.passes }),
    ...(h.fails !== d.fails && { fails: h.fails }),
    ...(h.expr && { expr: h.expr.text }),
    ...(h.scheme !== undefined && { scheme: h.scheme }),
    ...(h.host !== undefined && { host: h.host }),
    ...(h.port !== undefined && { port: h.port }),
  };
}

function nonEmpty(key: string, items: readonly unknown[]): Yaml {
  return items.length > 0 ? { [key]: items } : {};
}

/** A number is written as one: `#33` would be a comment in YAML. */
const account = (ref: AccountRef): string | number => ('name' in ref ? ref.name : ref.id);
