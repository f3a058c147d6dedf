// Turns a schema-checked native file into the shared model: fills in defaults, resolves relative file names,
// records the source line of every object, and runs the checks that need more than one key at a time
// (routes to undefined balancers, duplicates, members unreachable without backend TLS). Balancers and TLS
// mappings are built in balancers.ts and tls.ts; all of them report through report.ts.

import type {
  AccessLogConfig, AccessRule, BackendTls, BalancerConfig, ClientPolicy, Diagnostic, HeaderRule, ListenerConfig, LocationConfig, ManagerConfig,
  RouteConfig, SharedStateConfig, SticklerConfig, VirtualHostConfig,
} from '../model.ts';
import { DEFAULT_KEY_PREFIX, domainFiles } from '../model.ts';
import { policyConflicts } from '../tls-profile.ts';
import { clientCertificateConflicts } from '../client-certificates.ts';
import { memberLoopProblem } from '../member-loop.ts';
import { thisMachine } from '../this-machine.ts';
import { foldDualStack } from '../listeners.ts';
import { hasPassword } from '../shared-state-url.ts';
import { headerRuleProblem } from '../header-value.ts';
import { proxyScope } from '../apache/headers.ts';
import { buildBalancer } from './balancers.ts';
import { NATIVE_DEFAULTS } from './defaults.ts';
import type { KeyPath } from './locate.ts';
import { NativeReport, type BuildContext } from './report.ts';
import { CLIENT_KEYS, type NativeAccessRule, type NativeFile, type NativeHeaderRule, type NativeVirtualHost } from './schema.ts';
import { buildClientCertificate, buildTls } from './tls.ts';
import { buildManagedDomain } from './acme.ts';
import { domainClashes, managedDomains } from '../managed-domains.ts';
import { certificateNamed, memberCertificateConflicts } from '../member-tls.ts';

export interface BuildResult {
  config: SticklerConfig;
  diagnostics: Diagnostic[];
}

export function buildConfig(raw: NativeFile, context: BuildContext): BuildResult {
  return new Builder(context).build(raw);
}

/** Apache's prefix rule: `/app` covers `/app`, `/app/` and `/app/x`, never `/apple`. */
function prefixCovers(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return prefix.endsWith('/') || path.length === prefix.length || path[prefix.length] === '/';
}

class Builder {
  readonly #r: NativeReport;

  constructor(context: BuildContext) {
    this.#r = new NativeReport(context);
  }

  /** The top-level `acme` section, which every virtual host's `acme` starts from. */
  #acmeSection: NativeFile['acme'];

