// A virtual host's certificate, key, chain and OCSP response, read and checked as one: the start, every reload and
// --check all come through here, so what --check says is what the start would say. Every problem names the
// directive (or YAML key) that asked for the file and says in words what is wrong with it; OpenSSL's own text is
// kept in parentheses only where it adds something.
import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import tls from 'node:tls';
import type { ClientCertificate, ClientCertificates, Diagnostic, Source, TlsFiles } from '../config/model.ts';
import { handshakeOptions, ocspResponseProblem } from '../config/tls-profile.ts';

/** A problem with a file the configuration names, at the line that names it: always an error. */
export type FileProblem = Diagnostic;

/** How a file is read: the disk, or a test's files. Throws an ErrnoException as readFileSync does. */
export type ReadFile = (path: string) => Buffer;

export interface Credentials {
  options: tls.SecureContextOptions;
  context: tls.SecureContext;
  /** The OCSP response to staple with the DER certificate it belongs to. */
  staple?: { certificate: Buffer; response: Buffer };
  /** The CA certificates client certificates are verified against, where the virtual host asks for them. */
  clientCas?: X509Certificate[];
  /** When the certificate ends, ms since the epoch (for stickler_certificate_expiry_timestamp_seconds). */
  notAfter: number;
}

/** The directive or key of each TLS file, by configuration format. */
export const TLS_FILE_NAMES = {
  apache: {
    certificate: 'SSLCertificateFile', key: 'SSLCertificateKeyFile', chain: 'SSLCertificateChainFile', ocsp: 'tls.ocsp-response-file', ca: 'SSLProxyCACertificateFile',
    clientCa: 'SSLCACertificateFile', crl: 'SSLCARevocationFile',
  },
  native: {
    certificate: 'tls.certificate-file', key: 'tls.key-file', chain: 'tls.chain-file', ocsp: 'tls.ocsp-response-file', ca: 'backend-tls.ca-file',
    clientCa: 'tls.client-certificates.ca-file', crl: 'tls.client-certificates.crl-file',
  },
} as const;

export type Dialect = keyof typeof TLS_FILE_NAMES;

/** The directive or key of each file of a client certificate presented to members. */
const CLIENT_FILE_NAMES = {
  apache: { certificate: 'SSLProxyMachineCertificateFile', key: 'SSLProxyMachineCertificateFile', chain: 'SSLProxyMachineCertificateChainFile', ocsp: '' },
  native: { certificate: 'client-certificate.certificate-file', key: 'client-certificate.key-file', chain: 'client-certificate.chain-file', ocsp: '' },
} as const;

type FileNames = { [K in 'certificate' | 'key' | 'chain' | 'ocsp']: string };

/** The credentials of one TLS virtual host, or every problem found with its files. */
export function loadCredentials(files: TlsFiles, dialect: Dialect, read: ReadFile, names: FileNames = TLS_FILE_NAMES[dialect]): Credentials | FileProblem[] {
  const problems: FileProblem[] = [];
  const at = (source: Source | undefined, directive: string) => (message: string) =>
    void problems.push({ severity: 'error', ...(source ?? files.source), directive, message });
  const certProblem = at(files.source, names.certificate);
  const keyProblem = at(files.keySource, names.key);
  const cert = readOrSay(read, files.certificateFile, certProblem);
  // Apache's one file with both is read (and, when it cannot be, reported) once.
  const key = files.keyFile === files.certificateFile ? cert : readOrSay(read, files.keyFile, keyProblem);
  const chain = files.chainFile === undefined ? undefined : readOrSay(read, files.chainFile, at(files.chainSource, names.chain));
  const x509 = cert && parseCertificates(cert, files.certificateFile, certProblem)?.[0];
  if (chain) parseCertificates(chain, files.chainFile!, at(files.chainSource, names.chain));
  const privateKey = key && parseKey(key, files.keyFile, keyProblem);
  if (x509 && privateKey && !x509.checkPrivateKey(privateKey)) {
    keyProblem(`the private key in ${files.keyFile} does not match the certificate in ${files.certificateFile}${files.keySource ? ` (${names.certificate} at line ${files.source.line})` : ''}; expected the key the certificate was issued for`);
  }
  let staple: Credentials['staple'];
  if (files.ocspResponseFile !== undefined) {
    const ocspProblem = at(files.ocspSource, names.ocsp);
    const response = readOrSay(read, files.ocspResponseFile, ocspProblem);
    const wrong = response && ocspResponseProblem(response);
    if (wrong) ocspProblem(`${files.ocspResponseFile}: ${wrong}`);
    else if (response && x509) staple = { certificate: x509.raw, response };
  }
  const client = files.clientCertificates && clientAuthority(files.clientCertificates, read, at, TLS_FILE_NAMES[dialect]);
  if (problems.length > 0 || !cert || !key) return problems;
  const options: tls.SecureContextOptions = {
    cert: chain ? Buffer.concat([cert, Buffer.from('\n'), chain]) : cert,
    key,
    ...handshakeOptions(files.policy),
    ...client?.options,
    sessionIdContext: client?.sessionIdContext ?? NO_CLIENT_CERTIFICATES,
  };
  try {
    return { options, context: tls.createSecureContext(options), notAfter: Date.parse(x509!.validTo), ...(staple && { staple }), ...(client && { clientCas: client.cas }) };
  } catch (err) {
    certProblem(`${files.certificateFile} and ${files.keyFile} are not a usable certificate and key (${(err as Error).message})`);
    return problems;
  }
}

