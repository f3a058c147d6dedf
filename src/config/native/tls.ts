// A native `tls` mapping → the model's TlsFiles: the certificate files, what the handshakes offer (checked
// against the profile in src/config/tls-profile.ts) and HSTS.
import type { ClientCertificate, TlsFiles } from '../model.ts';
import { checkCipherSuites, checkCiphers, checkProtocols, tlsPolicy, type Finding } from '../tls-profile.ts';
import { NATIVE_DEFAULTS } from './defaults.ts';
import type { KeyPath } from './locate.ts';
import type { NativeReport } from './report.ts';
import type { NativeClientCertificate, NativeTls } from './schema.ts';

export function buildTls(raw: NativeTls, path: KeyPath, r: NativeReport): TlsFiles {
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
    ...buildClientCertificate(raw, path, r),
    ...(raw['ocsp-response-file'] !== undefined && { ocspResponseFile: r.file(raw['ocsp-response-file']), ocspSource: r.source([...path, 'ocsp-response-file']) }),
    ...(policy && { policy }),
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
export function buildClientCertificate(raw: NativeClientCertificate, path: KeyPath, r: NativeReport): ClientCertificate {
  return {
    source: r.source([...path, 'certificate-file']),
    certificateFile: r.file(raw['certificate-file']),
    keyFile: r.file(raw['key-file']),
    keySource: r.source([...path, 'key-file']),
    ...(raw['chain-file'] !== undefined && { chainFile: r.file(raw['chain-file']), chainSource: r.source([...path, 'chain-file']) }),
  };
}
