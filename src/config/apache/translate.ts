// The parsed tree → per-server drafts, listeners, global settings and the balancer registry. This is where
// directive contexts, argument counts and values are checked; httpd's inheritance and the cross-checks that
// need the whole configuration are in assemble.ts.
import { parseIpRange } from '../ip-range.ts';
import { checkCipherSuites, checkCiphers } from '../tls-profile.ts';
import { upgradeProtocols } from '../upgrade.ts';
import type { ClientPolicy, Millis, ReadTimeout, RouteConfig, Source } from '../model.ts';
import { parseHealthExpr } from '../health-expr.ts';
import { AccessBuilder } from './access.ts';
import { BalancerRegistry, parseBackendUrl, where } from './balancers.ts';
import { NOT_IMPLEMENTED, type Context } from './directives.ts';
import { tokenize } from './lexer.ts';
import { readBufferedLogs, readCustomLog, readLogFormat } from './logs.ts';
import type { Param } from './params.ts';
import { splitParam } from './params.ts';
import type { ConfigNode, DirectiveNode, SectionNode } from './parse.ts';
import { resolveFrom } from './parse.ts';
import type { Report } from './report.ts';
import type { ServerDraft, Setting } from './server-draft.ts';
import { newServerDraft } from './server-draft.ts';
import { hstsHeaderLine, parseCipherSuite, parseHstsValue, parseSslProtocol } from './tls.ts';
import { parseDuration, parseOnOff } from './values.ts';
import { parseRequestReadTimeout, type ReadStage } from './read-timeout.ts';

export interface Listen {
  source: Source;
  host: string;
  port: number;
  /** Not written: the address of a `<VirtualHost>` in a configuration without any Listen. */
  implied?: true;
}

export interface Walked {
  main: ServerDraft;
  vhosts: ServerDraft[];
  listens: Listen[];
  timeout?: Millis;
  proxyTimeout?: Millis;
  keepAliveTimeout?: Millis;
  gracefulShutdownTimeout?: Millis;
  /** `BalancerPersist On`: manager changes are kept in this state file (beside ServerRoot's files). */
  balancerPersist?: Setting<string>;
  /** The AuthUserFile of the balancer-manager location. */
  managerUsers?: Setting<string>;
  /** RemoteIPTrustedProxy and RemoteIPInternalProxy of the main server. */
  trustedProxies?: string[];
  /** Client limits and read timeouts the main server sets (LimitRequest*, RequestReadTimeout). */
  client: Partial<ClientPolicy>;
  balancers: BalancerRegistry;
}

/** The section a directive sits in, beyond its server. */
interface Scope {
  context: Context;
  server: ServerDraft;
  /** `<Proxy url>` argument. */
  proxyUrl?: string;
  /** `<Location path>` argument. */
  locationPath?: string;
  access?: AccessBuilder;
  /** The ProxyPass of the current <Location>, if any. */
  locationRoute?: RouteConfig;
  handler?: 'balancer-manager';
  /** `AuthUserFile` of the current <Location>. */
  userFile?: Setting<string>;
}

const CONTEXT_NAMES: Record<Context, string> = {
  main: 'the main server',
  vhost: 'a <VirtualHost>',
  proxy: 'a <Proxy> section',
  location: 'a <Location> section',
};

const SECTION_CONTEXTS: Record<string, readonly Context[]> = {
  VirtualHost: ['main'],
  Proxy: ['main', 'vhost'],
  Location: ['main', 'vhost'],
};

const REJECTED_SECTIONS: Record<string, string> = {
  LocationMatch: 'regular-expression locations are not supported by Stickler; expected <Location> with a path prefix',
  ProxyMatch: 'regular-expression proxy sections are not supported by Stickler; expected <Proxy url>',
  RequireAll: 'authorization containers are not supported by Stickler; expected plain Require lines (any one grants access)',
  RequireAny: 'authorization containers are not supported by Stickler; expected plain Require lines (any one grants access)',
  RequireNone: 'authorization containers are not supported by Stickler; expected Require not ... lines',
};

/** The LimitRequest* directives and H2MaxSessionStreams: the model field each sets, its smallest value, and what the message asks for. */
const REQUEST_LIMITS = {
  LimitRequestLine: { field: 'requestLine', min: 1, expected: 'the longest request line in bytes, such as 8190' },
  LimitRequestFieldSize: { field: 'fieldSize', min: 1, expected: 'the longest header line in bytes, such as 8190' },
  LimitRequestFields: { field: 'fields', min: 0, expected: 'the most header fields a request may have, such as 100 (0: no limit)' },
  LimitRequestBody: { field: 'bodySize', min: 0, expected: 'the largest request body in bytes, such as 1073741824 (0: no limit)' },
  H2MaxSessionStreams: { field: 'maxStreams', min: 1, expected: 'the most concurrent streams of one HTTP/2 connection, such as 100' },
} as const satisfies Record<string, { field: keyof ClientPolicy; min: number; expected: string }>;

