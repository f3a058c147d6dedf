// The directives that configure TLS, read into a server's draft: mod_ssl's SSLEngine, certificate files,
// SSLProxyVerify, SSLProtocol and SSLCipherSuite, and the HSTS header. The argument syntaxes are in tls.ts.
import { checkCipherSuites, checkCiphers } from '../tls-profile.ts';
import { arity, flagSetting } from './arguments.ts';
import type { DirectiveNode } from './parse.ts';
import { resolveFrom } from './parse.ts';
import type { Report } from './report.ts';
import type { Scope } from './scope.ts';
import type { ServerDraft, Setting } from './server-draft.ts';
import type { ClientCertificate } from '../model.ts';
import { parseBackendUrl, type BalancerRegistry } from './balancers.ts';
import { hstsHeaderValue, parseCipherSuite, parseHstsValue, parseSslProtocol } from './tls.ts';

export function readSslEngine(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, 1, 'On or Off', report)) return;
  const value = (node.args[0] ?? '').toLowerCase();
  if (value === 'optional' || value === 'addr') {
    report.error(node.source, 'SSLEngine', `"${node.args[0]}" is not supported by Stickler; expected On or Off`);
    return;
  }
  server.sslEngine = flagSetting(node, report) ?? server.sslEngine;
}

/** SSLCertificateFile, SSLCertificateKeyFile, SSLCertificateChainFile and SSLProxyCACertificateFile. */
export function readCertificateFile(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, 1, 'a file path', report)) return;
  const setting = { value: resolveFrom(node, node.args[0] ?? ''), source: node.source };
  if (node.name === 'SSLCertificateFile') server.certificateFile = setting;
  else if (node.name === 'SSLCertificateKeyFile') server.keyFile = setting;
  else if (node.name === 'SSLCertificateChainFile') server.chainFile = setting;
  else server.caFile = setting;
}

export function readProxyVerify(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, 1, 'none, optional, require or optional_no_ca', report)) return;
  const value = (node.args[0] ?? '').toLowerCase();
  // `optional` still checks the certificate a server always presents; `optional_no_ca` accepts any issuer.
  const mapped = { none: 'none', optional_no_ca: 'none', optional: 'require', require: 'require' }[value];
  if (mapped !== 'none' && mapped !== 'require') {
    report.error(node.source, 'SSLProxyVerify', `"${node.args[0]}" is not a verify level; expected none, optional, require or optional_no_ca`);
    return;
  }
  server.proxyVerify = { value: mapped, source: node.source };
}

export function readSslProtocol(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, Infinity, 'protocols such as -all +TLSv1.2 +TLSv1.3', report)) return;
  const parsed = parseSslProtocol(node.args);
  if (typeof parsed === 'string') return report.error(node.source, node.name, parsed);
  if (parsed.offered.length === 0) {
    return report.error(node.source, node.name, `"${node.args.join(' ')}" enables none of the protocols Stickler offers; expected TLSv1.2 or TLSv1.3 among them`);
  }
  if (parsed.never.length > 0) {
    const names = parsed.never.length > 1 ? `${parsed.never.slice(0, -1).join(', ')} and ${parsed.never.at(-1)} are` : `${parsed.never[0]} is`;
    report.warning(node.source, node.name, `${names} never offered: Stickler offers TLSv1.2 and TLSv1.3 only`);
  }
  server.protocols = { value: parsed.offered, source: node.source };
}

/** The cipher string narrows Mozilla's intermediate profile; it cannot add ciphers to it (src/config/tls-profile.ts). */
export function readCipherSuite(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, 2, 'SSLCipherSuite [SSL|TLSv1.3] cipher-spec', report)) return;
  const parsed = parseCipherSuite(node.args);
  if (typeof parsed === 'string') return report.error(node.source, node.name, parsed);
  if (parsed.spec === 'PROFILE=SYSTEM') {
    // RHEL's and Fedora's ssl.conf: their OpenSSL reads the system-wide crypto policy for this; Node's does not.
    return report.warning(node.source, node.name, 'PROFILE=SYSTEM (RHEL\'s system-wide crypto policy, which Node\'s OpenSSL does not read) is taken as no SSLCipherSuite: Mozilla\'s intermediate ciphers are offered; expected a cipher list to narrow them');
  }
  const finding = parsed.protocol === 'SSL' ? checkCiphers('intermediate', parsed.spec) : checkCipherSuites('intermediate', parsed.spec);
  if (finding) report[finding.severity](node.source, node.name, finding.message);
  if (finding?.severity === 'error') return;
  const setting = { value: parsed.spec, source: node.source };
  if (parsed.protocol === 'SSL') server.ciphers = setting;
  else server.cipherSuites = setting;
}

/** `Header always set Strict-Transport-Security` of a server is its TLS policy's HSTS; other Header lines are rules. */
export function isHstsLine(node: DirectiveNode, scope: Scope): boolean {
  return (scope.context === 'main' || scope.context === 'vhost') && hstsHeaderValue(node.args) !== undefined;
}

export function readHstsHeader(node: DirectiveNode, scope: Scope, report: Report): void {
  const value = hstsHeaderValue(node.args);
  if (value === undefined) return;
  const hsts = parseHstsValue(value);
  if (typeof hsts === 'string') return report.error(node.source, node.name, hsts);
  scope.server.hsts = { source: node.source, ...hsts };
}

/**
 * SSLProxyMachineCertificateFile and SSLProxyMachineCertificateChainFile. In a server they are its draft's, merged
 * with the main server's when assembled; in <Proxy balancer://name> they are the balancer's, in <Proxy URL> that
 * member's, and there the chain must follow the certificate it completes.
 */
export function readMachineCertificate(node: DirectiveNode, scope: Scope, balancers: BalancerRegistry, report: Report): void {
  if (!arity(node, 1, 1, 'a file path', report)) return;
  const setting = { value: resolveFrom(node, node.args[0] ?? ''), source: node.source };
  const chain = node.name === 'SSLProxyMachineCertificateChainFile';
  if (scope.context !== 'proxy') {
    if (chain) scope.server.machineChain = setting;
    else scope.server.machineCertificate = setting;
    return;
  }
  const target = scope.proxyUrl === undefined || scope.proxyUrl === '*' ? undefined : parseBackendUrl(scope.proxyUrl);
  if (target === undefined || typeof target === 'string') {
    return report.error(node.source, node.name, 'a client certificate in <Proxy *> has no backend to go to; expected <Proxy balancer://name> or a member URL, or the directive in the virtual host');
  }
  const owner = target.kind === 'balancer' ? balancers.define(target.name, node.source, '<Proxy>') : balancers.worker(target.origin, node.source, '<Proxy>').member;
  if (!chain) {
    owner.clientCertificate = machineCertificate(setting);
  } else if (owner.clientCertificate === undefined) {
    report.error(node.source, node.name, 'a chain with no certificate to complete; expected SSLProxyMachineCertificateFile before it in this <Proxy> section');
  } else {
    owner.clientCertificate = { ...owner.clientCertificate, chainFile: setting.value, chainSource: setting.source };
  }
}

/** mod_ssl's one file holds the certificate and its key. */
export function machineCertificate(file: Setting<string>, chain?: Setting<string>): ClientCertificate {
  return { source: file.source, certificateFile: file.value, keyFile: file.value, ...(chain && { chainFile: chain.value, chainSource: chain.source }) };
}
