// Drafts → SticklerConfig, applying httpd's inheritance (a virtual host falls back to the main server for every
// setting it leaves unset; main-server ProxyPass rules come before the virtual host's own, mod_proxy.c:1714) and
// the checks that need the whole configuration.
//
// Listeners: from Listen. With no Listen at all (a bare <VirtualHost> file such as the WSO2 blog's), one listener
// per VirtualHost port, on the VirtualHost's address when all virtual hosts on that port name the same IP, else on
// 0.0.0.0. A listener serves TLS when any virtual host on its port has SSLEngine On. Listened ports no
// <VirtualHost> covers are served by the main server, as in httpd, so it becomes a `*:port` virtual host there.
import { isIP } from 'node:net';
import type {
  AccessLogConfig, BackendTls, BalancerConfig, HeaderRule, ListenerConfig, ManagedDomain, RouteConfig, SticklerConfig, TlsFiles, VirtualHostConfig,
} from '../model.ts';
import { domainFiles, isPlainUrl } from '../model.ts';
import { prefixLength } from '../path-prefix.ts';
import { memberLoopProblem } from '../member-loop.ts';
import { certificateNamed, memberCertificateConflicts } from '../member-tls.ts';
import { thisMachine } from '../this-machine.ts';
import { policyConflicts, tlsPolicy } from '../tls-profile.ts';
import { foldDualStack } from '../listeners.ts';
import { NATIVE_DEFAULTS } from '../native/defaults.ts';
import { where } from './balancers.ts';
import { clientCertExtras } from './client-cert-directives.ts';
import { clientCertificateConflicts } from '../client-certificates.ts';
import { resolveLogs } from './logs.ts';
import type { Report } from './report.ts';
import type { ServerDraft } from './server-draft.ts';
import { machineCertificate } from './tls-directives.ts';
import type { Listen, Walked } from './translate.ts';
import { domainOf, managedDomainsOf } from './md-directives.ts';
import { domainClashes, managedDomains } from '../managed-domains.ts';

const DEFAULT_TIMEOUT = 60_000;

interface Effective {
  draft: ServerDraft;
  vhost: Omit<VirtualHostConfig, 'host' | 'port' | 'source'>;
  /** The directive backendTls.source points at. */
  backendTlsDirective: 'SSLProxyVerify' | 'SSLProxyEngine';
}