  build(raw: NativeFile): BuildResult {
    this.#acmeSection = raw.acme;
    const balancers = Object.entries(raw.balancers ?? {}).map(([name, b]) => buildBalancer(name, b, this.#r));
    const virtualHosts = (raw['virtual-hosts'] ?? []).map((v, i) => this.virtualHost(v, ['virtual-hosts', i], balancers));
    if (virtualHosts.length === 0) {
      this.#r.report('error', ['virtual-hosts'], 'no virtual hosts are defined; expected at least one entry with a port');
    }
    const listeners = foldDualStack(this.listeners(raw, virtualHosts));
    const manager = raw.manager && this.manager(raw.manager, listeners, virtualHosts);
    this.checkMemberLoops(balancers, listeners);
    for (const { balancer, first, vhost } of memberCertificateConflicts(balancers, virtualHosts)) {
      const own = vhost.backendTls.clientCertificate;
      const i = virtualHosts.indexOf(vhost);
      this.#r.report('error', own ? ['virtual-hosts', i, 'backend-tls', 'client-certificate'] : ['virtual-hosts', i],
        `balancer ${balancer.name} is reached from here with ${certificateNamed(own)} and from the virtual host at line ${first.source.line} with ${certificateNamed(first.backendTls.clientCertificate)}, which its members would present for both (one connection pool per member); expected the same backend-tls.client-certificate in both, or tls.client-certificate on the balancer`);
    }
    for (const { port, first, vhost } of policyConflicts(listeners, virtualHosts)) {
      this.#r.report('error', ['virtual-hosts', virtualHosts.indexOf(vhost), 'tls'], `its profile, protocols, ciphers, cipher-suites or honor-cipher-order differ from those of the virtual host at line ${first.source.line}, which every handshake on port ${port} uses (Node chooses only the certificate by server name); expected the same settings for every virtual host on the port`);
    }
    for (const { port, first, vhost } of clientCertificateConflicts(listeners, virtualHosts)) {
      this.#r.report('error', ['virtual-hosts', virtualHosts.indexOf(vhost), 'tls'], `its client-certificates differ from those of the virtual host at line ${first.source.line}, which every handshake on port ${port} uses (Node asks for a client certificate per port, not per server name); expected the same client-certificates for every virtual host on the port, or the virtual hosts that differ on a port of their own`);
    }
    const managed = managedDomains(virtualHosts);
    for (const { domain, name } of domainClashes(managed.managedDomains ?? [])) {
      const i = virtualHosts.findIndex((vh) => vh.acme === domain);
      this.#r.report('error', ['virtual-hosts', i, 'acme'], `${name} is already in another virtual host's acme names with other names or another store-dir; expected each name in one certificate (they would replace each other in the store), or the same names on both`);
    }
    const config: SticklerConfig = {
      dialect: 'native',
      listeners,
      virtualHosts,
      balancers,
      log: {
        ...(raw.log?.access !== undefined && { access: this.logDestination(raw.log.access), source: this.#r.source(['log', 'access']) }),
        format: raw.log?.format ?? NATIVE_DEFAULTS.logFormat,
        ...(raw.log?.logs?.length && { logs: this.accessLogs(raw.log.logs, ['log', 'logs']) }),
      },
      timeout: raw.timeout ?? NATIVE_DEFAULTS.timeout,
      keepAliveTimeout: raw['keep-alive-timeout'] ?? NATIVE_DEFAULTS.keepAliveTimeout,
      gracefulShutdownTimeout: raw['graceful-shutdown-timeout'] ?? NATIVE_DEFAULTS.gracefulShutdownTimeout,
      ...(raw.workers !== undefined && { workers: raw.workers }),
      ...this.runAs(raw),
      ...(raw['trusted-proxies'] !== undefined && { trustedProxies: raw['trusted-proxies'] }),
      ...(manager && { manager }),
      ...(raw['shared-state'] && { sharedState: this.sharedState(raw['shared-state']) }),
      ...managed,
      ...(raw.client && clientSettings(raw.client)),
    };
    return { config, diagnostics: this.#r.diagnostics };
  }

  /** A group alone would change the group and keep root, which is no drop at all. */
  runAs({ user, group }: NativeFile): Pick<SticklerConfig, 'runAs'> {
    if (group !== undefined && user === undefined) this.#r.report('error', ['group'], 'group without user would keep serving as root; expected user too, such as user: www-data');
    if (user === undefined) return {};
    return { runAs: { user: { ...user, source: this.#r.source(['user']) }, ...(group !== undefined && { group: { ...group, source: this.#r.source(['group']) } }) } };
  }

  sharedState(raw: NonNullable<NativeFile['shared-state']>): SharedStateConfig {
    const path: KeyPath = ['shared-state'];
    // A password in the configuration file is read by everyone who may read the file; the file must name it.
    if (hasPassword(raw.url)) this.#r.report('error', [...path, 'url'], 'the URL carries a password; expected it in password-file, readable by its owner only');
    if ((raw.sentinels === undefined) !== (raw['master-name'] === undefined)) {
      this.#r.report('error', path, 'sentinels and master-name go together: expected both or neither');
    }
    const tls = raw.tls && {
      ...(raw.tls['ca-file'] !== undefined && { caFile: this.#r.file(raw.tls['ca-file']) }),
      ...(raw.tls['certificate-file'] !== undefined && { certificateFile: this.#r.file(raw.tls['certificate-file']) }),
      ...(raw.tls['key-file'] !== undefined && { keyFile: this.#r.file(raw.tls['key-file']) }),
    };
    return {
      source: this.#r.source(path),
      url: raw.url,
      keyPrefix: raw['key-prefix'] ?? DEFAULT_KEY_PREFIX,
      ...(raw['password-file'] !== undefined && { passwordFile: this.#r.file(raw['password-file']) }),
      ...(tls && { tls }),
      ...(raw.sentinels !== undefined && { sentinels: raw.sentinels }),
      ...(raw['master-name'] !== undefined && { masterName: raw['master-name'] }),
      ...(raw.instance !== undefined && { instance: raw.instance }),
      ...(raw['health-rule'] !== undefined && { healthRule: raw['health-rule'] }),
    };
  }

  /**
   * The manager gets a listener and a virtual host of its own (127.0.0.1:9090 unless told otherwise), so it is
   * never reachable through the public port by accident.
   */
  manager(raw: NonNullable<NativeFile['manager']>, listeners: ListenerConfig[], virtualHosts: VirtualHostConfig[]): ManagerConfig {
    const path: KeyPath = ['manager'];
    const source = this.#r.source(path);
    const files: ManagerConfig = {
      source,
      ...(raw['htpasswd-file'] !== undefined && { htpasswdFile: this.#r.file(raw['htpasswd-file']) }),
      ...(raw['token-file'] !== undefined && { tokenFile: this.#r.file(raw['token-file']) }),
      ...(raw['state-file'] !== undefined && { stateFile: this.#r.file(raw['state-file']) }),
      ...(raw['audit-log'] !== undefined && { auditLog: this.#r.file(raw['audit-log']) }),
    };
    // Served only where virtual hosts' locations mount it (what a converted Apache file says).
    if (raw['own-listener'] === false) return files;
    const d = NATIVE_DEFAULTS.manager;
    const host = raw.host ?? d.host;
    const port = raw.port ?? d.port;
    if (listeners.some((l) => l.port === port)) {
      this.#r.report('error', raw.port === undefined ? path : [...path, 'port'], `the manager's port ${port} is already a listener's; expected a port of its own (manager.port)`);
    }
    const tls = raw.tls && buildTls(raw.tls, [...path, 'tls'], this.#r);
    listeners.push({ source, host, port, tls: tls !== undefined });
    virtualHosts.push({
      source,
      host: '*',
      port,
      serverName: 'localhost',
      serverAliases: [],
      ...(tls && { tls }),
      backendTls: { ...NATIVE_DEFAULTS.backendTls },
      preserveHost: false,
      addForwardedHeaders: false,
      routes: [],
      reverse: [],
      cookiePaths: [],
      cookieDomains: [],
      locations: [{ source, path: raw.path ?? d.path, handler: 'balancer-manager', access: this.accessRules(raw.access, [...path, 'access']) }],
      proxyAccess: [],
    });
    return { ...files, ownListener: true };
  }

  /** A member that is one of the listeners, the manager's included (see member-loop.ts). */
  checkMemberLoops(balancers: BalancerConfig[], listeners: ListenerConfig[]): void {
    const machine = thisMachine();
    for (const b of balancers) {
      b.members.forEach((m, i) => {
        const problem = memberLoopProblem(m.url, listeners, machine);
        if (problem) this.#r.report('error', ['balancers', b.name, 'members', i, 'url'], problem);
      });
    }
  }

  listeners(raw: NativeFile, virtualHosts: VirtualHostConfig[]): ListenerConfig[] {
    const servesTls = (port: number) => virtualHosts.some((v) => v.port === port && v.tls !== undefined);
    if (raw.listeners === undefined) {
      // Without a listeners list, every virtual-host port is listened on, on all addresses.
      const ports = [...new Map(virtualHosts.map((v) => [v.port, v.source])).entries()];
      return ports.map(([port, source]) => ({ source, host: NATIVE_DEFAULTS.listenerHost, port, tls: servesTls(port) }));
    }
    const seen = new Map<string, number>();
    const listeners = raw.listeners.map((l, i): ListenerConfig => {
      const path = ['listeners', i];
      const listener = { source: this.#r.source(path), host: l.host ?? NATIVE_DEFAULTS.listenerHost, port: l.port, tls: l.tls ?? servesTls(l.port) };
      const key = `${listener.host}:${listener.port}`;
      const first = seen.get(key);
      if (first !== undefined) this.#r.report('error', path, `duplicate listener ${key}; the first is at line ${first}`);
      else seen.set(key, listener.source.line);
      return listener;
    });
    virtualHosts.forEach((v, i) => {
      if (!listeners.some((l) => l.port === v.port)) {
        this.#r.report('warning', ['virtual-hosts', i, 'port'], `no listener has port ${v.port}, so this virtual host never receives requests`);
      }
    });
    return listeners;
  }

  virtualHost(raw: NativeVirtualHost, path: KeyPath, balancers: BalancerConfig[]): VirtualHostConfig {
    const d = NATIVE_DEFAULTS.virtualHost;
    const backend = raw['backend-tls'];
    const backendTls: BackendTls = {
      enabled: backend?.enabled ?? NATIVE_DEFAULTS.backendTls.enabled,
      verify: backend?.verify ?? NATIVE_DEFAULTS.backendTls.verify,
      checkPeerName: backend?.['check-peer-name'] ?? NATIVE_DEFAULTS.backendTls.checkPeerName,
      ...(backend?.['ca-file'] !== undefined && { caFile: this.#r.file(backend['ca-file']), caSource: this.#r.source([...path, 'backend-tls', 'ca-file']) }),
      ...(backend?.['client-certificate'] && { clientCertificate: buildClientCertificate(backend['client-certificate'], [...path, 'backend-tls', 'client-certificate'], this.#r) }),
      ...(backend !== undefined && { source: this.#r.source([...path, 'backend-tls']) }),
    };
    const routes = (raw.routes ?? []).map((r, i) => this.route(r, [...path, 'routes', i]));
    this.checkRoutes(routes, path, balancers, backendTls);
    const hostNames = [...(raw['server-name'] === undefined ? [] : [raw['server-name']]), ...(raw['server-aliases'] ?? [])];
    const acme = raw.acme && buildManagedDomain(this.#acmeSection, raw.acme, hostNames, raw['server-admin'], [...path, 'acme'], this.#r);
    return {
      source: this.#r.source(path),
      host: raw.host ?? d.host,
      port: raw.port,
      ...(raw['server-name'] !== undefined && { serverName: raw['server-name'] }),
      serverAliases: raw['server-aliases'] ?? [],
      ...(raw['server-admin'] !== undefined && { serverAdmin: raw['server-admin'] }),
      ...(acme && { acme }),
      ...((raw.tls !== undefined || acme) && { tls: buildTls(raw.tls ?? {}, [...path, 'tls'], this.#r, acme && domainFiles(acme.settings.storeDir, acme)) }),
      backendTls,
      preserveHost: raw['preserve-host'] ?? d.preserveHost,
      addForwardedHeaders: raw['forwarded-headers'] ?? d.addForwardedHeaders,
      routes,
      reverse: (raw.reverse ?? []).map((r, i) => ({ source: this.#r.source([...path, 'reverse', i]), path: r.path, url: r.url })),
      cookiePaths: (raw['cookie-paths'] ?? []).map((c, i) => ({ source: this.#r.source([...path, 'cookie-paths', i]), ...c })),
      cookieDomains: (raw['cookie-domains'] ?? []).map((c, i) => ({ source: this.#r.source([...path, 'cookie-domains', i]), ...c })),
      locations: (raw.locations ?? []).map((l, i): LocationConfig => {
        const at = [...path, 'locations', i];
        return {
          source: this.#r.source(at),
          path: l.path,
          ...(l.handler !== undefined && { handler: l.handler }),
          access: this.accessRules(l.access, [...at, 'access']),
        };
      }),
      proxyAccess: this.accessRules(raw['proxy-access'], [...path, 'proxy-access']),
      ...(raw.logs?.length && { logs: this.accessLogs(raw.logs, [...path, 'logs']) }),
      ...(raw['header-rules']?.length && { headerRules: this.headerRules(raw['header-rules'], [...path, 'header-rules']) }),
    };
  }

  /** Each entry as the HeaderRule the Apache reader makes of the same line, checked by the same rules. */
  headerRules(raw: NativeHeaderRule[], path: KeyPath): HeaderRule[] {
    return raw.flatMap((r, i) => {
      const at = [...path, i];
      const rule = this.headerRule(r, at);
      if (typeof rule === 'string') {
        this.#r.report('error', at, rule);
        return [];
      }
      const problem = headerRuleProblem(rule);
      if (problem !== undefined) {
        this.#r.report('error', at, problem);
        return [];
      }
      return [rule];
    });
  }

  headerRule(r: NativeHeaderRule, at: KeyPath): HeaderRule | string {
    const { direction, action } = r;
    const takesValue = action !== 'unset' && action !== 'echo';
    const takesPattern = action === 'edit' || action === 'edit*' || action === 'echo';
    if (direction === 'request' && r.condition !== undefined) return 'condition applies to response rules only (RequestHeader has none); remove it';
    if (direction === 'request' && action === 'echo') return 'echo copies request headers into the response; expected direction: response';
    if (action === 'echo' ? r.header !== undefined : r.header === undefined) {
      return action === 'echo' ? 'echo takes pattern (a regular expression on request header names), not header' : `${action} needs header: NAME`;
    }
    if (takesValue !== (r.value !== undefined)) return takesValue ? `${action} needs value: VALUE` : `${action} takes no value; remove it`;
    if (takesPattern !== (r.pattern !== undefined)) return takesPattern ? `${action} needs pattern: REGEX` : `${action} takes no pattern; only edit, edit* and echo do`;
    if (r.location !== undefined && r.proxy !== undefined) return 'a rule covers either a location or a proxy target, not both; split it into two rules';
    // A bare name is a balancer's; `*` and URLs are read as a <Proxy> section's argument.
    const place = r.proxy === undefined ? {} : r.proxy === '*' || r.proxy.includes('://') ? proxyScope(r.proxy) : { proxy: r.proxy };
    if (typeof place === 'string') return `proxy: ${place}`;
    return {
      source: this.#r.source(at),
      direction,
      condition: r.condition ?? 'onsuccess',
      action,
      header: r.header ?? r.pattern ?? '',
      ...(r.value !== undefined && { value: r.value }),
      ...(r.pattern !== undefined && action !== 'echo' && { pattern: r.pattern }),
      ...(r.env && { env: r.env }),
      ...(r.location !== undefined && { location: r.location }),
      ...place,
    };
  }

  /** Files are relative to the configuration file; `-` and piped commands are taken as written. */
  logDestination(access: string): string {
    return access === '-' || access.startsWith('|') ? access : this.#r.file(access);
  }

  accessLogs(raw: NonNullable<NativeVirtualHost['logs']>, path: KeyPath): AccessLogConfig[] {
    return raw.map((l, i) => ({
      source: this.#r.source([...path, i]),
      destination: this.logDestination(l.access),
      format: l.format ?? NATIVE_DEFAULTS.logFormat,
      ...(l.when && { condition: l.when }),
    }));
  }

  route(raw: NonNullable<NativeVirtualHost['routes']>[number], path: KeyPath): RouteConfig {
    const source = this.#r.source(path);
    if (raw.exclude === true) {
      if (raw.balancer !== undefined || raw['backend-path'] !== undefined) {
        this.#r.report('error', [...path, 'exclude'], 'an excluded path is not proxied; remove balancer and backend-path, or exclude');
      }
      return { source, path: raw.path, target: { kind: 'exclude' } };
    }
    if (raw.balancer === undefined) {
      this.#r.report('error', path, 'expected balancer: NAME to proxy this path, or exclude: true to keep it local');
    }
    return {
      source,
      path: raw.path,
      target: { kind: 'balancer', balancer: raw.balancer ?? '', path: raw['backend-path'] ?? raw.path, ...(raw.upgrade && { upgrade: raw.upgrade }) },
    };
  }

  checkRoutes(routes: RouteConfig[], vhostPath: KeyPath, balancers: BalancerConfig[], backendTls: BackendTls): void {
    const at = (i: number, key: string) => [...vhostPath, 'routes', i, key];
    this.#r.reportDuplicates(routes.map((r) => r.path), (i) => at(i, 'path'), 'route for path');
    routes.forEach((route, i) => {
      const shadow = routes.slice(0, i).find((r) => r.path !== route.path && prefixCovers(r.path, route.path));
      if (shadow) {
        this.#r.report('warning', at(i, 'path'),
          `never used: the route for "${shadow.path}" at line ${shadow.source.line} matches first (routes are tried in order)`);
      }
      const target = route.target;
      if (target.kind !== 'balancer' || target.balancer === '') return;
      const balancer = balancers.find((b) => b.name === target.balancer);
      if (!balancer) {
        const known = balancers.map((b) => b.name).join(', ') || 'none';
        this.#r.report('error', at(i, 'balancer'), `balancer "${target.balancer}" is not defined; defined balancers: ${known}`);
        return;
      }
      const https = balancer.members.find((m) => m.url.toLowerCase().startsWith('https:'));
      if (https && !backendTls.enabled) {
        this.#r.report('error', at(i, 'balancer'),
          `balancer "${balancer.name}" has https:// members (line ${https.source.line}) but backend TLS is off for this virtual host; set backend-tls: { enabled: true }`);
      }
    });
  }

  accessRules(raw: NativeAccessRule[] | undefined, path: KeyPath): AccessRule[] {
    const rules: AccessRule[] = [];
    (raw ?? []).forEach((r, i) => {
      const at = [...path, i];
      const source = this.#r.source(at);
      const legacy = r.order !== undefined || r.allow !== undefined || r.deny !== undefined;
      if (r.require !== undefined) {
        if (legacy) this.#r.report('error', at, 'a rule is either require: or order/allow/deny, not both; split it into two entries');
        rules.push({ kind: 'require', source, negate: r.require.negate, match: r.require.match });
      } else if (legacy) {
        rules.push({ kind: 'legacy', source, order: r.order ?? 'deny,allow', allow: r.allow ?? [], deny: r.deny ?? [] });
      } else {
        this.#r.report('error', at, 'expected require: (such as all granted or ip 10.0.0.0/8) or order/allow/deny');
      }
    });
    return rules;
  }

}

/** The `client` keys the file gives, as model fields; nothing when it gives none. */
function clientSettings(raw: NonNullable<NativeFile['client']>): Pick<SticklerConfig, 'client'> {
  const client: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(CLIENT_KEYS)) {
    const value = raw[key as keyof typeof raw];
    if (value !== undefined) client[field] = value;
  }
  return Object.keys(client).length > 0 ? { client: client as Partial<ClientPolicy> } : {};
}