export class Translator {
  readonly #report: Report;
  readonly #walked: Walked;
  /** How each address:port was first written in a Listen: `*` and 0.0.0.0 are one socket, not a repeated Listen. */
  readonly #listenSpelling = new Map<string, string>();

  constructor(report: Report) {
    this.#report = report;
    const main = newServerDraft({ file: '', line: 0 }, []);
    this.#walked = { main, vhosts: [], listens: [], client: {}, balancers: new BalancerRegistry(report) };
  }

  walk(nodes: ConfigNode[]): Walked {
    this.#nodes(nodes, { context: 'main', server: this.#walked.main });
    return this.#walked;
  }

  #nodes(nodes: ConfigNode[], scope: Scope): void {
    for (const node of nodes) {
      if (node.kind === 'section') this.#section(node, scope);
      else this.#directive(node, scope);
    }
  }

  #section(node: SectionNode, scope: Scope): void {
    const tag = `<${node.name}>`;
    if (node.role === 'ignored') {
      this.#report.inert(node.source, tag, `ignored: <${node.name} ${node.args.join(' ')}> and everything inside it has no meaning for Stickler`);
      return;
    }
    if (node.role === 'rejected') {
      this.#report.error(node.source, tag, REJECTED_SECTIONS[node.name] ?? `${tag} sections are not supported by Stickler; expected the configuration without ${tag}`);
      return;
    }
    const allowed = SECTION_CONTEXTS[node.name] ?? [];
    if (!allowed.includes(scope.context)) {
      this.#report.error(node.source, tag, `not allowed inside ${CONTEXT_NAMES[scope.context]}; expected it in ${allowed.map((c) => CONTEXT_NAMES[c]).join(' or ')}`);
      return;
    }
    if (node.role === 'virtualhost') this.#virtualHost(node);
    else if (node.role === 'proxy') this.#proxySection(node, scope.server);
    else if (node.role === 'location') this.#location(node, scope.server);
  }

  #virtualHost(node: SectionNode): void {
    if (node.args.length === 0) {
      this.#report.error(node.source, '<VirtualHost>', 'missing address; expected <VirtualHost host:port ...> such as <VirtualHost *:443>');
      return;
    }
    const addresses: ServerDraft['addresses'] = [];
    for (const arg of node.args) {
      const address = parseAddress(arg, true);
      if (typeof address === 'string') this.#report.error(node.source, '<VirtualHost>', address);
      else addresses.push({ host: address.host === '_default_' ? '*' : address.host, port: address.port });
    }
    const server = newServerDraft(node.source, addresses);
    this.#nodes(node.children, { context: 'vhost', server });
    if (addresses.length > 0) this.#walked.vhosts.push(server);
  }

  #proxySection(node: SectionNode, server: ServerDraft): void {
    const url = node.args[0];
    if (node.args.length !== 1 || url === undefined) {
      this.#report.error(node.source, '<Proxy>', `expected exactly one URL such as <Proxy balancer://name> or <Proxy *>, got ${node.args.length} arguments`);
      return;
    }
    const target = url === '*' ? undefined : parseBackendUrl(url);
    if (target !== undefined && typeof target !== 'string' && target.kind === 'balancer') {
      this.#walked.balancers.define(target.name, node.source, '<Proxy>');
    }
    const scope: Scope = { context: 'proxy', server, proxyUrl: url, access: new AccessBuilder(this.#report) };
    this.#nodes(node.children, scope);
    server.proxyAccess.push(...(scope.access?.rules() ?? []));
  }

  #location(node: SectionNode, server: ServerDraft): void {
    const path = node.args[0];
    if (node.args.length !== 1 || path === undefined) {
      const regex = node.args[0] === '~';
      this.#report.error(node.source, '<Location>', regex
        ? 'regular-expression locations are not supported by Stickler; expected <Location /path>'
        : `expected exactly one path such as <Location /balancer-manager>, got ${node.args.length} arguments`);
      return;
    }
    const access = new AccessBuilder(this.#report);
    const scope: Scope = { context: 'location', server, locationPath: path, access };
    this.#nodes(node.children, scope);
    if (scope.locationRoute !== undefined) server.locationRoutes.push(scope.locationRoute);
    const rules = access.rules();
    if (scope.handler === 'balancer-manager') {
      if (scope.userFile) this.#walked.managerUsers = scope.userFile;
      else if (access.validUser) this.#report.error(access.validUser, 'Require', 'Require valid-user needs AuthUserFile in the same <Location>; expected AuthUserFile pointing to an htpasswd file (bcrypt entries)');
    } else if (scope.userFile || access.validUser) {
      this.#report.warning((scope.userFile?.source ?? access.validUser)!, scope.userFile ? 'AuthUserFile' : 'Require', 'ignored: Stickler authenticates only the balancer manager');
    }
    if (scope.handler !== undefined || rules.length > 0) {
      server.locations.push({ source: node.source, path, access: rules, ...(scope.handler ? { handler: scope.handler } : {}) });
    }
  }

  #directive(node: DirectiveNode, scope: Scope): void {
    const { role, name } = node;
    if (role.role === 'ignored') {
      const message = `ignored: ${name} ${role.why ?? 'has no meaning for Stickler'}`;
      // Something Stickler does not do that the operator may rely on (Alias, Header) stays in view.
      if (role.why === undefined || role.why.startsWith('has no meaning')) this.#report.inert(node.source, name, message);
      else this.#report.warning(node.source, name, message);
      return;
    }
    if (role.role === 'rejected') {
      this.#report.error(node.source, name, role.why);
      return;
    }
    if (role.role !== 'supported') return;
    if (!role.contexts.includes(scope.context)) {
      this.#report.error(node.source, name, `not allowed inside ${CONTEXT_NAMES[scope.context]}; expected it in ${role.contexts.map((c) => CONTEXT_NAMES[c]).join(' or ')}`);
      return;
    }
    const server = scope.server;
    const src = node.source;
    switch (name) {
      case 'Listen':
        return this.#listen(node);
      case 'ServerName':
        if (this.#arity(node, 1, 1, 'a host name')) server.serverName = serverNameHost(node.args[0] ?? '');
        return;
      case 'ServerAlias':
        if (this.#arity(node, 1, Infinity, 'one or more host names')) server.serverAliases.push(...node.args);
        return;
      case 'ServerAdmin':
        if (this.#arity(node, 1, 1, 'an e-mail address or URL')) server.serverAdmin = node.args[0];
        return;
      case 'Timeout':
      case 'ProxyTimeout':
      case 'KeepAliveTimeout':
      case 'GracefulShutdownTimeout':
        return this.#timeout(node, scope);
      case 'LimitRequestLine':
      case 'LimitRequestFieldSize':
      case 'LimitRequestFields':
      case 'LimitRequestBody':
      case 'H2MaxSessionStreams':
        return this.#requestLimit(node, scope);
      case 'RequestReadTimeout':
        return this.#requestReadTimeout(node, scope);
      case 'ProxyRequests':
        if (this.#flag(node) === true) this.#report.error(src, name, 'forward proxying is not supported by Stickler; expected ProxyRequests Off (Stickler is a reverse proxy only)');
        return;
      case 'CustomLog':
      case 'TransferLog':
        return readCustomLog(node, server.log, this.#report);
      case 'LogFormat':
        return readLogFormat(node, server.log, this.#report);
      case 'BufferedLogs':
        return readBufferedLogs(node, this.#report);
      case 'SSLEngine':
        return this.#sslEngine(node, server);
      case 'SSLCertificateFile':
      case 'SSLCertificateKeyFile':
      case 'SSLCertificateChainFile':
      case 'SSLProxyCACertificateFile':
        return this.#file(node, server);
      case 'SSLProxyEngine':
        server.proxyEngine = this.#flagSetting(node) ?? server.proxyEngine;
        return;
      case 'SSLProxyVerify':
        return this.#proxyVerify(node, server);
      case 'SSLProtocol':
        return this.#sslProtocol(node, server);
      case 'SSLCipherSuite':
        return this.#cipherSuite(node, server);
      case 'SSLHonorCipherOrder':
        server.honorCipherOrder = this.#flagSetting(node) ?? server.honorCipherOrder;
        return;
      case 'Header':
        return this.#header(node, scope);
      case 'RemoteIPTrustedProxy':
      case 'RemoteIPInternalProxy':
        return this.#trustedProxies(node, scope);
      case 'SSLProxyCheckPeerName':
      case 'SSLProxyCheckPeerCN':
      case 'ProxyPreserveHost':
      case 'ProxyAddHeaders': {
        const on = this.#flag(node);
        if (on === undefined) return;
        if (name === 'SSLProxyCheckPeerName') server.checkPeerName = on;
        else if (name === 'SSLProxyCheckPeerCN') server.checkPeerCN = on;
        else if (name === 'ProxyPreserveHost') server.preserveHost = on;
        else server.addHeaders = on;
        return;
      }
      case 'ProxyPass':
        return this.#proxyPass(node, scope);
      case 'ProxyPassReverse':
        return this.#proxyPassReverse(node, scope);
      case 'ProxyPassReverseCookiePath':
      case 'ProxyPassReverseCookieDomain':
        return this.#cookieRewrite(node, server);
      case 'ProxySet':
        return this.#proxySet(node, scope);
      case 'BalancerMember':
        return this.#balancerMember(node, scope);
      case 'ProxyHCExpr':
        return this.#healthExpr(node);
      case 'Order':
      case 'Allow':
      case 'Deny':
      case 'Require':
        scope.access?.add(node);
        return;
      case 'AuthUserFile':
        if (this.#arity(node, 1, 1, 'an htpasswd file')) scope.userFile = { value: resolveFrom(node, node.args[0] ?? ''), source: src };
        return;
      case 'AuthType':
        if (this.#arity(node, 1, 1, 'Basic') && (node.args[0] ?? '').toLowerCase() !== 'basic') {
          this.#report.error(src, name, `AuthType ${node.args[0]} is not supported by Stickler; expected AuthType Basic`);
        }
        return;
      case 'AuthName':
        this.#arity(node, 1, 1, 'a realm name');
        return;
      case 'BalancerPersist':
        if (this.#flag(node) === true) this.#walked.balancerPersist = { value: resolveFrom(node, 'stickler-balancer-state.json'), source: src };
        return;
      case 'SetHandler':
        if (!this.#arity(node, 1, 1, 'a handler name')) return;
        if ((node.args[0] ?? '').toLowerCase() === 'balancer-manager') scope.handler = 'balancer-manager';
        else this.#report.warning(src, name, `ignored: handler "${node.args[0]}" has no meaning for Stickler (only balancer-manager is served)`);
        return;
    }
  }

  #arity(node: DirectiveNode, min: number, max: number, expected: string): boolean {
    const n = node.args.length;
    if (n >= min && n <= max) return true;
    const what = n < min ? (n === 0 ? 'missing argument' : `too few arguments (${n})`) : `too many arguments (${n})`;
    this.#report.error(node.source, node.name, `${what}; expected ${expected}`);
    return false;
  }

  /** An On/Off directive as a setting that remembers its line; undefined (reported) when it is neither. */
  #flagSetting(node: DirectiveNode): Setting<boolean> | undefined {
    const on = this.#flag(node);
    return on === undefined ? undefined : { value: on, source: node.source };
  }

  #flag(node: DirectiveNode): boolean | undefined {
    if (!this.#arity(node, 1, 1, 'On or Off')) return undefined;
    const on = parseOnOff(node.args[0] ?? '');
    if (on === undefined) this.#report.error(node.source, node.name, `"${node.args[0]}" is not On or Off; expected On or Off`);
    return on;
  }

  #listen(node: DirectiveNode): void {
    if (!this.#arity(node, 1, 2, '[address:]port [protocol], such as Listen 443 or Listen 0.0.0.0:443 https')) return;
    const address = parseAddress(node.args[0] ?? '', false);
    if (typeof address === 'string') {
      this.#report.error(node.source, 'Listen', address);
      return;
    }
    const host = address.host === '*' ? '0.0.0.0' : address.host;
    // httpd binds `Listen 80` and `Listen 0.0.0.0:80` as one socket; the same address written twice it refuses, and
    // so does the listener check (src/config/listeners.ts).
    const spelled = this.#listenSpelling.get(`${host} ${address.port}`);
    if (spelled !== undefined && spelled !== address.host) return;
    this.#listenSpelling.set(`${host} ${address.port}`, address.host);
    this.#walked.listens.push({ source: node.source, host, port: address.port });
  }

  #timeout(node: DirectiveNode, scope: Scope): void {
    if (!this.#arity(node, 1, 1, 'a time in seconds')) return;
    const ms = parseDuration(node.args[0] ?? '', 's');
    if (ms === undefined) {
      this.#report.error(node.source, node.name, `"${node.args[0]}" is not a time; expected whole seconds (or a number with ms, s, mi or h)`);
      return;
    }
    if (scope.context !== 'main') {
      this.#report.warning(node.source, node.name, `ignored: Stickler has one ${node.name} for all virtual hosts; expected it in the main server`);
      return;
    }
    const field = ({ Timeout: 'timeout', ProxyTimeout: 'proxyTimeout', KeepAliveTimeout: 'keepAliveTimeout', GracefulShutdownTimeout: 'gracefulShutdownTimeout' } as const)[
      node.name as 'Timeout' | 'ProxyTimeout' | 'KeepAliveTimeout' | 'GracefulShutdownTimeout'
    ];
    this.#walked[field] = ms;
  }

  /** Stickler has one client policy: a vhost's or a location's own value would be silently broader or narrower. */
  #mainServerOnly(node: DirectiveNode, scope: Scope): boolean {
    if (scope.context === 'main') return true;
    this.#report.warning(node.source, node.name, `ignored: Stickler has one ${node.name} for all requests; expected it in the main server`);
    return false;
  }

  #requestLimit(node: DirectiveNode, scope: Scope): void {
    const { field, min, expected } = REQUEST_LIMITS[node.name as keyof typeof REQUEST_LIMITS];
    if (!this.#arity(node, 1, 1, expected)) return;
    const arg = node.args[0] ?? '';
    const value = /^\d{1,16}$/.test(arg) ? Number(arg) : NaN;
    if (!Number.isSafeInteger(value) || value < min) {
      this.#report.error(node.source, node.name, `"${arg}" is not a valid limit; expected ${expected}`);
      return;
    }
    if (this.#mainServerOnly(node, scope)) this.#walked.client[field] = value;
  }

  #requestReadTimeout(node: DirectiveNode, scope: Scope): void {
    if (!this.#arity(node, 1, 3, 'handshake=, header= and body= settings, such as header=20-40,MinRate=500 body=20,MinRate=500')) return;
    const stages = parseRequestReadTimeout(node.args);
    if ('error' in stages) {
      this.#report.error(node.source, node.name, stages.error);
      return;
    }
    if (!this.#mainServerOnly(node, scope)) return;
    const client = this.#walked.client;
    for (const [stage, value] of Object.entries(stages) as [ReadStage, ReadTimeout][]) {
      // 0 switches a stage off in httpd; Stickler never reads or handshakes without a bound.
      if (value.timeout === 0) {
        this.#report.warning(node.source, node.name, `ignored: ${stage}=0 would leave slow clients unbounded; Stickler keeps its ${stage} timeout`);
      } else if (stage !== 'handshake') {
        client[stage === 'header' ? 'headerTimeout' : 'bodyTimeout'] = value;
      } else {
        if (value.minRate > 0) this.#report.warning(node.source, node.name, `the handshake timeout is fixed in Stickler: ${value.timeout / 1000} s, with no MinRate extension`);
        client.handshakeTimeout = value.timeout;
      }
    }
  }

  #sslEngine(node: DirectiveNode, server: ServerDraft): void {
    if (!this.#arity(node, 1, 1, 'On or Off')) return;
    const value = (node.args[0] ?? '').toLowerCase();
    if (value === 'optional' || value === 'addr') {
      this.#report.error(node.source, 'SSLEngine', `"${node.args[0]}" is not supported by Stickler; expected On or Off`);
      return;
    }
    server.sslEngine = this.#flagSetting(node) ?? server.sslEngine;
  }

  #file(node: DirectiveNode, server: ServerDraft): void {
    if (!this.#arity(node, 1, 1, 'a file path')) return;
    const setting = { value: resolveFrom(node, node.args[0] ?? ''), source: node.source };
    if (node.name === 'SSLCertificateFile') server.certificateFile = setting;
    else if (node.name === 'SSLCertificateKeyFile') server.keyFile = setting;
    else if (node.name === 'SSLCertificateChainFile') server.chainFile = setting;
    else server.caFile = setting;
  }

  #proxyVerify(node: DirectiveNode, server: ServerDraft): void {
    if (!this.#arity(node, 1, 1, 'none, optional, require or optional_no_ca')) return;
    const value = (node.args[0] ?? '').toLowerCase();
    // `optional` still checks the certificate a server always presents; `optional_no_ca` accepts any issuer.
    const mapped = { none: 'none', optional_no_ca: 'none', optional: 'require', require: 'require' }[value];
    if (mapped !== 'none' && mapped !== 'require') {
      this.#report.error(node.source, 'SSLProxyVerify', `"${node.args[0]}" is not a verify level; expected none, optional, require or optional_no_ca`);
      return;
    }
    server.proxyVerify = { value: mapped, source: node.source };
  }

  #sslProtocol(node: DirectiveNode, server: ServerDraft): void {
    if (!this.#arity(node, 1, Infinity, 'protocols such as -all +TLSv1.2 +TLSv1.3')) return;
    const parsed = parseSslProtocol(node.args);
    if (typeof parsed === 'string') return this.#report.error(node.source, node.name, parsed);
    if (parsed.offered.length === 0) {
      return this.#report.error(node.source, node.name, `"${node.args.join(' ')}" enables none of the protocols Stickler offers; expected TLSv1.2 or TLSv1.3 among them`);
    }
    if (parsed.never.length > 0) {
      const names = parsed.never.length > 1 ? `${parsed.never.slice(0, -1).join(', ')} and ${parsed.never.at(-1)} are` : `${parsed.never[0]} is`;
      this.#report.warning(node.source, node.name, `${names} never offered: Stickler offers TLSv1.2 and TLSv1.3 only`);
    }
    server.protocols = { value: parsed.offered, source: node.source };
  }

  /** The cipher string narrows Mozilla's intermediate profile; it cannot add ciphers to it (src/config/tls-profile.ts). */
  #cipherSuite(node: DirectiveNode, server: ServerDraft): void {
    if (!this.#arity(node, 1, 2, 'SSLCipherSuite [SSL|TLSv1.3] cipher-spec')) return;
    const parsed = parseCipherSuite(node.args);
    if (typeof parsed === 'string') return this.#report.error(node.source, node.name, parsed);
    if (parsed.spec === 'PROFILE=SYSTEM') {
      // RHEL's and Fedora's ssl.conf: their OpenSSL reads the system-wide crypto policy for this; Node's does not.
      return this.#report.warning(node.source, node.name, 'PROFILE=SYSTEM (RHEL\'s system-wide crypto policy, which Node\'s OpenSSL does not read) is taken as no SSLCipherSuite: Mozilla\'s intermediate ciphers are offered; expected a cipher list to narrow them');
    }
    const finding = parsed.protocol === 'SSL' ? checkCiphers('intermediate', parsed.spec) : checkCipherSuites('intermediate', parsed.spec);
    if (finding) this.#report[finding.severity](node.source, node.name, finding.message);
    if (finding?.severity === 'error') return;
    const setting = { value: parsed.spec, source: node.source };
    if (parsed.protocol === 'SSL') server.ciphers = setting;
    else server.cipherSuites = setting;
  }

  #header(node: DirectiveNode, scope: Scope): void {
    const line = hstsHeaderLine(node.args);
    if (line.kind === 'other') return this.#report.warning(node.source, node.name, `ignored: Header ${NOT_IMPLEMENTED}`);
    if (line.kind === 'unread' || (scope.context !== 'main' && scope.context !== 'vhost')) {
      const expected = 'Header always set Strict-Transport-Security "max-age=SECONDS" in the main server or a <VirtualHost>';
      return this.#report.warning(node.source, node.name, `ignored: Strict-Transport-Security is read only from ${expected}`);
    }
    const hsts = parseHstsValue(line.value);
    if (typeof hsts === 'string') return this.#report.error(node.source, node.name, hsts);
    scope.server.hsts = { source: node.source, ...hsts };
  }

  #trustedProxies(node: DirectiveNode, scope: Scope): void {
    if (!this.#arity(node, 1, Infinity, 'addresses or ranges such as 10.0.0.0/8')) return;
    if (scope.context !== 'main') {
      return this.#report.warning(node.source, node.name, 'ignored: Stickler has one list of trusted proxies for all virtual hosts; expected it in the main server');
    }
    const invalid = node.args.find((a) => parseIpRange(a) === undefined);
    if (invalid !== undefined) {
      return this.#report.error(node.source, node.name, `"${invalid}" is not an address or range; expected addresses such as 10.0.0.5 or 10.0.0.0/8 (Stickler resolves no host names)`);
    }
    (this.#walked.trustedProxies ??= []).push(...node.args);
  }

  /** Positional words first (path and target, or only the target inside <Location>), then flags and key=value. */
  #proxyPass(node: DirectiveNode, scope: Scope): void {
    const inLocation = scope.context === 'location';
    const usage = inLocation ? 'ProxyPass target [key=value ...] inside <Location>' : 'ProxyPass /path target [key=value ...]';
    const positional = inLocation ? 1 : 2;
    if (node.args[0] === '~') {
      this.#report.error(node.source, 'ProxyPass', 'regular-expression ProxyPass (~) is not supported by Stickler; expected ProxyPass /path target');
      return;
    }
    if (!this.#arity(node, positional, Infinity, usage)) return;
    if (inLocation && node.args[0]?.startsWith('/') && node.args[1] !== undefined && !node.args[1].includes('=')) {
      this.#report.error(node.source, 'ProxyPass', `a ProxyPass inside <Location ${scope.locationPath}> takes no path (the location's path is used); expected ${usage}`);
      return;
    }
    const path = inLocation ? (scope.locationPath ?? '/') : (node.args[0] ?? '');
    const target = node.args[positional - 1] ?? '';
    if (!path.startsWith('/')) {
      this.#report.error(node.source, 'ProxyPass', `path "${path}" does not start with /; expected ${usage}`);
      return;
    }
    const params = this.#params(node, node.args.slice(positional));
    const route = this.#route(node, path, target, params);
    if (route === undefined) return;
    if (!inLocation) {
      scope.server.routes.push(route);
      return;
    }
    if (scope.locationRoute !== undefined) {
      this.#report.warning(node.source, 'ProxyPass', `replaces the ProxyPass at ${where(scope.locationRoute.source, node.source)}: httpd keeps one ProxyPass per <Location>`);
    }
    scope.locationRoute = route;
  }

  #route(node: DirectiveNode, path: string, target: string, allParams: Param[]): RouteConfig | undefined {
    const source = node.source;
    if (target === '!') return { source, path, target: { kind: 'exclude' } };
    // upgrade= belongs to the route (which requests may switch protocols), not to the balancer or its members.
    const params = allParams.filter((p) => p.key !== 'upgrade');
    const upgradeWords = allParams.filter((p) => p.key === 'upgrade').map((p) => p.value);
    let upgrade: string[] | undefined;
    if (upgradeWords.length > 0) {
      const parsed = upgradeProtocols(upgradeWords);
      if ('error' in parsed) {
        this.#report.error(source, 'ProxyPass', parsed.error);
        return undefined;
      }
      upgrade = parsed.protocols;
    }
    const backend = parseBackendUrl(target);
    if (typeof backend === 'string') {
      this.#report.error(source, 'ProxyPass', backend);
      return undefined;
    }
    const balancers = this.#walked.balancers;
    if (backend.kind === 'balancer') {
      const balancer = balancers.reference(backend.name, source, 'ProxyPass');
      balancers.applyBalancerParams(balancer, params, source, 'ProxyPass');
      return { source, path, target: { kind: 'balancer', balancer: balancer.name, path: backend.path, ...(upgrade && { upgrade }) } };
    }
    const { balancer, member } = balancers.worker(backend.origin, source, 'ProxyPass');
    balancers.applyWorkerParams(member, params, source, 'ProxyPass');
    return { source, path, target: { kind: 'balancer', balancer: balancer.name, path: backend.path, ...(upgrade && { upgrade }) } };
  }

  /** key=value parameters; httpd's few bare-word ProxyPass flags are accepted with a warning. */
  #params(node: DirectiveNode, words: string[]): Param[] {
    const params: Param[] = [];
    for (const word of words) {
      const p = splitParam(word);
      if (p !== undefined) params.push(p);
      else if (node.name === 'ProxyPass' && ['nocanon', 'interpolate', 'noquery'].includes(word.toLowerCase())) {
        this.#report.warning(node.source, node.name, `ignored: flag ${word.toLowerCase()} is not implemented by Stickler`);
      } else {
        this.#report.error(node.source, node.name, `parameter "${word}" is not in key=value form; expected key=value such as loadfactor=1`);
      }
    }
    return params;
  }

  #proxyPassReverse(node: DirectiveNode, scope: Scope): void {
    const args = node.args.filter((a) => a.toLowerCase() !== 'interpolate');
    const inLocation = scope.context === 'location';
    const n = inLocation ? 1 : 2;
    const usage = inLocation ? 'ProxyPassReverse url inside <Location>' : 'ProxyPassReverse /path url';
    if (args.length !== n) {
      this.#report.error(node.source, node.name, `${args.length < n ? 'missing argument' : `too many arguments (${args.length})`}; expected ${usage}`);
      return;
    }
    const path = inLocation ? (scope.locationPath ?? '/') : (args[0] ?? '');
    const url = args[n - 1] ?? '';
    const backend = parseBackendUrl(url);
    if (typeof backend === 'string') {
      this.#report.error(node.source, node.name, backend);
      return;
    }
    scope.server.reverse.push({ source: node.source, path, url });
  }

  #cookieRewrite(node: DirectiveNode, server: ServerDraft): void {
    const args = node.args.filter((a) => a.toLowerCase() !== 'interpolate');
    if (args.length !== 2) {
      this.#report.error(node.source, node.name, `expected two arguments (internal and public value), got ${args.length}`);
      return;
    }
    const rewrite = { source: node.source, from: args[0] ?? '', to: args[1] ?? '' };
    (node.name === 'ProxyPassReverseCookiePath' ? server.cookiePaths : server.cookieDomains).push(rewrite);
  }

  #proxySet(node: DirectiveNode, scope: Scope): void {
    const inProxy = scope.context === 'proxy';
    const url = inProxy ? scope.proxyUrl : node.args[0];
    const words = inProxy ? node.args : node.args.slice(1);
    if (url === undefined || words.length === 0) {
      this.#report.error(node.source, 'ProxySet', `missing argument; expected ${inProxy ? 'ProxySet key=value ...' : 'ProxySet url key=value ...'}`);
      return;
    }
    const backend = url === '*' ? 'ProxySet inside <Proxy *> has no backend; expected <Proxy balancer://name> or a worker URL' : parseBackendUrl(url);
    if (typeof backend === 'string') {
      this.#report.error(node.source, 'ProxySet', backend);
      return;
    }
    const balancers = this.#walked.balancers;
    // httpd: "ProxySet can not find 'balancer://x' Balancer": outside its <Proxy> section ProxySet creates nothing.
    if (backend.kind === 'balancer' && !inProxy && balancers.get(backend.name) === undefined) {
      this.#report.error(node.source, 'ProxySet', `balancer://${backend.name} is not defined before this line; expected the ProxySet inside <Proxy balancer://${backend.name}>, or after the BalancerMember or ProxyPass lines that name it`);
      return;
    }
    const params = this.#params(node, words);
    if (backend.kind === 'balancer') {
      balancers.applyBalancerParams(balancers.define(backend.name, node.source, 'ProxySet'), params, node.source, 'ProxySet');
    } else {
      balancers.applyWorkerParams(balancers.worker(backend.origin, node.source, 'ProxySet').member, params, node.source, 'ProxySet');
    }
  }

  /** `ProxyHCExpr name {expression}`: httpd reads the expression raw, so quotes and spaces in it are kept. */
  #healthExpr(node: DirectiveNode): void {
    const usage = 'a name and an expression, such as ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^[23]/}';
    const words = tokenize(node.rest, { braces: true });
    if (!words.ok) {
      this.#report.error(node.source, node.name, words.message);
      return;
    }
    const [name = '', text = ''] = words.words;
    if (words.words.length !== 2 || text.trim() === '') {
      this.#report.error(node.source, node.name, `${words.words.length > 2 ? `too many arguments (${words.words.length})` : 'missing argument'}; expected ${usage}`);
      return;
    }
    // httpd keeps the name in a 16-byte field and refuses longer ones.
    if (name.length > 15) {
      this.#report.error(node.source, node.name, `name "${name}" is too long (${name.length} characters); expected at most 15`);
      return;
    }
    const parsed = parseHealthExpr(text);
    if ('error' in parsed) {
      this.#report.error(node.source, node.name, `${name}: ${parsed.error}`);
      return;
    }
    this.#walked.balancers.defineHealthExpr(name, text.trim(), node.source);
  }

  #balancerMember(node: DirectiveNode, scope: Scope): void {
    const inProxy = scope.context === 'proxy';
    let balancerUrl = inProxy ? scope.proxyUrl : node.args[0];
    let rest = inProxy ? node.args : node.args.slice(1);
    // httpd also accepts the balancer URL as first argument inside its own <Proxy>.
    if (inProxy && node.args[0]?.toLowerCase().startsWith('balancer://')) {
      balancerUrl = node.args[0];
      rest = node.args.slice(1);
    }
    const balancer = balancerUrl === undefined ? undefined : parseBackendUrl(balancerUrl);
    if (balancer === undefined || typeof balancer === 'string' || balancer.kind !== 'balancer') {
      const message = inProxy
        ? `not inside a balancer: <Proxy ${scope.proxyUrl}> is not a balancer; expected it inside <Proxy balancer://name>`
        : 'outside a <Proxy balancer://...> section the balancer must come first; expected BalancerMember balancer://name url [key=value ...]';
      this.#report.error(node.source, 'BalancerMember', message);
      return;
    }
    const [url, ...words] = rest;
    if (url === undefined) {
      this.#report.error(node.source, 'BalancerMember', 'missing argument; expected BalancerMember url [key=value ...]');
      return;
    }
    this.#walked.balancers.addMember(balancer.name, url, this.#params(node, words), node.source);
  }
}

