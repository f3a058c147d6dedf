// A native `tls` mapping → the model's TlsFiles: the certificate files, what the handshakes offer (checked
// against the profile in src/config/tls-profile.ts) and HSTS.
import type { TlsFiles } from '../model.ts';
import { checkCipherSuites, checkCiphers, checkProtocols, tlsPolicy, type Finding } from '../tls-profile.ts';
import { NATIVE_DEFAULTS } from './defaults.ts';
import type { KeyPath } from './locate.ts';
import type { NativeReport } from './report.ts';
import type { NativeTls } from './schema.ts';

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
    source: r.source([...path, 'certificate-file']),
    certificateFile: managed?.certificateFile ?? r.file(raw['certificate-file'] ?? ''),
    keyFile: managed?.keyFile ?? r.file(raw['key-file'] ?? ''),
    keySource: r.source([...path, 'key-file']),
    ...(raw['chain-file'] !== undefined && { chainFile: r.file(raw['chain-file']), chainSource: r.source([...path, 'chain-file']) }),
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