export function assemble(walked: Walked, mainFile: string, report: Report): SticklerConfig {
  const balancers = walked.balancers.finish();
  const byName = new Map(balancers.map((b) => [b.name.toLowerCase(), b]));
  const main = walked.main;
  const hosts = walked.vhosts.map((d) => ({ ...(d.serverName ?? main.serverName ? { serverName: d.serverName ?? main.serverName } : {}), serverAliases: d.serverAliases, tls: (d.sslEngine ?? main.sslEngine)?.value === true }));
  const domains = managedDomainsOf(walked.md, hosts, main.serverAdmin, report);
  const effective = walked.vhosts.map((draft) => inherit(walked.main, draft, report, domains));
  const listens = walked.listens.length > 0 ? walked.listens : impliedListens(walked.vhosts, report);
  if (listens.length === 0) {
    report.error({ file: mainFile, line: 1 }, 'Listen', 'nothing to listen on; expected a Listen directive or a <VirtualHost host:port>');
  }
  const virtualHosts: VirtualHostConfig[] = [];
  for (const e of effective) {
    for (const { host, port } of e.draft.addresses) virtualHosts.push({ source: e.draft.source, host, port, ...e.vhost });
    if (walked.listens.length > 0) warnUnreachable(e.draft, listens, report);
  }
  const mainServer = inherit(walked.main, walked.main, report, domains);
  for (const l of listens) {
    if (!virtualHosts.some((v) => v.port === l.port || v.port === 0)) {
      virtualHosts.push({ source: l.source, host: '*', port: l.port, ...mainServer.vhost });
      effective.push({ ...mainServer, draft: { ...mainServer.draft, source: l.source } });
    }
  }
  for (const e of effective) checkServer(e, byName, report);
  for (const { domain, other, name } of domainClashes(domains)) {
    report.error(domain.source, 'MDomain', `${name} is already in the managed domain at ${where(other.source, domain.source)}; expected each name in one MDomain (their certificates would replace each other in the store)`);
  }
  for (const d of domains) {
    if (!virtualHosts.some((v) => v.acme === d)) report.warning(d.source, 'MDomain', `no TLS virtual host (SSLEngine On) has ${d.names[0]} as its ServerName or a ServerAlias, so nothing would serve its certificate; it is not ordered`);
  }
  const listeners: ListenerConfig[] = foldDualStack(listens.map((l) => ({
    ...l,
    tls: virtualHosts.some((v) => (v.port === l.port || v.port === 0) && v.tls !== undefined),
  })));
  checkMemberLoops(balancers, listeners, report);
  for (const { balancer, first, vhost } of memberCertificateConflicts(balancers, virtualHosts)) {
    const own = vhost.backendTls.clientCertificate;
    const name = isPlainUrl(balancer.name) ? balancer.name : `balancer://${balancer.name}`;
    report.error(own?.source ?? vhost.source, own ? 'SSLProxyMachineCertificateFile' : '<VirtualHost>',
      `${name} is reached from here with ${certificateNamed(own)} and from the virtual host at ${where(first.source, vhost.source)} with ${certificateNamed(first.backendTls.clientCertificate)}, which its members would present for both (one connection pool per member); expected the same SSLProxyMachineCertificateFile in both, or one in <Proxy ${name}>`);
  }
  for (const { port, first, vhost } of policyConflicts(listeners, virtualHosts)) {
    report.error(vhost.source, '<VirtualHost>', `its TLS settings (SSLProtocol, SSLCipherSuite, SSLHonorCipherOrder) differ from those of the virtual host at ${where(first.source, vhost.source)}, which every handshake on port ${port} uses (Node chooses only the certificate by server name); expected the same settings for every virtual host on the port, such as in the main server`);
  }
  for (const { port, first, vhost } of clientCertificateConflicts(listeners, virtualHosts)) {
    report.error(vhost.source, '<VirtualHost>', `its client-certificate settings (SSLVerifyClient, SSLVerifyDepth, SSLCACertificate*, SSLCARevocation*) differ from those of the virtual host at ${where(first.source, vhost.source)}, which every handshake on port ${port} uses (Node asks for a client certificate per port, not per server name); expected the same settings for every virtual host on the port, or the virtual hosts that differ on a port of their own`);
  }
  return {
    dialect: 'apache',
    listeners,
    virtualHosts,
    balancers,
    log: { format: { kind: 'stickler' }, ...optionalLogs(resolveLogs(walked.main.log, walked.main.log, report)) },
    timeout: walked.proxyTimeout ?? walked.timeout ?? DEFAULT_TIMEOUT,
    keepAliveTimeout: walked.keepAliveTimeout ?? NATIVE_DEFAULTS.keepAliveTimeout,
    gracefulShutdownTimeout: walked.gracefulShutdownTimeout ?? NATIVE_DEFAULTS.gracefulShutdownTimeout,
    ...(walked.trustedProxies && { trustedProxies: walked.trustedProxies }),
    ...managedDomains(virtualHosts),
    ...clientSettings(walked),
    ...runAs(walked, report),
    ...((walked.balancerPersist || walked.managerUsers) && {
      manager: {
        source: (walked.managerUsers ?? walked.balancerPersist)!.source,
        ...(walked.managerUsers && { htpasswdFile: walked.managerUsers.value }),
        ...(walked.balancerPersist && { stateFile: walked.balancerPersist.value }),
      },
    }),
  };
}

/** A Group alone would change the group and keep root, which is no drop at all. */
function runAs({ user, group }: Walked, report: Report): Pick<SticklerConfig, 'runAs'> {
  if (group && !user) report.error(group.source, 'Group', 'Group without User would keep serving as root; expected a User too, such as User www-data');
  return user ? { runAs: { user, ...(group && { group }) } } : {};
}

/** httpd's `Timeout` also bounds how long a client may leave a response unread. */
function clientSettings(walked: Walked): Pick<SticklerConfig, 'client'> {
  const client = { ...(walked.timeout !== undefined && { sendTimeout: walked.timeout }), ...walked.client };
  return Object.keys(client).length > 0 ? { client } : {};
}

const optionalLogs = (logs: AccessLogConfig[]): { logs?: AccessLogConfig[] } => (logs.length > 0 ? { logs } : {});

