// One certificate serves every process in a test (Tomcat, Apache, Stickler, HAProxy, nginx): clients do
// not verify it, but Apache checks backend names by default, so the SANs must cover 127.0.0.1 too.

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
