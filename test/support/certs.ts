// One certificate serves every process in a test (Tomcat, Apache, Stickler, HAProxy, nginx): clients do
// not verify it, but Apache checks backend names by default, so the SANs must cover 127.0.0.1 too. Tests of
// certificates themselves get a CA of their own, made with openssl's own `ca` command at test time (it alone sets
// dates in the past and keeps the database a CRL is made from): testCa issues what a member or a reload needs,
// testClientCa clients in every state a verdict can see, both from that one CA.

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
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
  /** Hex, as Node prints it: what a peer sees in getPeerCertificate().serialNumber. */
  serial: string;
}

/** What a certificate is for, as extensions: a client (the default), a server with these SANs, a CA, or lines of one's own. */
export type Extensions = 'client' | { altNames: string } | 'ca' | { lines: string[] };

export interface CaIssueOptions {
  /** The certificate's extensions; 'client' by default. */
  extensions?: Extensions;
  /** openssl ca's -startdate/-enddate (YYYYMMDDHHMMSSZ), for certificates out of date. */
  dates?: { start: string; end: string };
}

/** A CA made with openssl at test time, issuing certificates into its directory. */
export interface TestCa {
  /** The CA's certificate (PEM). */
  caFile: string;
  /** A certificate for `commonName`; '' gives one with an empty subject. */
  issue(commonName: string, opts?: CaIssueOptions): Promise<IssuedCertificate>;
  /** Puts `cert` on the CA's list of revoked certificates. */
  revoke(cert: CertificateFiles): Promise<void>;
  /** A CRL of what the CA has revoked so far, written to `file`. */
  crl(file: string): Promise<void>;
  /** A CA this one issues, with a directory of its own under this one's. */
  subordinate(name: string): Promise<TestCa>;
}

