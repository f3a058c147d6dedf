// Turns a schema-checked native file into the shared model: fills in defaults, resolves relative file names,
// records the source line of every object, and runs the checks that need more than one key at a time
// (routes to undefined balancers, duplicates, members unreachable without backend TLS).

import { resolve } from 'node:path';
import type {
  AccessLogConfig, AccessRule, BackendTls, BalancerConfig, ClientPolicy, Diagnostic, HealthCheckConfig, ListenerConfig, LocationConfig, ManagerConfig, MemberConfig,
  RouteConfig, Source, SticklerConfig, TlsFiles, VirtualHostConfig,
} from '../model.ts';
import { checkCipherSuites, checkCiphers, checkProtocols, policyConflicts, tlsPolicy, type Finding } from '../tls-profile.ts';
import { healthCheckWarnings } from '../health-check.ts';
import { memberLoopProblem } from '../member-loop.ts';
import { thisMachine } from '../this-machine.ts';
import { foldDualStack } from '../listeners.ts';
import { NATIVE_DEFAULTS } from './defaults.ts';
import { formatKeyPath, type KeyPath, type Locator } from './locate.ts';
import { CLIENT_KEYS, type NativeAccessRule, type NativeBalancer, type NativeFile, type NativeTls, type NativeVirtualHost } from './schema.ts';