function inherit(main: ServerDraft, v: ServerDraft, report: Report, domains: ManagedDomain[]): Effective {
  const own = main === v ? [v] : [main, v];
  const sslEngine = v.sslEngine ?? main.sslEngine;
  const certificate = v.certificateFile ?? main.certificateFile;
  const serverName = v.serverName ?? main.serverName;
  // mod_md: a TLS host a managed domain covers serves the domain's certificate, whatever SSLCertificateFile says.
  const acme = sslEngine?.value === true ? domainOf(domains, { ...(serverName ? { serverName } : {}), serverAliases: v.serverAliases, tls: true }) : undefined;
  let tls: TlsFiles | undefined;
  if (acme) {
    if (v.certificateFile) report.warning(v.certificateFile.source, 'SSLCertificateFile', `not used: ${acme.names[0]} is a managed domain (MDomain at line ${acme.source.line}), whose certificate this virtual host serves`);
    tls = { source: acme.source, ...domainFiles(acme.settings.storeDir, acme), ...tlsExtras(main, v) };
  } else if (sslEngine?.value === true) {
    if (certificate === undefined) {
      report.error(sslEngine.source, 'SSLEngine', 'SSLEngine On without a certificate; expected SSLCertificateFile (and SSLCertificateKeyFile unless the key is in the same file) in this virtual host or the main server');
    } else {
      const chain = v.chainFile ?? main.chainFile;
      // httpd reads the key from the certificate file when SSLCertificateKeyFile is absent.
      const key = v.keyFile ?? main.keyFile ?? certificate;
      tls = {
        source: certificate.source,
        certificateFile: certificate.value,
        keyFile: key.value,
        ...(key !== certificate && { keySource: key.source }),
        ...(chain ? { chainFile: chain.value, chainSource: chain.source } : {}),
        ...tlsExtras(main, v),
        ...clientCertExtras(main, v, report),
      };
    }
  }
  if (!tls && v !== main && v.hsts) {
    report.warning(v.hsts.source, 'Header', 'ignored: Strict-Transport-Security is sent only by TLS virtual hosts (browsers ignore it over plain HTTP, RFC 6797 section 8.1)');
  }
  const proxyEngine = v.proxyEngine ?? main.proxyEngine;
  const verify = v.proxyVerify ?? main.proxyVerify;
  const caFile = v.caFile ?? main.caFile;
  const machine = v.machineCertificate ?? main.machineCertificate;
  const machineChain = v.machineChain ?? main.machineChain;
  if (!machine && machineChain) {
    report.error(machineChain.source, 'SSLProxyMachineCertificateChainFile', 'a chain with no certificate to complete; expected SSLProxyMachineCertificateFile in this virtual host or the main server');
  }
  const backendTls: BackendTls = {
    enabled: proxyEngine?.value ?? false,
    verify: verify?.value ?? 'none',
    // SSLProxyCheckPeerName takes precedence over SSLProxyCheckPeerCN; both default to On.
    checkPeerName: v.checkPeerName ?? main.checkPeerName ?? v.checkPeerCN ?? main.checkPeerCN ?? true,
    ...(caFile ? { caFile: caFile.value, caSource: caFile.source } : {}),
    ...(machine && { clientCertificate: machineCertificate(machine, machineChain) }),
    ...(verify ? { source: verify.source } : proxyEngine ? { source: proxyEngine.source } : {}),
  };
  // httpd merges <Location> sections in config order and the last matching one supplies the ProxyPass; listing
  // them last-first makes first-match give the same answer.
  const locationRoutes = own.flatMap((d) => d.locationRoutes).reverse();
  const serverAdmin = v.serverAdmin ?? main.serverAdmin;
  return {
    draft: v,
    backendTlsDirective: verify ? 'SSLProxyVerify' : 'SSLProxyEngine',
    vhost: {
      ...(serverName ? { serverName } : {}),
      serverAliases: v.serverAliases,
      ...(serverAdmin ? { serverAdmin } : {}),
      ...(acme && { acme }),
      ...(tls ? { tls } : {}),
      backendTls,
      preserveHost: v.preserveHost ?? main.preserveHost ?? false,
      addForwardedHeaders: v.addHeaders ?? main.addHeaders ?? true,
      routes: [...locationRoutes, ...own.flatMap((d) => d.routes)],
      reverse: own.flatMap((d) => d.reverse),
      cookiePaths: own.flatMap((d) => d.cookiePaths),
      cookieDomains: own.flatMap((d) => d.cookieDomains),
      locations: own.flatMap((d) => d.locations),
      proxyAccess: own.flatMap((d) => d.proxyAccess),
      ...headerRules(own.flatMap((d) => d.headerRules)),
      // The main server's own logs are the server's (config.log), which every host without logs of its own uses.
      ...optionalLogs(main === v ? [] : resolveLogs(v.log, main.log, report)),
    },
  };
}

/** httpd merges mod_headers' rules server first, then <Proxy> sections, then <Location> sections, each in config order. */
function headerRules(rules: HeaderRule[]): { headerRules?: HeaderRule[] } {
  if (rules.length === 0) return {};
  const rank = (r: HeaderRule): number => (r.location !== undefined ? 2 : r.proxy !== undefined ? 1 : 0);
  return { headerRules: rules.toSorted((a, b) => rank(a) - rank(b)) };
}