/** A self-signed CA in `dir` (made if need be) named `name`. */
export async function testCa(dir: string, name = 'Stickler Test CA'): Promise<TestCa> {
  return caIn(dir, name, async (config, key, caFile) => {
    await runOpenssl(['req', '-x509', '-config', config, '-extensions', 'ca_ext', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', caFile, '-days', '30', '-subj', `/O=Stickler Tests/CN=${name}`]);
  });
}

const EXTENSIONS = {
  client: ['basicConstraints = CA:FALSE', 'keyUsage = digitalSignature', 'extendedKeyUsage = clientAuth'],
  ca: ['basicConstraints = critical, CA:TRUE', 'keyUsage = critical, keyCertSign, cRLSign', 'subjectKeyIdentifier = hash'],
};

function extensionLines(e: Extensions): string[] {
  if (e === 'client' || e === 'ca') return EXTENSIONS[e];
  return 'altNames' in e ? ['basicConstraints = CA:FALSE', `subjectAltName = ${e.altNames}`] : e.lines;
}

/** The one CA directory every test CA is: openssl ca's configuration and database, and its certificate made by `make`. */
async function caIn(dir: string, name: string, make: (config: string, key: string, caFile: string) => Promise<void>): Promise<TestCa> {
  await mkdir(join(dir, 'issued'), { recursive: true });
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), `${randomBytes(8).toString('hex')}\n`);
  await writeFile(join(dir, 'crlnumber'), '01\n');
  const config = join(dir, 'openssl.cnf');
  await writeFile(config, [
    '[ca]', 'default_ca = test_ca',
    '[test_ca]', `dir = ${dir}`, 'database = $dir/index.txt', 'new_certs_dir = $dir/issued', 'serial = $dir/serial',
    'crlnumber = $dir/crlnumber', 'certificate = $dir/ca.pem', 'private_key = $dir/ca.key', 'default_md = sha256',
    'default_days = 30', 'default_crl_days = 30', 'policy = any', 'unique_subject = no', 'copy_extensions = none',
    '[any]', 'commonName = optional',
    '[req]', 'distinguished_name = dn', '[dn]',
    '[ca_ext]', ...EXTENSIONS.ca,
    '',
  ].join('\n'));
  const caFile = join(dir, 'ca.pem');
  await make(config, join(dir, 'ca.key'), caFile);
  const files = new Set<string>();
  const self: TestCa = {
    caFile,
    async issue(commonName, opts = {}) {
      const base = commonName.replace(/[^\w.-]/g, '_') || 'no-subject';
      let file = base;
      for (let n = 2; files.has(file); n++) file = `${base}-${n}`;
      files.add(file);
      const [keyFile, csr, certFile, ext, combinedFile] = ['key', 'csr', 'pem', 'ext', 'combined.pem'].map((s) => join(dir, `${file}.${s}`)) as [string, string, string, string, string];
      await writeFile(ext, `${extensionLines(opts.extensions ?? 'client').join('\n')}\n`);
      await runOpenssl(['req', '-new', '-utf8', '-config', config, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', commonName === '' ? '/' : `/CN=${commonName}`]);
      const dates = opts.dates ? ['-startdate', opts.dates.start, '-enddate', opts.dates.end] : [];
      await runOpenssl(['ca', '-config', config, '-batch', '-notext', '-in', csr, '-out', certFile, '-extfile', ext, ...dates]);
      const cert = await readFile(certFile);
      await writeFile(combinedFile, Buffer.concat([cert, await readFile(keyFile)]));
      return { certFile, keyFile, combinedFile, serial: new X509Certificate(cert).serialNumber };
    },
    async revoke(cert) {
      await runOpenssl(['ca', '-config', config, '-batch', '-revoke', cert.certFile]);
    },
    async crl(file) {
      await runOpenssl(['ca', '-config', config, '-batch', '-gencrl', '-crldays', '30', '-out', file]);
    },
    async subordinate(subName) {
      const issued = await self.issue(subName, { extensions: 'ca' });
      return caIn(join(dir, issued.certFile.replace(/.*\//, '').replace(/\.pem$/, '')), subName, async (_config, key, subFile) => {
        await copyFile(issued.keyFile, key);
        await copyFile(issued.certFile, subFile);
      });
    },
  };
  return self;
}

/** A client-certificate CA, its CRL, and clients in every state a verdict can see. */
export interface ClientCa {
  caFile: string;
  /** PEM CRL issued by the CA, listing `revoked`. */
  crlFile: string;
  /** Issued by the CA, valid now. */
  valid: CertificateFiles;
  /** Issued by the CA, expired (in 2021). */
  expired: CertificateFiles;
  /** Issued by the CA, valid, on the CRL. */
  revoked: CertificateFiles;
  /** Issued by another CA that the configuration does not trust; valid dates. */
  unknown: CertificateFiles;
  /** Issued by the other CA and expired. */
  unknownExpired: CertificateFiles;
  /** Issued by the CA, valid from 2099 on. */
  notYetValid: CertificateFiles;
  /** Issued by the other CA, valid from 2099 on. */
  unknownNotYetValid: CertificateFiles;
  /** Issued by the CA for servers only (extendedKeyUsage serverAuth), valid. */
  serverOnly: CertificateFiles;
  /** Issued by a CA the CA issued; its file holds that CA after it, which a client sends with it. */
  chained: CertificateFiles;
}

const EXPIRED = { start: '20200101000000Z', end: '20210101000000Z' };
const NOT_YET_VALID = { start: '20990101000000Z', end: '20991231000000Z' };

export async function testClientCa(dir: string): Promise<ClientCa> {
  const [main, other] = [await testCa(join(dir, 'client-ca'), 'Test Client CA'), await testCa(join(dir, 'other-ca'), 'Unknown Client CA')];
  const valid = await main.issue('alice');
  const expired = await main.issue('bob', { dates: EXPIRED });
  const revoked = await main.issue('mallory');
  const serverOnly = await main.issue('trent', { extensions: { lines: ['basicConstraints = CA:FALSE', 'extendedKeyUsage = serverAuth'] } });
  await main.revoke(revoked);
  const crlFile = join(dir, 'client-ca', 'crl.pem');
  await main.crl(crlFile);
  const sub = await main.subordinate('Test Client Sub CA');
  const deep = await sub.issue('dave');
  const chained = { certFile: join(dir, 'chained.pem'), keyFile: deep.keyFile };
  await writeFile(chained.certFile, Buffer.concat([await readFile(deep.certFile), await readFile(sub.caFile)]));
  return {
    caFile: main.caFile, crlFile, valid, expired, revoked,
    unknown: await other.issue('eve'),
    unknownExpired: await other.issue('oscar', { dates: EXPIRED }),
    notYetValid: await main.issue('walter', { dates: NOT_YET_VALID }),
    unknownNotYetValid: await other.issue('victor', { dates: NOT_YET_VALID }),
    serverOnly, chained,
  };
}

/** openssl, waited for: issueCertificate makes its certificates synchronously, for a test's top level. */
function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

async function runOpenssl(args: string[]): Promise<void> {
  await run('openssl', args, { timeout: 30_000 });
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
