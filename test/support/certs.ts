// One certificate serves every process in a test (Tomcat, Apache, Stickler, HAProxy, nginx): clients do
// not verify it, but Apache checks backend names by default, so the SANs must cover 127.0.0.1 too.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export async function testCertificate(dir: string): Promise<CertificateFiles> {
  const { cert, key } = createSelfSigned({
    commonName: 'localhost',
    altNames: { dns: ['localhost'], ip: ['127.0.0.1'] },
  });
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  await writeFile(certFile, cert);
  await writeFile(keyFile, key, { mode: 0o600 });
  return { certFile, keyFile };
}

export interface IssuedCertificate extends CertificateFiles {
  /** The certificate as openssl wrote it (PEM). */
  pem: string;
}

export interface IssueOptions {
  /** openssl's `-subj` form, `/C=DE/O=Example/CN=Jörg+UID=42` (`+` joins a multi-valued RDN); UTF-8 is kept. */
  subject: string;
  /** subjectAltName as openssl's config writes it: `email:a@example.org,DNS:a.example,otherName:...`. */
  altNames?: string;
  /** Signed by this certificate's key; self-signed when absent. */
  issuer?: IssuedCertificate;
  /** A CA (basicConstraints CA:TRUE). */
  ca?: boolean;
  /** `rsa:2048`, `ed25519` or an elliptic curve name; P-256 by default. */
  key?: string;
  /** Hex serial number; openssl picks a random one when absent. */
  serial?: string;
  days?: number;
}

/**
 * A certificate made by the openssl command, `name.pem` and `name.key` in `dir`: the certificates a real CA issues,
 * with names and extensions Node's own generator (src/tls/selfsigned.ts) does not write.
 */
export function issueCertificate(dir: string, name: string, opts: IssueOptions): IssuedCertificate {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  const key = opts.key ?? 'P-256';
  const keyArgs = key.startsWith('rsa:') || key === 'ed25519' ? ['-newkey', key] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key}`];
  const ext = [opts.ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=CA:FALSE', ...(opts.altNames ? [`subjectAltName=${opts.altNames}`] : [])];
  const subject = ['-utf8', '-multivalue-rdn', '-subj', opts.subject];
  const validity = ['-days', String(opts.days ?? 30), ...(opts.serial ? ['-set_serial', `0x${opts.serial}`] : [])];
  const run = (args: string[]): void => void execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  if (opts.issuer === undefined) {
    run(['req', '-x509', ...keyArgs, '-nodes', '-keyout', keyFile, '-out', certFile, ...subject, ...validity, ...ext.flatMap((e) => ['-addext', e])]);
  } else {
    const csr = join(dir, `${name}.csr`);
    const extFile = join(dir, `${name}.ext`);
    writeFileSync(extFile, ext.join('\n') + '\n');
    run(['req', '-new', ...keyArgs, '-nodes', '-keyout', keyFile, '-out', csr, ...subject]);
    const serial = opts.serial ? [] : ['-CAcreateserial', '-CAserial', join(dir, `${name}.srl`)];
    run(['x509', '-req', '-in', csr, '-CA', opts.issuer.certFile, '-CAkey', opts.issuer.keyFile, '-out', certFile, '-extfile', extFile, ...validity, ...serial]);
  }
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}
