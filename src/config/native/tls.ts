// A native `tls` mapping → the model's TlsFiles: the certificate files, what the handshakes offer (checked
// against the profile in src/config/tls-profile.ts) and HSTS.
import { DEFAULT_VERIFY_DEPTH, clientCertificatesProblem, pemFilesIn } from '../client-certificates.ts';
import type { ClientCertificate, ClientCertificates, TlsFiles } from '../model.ts';
import { checkCipherSuites, checkCiphers, checkProtocols, tlsPolicy, type Finding } from '../tls-profile.ts';
import { NATIVE_DEFAULTS } from './defaults.ts';
import type { KeyPath } from './locate.ts';
import type { NativeReport } from './report.ts';
import type { NativeClientCertificate, NativeTls } from './schema.ts';

/** `managed`: the certificate and key the virtual host's acme domain keeps in its store, in place of files named here. */
export function buildTls(raw: NativeTls, path: KeyPath, r: NativeReport, managed?: { certificateFile: string; keyFile: string }): TlsFiles {
  if (!managed) {
    for (const key of ['certificate-file', 'key-file'] as const) if (raw[key] === undefined) r.report('error', [...path, key], 'is required (unless the virtual host has acme, which orders its certificate)');
  } else {
    for (const key of ['certificate-file', 'key-file'] as const) if (raw[key] !== undefined) r.report('warning', [...path, key], 'is not used: the virtual host has acme, and serves the certificate ordered for it');
  }
  const profile = raw.profile ?? 'intermediate';
  const findings: Array<[string, Finding | undefined]> = [
    ['protocols', raw.protocols && checkProtocols(profile, raw.protocols)],
    ['ciphers', raw.ciphers === undefined ? undefined : checkCiphers(profile, raw.ciphers)],
    ['cipher-suites', raw['cipher-suites'] === undefined ? undefined : checkCipherSuites(profile, raw['cipher-suites'])],
  ];
  for (const [key, finding] of findings) if (finding) r.report(finding.severity, [...path, key], finding.message);
  const policy = tlsPolicy({
    source: r.source(path), profile: raw.profile, protocols: raw.protocols, ciphers: raw.ciphers,
    cipherSuites: raw['cipher-suites'], honorCipherOrder: raw['honor-cipher-order'],
  });
  const hsts = raw.hsts;
  return {
    ...buildClientCertificate(raw, path, r, managed),
    ...(raw['ocsp-response-file'] !== undefined && { ocspResponseFile: r.file(raw['ocsp-response-file']), ocspSource: r.source([...path, 'ocsp-response-file']) }),
    ...(policy && { policy }),
    ...clientCertificates(raw['client-certificates'], [...path, 'client-certificates'], r),
    ...(raw['ssl-options'] && {
      sslOptions: {
        source: r.source([...path, 'ssl-options']),
        exportCertData: raw['ssl-options']['export-cert-data'] ?? false,
        stdEnvVars: raw['ssl-options']['std-env-vars'] ?? false,
      },
    }),
    ...(hsts && {
      hsts: {
        source: r.source([...path, 'hsts']),
        maxAge: hsts['max-age'] ?? NATIVE_DEFAULTS.hsts.maxAge,
        includeSubDomains: hsts['include-subdomains'] ?? NATIVE_DEFAULTS.hsts.includeSubDomains,
        preload: hsts.preload ?? NATIVE_DEFAULTS.hsts.preload,
      },
    }),
  };
}

/** A certificate, its key and chain: a `tls` mapping's, or a `client-certificate` one's wherever it is. */
/**
 * A certificate, its key and chain: a `tls` mapping's, or a `client-certificate` one's wherever it is. `managed`: the
 * files an acme domain keeps in its store, in place of those named here (a required key, so absent only under acme).
 */
export function buildClientCertificate(
  raw: Partial<NativeClientCertificate>, path: KeyPath, r: NativeReport, managed?: { certificateFile: string; keyFile: string },
): ClientCertificate {
  return {
    source: r.source([...path, 'certificate-file']),
    certificateFile: managed?.certificateFile ?? r.file(raw['certificate-file'] ?? ''),
    keyFile: managed?.keyFile ?? r.file(raw['key-file'] ?? ''),
    keySource: r.source([...path, 'key-file']),
    ...(raw['chain-file'] !== undefined && { chainFile: r.file(raw['chain-file']), chainSource: r.source([...path, 'chain-file']) }),
  };
}

const NAMES = { ca: 'ca-file or ca-path', crl: 'crl-file or crl-path', crlCheck: 'crl-check' };

/** `client-certificates`: verify none asks for nothing; CRLs named are checked for the whole chain unless crl-check says none. */
function clientCertificates(raw: NativeTls['client-certificates'], path: KeyPath, r: NativeReport): { clientCertificates?: ClientCertificates } {
  if (raw === undefined || raw.verify === 'none') return {};
  const inDirectory = (key: 'ca-path' | 'crl-path', label: 'CERTIFICATE' | 'X509 CRL'): string[] => {
    const dir = raw[key];
    if (dir === undefined) return [];
    const files = pemFilesIn(r.file(dir), label);
    if (!('error' in files)) return files;
    r.report('error', [...path, key], files.error);
    return [];
  };
  const caFiles = [...(raw['ca-file'] ?? []).map((f) => r.file(f)), ...inDirectory('ca-path', 'CERTIFICATE')];
  const crlFiles = [...(raw['crl-file'] ?? []).map((f) => r.file(f)), ...inDirectory('crl-path', 'X509 CRL')];
  const caKey = raw['ca-file'] !== undefined ? 'ca-file' : raw['ca-path'] !== undefined ? 'ca-path' : undefined;
  const crlKey = raw['crl-check'] !== undefined ? 'crl-check' : raw['crl-file'] !== undefined ? 'crl-file' : raw['crl-path'] !== undefined ? 'crl-path' : undefined;
  const settings: ClientCertificates = {
    source: r.source([...path, 'verify']),
    verify: raw.verify,
    depth: raw['verify-depth'] ?? DEFAULT_VERIFY_DEPTH,
    caFiles,
    ...(caKey && { caSource: r.source([...path, caKey]) }),
    crlFiles,
    crlCheck: raw['crl-check'] ?? (crlFiles.length > 0 ? 'chain' : 'none'),
    ...(crlKey && { crlSource: r.source([...path, crlKey]) }),
    forwardRfc9440: raw.forward === 'rfc9440',
  };
  const problem = clientCertificatesProblem(settings, NAMES);
  if (problem) r.report(problem.severity, [...path, problem.at === 'verify' ? 'verify' : (crlKey ?? 'crl-check')], problem.message);
  return { clientCertificates: settings };
}