/** `host:port`, `[v6]:port`, `port`, `*`, `*:port`; `*`/absent port is 0 (any) in a VirtualHost. */
function parseAddress(text: string, virtualHost: boolean): { host: string; port: number } | string {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*?))(?::([^:]*))?$/.exec(text);
  const lone = /^\d+$/.test(text) && !virtualHost;
  const host = lone ? '*' : (m?.[1] ?? m?.[2] ?? '');
  const portText = lone ? text : m?.[3];
  const expected = virtualHost ? 'expected host:port such as *:443' : 'expected [address:]port such as 443 or 0.0.0.0:443';
  if (m === null || host === '') return `"${text}" is not an address; ${expected}`;
  if (portText === undefined || portText === '*') {
    return virtualHost ? { host, port: 0 } : `"${text}" has no port; ${expected}`;
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `port "${portText}" in "${text}" is not a port number; expected 1 to 65535`;
  return { host, port };
}

/** ServerName is `[scheme://]host[:port]`; the model keeps the host. */
function serverNameHost(value: string): string {
  const withoutScheme = value.replace(/^[a-z]+:\/\//i, '');
  return withoutScheme.startsWith('[') ? withoutScheme.replace(/\]:\d+$/, ']') : withoutScheme.replace(/:\d+$/, '');
}
