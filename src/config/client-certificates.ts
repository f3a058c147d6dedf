// Client certificates at the front, as both configuration readers take them: the verify levels, SSLVerifyDepth's
// range, the CRL modes Stickler carries out, the certificates of a CA or CRL directory, what a setting lacks to
// work, and the agreement the virtual hosts of one TLS port need (Node asks for a client certificate per server,
// not per SNI name, and one port is one server).
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ClientCertificates, ListenerConfig, VerifyClient, VirtualHostConfig } from './model.ts';
import { portConflicts, type PortConflict } from './tls-profile.ts';

export const VERIFY_LEVELS: readonly VerifyClient[] = ['none', 'optional', 'require', 'optional_no_ca'];
export const CRL_CHECKS: readonly ClientCertificates['crlCheck'][] = ['none', 'chain', 'leaf'];

/** mod_ssl's default SSLVerifyDepth: the client's certificate must be issued by a CA that is trusted directly. */
export const DEFAULT_VERIFY_DEPTH = 1;
/** OpenSSL's own limit on a chain it builds is 100 certificates. */
export const MAX_VERIFY_DEPTH = 100;

export function parseVerifyLevel(text: string): VerifyClient | { error: string } {
  const level = VERIFY_LEVELS.find((l) => l === text.toLowerCase());
  return level ?? { error: `"${text}" is not a verify level; expected none, optional, require or optional_no_ca` };
}

/**
 * Why a CRL mode cannot be carried out, or undefined. OpenSSL as Node sets it up checks the CRL of every
 * certificate in the chain, and reports only the last problem it met, so a revoked client certificate could hide
 * behind the missing CRL of its issuer: a leaf-only check is refused rather than guessed.
 */
export function crlCheckProblem(mode: string, flags: readonly string[]): string | undefined {
  const lower = mode.toLowerCase();
  if (!CRL_CHECKS.some((c) => c === lower)) return `"${mode}" is not a revocation check; expected none, chain or leaf`;
  if (lower === 'leaf') {
    return 'leaf-only CRL checks are not supported by Stickler (Node\'s OpenSSL checks the CRL of every CA in the chain); expected chain, with a CRL from each CA of the chain (an empty one from a CA that revokes nothing)';
  }
  if (flags.length > 0) {
    return `the flags ${flags.join(' ')} are not supported by Stickler; expected ${lower} alone, with a CRL from each CA of the chain (no_crl_for_cert_ok would let a certificate through whose CA has no CRL)`;
  }
  return undefined;
}

/** What a client-certificate setting lacks to work, as mod_ssl refuses it at start, or undefined. */
export function clientCertificatesProblem(
  c: ClientCertificates, names: { ca: string; crl: string; crlCheck: string },
): { at: 'verify' | 'crl'; severity: 'error' | 'warning'; message: string } | undefined {
  if ((c.verify === 'require' || c.verify === 'optional') && c.caFiles.length === 0) {
    return { at: 'verify', severity: 'error', message: `${c.verify} verifies client certificates against trusted CAs, and none are named; expected ${names.ca} with the CA certificates that issue them` };
  }
  if (c.crlCheck !== 'none' && c.crlFiles.length === 0) {
    return { at: 'crl', severity: 'error', message: `revocation checks need CRLs, and none are named; expected ${names.crl}` };
  }
  if (c.crlCheck === 'none' && c.crlFiles.length > 0) {
    return { at: 'crl', severity: 'warning', message: `ignored: the CRLs are not checked without a revocation check (as in Apache 2.4); expected ${names.crlCheck} chain` };
  }
  return undefined;
}

/**
 * The PEM files in `dir` holding a block labelled `label` (`CERTIFICATE`, `X509 CRL`), each once: OpenSSL's
 * hashed names (`5ed36f99.0`) are usually links to files also there under their own names. Sorted, so a reload of an
 * unchanged directory gives the same list. A file that cannot be read is an error, not passed over: a CA left out
 * unsaid would only show as refused clients.
 */
export function pemFilesIn(dir: string, label: 'CERTIFICATE' | 'X509 CRL'): string[] | { error: string } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: `cannot read the directory ${dir}: ${code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : (code ?? String(err))}` };
  }
  const seen = new Map<string, string>();
  for (const name of names.toSorted()) {
    const path = join(dir, name);
    try {
      const real = realpathSync(path);
      if (seen.has(real) || !statSync(real).isFile()) continue;
      if (readFileSync(real, 'latin1').includes(`-----BEGIN ${label}-----`)) seen.set(real, path);
    } catch (err) {
      // A hashed link whose certificate was removed: OpenSSL passes over it too.
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      return { error: `cannot read ${path} in ${dir}: ${code === 'ELOOP' ? 'a loop of symbolic links' : (code ?? String(err))}; expected it readable, or gone from the directory` };
    }
  }
  if (seen.size === 0) return { error: `${dir} holds no PEM file with a ${label} block; expected the ${label === 'CERTIFICATE' ? 'CA certificates' : 'CRLs'} as PEM files` };
  return [...seen.values()];
}

/** Settings that every handshake on a port shares, compared by value. */
function sameClientCertificates(a: ClientCertificates | undefined, b: ClientCertificates | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.verify === b.verify && a.depth === b.depth && a.crlCheck === b.crlCheck
    && a.caFiles.join('\n') === b.caFiles.join('\n') && a.crlFiles.join('\n') === b.crlFiles.join('\n');
}

/** TLS virtual hosts whose client-certificate settings differ from those of the first on a port they share. */
export function clientCertificateConflicts(listeners: readonly ListenerConfig[], vhosts: readonly VirtualHostConfig[]): PortConflict[] {
  return portConflicts(listeners, vhosts, (a, b) => sameClientCertificates(a.clientCertificates, b.clientCertificates));
}
