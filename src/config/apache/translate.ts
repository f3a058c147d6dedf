// The parsed tree → per-server drafts, listeners, global settings and the balancer registry: the walk over the
// sections, where each directive's context is checked before it goes to its reader (the TLS directives, the
// proxy and balancer directives, the server limits and the logs each have a module of their own). httpd's
// inheritance and the cross-checks that need the whole configuration are in assemble.ts.
import { parseIpRange } from '../ip-range.ts';
import type { AccountRef, ClientPolicy, Source } from '../model.ts';
import { parseAccount } from '../account.ts';
import { AccessBuilder } from './access.ts';
import { arity, flag, flagSetting } from './arguments.ts';
import { BalancerRegistry, parseBackendUrl } from './balancers.ts';
import type { Context } from './directives.ts';
import { readBufferedLogs, readCustomLog, readLogFormat } from './logs.ts';
import type { ConfigNode, DirectiveNode, SectionNode } from './parse.ts';
import { resolveFrom } from './parse.ts';
import { readBalancerMember, readCookieRewrite, readHealthExpr, readHealthTemplate, readProxyPass, readProxyPassReverse, readProxySet } from './proxy-directives.ts';
import type { Report } from './report.ts';
import type { Scope } from './scope.ts';
import type { ServerDraft, Setting } from './server-draft.ts';
import { newServerDraft } from './server-draft.ts';
import { readRequestLimit, readRequestReadTimeout, readTimeout, type ServerTimeouts } from './server-limits.ts';
import { isHstsLine, readCertificateFile, readCipherSuite, readHstsHeader, readMachineCertificate, readProxyVerify, readSslEngine, readSslProtocol } from './tls-directives.ts';
import { readHeaderRule } from './headers.ts';
import { readCaFile, readCaPath, readRevocationCheck, readSslOptions, readVerifyClient, readVerifyDepth, refuseRenegotiationWithin } from './client-cert-directives.ts';
import { newMdDraft, readMDomain, readMDomainSet, readMdSetting, type MdDraft } from './md-directives.ts';

export interface Listen {
  source: Source;
  host: string;
  port: number;
  /** Not written: the address of a `<VirtualHost>` in a configuration without any Listen. */
  implied?: true;
}

/** Timeout, ProxyTimeout, KeepAliveTimeout and GracefulShutdownTimeout come from ServerTimeouts. */
export interface Walked extends ServerTimeouts {
  main: ServerDraft;
  vhosts: ServerDraft[];
  listens: Listen[];
  /** `BalancerPersist On`: manager changes are kept in this state file (beside ServerRoot's files). */
  balancerPersist?: Setting<string>;
  /** The AuthUserFile of the balancer-manager location. */
  managerUsers?: Setting<string>;
  /** mod_unixd's User and Group: the account served as once the ports are bound. */
  user?: AccountRef;
  group?: AccountRef;
  /** RemoteIPTrustedProxy and RemoteIPInternalProxy of the main server. */
  trustedProxies?: string[];
  /** Client limits and read timeouts the main server sets (LimitRequest*, RequestReadTimeout). */
  client: Partial<ClientPolicy>;
  balancers: BalancerRegistry;
  /** mod_md: the managed domains and the settings of the main server. */
  md: MdDraft;
}

const CONTEXT_NAMES: Record<Context, string> = {
  main: 'the main server',
  vhost: 'a <VirtualHost>',
  proxy: 'a <Proxy> section',
  location: 'a <Location> section',
  mdomainset: 'an <MDomainSet> section',
};

const SECTION_CONTEXTS: Record<string, readonly Context[]> = {
  VirtualHost: ['main'],
  Proxy: ['main', 'vhost'],
  Location: ['main', 'vhost'],
  MDomainSet: ['main'],
};

const REJECTED_SECTIONS: Record<string, string> = {
  LocationMatch: 'regular-expression locations are not supported by Stickler; expected <Location> with a path prefix',
  ProxyMatch: 'regular-expression proxy sections are not supported by Stickler; expected <Proxy url>',
  RequireAll: 'authorization containers are not supported by Stickler; expected plain Require lines (any one grants access)',
  RequireAny: 'authorization containers are not supported by Stickler; expected plain Require lines (any one grants access)',
  RequireNone: 'authorization containers are not supported by Stickler; expected Require not ... lines',
};