export interface BuildContext {
  file: string;
  /** Relative file names in the configuration are relative to the YAML file's directory. */
  baseDir: string;
  locator: Locator;
}

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
  readonly #context: BuildContext;
  readonly diagnostics: Diagnostic[] = [];

  constructor(context: BuildContext) {
    this.#context = context;
  }

  build(raw: NativeFile): BuildResult {
    const balancers = Object.entries(raw.balancers ?? {}).map(([name, b]) => this.balancer(name, b));
    const virtualHosts = (raw['virtual-hosts'] ?? []).map((v, i) => this.virtualHost(v, ['virtual-hosts', i], balancers));
    if (virtualHosts.length === 0) {
      this.report('error', ['virtual-hosts'], 'no virtual hosts are defined; expected at least one entry with a port');
    }
    const listeners = foldDualStack(this.listeners(raw, virtualHosts));
    const manager = raw.manager && this.manager(raw.manager, listeners, virtualHosts);
    this.checkMemberLoops(balancers, listeners);
    for (const { port, first, vhost } of policyConflicts(listeners, virtualHosts)) {
      this.report('error', ['virtual-hosts', virtualHosts.indexOf(vhost), 'tls'], `its profile, protocols, ciphers, cipher-suites or honor-cipher-order differ from those of the virtual host at line ${first.source.line}, which every handshake on port ${port} uses (Node chooses only the certificate by server name); expected the same settings for every virtual host on the port`);
    }
    const config: SticklerConfig = {
      dialect: 'native',
      listeners,
      virtualHosts,
      balancers,
      log: {
        ...(raw.log?.access !== undefined && { access: this.logDestination(raw.log.access), source: this.source(['log', 'access']) }),
        format: raw.log?.format ?? NATIVE_DEFAULTS.logFormat,
        ...(raw.log?.logs?.length && { logs: this.accessLogs(raw.log.logs, ['log', 'logs']) }),
      },
      timeout: raw.timeout ?? NATIVE_DEFAULTS.timeout,
      keepAliveTimeout: raw['keep-alive-timeout'] ?? NATIVE_DEFAULTS.keepAliveTimeout,
      gracefulShutdownTimeout: raw['graceful-shutdown-timeout'] ?? NATIVE_DEFAULTS.gracefulShutdownTimeout,
      ...(raw.workers !== undefined && { workers: raw.workers }),
      ...(raw['trusted-proxies'] !== undefined && { trustedProxies: raw['trusted-proxies'] }),
      ...(manager && { manager }),
      ...(raw.client && clientSettings(raw.client)),
    };
    return { config, diagnostics: this.diagnostics };
  }

  /**
   * The manager gets a listener and a virtual host of its own (127.0.0.1:9090 unless told otherwise), so it is
   * never reachable through the public port by accident.
   */
  manager(raw: NonNullable<NativeFile['manager']>, listeners: ListenerConfig[], virtualHosts: VirtualHostConfig[]): ManagerConfig {
    const path: KeyPath = ['manager'];
    const source = this.source(path);
    const files: ManagerConfig = {
      source,
      ...(raw['htpasswd-file'] !== undefined && { htpasswdFile: this.file(raw['htpasswd-file']) }),
      ...(raw['token-file'] !== undefined && { tokenFile: this.file(raw['token-file']) }),
      ...(raw['state-file'] !== undefined && { stateFile: this.file(raw['state-file']) }),
      ...(raw['audit-log'] !== undefined && { auditLog: this.file(raw['audit-log']) }),
    };
    // Served only where virtual hosts' locations mount it (what a converted Apache file says).
    if (raw['own-listener'] === false) return files;
    const d = NATIVE_DEFAULTS.manager;
    const host = raw.host ?? d.host;
    const port = raw.port ?? d.port;
    if (listeners.some((l) => l.port === port)) {
      this.report('error', raw.port === undefined ? path : [...path, 'port'], `the manager's port ${port} is already a listener's; expected a port of its own (manager.port)`);
    }
    const tls = raw.tls && this.tls(raw.tls, [...path, 'tls']);
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
        if (problem) this.report('error', ['balancers', b.name, 'members', i, 'url'], problem);
      });
    }
  }

  report(severity: Diagnostic['severity'], path: KeyPath, message: string): void {
    this.diagnostics.push({ severity, ...this.source(path), directive: formatKeyPath(path), message });
  }

  source(path: KeyPath): Source {
    return { file: this.#context.file, line: this.#context.locator.lineOf(path) };
  }

  file(name: string): string {
    return resolve(this.#context.baseDir, name);
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
      const listener = { source: this.source(path), host: l.host ?? NATIVE_DEFAULTS.listenerHost, port: l.port, tls: l.tls ?? servesTls(l.port) };
      const key = `${listener.host}:${listener.port}`;
      const first = seen.get(key);
      if (first !== undefined) this.report('error', path, `duplicate listener ${key}; the first is at line ${first}`);
      else seen.set(key, listener.source.line);
      return listener;
    });
    virtualHosts.forEach((v, i) => {
      if (!listeners.some((l) => l.port === v.port)) {
        this.report('warning', ['virtual-hosts', i, 'port'], `no listener has port ${v.port}, so this virtual host never receives requests`);
      }
    });
    return listeners;
  }

  balancer(name: string, raw: NativeBalancer): BalancerConfig {
    const path = ['balancers', name];
    if (!/^[^\s/]+$/.test(name)) {
      this.report('error', path, `invalid balancer name "${name}"; expected a name without spaces or "/", such as wso2.identity`);
    }
    const members = (raw.members ?? []).map((m, i) => this.member(m, [...path, 'members', i]));
    if (members.length === 0) {
      this.report('error', raw.members === undefined ? path : [...path, 'members'],
        `balancer "${name}" has no members; expected a members list with at least one url`);
    }
    this.reportDuplicates(members.map((m) => m.url), (i) => [...path, 'members', i, 'url'], 'member url');
    const d = NATIVE_DEFAULTS.balancer;
    return {
      source: this.source(path),
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
      ...(raw['retry-body-limit'] !== undefined && { retryBodyLimit: raw['retry-body-limit'] }),
      members,
    };
  }

  member(raw: NonNullable<NativeBalancer['members']>[number], path: KeyPath): MemberConfig {
    if (!isBackendUrl(raw.url)) {
      this.report('error', [...path, 'url'], `expected an http:// or https:// URL such as https://10.0.0.5:9443, got "${raw.url}"`);
    }
    const d = NATIVE_DEFAULTS.member;
    return {
      source: this.source(path),
      url: raw.url,
      route: raw.route ?? d.route,
      redirect: raw.redirect ?? d.redirect,
      loadfactor: raw.loadfactor ?? d.loadfactor,
      lbset: raw.lbset ?? d.lbset,
      status: raw.status ?? [],
      retry: raw.retry ?? d.retry,
      ...(raw.timeout !== undefined && { timeout: raw.timeout }),
      ...(raw['connection-timeout'] !== undefined && { connectionTimeout: raw['connection-timeout'] }),
      ...(raw['health-check'] && { healthCheck: this.healthCheck(raw['health-check'], [...path, 'health-check']) }),
    };
  }

  healthCheck(raw: NonNullable<NonNullable<NativeBalancer['members']>[number]['health-check']>, path: KeyPath): HealthCheckConfig {
    const d = NATIVE_DEFAULTS.healthCheck;
    const check: HealthCheckConfig = {
      method: raw.method,
      uri: raw.uri ?? d.uri,
      interval: raw.interval ?? d.interval,
      passes: raw.passes ?? d.passes,
      fails: raw.fails ?? d.fails,
      // The native format writes the condition in place; only Apache's ProxyHCExpr gives it a name.
      ...(raw.expr !== undefined && { expr: { name: '', text: raw.expr, source: this.source([...path, 'expr']) } }),
    };
    for (const warning of healthCheckWarnings(check, { uri: 'uri', expr: 'expr' })) this.report('warning', path, warning);
    return check;
  }

  /** A `tls` mapping: the files, what the handshakes offer (checked against the profile) and HSTS. */
  tls(raw: NativeTls, path: KeyPath): TlsFiles {
    const profile = raw.profile ?? 'intermediate';
    const findings: Array<[string, Finding | undefined]> = [
      ['protocols', raw.protocols && checkProtocols(profile, raw.protocols)],
      ['ciphers', raw.ciphers === undefined ? undefined : checkCiphers(profile, raw.ciphers)],
      ['cipher-suites', raw['cipher-suites'] === undefined ? undefined : checkCipherSuites(profile, raw['cipher-suites'])],
    ];
    for (const [key, finding] of findings) if (finding) this.report(finding.severity, [...path, key], finding.message);
    const policy = tlsPolicy({
      source: this.source(path), profile: raw.profile, protocols: raw.protocols, ciphers: raw.ciphers,
      cipherSuites: raw['cipher-suites'], honorCipherOrder: raw['honor-cipher-order'],
    });
    const hsts = raw.hsts;
    return {
      source: this.source([...path, 'certificate-file']),
      certificateFile: this.file(raw['certificate-file']),
      keyFile: this.file(raw['key-file']),
      keySource: this.source([...path, 'key-file']),
      ...(raw['chain-file'] !== undefined && { chainFile: this.file(raw['chain-file']), chainSource: this.source([...path, 'chain-file']) }),
      ...(raw['ocsp-response-file'] !== undefined && { ocspResponseFile: this.file(raw['ocsp-response-file']), ocspSource: this.source([...path, 'ocsp-response-file']) }),
      ...(policy && { policy }),
      ...(hsts && {
        hsts: {
          source: this.source([...path, 'hsts']),
          maxAge: hsts['max-age'] ?? NATIVE_DEFAULTS.hsts.maxAge,
          includeSubDomains: hsts['include-subdomains'] ?? NATIVE_DEFAULTS.hsts.includeSubDomains,
          preload: hsts.preload ?? NATIVE_DEFAULTS.hsts.preload,
        },
      }),
    };
  }

  virtualHost(raw: NativeVirtualHost, path: KeyPath, balancers: BalancerConfig[]): VirtualHostConfig {
    const d = NATIVE_DEFAULTS.virtualHost;
    const backend = raw['backend-tls'];
    const backendTls: BackendTls = {
      enabled: backend?.enabled ?? NATIVE_DEFAULTS.backendTls.enabled,
      verify: backend?.verify ?? NATIVE_DEFAULTS.backendTls.verify,
      checkPeerName: backend?.['check-peer-name'] ?? NATIVE_DEFAULTS.backendTls.checkPeerName,
      ...(backend?.['ca-file'] !== undefined && { caFile: this.file(backend['ca-file']), caSource: this.source([...path, 'backend-tls', 'ca-file']) }),
      ...(backend !== undefined && { source: this.source([...path, 'backend-tls']) }),
    };
    const routes = (raw.routes ?? []).map((r, i) => this.route(r, [...path, 'routes', i]));
    this.checkRoutes(routes, path, balancers, backendTls);
    return {
      source: this.source(path),
      host: raw.host ?? d.host,
      port: raw.port,
      ...(raw['server-name'] !== undefined && { serverName: raw['server-name'] }),
      serverAliases: raw['server-aliases'] ?? [],
      ...(raw['server-admin'] !== undefined && { serverAdmin: raw['server-admin'] }),
      ...(raw.tls !== undefined && { tls: this.tls(raw.tls, [...path, 'tls']) }),
      backendTls,
      preserveHost: raw['preserve-host'] ?? d.preserveHost,
      addForwardedHeaders: raw['forwarded-headers'] ?? d.addForwardedHeaders,
      routes,
      reverse: (raw.reverse ?? []).map((r, i) => ({ source: this.source([...path, 'reverse', i]), path: r.path, url: r.url })),
      cookiePaths: (raw['cookie-paths'] ?? []).map((c, i) => ({ source: this.source([...path, 'cookie-paths', i]), ...c })),
      cookieDomains: (raw['cookie-domains'] ?? []).map((c, i) => ({ source: this.source([...path, 'cookie-domains', i]), ...c })),
      locations: (raw.locations ?? []).map((l, i): LocationConfig => {
        const at = [...path, 'locations', i];
        return {
          source: this.source(at),
          path: l.path,
          ...(l.handler !== undefined && { handler: l.handler }),
          access: this.accessRules(l.access, [...at, 'access']),
        };
      }),
      proxyAccess: this.accessRules(raw['proxy-access'], [...path, 'proxy-access']),
      ...(raw.logs?.length && { logs: this.accessLogs(raw.logs, [...path, 'logs']) }),
    };
  }

  /** Files are relative to the configuration file; `-` and piped commands are taken as written. */
  logDestination(access: string): string {
    return access === '-' || access.startsWith('|') ? access : this.file(access);
  }

  accessLogs(raw: NonNullable<NativeVirtualHost['logs']>, path: KeyPath): AccessLogConfig[] {
    return raw.map((l, i) => ({
      source: this.source([...path, i]),
      destination: this.logDestination(l.access),
      format: l.format ?? NATIVE_DEFAULTS.logFormat,
      ...(l.when && { condition: l.when }),
    }));
  }

  route(raw: NonNullable<NativeVirtualHost['routes']>[number], path: KeyPath): RouteConfig {
    const source = this.source(path);
    if (raw.exclude === true) {
      if (raw.balancer !== undefined || raw['backend-path'] !== undefined) {
        this.report('error', [...path, 'exclude'], 'an excluded path is not proxied; remove balancer and backend-path, or exclude');
      }
      return { source, path: raw.path, target: { kind: 'exclude' } };
    }
    if (raw.balancer === undefined) {
      this.report('error', path, 'expected balancer: NAME to proxy this path, or exclude: true to keep it local');
    }
    return {
      source,
      path: raw.path,
      target: { kind: 'balancer', balancer: raw.balancer ?? '', path: raw['backend-path'] ?? raw.path, ...(raw.upgrade && { upgrade: raw.upgrade }) },
    };
  }

  checkRoutes(routes: RouteConfig[], vhostPath: KeyPath, balancers: BalancerConfig[], backendTls: BackendTls): void {
    const at = (i: number, key: string) => [...vhostPath, 'routes', i, key];
    this.reportDuplicates(routes.map((r) => r.path), (i) => at(i, 'path'), 'route for path');
    routes.forEach((route, i) => {
      const shadow = routes.slice(0, i).find((r) => r.path !== route.path && prefixCovers(r.path, route.path));
      if (shadow) {
        this.report('warning', at(i, 'path'),
          `never used: the route for "${shadow.path}" at line ${shadow.source.line} matches first (routes are tried in order)`);
      }
      const target = route.target;
      if (target.kind !== 'balancer' || target.balancer === '') return;
      const balancer = balancers.find((b) => b.name === target.balancer);
      if (!balancer) {
        const known = balancers.map((b) => b.name).join(', ') || 'none';
        this.report('error', at(i, 'balancer'), `balancer "${target.balancer}" is not defined; defined balancers: ${known}`);
        return;
      }
      const https = balancer.members.find((m) => m.url.toLowerCase().startsWith('https:'));
      if (https && !backendTls.enabled) {
        this.report('error', at(i, 'balancer'),
          `balancer "${balancer.name}" has https:// members (line ${https.source.line}) but backend TLS is off for this virtual host; set backend-tls: { enabled: true }`);
      }
    });
  }

  accessRules(raw: NativeAccessRule[] | undefined, path: KeyPath): AccessRule[] {
    const rules: AccessRule[] = [];
    (raw ?? []).forEach((r, i) => {
      const at = [...path, i];
      const source = this.source(at);
      const legacy = r.order !== undefined || r.allow !== undefined || r.deny !== undefined;
      if (r.require !== undefined) {
        if (legacy) this.report('error', at, 'a rule is either require: or order/allow/deny, not both; split it into two entries');
        rules.push({ kind: 'require', source, negate: r.require.negate, match: r.require.match });
      } else if (legacy) {
        rules.push({ kind: 'legacy', source, order: r.order ?? 'deny,allow', allow: r.allow ?? [], deny: r.deny ?? [] });
      } else {
        this.report('error', at, 'expected require: (such as all granted or ip 10.0.0.0/8) or order/allow/deny');
      }
    });
    return rules;
  }

  reportDuplicates(values: string[], pathOf: (i: number) => KeyPath, what: string): void {
    const first = new Map<string, number>();
    values.forEach((value, i) => {
      const seen = first.get(value);
      if (seen === undefined) first.set(value, i);
      else this.report('error', pathOf(i), `duplicate ${what} "${value}"; the first is at line ${this.#context.locator.lineOf(pathOf(seen))}`);
    });
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

function isBackendUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}