/** SSLProtocol, SSLCipherSuite, SSLHonorCipherOrder and HSTS of a TLS virtual host, each inherited on its own. */
function tlsExtras(main: ServerDraft, v: ServerDraft): Pick<TlsFiles, 'policy' | 'hsts'> {
  const protocols = v.protocols ?? main.protocols;
  const ciphers = v.ciphers ?? main.ciphers;
  const cipherSuites = v.cipherSuites ?? main.cipherSuites;
  const honor = v.honorCipherOrder ?? main.honorCipherOrder;
  const hsts = v.hsts ?? main.hsts;
  const source = (protocols ?? ciphers ?? cipherSuites ?? honor)?.source;
  const policy = source && tlsPolicy({
    source, protocols: protocols?.value, ciphers: ciphers?.value, cipherSuites: cipherSuites?.value, honorCipherOrder: honor?.value,
  });
  return { ...(policy && { policy }), ...(hsts && { hsts }) };
}

/**
 * A virtual-host file read on its own has no Listen (Debian keeps them in ports.conf). httpd would open no port;
 * Stickler listens on each virtual host's address and says so, naming the Listen that would make it explicit.
 */
function impliedListens(vhosts: ServerDraft[], report: Report): Listen[] {
  const byPort = new Map<number, Listen>();
  for (const v of vhosts) {
    for (const { host, port } of v.addresses) {
      if (port === 0) continue;
      const ip = isIP(host) !== 0 ? host : '0.0.0.0';
      const seen = byPort.get(port);
      if (seen === undefined) byPort.set(port, { source: v.source, host: ip, port, implied: true });
      else if (seen.host !== ip) seen.host = isIP(ip) === 6 || isIP(seen.host) === 6 ? '::' : '0.0.0.0';
    }
  }
  for (const l of byPort.values()) {
    const address = l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
    const specific = WILDCARD_HOSTS.has(l.host) ? `, or Listen 127.0.0.1:${l.port} for one address` : '';
    report.warning(l.source, '<VirtualHost>', `the configuration has no Listen: Stickler listens on ${address} for this virtual host, where httpd would open no port; expected Listen ${l.port}${specific}`);
  }
  return [...byPort.values()];
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::']);

/** A member that is one of the listeners (see member-loop.ts), at its BalancerMember, or the ProxyPass of a lone URL. */
function checkMemberLoops(balancers: BalancerConfig[], listeners: ListenerConfig[], report: Report): void {
  const machine = thisMachine();
  for (const b of balancers) {
    for (const m of b.members) {
      const problem = memberLoopProblem(m.url, listeners, machine);
      if (problem) report.error(m.source, b.name === m.url ? 'ProxyPass' : 'BalancerMember', problem);
    }
  }
}

function warnUnreachable(draft: ServerDraft, listens: Listen[], report: Report): void {
  for (const { host, port } of draft.addresses) {
    if (port !== 0 && !listens.some((l) => l.port === port)) {
      report.warning(draft.source, '<VirtualHost>', `${host}:${port} is never reached: no Listen opens port ${port}; expected Listen ${port}`);
    }
  }
}

function checkServer({ draft, vhost, backendTlsDirective }: Effective, balancers: Map<string, BalancerConfig>, report: Report): void {
  checkShadowing(vhost.routes, report);
  const members = vhost.routes.flatMap((r) =>
    r.target.kind === 'balancer' ? (balancers.get(r.target.balancer.toLowerCase())?.members ?? []) : []);
  const https = [...new Set(members.filter((m) => /^https:/i.test(m.url)).map((m) => m.url))];
  if (https.length === 0) return;
  const tls = vhost.backendTls;
  const at = tls.source ?? draft.source;
  const directive = tls.source ? backendTlsDirective : '<VirtualHost>';
  const list = https.join(', ');
  if (!tls.enabled) {
    report.warning(at, directive, `the https members ${list} need SSLProxyEngine On in this virtual host; without it every request to them fails (as in httpd)`);
    return;
  }
  if (tls.verify === 'none') {
    report.warning(at, directive, `backend certificate verification is off (SSLProxyVerify none is Apache's default): the https members ${list} are not authenticated; expected SSLProxyVerify require with SSLProxyCACertificateFile to verify them`);
  }
}

/**
 * httpd tries server-level ProxyPass rules in order and stops at the first match, so a later rule can be dead: every
 * path the later rule matches is matched by the earlier one first exactly when the earlier prefix matches the later
 * rule's own path.
 */
function checkShadowing(routes: RouteConfig[], report: Report): void {
  routes.forEach((later, j) => {
    const earlier = routes.slice(0, j).find((r) => prefixLength(later.path, r.path) > 0);
    if (earlier === undefined) return;
    const what = later.target.kind === 'exclude' ? `ProxyPass ${later.path} ! (an exclusion)` : `ProxyPass ${later.path}`;
    const fix = later.target.kind === 'exclude' ? 'expected the exclusion before the rule that covers it' : 'expected more specific paths before general ones';
    report.warning(later.source, 'ProxyPass', `${what} is never reached: ProxyPass ${earlier.path} at ${where(earlier.source, later.source)} matches first (httpd tries ProxyPass rules in order); ${fix}`);
  });
}
