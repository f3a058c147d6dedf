// mod_ssl's client-certificate directives, read into a server's draft: SSLVerifyClient, SSLVerifyDepth, the CA
// certificates and CRLs (files and directories), SSLCARevocationCheck and SSLOptions. The rules both configuration
// readers share are in ../client-certificates.ts; httpd's inheritance is applied in assemble.ts.
import { DEFAULT_VERIFY_DEPTH, MAX_VERIFY_DEPTH, clientCertificatesProblem, crlCheckProblem, parseVerifyLevel, pemFilesIn } from '../client-certificates.ts';
import type { ClientCertificates, SslOptions } from '../model.ts';
import { arity } from './arguments.ts';
import type { ConfigNode, DirectiveNode } from './parse.ts';
import { resolveFrom } from './parse.ts';
import type { Report } from './report.ts';
import type { Scope } from './scope.ts';
import type { ClientCertDraft, ServerDraft, SslOptionName } from './server-draft.ts';

/** Directives that need the handshake redone when they differ by path: Stickler does no renegotiation. */
const RENEGOTIATING = new Set(['SSLVerifyClient', 'SSLVerifyDepth']);

const NAMES = { ca: 'SSLCACertificateFile or SSLCACertificatePath', crl: 'SSLCARevocationFile or SSLCARevocationPath', crlCheck: 'SSLCARevocationCheck' };

function renegotiationError(node: DirectiveNode, where: string, report: Report): void {
  report.error(node.source, node.name, `${node.name} inside ${where} needs a TLS renegotiation once the request's path is known, which Stickler refuses (TLS 1.3 and HTTP/2 have none either); expected it on the virtual host: a <VirtualHost> of its own on its own port for the paths that need a certificate, or SSLVerifyClient optional on the virtual host with the application checking the verdict passed on by RequestHeader set SSL_CLIENT_VERIFY "%{SSL_CLIENT_VERIFY}s"`);
}

/** In sections Stickler otherwise skips whole (<Directory>, <Files>...), the lines that would need renegotiation. */
export function refuseRenegotiationWithin(section: { name: string; args: string[]; children: ConfigNode[] }, report: Report): void {
  for (const child of section.children) {
    if (child.kind === 'section') refuseRenegotiationWithin(child, report);
    else if (RENEGOTIATING.has(child.name)) renegotiationError(child, `<${section.name} ${section.args.join(' ')}>`, report);
  }
}

function outsideServer(node: DirectiveNode, scope: Scope, report: Report): boolean {
  if (scope.context === 'main' || scope.context === 'vhost') return false;
  const where = scope.context === 'location' ? `<Location ${scope.locationPath ?? ''}>` : `<Proxy ${scope.proxyUrl ?? ''}>`;
  renegotiationError(node, where, report);
  return true;
}

export function readVerifyClient(node: DirectiveNode, scope: Scope, report: Report): void {
  if (outsideServer(node, scope, report) || !arity(node, 1, 1, 'none, optional, require or optional_no_ca', report)) return;
  const level = parseVerifyLevel(node.args[0] ?? '');
  if (typeof level !== 'string') return report.error(node.source, node.name, level.error);
  scope.server.clientCerts.verify = { value: level, source: node.source };
}

export function readVerifyDepth(node: DirectiveNode, scope: Scope, report: Report): void {
  if (outsideServer(node, scope, report) || !arity(node, 1, 1, 'a number of CA certificates', report)) return;
  const text = node.args[0] ?? '';
  const depth = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
  if (!(depth <= MAX_VERIFY_DEPTH)) {
    return report.error(node.source, node.name, `"${text}" is not a depth; expected a number from 0 to ${MAX_VERIFY_DEPTH} (how many CA certificates may stand above the client's)`);
  }
  scope.server.clientCerts.depth = { value: depth, source: node.source };
}

/** SSLCACertificateFile and SSLCARevocationFile. */
export function readCaFile(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, 1, 'a PEM file path', report)) return;
  const setting = { value: [resolveFrom(node, node.args[0] ?? '')], source: node.source };
  if (node.name === 'SSLCACertificateFile') server.clientCerts.caFile = setting;
  else server.clientCerts.crlFile = setting;
}

/** SSLCACertificatePath and SSLCARevocationPath: every PEM file of the directory, hashed links or not. */
export function readCaPath(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, 1, 'a directory path', report)) return;
  const crl = node.name === 'SSLCARevocationPath';
  const files = pemFilesIn(resolveFrom(node, node.args[0] ?? ''), crl ? 'X509 CRL' : 'CERTIFICATE');
  if ('error' in files) return report.error(node.source, node.name, files.error);
  if (crl) server.clientCerts.crlPath = { value: files, source: node.source };
  else server.clientCerts.caPath = { value: files, source: node.source };
}

export function readRevocationCheck(node: DirectiveNode, server: ServerDraft, report: Report): void {
  if (!arity(node, 1, Infinity, 'none, chain or leaf', report)) return;
  const [mode = '', ...flags] = node.args;
  const problem = crlCheckProblem(mode, flags);
  if (problem) return report.error(node.source, node.name, problem);
  server.clientCerts.crlCheck = { value: mode.toLowerCase() as ClientCertificates['crlCheck'], source: node.source };
}