/** What a connection to a member presents when asked: the certificate, its chain after it, and its key. */
export type ClientCredentials = Required<Pick<tls.SecureContextOptions, 'cert' | 'key'>>;

/**
 * A client certificate's files, read and checked as a virtual host's are, each once. Apache's one file holds the
 * certificate and its key; httpd accepts several such pairs and picks one by the CA names the member asks for,
 * which Node's client side cannot do, so more than one is refused; and it refuses a certificate without its key
 * there, so intermediates in it are refused, named for the chain file.
 */
export function loadClientCertificate(files: ClientCertificate, dialect: Dialect, read: ReadFile): ClientCredentials | FileProblem[] {
  const names = CLIENT_FILE_NAMES[dialect];
  let text: Buffer | undefined;
  if (files.keyFile === files.certificateFile) {
    try {
      text = read(files.certificateFile);
    } catch {
      // loadCredentials says why.
    }
    const labels = text ? pemLabels(text) : [];
    const certificates = labels.filter((l) => l === 'CERTIFICATE').length;
    const keys = labels.filter((l) => l.endsWith('PRIVATE KEY')).length;
    const why = keys > 1
      ? `holds ${keys} keys and ${certificates} certificates: httpd picks among several pairs by the CA names the member asks for, which Stickler cannot; expected one certificate and its key (another certificate in its own <Proxy> section)`
      : certificates > 1 && keys === 1 && dialect === 'apache' ? `holds ${certificates} certificates and one key: intermediates do not go here (httpd refuses them too); expected the certificate and its key, with the intermediates in ${names.chain}` : undefined;
    if (why) return [{ severity: 'error', ...files.source, directive: names.certificate, message: `${files.certificateFile} ${why}` }];
  }
  const once: ReadFile = (path) => (text && path === files.certificateFile ? text : read(path));
  const loaded = loadCredentials(files, dialect, once, names);
  return Array.isArray(loaded) ? loaded : { cert: loaded.options.cert!, key: loaded.options.key! };
}

/**
 * The session ID context of handshakes that ask for no client certificate. Every TLS port shares the ticket keys,
 * so without a context of its own per client-certificate setting a session begun where no certificate was asked
 * for would resume where one is required, and skip it (CVE-2025-23419): OpenSSL resumes only within one context.
 */
const NO_CLIENT_CERTIFICATES = 'no-client-certificates';

/**
 * The CAs and CRLs of a client-certificate setting, read and checked, as secure-context options, with the session
 * ID context of the setting: the files' contents are in it, so a session begun before a reload that changed a CA or
 * revoked a certificate is not resumed after it.
 */
function clientAuthority(
  settings: ClientCertificates, read: ReadFile, at: (source: Source | undefined, directive: string) => (message: string) => void,
  names: Pick<(typeof TLS_FILE_NAMES)[Dialect], 'clientCa' | 'crl'>,
): { options: tls.SecureContextOptions; cas: X509Certificate[]; sessionIdContext: string } | undefined {
  const hash = createHash('sha256').update(JSON.stringify([settings.verify, settings.depth, settings.crlCheck]));
  const caProblem = at(settings.caSource ?? settings.source, names.clientCa);
  const ca: Buffer[] = [];
  const cas: X509Certificate[] = [];
  for (const file of settings.caFiles) {
    const text = readOrSay(read, file, caProblem);
    const parsed = text && parseCertificates(text, file, caProblem);
    if (parsed) {
      ca.push(text);
      cas.push(...parsed);
    }
  }
  const crlProblem = at(settings.crlSource ?? settings.source, names.crl);
  const crl: Buffer[] = [];
  for (const file of settings.crlCheck === 'none' ? [] : settings.crlFiles) {
    const text = readOrSay(read, file, crlProblem);
    const wrong = text && crlFileProblem(text, file);
    if (wrong) crlProblem(wrong);
    else if (text) crl.push(text);
  }
  for (const content of [...ca, ...crl]) hash.update(content);
  if (ca.length !== settings.caFiles.length || crl.length !== (settings.crlCheck === 'none' ? 0 : settings.crlFiles.length)) return undefined;
  // Always a list, empty too: without one Node verifies against its bundle of public roots, which Apache never does.
  return { options: { ca, ...(crl.length > 0 && { crl }) }, cas, sessionIdContext: hash.digest('hex').slice(0, 32) };
}

