// One certificate serves every process in a test (Tomcat, Apache, Stickler, HAProxy, nginx): clients do
// not verify it, but Apache checks backend names by default, so the SANs must cover 127.0.0.1 too. Tests of
// certificates themselves get a CA of their own, made with openssl at test time: testCa for certificates a member or
// a reload needs, testClientCa for clients in every state a verdict can see.

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
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

/** A client-certificate CA made with openssl at test time, its CRL, and clients in every state a verdict can see. */
export interface ClientCa {
  caFile: string;
  /** PEM CRL issued by the CA, listing `revoked`. */
  crlFile: string;
  /** Issued by the CA, valid now. */
  valid: CertificateFiles;
  /** Issued by the CA, expired yesterday. */
  expired: CertificateFiles;
  /** Issued by the CA, valid, on the CRL. */
  revoked: CertificateFiles;
  /** Issued by another CA that the configuration does not trust; valid dates. */
  unknown: CertificateFiles;
  /** Issued by the other CA and expired. */
  unknownExpired: CertificateFiles;
}

/** openssl's own `ca` command (it alone sets dates in the past and keeps the database a CRL is made from). */
export async function testClientCa(dir: string): Promise<ClientCa> {
  const [main, other] = [await caDirectory(join(dir, 'client-ca'), 'Test Client CA'), await caDirectory(join(dir, 'other-ca'), 'Unknown Client CA')];
  const valid = issueClient(main, 'valid', 'alice');
  const expired = issueClient(main, 'expired', 'bob', ['-startdate', '20200101000000Z', '-enddate', '20210101000000Z']);
  const revoked = issueClient(main, 'revoked', 'mallory');
  openssl(['ca', '-config', main.config, '-batch', '-revoke', revoked.certFile]);
  const crlFile = join(main.dir, 'crl.pem');
  openssl(['ca', '-config', main.config, '-batch', '-gencrl', '-crldays', '30', '-out', crlFile]);
  return {
    caFile: main.caFile, crlFile, valid, expired, revoked,
    unknown: issueClient(other, 'unknown', 'eve'),
    unknownExpired: issueClient(other, 'unknown-expired', 'oscar', ['-startdate', '20200101000000Z', '-enddate', '20210101000000Z']),
  };
}

interface CaDirectory {
  dir: string;
  config: string;
  caFile: string;
}