/** mod_ssl's options Stickler carries out; the others are harmless here or refused with the reason. */
const OPTIONS: Record<string, SslOptionName | { harmless: string } | { refused: string }> = {
  exportcertdata: 'exportCertData',
  stdenvvars: 'stdEnvVars',
  strictrequire: { harmless: 'Stickler has no SSLRequire or SSLRequireSSL for it to make stricter' },
  optrenegotiate: { harmless: 'Stickler does no renegotiation for it to optimise' },
  fakebasicauth: { refused: 'Stickler does not log clients in by the DN of their certificate; expected the application to read the certificate passed on by RequestHeader set SSL_CLIENT_CERT "%{SSL_CLIENT_CERT}s"' },
  legacydnstringformat: { refused: 'the DN variables have mod_ssl\'s default (RFC 2253) format in Stickler; expected SSLOptions without LegacyDNStringFormat, and the application reading that format' },
};

export function readSslOptions(node: DirectiveNode, scope: Scope, report: Report): void {
  if (!arity(node, 1, Infinity, 'options such as +StdEnvVars +ExportCertData', report)) return;
  if (scope.context === 'location' || scope.context === 'proxy') {
    report.warning(node.source, node.name, 'applies to the whole virtual host: Stickler sets the SSL variables per connection, not per path; expected SSLOptions in the <VirtualHost> or the main server');
  }
  const set: Partial<Record<SslOptionName, boolean>> = {};
  let absolute = false;
  for (const arg of node.args) {
    const sign = arg[0] === '+' || arg[0] === '-' ? arg[0] : '';
    absolute ||= sign === '';
    const option = OPTIONS[arg.slice(sign.length).toLowerCase()];
    if (option === undefined) {
      report.error(node.source, node.name, `"${arg}" is not an SSLOptions option; expected StdEnvVars, ExportCertData, FakeBasicAuth, StrictRequire, OptRenegotiate or LegacyDNStringFormat with + or -`);
    } else if (typeof option === 'string') {
      set[option] = sign !== '-';
    } else if ('refused' in option) {
      if (sign !== '-') report.error(node.source, node.name, `${arg.slice(sign.length)} is not supported: ${option.refused}`);
    } else if (sign !== '-') {
      report.inert(node.source, node.name, `ignored: ${arg.slice(sign.length)} has no effect: ${option.harmless}`);
    }
  }
  if (absolute && node.args.some((a) => a[0] === '+' || a[0] === '-')) {
    report.warning(node.source, node.name, 'options with and without + or - mixed: httpd takes the line as setting exactly the options named; expected all of them with + or -, or none');
  }
  scope.server.clientCerts.options.push({ source: node.source, absolute, set });
}

/** The SSLOptions in effect: the main server's, changed by the virtual host's relative lines or replaced by an absolute one. */
function sslOptions(main: ClientCertDraft, v: ClientCertDraft): SslOptions | undefined {
  const lines = main === v ? v.options : [...main.options, ...v.options];
  if (lines.length === 0) return undefined;
  let options = { exportCertData: false, stdEnvVars: false };
  for (const line of lines) options = line.absolute ? { exportCertData: false, stdEnvVars: false, ...line.set } : { ...options, ...line.set };
  return { source: lines.at(-1)!.source, ...options };
}

/** A TLS server's client certificates and SSLOptions, each directive inherited from the main server on its own. */
export function clientCertExtras(main: ServerDraft, v: ServerDraft, report: Report): { clientCertificates?: ClientCertificates; sslOptions?: SslOptions } {
  const m = main.clientCerts;
  const own = v.clientCerts;
  const verify = own.verify ?? m.verify;
  const options = sslOptions(m, own);
  if (verify === undefined || verify.value === 'none') return options ? { sslOptions: options } : {};
  const ca = [own.caFile ?? m.caFile, own.caPath ?? m.caPath].filter((s) => s !== undefined);
  const crl = [own.crlFile ?? m.crlFile, own.crlPath ?? m.crlPath].filter((s) => s !== undefined);
  const crlCheck = own.crlCheck ?? m.crlCheck;
  const clientCertificates: ClientCertificates = {
    source: verify.source,
    verify: verify.value,
    depth: (own.depth ?? m.depth)?.value ?? DEFAULT_VERIFY_DEPTH,
    caFiles: ca.flatMap((s) => s.value),
    ...(ca[0] && { caSource: ca[0].source }),
    crlFiles: crl.flatMap((s) => s.value),
    crlCheck: crlCheck?.value ?? 'none',
    ...((crlCheck ?? crl[0]) && { crlSource: (crlCheck ?? crl[0])!.source }),
    forwardRfc9440: false,
  };
  const problem = clientCertificatesProblem(clientCertificates, NAMES);
  if (problem) {
    const at = problem.at === 'verify' ? verify.source : clientCertificates.crlSource!;
    report[problem.severity](at, problem.at === 'verify' ? 'SSLVerifyClient' : crlCheck ? 'SSLCARevocationCheck' : 'SSLCARevocationFile', problem.message);
  }
  return { clientCertificates, ...(options && { sslOptions: options }) };
}