export class Translator {
  readonly #report: Report;
  readonly #walked: Walked;
  /** How each address:port was first written in a Listen: `*` and 0.0.0.0 are one socket, not a repeated Listen. */
  readonly #listenSpelling = new Map<string, string>();

  constructor(report: Report) {
    this.#report = report;
    const main = newServerDraft({ file: '', line: 0 }, []);
    this.#walked = { main, vhosts: [], listens: [], client: {}, balancers: new BalancerRegistry(report), md: newMdDraft() };
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
      refuseRenegotiationWithin(node, this.#report);
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
    else if (node.role === 'mdomainset') {
      const md = readMDomainSet(node, this.#walked.md, this.#report);
      if (md) this.#nodes(node.children, { context: 'mdomainset', server: scope.server, md });
    }
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
    this.#walked.balancers.inVirtualHost(server, () => this.#nodes(node.children, { context: 'vhost', server }));
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
    if (name.startsWith('MD')) {
      if (name === 'MDomain') return readMDomain(node, this.#walked.md, this.#report);
      return readMdSetting(node, scope.md ?? this.#walked.md.global, this.#walked.md, this.#report);
    }
    switch (name) {
      case 'Listen':
        return this.#listen(node);
      case 'ServerName':
        if (arity(node, 1, 1, 'a host name', this.#report)) server.serverName = serverNameHost(node.args[0] ?? '');
        return;
      case 'ServerAlias':
        if (arity(node, 1, Infinity, 'one or more host names', this.#report)) server.serverAliases.push(...node.args);
        return;
      case 'ServerAdmin':
        if (arity(node, 1, 1, 'an e-mail address or URL', this.#report)) server.serverAdmin = node.args[0];
        return;
      case 'Timeout':
      case 'ProxyTimeout':
      case 'KeepAliveTimeout':
      case 'GracefulShutdownTimeout':
        return readTimeout(node, scope, this.#walked, this.#report);
      case 'LimitRequestLine':
      case 'LimitRequestFieldSize':
      case 'LimitRequestFields':
      case 'LimitRequestBody':
      case 'H2MaxSessionStreams':
        return readRequestLimit(node, scope, this.#walked.client, this.#report);
      case 'RequestReadTimeout':
        return readRequestReadTimeout(node, scope, this.#walked.client, this.#report);
      case 'ProxyRequests':
        if (flag(node, this.#report) === true) this.#report.error(src, name, 'forward proxying is not supported by Stickler; expected ProxyRequests Off (Stickler is a reverse proxy only)');
        return;
      case 'CustomLog':
      case 'TransferLog':
        return readCustomLog(node, server.log, this.#report);
      case 'LogFormat':
        return readLogFormat(node, server.log, this.#report);
      case 'BufferedLogs':
        return readBufferedLogs(node, this.#report);
      case 'SSLEngine':
        return readSslEngine(node, server, this.#report);
      case 'SSLCertificateFile':
      case 'SSLCertificateKeyFile':
      case 'SSLCertificateChainFile':
      case 'SSLProxyCACertificateFile':
        return readCertificateFile(node, server, this.#report);
      case 'SSLProxyMachineCertificateFile':
      case 'SSLProxyMachineCertificateChainFile':
        return readMachineCertificate(node, scope, this.#walked.balancers, this.#report);
      case 'SSLProxyEngine':
        server.proxyEngine = flagSetting(node, this.#report) ?? server.proxyEngine;
        return;
      case 'SSLProxyVerify':
        return readProxyVerify(node, server, this.#report);
      case 'SSLProtocol':
        return readSslProtocol(node, server, this.#report);
      case 'SSLCipherSuite':
        return readCipherSuite(node, server, this.#report);
      case 'SSLHonorCipherOrder':
        server.honorCipherOrder = flagSetting(node, this.#report) ?? server.honorCipherOrder;
        return;
      case 'SSLVerifyClient':
        return readVerifyClient(node, scope, this.#report);
      case 'SSLVerifyDepth':
        return readVerifyDepth(node, scope, this.#report);
      case 'SSLCACertificateFile':
      case 'SSLCARevocationFile':
        return readCaFile(node, server, this.#report);
      case 'SSLCACertificatePath':
      case 'SSLCARevocationPath':
        return readCaPath(node, server, this.#report);
      case 'SSLCARevocationCheck':
        return readRevocationCheck(node, server, this.#report);
      case 'SSLOptions':
        return readSslOptions(node, scope, this.#report);
      case 'Header':
        if (isHstsLine(node, scope)) return readHstsHeader(node, scope, this.#report);
        return readHeaderRule(node, scope, this.#report);
      case 'RequestHeader':
        return readHeaderRule(node, scope, this.#report);
      case 'RemoteIPTrustedProxy':
      case 'RemoteIPInternalProxy':
        return this.#trustedProxies(node, scope);
      case 'SSLProxyCheckPeerName':
      case 'SSLProxyCheckPeerCN':
      case 'ProxyPreserveHost':
      case 'ProxyAddHeaders': {
        const on = flag(node, this.#report);
        if (on === undefined) return;
        if (name === 'SSLProxyCheckPeerName') server.checkPeerName = on;
        else if (name === 'SSLProxyCheckPeerCN') server.checkPeerCN = on;
        else if (name === 'ProxyPreserveHost') server.preserveHost = on;
        else server.addHeaders = on;
        return;
      }
      case 'ProxyPass':
        return readProxyPass(node, scope, this.#walked.balancers, this.#report);
      case 'ProxyPassReverse':
        return readProxyPassReverse(node, scope, this.#report);
      case 'ProxyPassReverseCookiePath':
      case 'ProxyPassReverseCookieDomain':
        return readCookieRewrite(node, server, this.#report);
      case 'ProxySet':
        return readProxySet(node, scope, this.#walked.balancers, this.#report);
      case 'BalancerMember':
        return readBalancerMember(node, scope, this.#walked.balancers, this.#report);
      case 'ProxyHCExpr':
        return readHealthExpr(node, this.#walked.balancers, this.#report);
      case 'ProxyHCTemplate':
        return readHealthTemplate(node, this.#walked.balancers, this.#report);
      case 'Order':
      case 'Allow':
      case 'Deny':
      case 'Require':
        scope.access?.add(node);
        return;
      case 'AuthUserFile':
        if (arity(node, 1, 1, 'an htpasswd file', this.#report)) scope.userFile = { value: resolveFrom(node, node.args[0] ?? ''), source: src };
        return;
      case 'AuthType':
        if (arity(node, 1, 1, 'Basic', this.#report) && (node.args[0] ?? '').toLowerCase() !== 'basic') {
          this.#report.error(src, name, `AuthType ${node.args[0]} is not supported by Stickler; expected AuthType Basic`);
        }
        return;
      case 'AuthName':
        arity(node, 1, 1, 'a realm name', this.#report);
        return;
      case 'User':
      case 'Group': {
        if (!arity(node, 1, 1, `a ${name.toLowerCase()} name or #${name === 'User' ? 'uid' : 'gid'}`, this.#report)) return;
        const account = parseAccount(node.args[0] ?? '', name === 'User' ? 'user' : 'group');
        if ('error' in account) this.#report.error(src, name, account.error);
        else this.#walked[name === 'User' ? 'user' : 'group'] = { ...account, source: src };
        return;
      }
      case 'BalancerPersist':
        if (flag(node, this.#report) === true) this.#walked.balancerPersist = { value: resolveFrom(node, 'stickler-balancer-state.json'), source: src };
        return;
      case 'SetHandler':
        if (!arity(node, 1, 1, 'a handler name', this.#report)) return;
        if ((node.args[0] ?? '').toLowerCase() === 'balancer-manager') scope.handler = 'balancer-manager';
        else this.#report.warning(src, name, `ignored: handler "${node.args[0]}" has no meaning for Stickler (only balancer-manager is served)`);
        return;
    }
  }

  #listen(node: DirectiveNode): void {
    if (!arity(node, 1, 2, '[address:]port [protocol], such as Listen 443 or Listen 0.0.0.0:443 https', this.#report)) return;
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

  #trustedProxies(node: DirectiveNode, scope: Scope): void {
    if (!arity(node, 1, Infinity, 'addresses or ranges such as 10.0.0.0/8', this.#report)) return;
    if (scope.context !== 'main') {
      return this.#report.warning(node.source, node.name, 'ignored: Stickler has one list of trusted proxies for all virtual hosts; expected it in the main server');
    }
    const invalid = node.args.find((a) => parseIpRange(a) === undefined);
    if (invalid !== undefined) {
      return this.#report.error(node.source, node.name, `"${invalid}" is not an address or range; expected addresses such as 10.0.0.5 or 10.0.0.0/8 (Stickler resolves no host names)`);
    }
    (this.#walked.trustedProxies ??= []).push(...node.args);
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