async function caDirectory(dir: string, name: string): Promise<CaDirectory> {
  await mkdir(join(dir, 'issued'), { recursive: true });
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), `${randomBytes(8).toString('hex')}\n`);
  await writeFile(join(dir, 'crlnumber'), '01\n');
  const config = join(dir, 'openssl.cnf');
  await writeFile(config, [
    '[ca]', 'default_ca = test_ca',
    '[test_ca]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir/issued', 'serial = $dir/serial',
    'crlnumber = $dir/crlnumber', 'certificate = $dir/ca.pem', 'private_key = $dir/ca.key', 'default_md = sha256',
    'default_days = 30', 'default_crl_days = 30', 'policy = any', 'unique_subject = no', 'copy_extensions = none', 'x509_extensions = client',
    '[any]', 'commonName = supplied',
    '[client]', 'basicConstraints = CA:FALSE', 'keyUsage = digitalSignature', 'extendedKeyUsage = clientAuth',
    '[req]', 'distinguished_name = dn', '[dn]',
    '[root]', 'basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash',
    '',
  ].join('\n'));
  const caFile = join(dir, 'ca.pem');
  openssl(['req', '-x509', '-config', config, '-extensions', 'root', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', join(dir, 'ca.key'), '-out', caFile, '-days', '30', '-subj', `/O=Stickler Tests/CN=${name}`]);
  return { dir, config, caFile };
}

function issueClient(ca: CaDirectory, file: string, name: string, dates: string[] = []): CertificateFiles {
  const keyFile = join(ca.dir, `${file}.key`);
  const csr = join(ca.dir, `${file}.csr`);
  const certFile = join(ca.dir, `${file}.pem`);
  openssl(['req', '-new', '-config', ca.config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['ca', '-config', ca.config, '-batch', '-notext', '-in', csr, '-out', certFile, ...dates]);
  return { certFile, keyFile };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

export interface MadeCertificate extends CertificateFiles {
  /** The certificate as openssl wrote it (PEM). */
  pem: string;
}

export interface IssueOptions {
  /** openssl's `-subj` form, `/C=DE/O=Example/CN=Jörg+UID=42` (`+` joins a multi-valued RDN); UTF-8 is kept. */
  subject: string;
  /** subjectAltName as openssl's config writes it: `email:a@example.org,DNS:a.example,otherName:...`. */
  altNames?: string;
  /** Signed by this certificate's key; self-signed when absent. */
  issuer?: MadeCertificate;
  /** A CA (basicConstraints CA:TRUE). */
  ca?: boolean;
  /** `rsa:2048`, `ed25519` or an elliptic curve name; P-256 by default. */
  key?: string;
  /** Hex serial number; openssl picks a random one when absent. */
  serial?: string;
  days?: number;
  /** Validity from and to these times instead of `days` from now (a certificate well into its life); needs `issuer`. */
  validity?: { notBefore: Date; notAfter: Date };
}

/** `openssl x509 -req` of OpenSSL 3.0 only counts days from now; `openssl ca` takes both dates, and needs a database. */
function signDated(dir: string, name: string, csr: string, extFile: string, issuer: MadeCertificate, validity: { notBefore: Date; notAfter: Date }, serial?: string): void {
  const database = join(dir, `${name}.index`);
  const serialFile = join(dir, `${name}.serial`);
  writeFileSync(database, '');
  if (serial) writeFileSync(serialFile, `${serial}\n`);
  const config = join(dir, `${name}.ca.cnf`);
  writeFileSync(config, [
    '[ca]', 'default_ca = dated', '[dated]', `database = ${database}`, `new_certs_dir = ${dir}`, serial ? `serial = ${serialFile}` : 'rand_serial = yes',
    'default_md = sha256', 'policy = anything', 'unique_subject = no', '[anything]', 'commonName = optional', '',
  ].join('\n'));
  const asn1Time = (d: Date) => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
  openssl(['ca', '-batch', '-notext', '-preserveDN', '-config', config, '-in', csr, '-cert', issuer.certFile, '-keyfile', issuer.keyFile, '-out', join(dir, `${name}.pem`),
    '-extfile', extFile, '-startdate', asn1Time(validity.notBefore), '-enddate', asn1Time(validity.notAfter)]);
}

/**
 * A certificate made by the openssl command, `name.pem` and `name.key` in `dir`: the certificates a real CA issues,
 * with names and extensions Node's own generator (src/tls/selfsigned.ts) does not write.
 */
export function issueCertificate(dir: string, name: string, opts: IssueOptions): MadeCertificate {
  const certFile = join(dir, `${name}.pem`);
  const keyFile = join(dir, `${name}.key`);
  const key = opts.key ?? 'P-256';
  const keyArgs = key.startsWith('rsa:') || key === 'ed25519' ? ['-newkey', key] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${key}`];
  const ext = [opts.ca ? 'basicConstraints=critical,CA:TRUE' : 'basicConstraints=CA:FALSE', ...(opts.altNames ? [`subjectAltName=${opts.altNames}`] : [])];
  const subject = ['-utf8', '-multivalue-rdn', '-subj', opts.subject];
  const validity = ['-days', String(opts.days ?? 30), ...(opts.serial ? ['-set_serial', `0x${opts.serial}`] : [])];
  if (opts.issuer === undefined) {
    openssl(['req', '-x509', ...keyArgs, '-nodes', '-keyout', keyFile, '-out', certFile, ...subject, ...validity, ...ext.flatMap((e) => ['-addext', e])]);
  } else {
    const csr = join(dir, `${name}.csr`);
    const extFile = join(dir, `${name}.ext`);
    writeFileSync(extFile, ext.join('\n') + '\n');
    openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', keyFile, '-out', csr, ...subject]);
    const serial = opts.serial ? [] : ['-CAcreateserial', '-CAserial', join(dir, `${name}.srl`)];
    if (opts.validity === undefined) {
      openssl(['x509', '-req', '-in', csr, '-CA', opts.issuer.certFile, '-CAkey', opts.issuer.keyFile, '-out', certFile, '-extfile', extFile, ...validity, ...serial]);
    } else {
      signDated(dir, name, csr, extFile, opts.issuer, opts.validity, opts.serial);
    }
  }
  return { certFile, keyFile, pem: readFileSync(certFile, 'utf8') };
}