/** Why a file is not PEM CRLs OpenSSL takes, or undefined. */
function crlFileProblem(text: Buffer, file: string): string | undefined {
  const labels = pemLabels(text);
  if (labels.length === 0) return `${file} is not a PEM file (no "-----BEGIN X509 CRL-----" line); expected a PEM CRL such as \`openssl ca -gencrl\` writes`;
  if (!labels.includes('X509 CRL')) return `${file} holds ${article(labels[0]!)}, not a CRL; expected a PEM CRL (-----BEGIN X509 CRL-----)`;
  try {
    tls.createSecureContext({ crl: text });
    return undefined;
  } catch (err) {
    return `${file} is damaged: OpenSSL cannot read a CRL from it (${(err as Error).message})`;
  }
}

/** A CA bundle for verifying members: readable, and every block in it a certificate. */
export function caFileProblem(file: string, read: ReadFile): string | undefined {
  let said: string | undefined;
  const text = readOrSay(read, file, (m) => void (said = m));
  if (text) parseCertificates(text, file, (m) => void (said ??= m));
  return said;
}

/** Files as read once, by path: what a thread that must not read the disk again is given. */
export type FileContents = Map<string, Uint8Array>;

/**
 * Every file `files` names that can be read (a virtual host's also its client CAs and CRLs), into `contents`; one
 * that cannot is left out and reported as unreadable by `fromContents`.
 */
export function readTlsFiles(files: TlsFiles | ClientCertificate, read: ReadFile, contents: FileContents = new Map()): FileContents {
  const client = 'clientCertificates' in files ? files.clientCertificates : undefined;
  const ocsp = 'ocspResponseFile' in files ? files.ocspResponseFile : undefined;
  for (const path of [files.certificateFile, files.keyFile, files.chainFile, ocsp, ...(client?.caFiles ?? []), ...(client?.crlFiles ?? [])]) {
    if (path === undefined || contents.has(path)) continue;
    try {
      contents.set(path, read(path));
    } catch {
      // loadCredentials says why, reading it again through fromContents.
    }
  }
  return contents;
}

/** Reads from `contents`; a path it lacks fails as a missing file does. */
export function fromContents(contents: FileContents): ReadFile {
  return (path) => {
    const data = contents.get(path);
    if (data === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  };
}

function readOrSay(read: ReadFile, path: string, say: (message: string) => void): Buffer | undefined {
  try {
    return read(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (code ?? String(err));
    say(`cannot read ${path}: ${why}${code && code !== why ? ` (${code})` : ''}`);
    return undefined;
  }
}

const BEGIN = /-----BEGIN ([A-Z0-9 ]+)-----/g;

/** The PEM block labels in a file, in order: `CERTIFICATE`, `PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`... */
export function pemLabels(text: Buffer): string[] {
  return [...text.toString('latin1').matchAll(BEGIN)].map((m) => m[1]!);
}

/** Every certificate of a PEM file; undefined (after saying why) when it holds none or a broken one. */
function parseCertificates(text: Buffer, file: string, say: (message: string) => void): X509Certificate[] | undefined {
  const labels = pemLabels(text);
  if (labels.length === 0) return void say(`${file} is not a PEM file (no "-----BEGIN CERTIFICATE-----" line); expected a PEM certificate`);
  if (!labels.includes('CERTIFICATE')) return void say(`${file} holds ${article(labels[0]!)}, not a certificate; expected a PEM certificate`);
  const blocks = text.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  const parsed: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      parsed.push(new X509Certificate(block));
    } catch (err) {
      return void say(`certificate ${i + 1} in ${file} is damaged: its PEM block does not decode to a certificate (${(err as Error).message})`);
    }
  }
  if (parsed.length === 0) return void say(`${file} has a "-----BEGIN CERTIFICATE-----" line with no matching END line; the file is truncated`);
  return parsed;
}

function parseKey(text: Buffer, file: string, say: (message: string) => void): KeyObject | undefined {
  const labels = pemLabels(text);
  if (labels.length === 0) return void say(`${file} is not a PEM file (no "-----BEGIN PRIVATE KEY-----" line); expected a PEM private key`);
  const keyLabel = labels.find((l) => l.endsWith('PRIVATE KEY'));
  if (keyLabel === undefined) return void say(`${file} holds ${article(labels[0]!)}, not a private key; expected a PEM private key`);
  if (keyLabel === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(text.toString('latin1'))) {
    return void say(`the private key in ${file} is encrypted with a passphrase, which Stickler cannot ask for; expected an unencrypted key (openssl pkey -in ${file} -out plain.key)`);
  }
  try {
    return createPrivateKey(text);
  } catch (err) {
    return void say(`the private key in ${file} is damaged: its PEM block does not decode to a key (${(err as Error).message})`);
  }
}

function article(label: string): string {
  return `${/^[AEIOU]/.test(label) ? 'an' : 'a'} ${label} block`;
}
