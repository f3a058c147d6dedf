// One certificate serves every process in a test (Tomcat, Apache, Stickler, HAProxy, nginx): clients do
// not verify it, but Apache checks backend names by default, so the SANs must cover 127.0.0.1 too. Tests of
// certificates themselves (client certificates, reloads) get a CA of their own, made with openssl.

import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
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

const run = promisify(execFile);

/** A certificate an openssl test CA issued: its files, and Apache's one file with the certificate then the key. */
export interface IssuedCertificate extends CertificateFiles {
  combinedFile: string;
  /** Hex, as openssl prints it: what a peer sees in getPeerCertificate().serialNumber. */
  serial: string;
}

/** A CA made with the openssl command at test time, issuing certificates into its directory. */
export interface TestCa {
  certFile: string;
  issue(commonName: string, opts?: { altNames?: string }): Promise<IssuedCertificate>;
}

export async function testCa(dir: string): Promise<TestCa> {
  const certFile = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caKey, '-out', certFile,
    '-subj', '/CN=Stickler Test CA', '-days', '2', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  let next = 1;
  return {
    certFile,
    async issue(commonName, opts = {}) {
      const base = join(dir, `${commonName}-${next}`);
      const serial = `${(0x1000 + next++).toString(16).toUpperCase()}`;
      const [keyFile, csr, cert, ext] = ['key.pem', 'csr', 'pem', 'ext'].map((s) => `${base}.${s}`) as [string, string, string, string];
      await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${commonName}`]);
      await writeFile(ext, opts.altNames ? `subjectAltName=${opts.altNames}\n` : 'basicConstraints=CA:FALSE\n');
      await run('openssl', ['x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', caKey, '-set_serial', `0x${serial}`, '-days', '1', '-out', cert, '-extfile', ext]);
      const combinedFile = `${base}.combined.pem`;
      await writeFile(combinedFile, Buffer.concat([await readFile(cert), await readFile(keyFile)]));
      return { certFile: cert, keyFile, combinedFile, serial };
    },
  };
}
