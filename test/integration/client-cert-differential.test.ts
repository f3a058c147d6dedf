// WSO2 Identity Server's X.509 recipe for Apache, differentially: Debian's apache2 and Stickler started on the same
// text (the seed's virtual host with `SSLVerifyClient optional_no_ca`, `SSLOptions +ExportCertData +StdEnvVars` and
// `RequestHeader set SSL_CLIENT_CERT "%{SSL_CLIENT_CERT}s"`, plus a RequestHeader line for each other SSL_CLIENT_*
// variable, in its `%{VAR}s` and `%{VAR}e` forms, and a CustomLog of `%{VAR}x` and `%{VAR}e` items) in front of a
// member that records every byte. For each client (a certificate from the configured CA with a DN of commas,
// plus signs, UTF-8, a multi-valued RDN and an email, with SANs, alone and with its CA; one from an unknown CA, alone
// and with that CA;
// a plain one; none) the member must get byte-identical header values from both, and the log the same line.
// Stickler is asked over HTTP/2 as well: the same values.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apacheConfig, startApache, type ApacheMember } from '../support/apache.ts';
import { issueCertificate, type MadeCertificate } from '../support/certs.ts';
import { h2Status, request } from '../support/client.ts';
import { localCertificate } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend, recordedBytes } from '../support/recording-backend.ts';
import { startStickler } from '../support/stickler.ts';
import { fileLines } from '../support/wait.ts';

/** Loopback round trips through a proxy; generous for a loaded CI machine. */
const BOUND = 20_000;

/** Every variable the recipe sends, as `X-<n>` headers in the `%{VAR}s` form; the `%{VAR}e` forms follow. */
const SSL_VARIABLES = [
  'SSL_CLIENT_VERIFY', 'SSL_CLIENT_S_DN', 'SSL_CLIENT_I_DN', 'SSL_CLIENT_M_SERIAL', 'SSL_CLIENT_M_VERSION', 'SSL_CLIENT_V_START',
  'SSL_CLIENT_V_END', 'SSL_CLIENT_V_REMAIN', 'SSL_CLIENT_A_SIG', 'SSL_CLIENT_A_KEY', 'SSL_CLIENT_CERT_CHAIN_0', 'SSL_CLIENT_CERT_CHAIN_1',
  'SSL_CLIENT_S_DN_CN', 'SSL_CLIENT_S_DN_CN_1', 'SSL_CLIENT_S_DN_O', 'SSL_CLIENT_S_DN_OU', 'SSL_CLIENT_S_DN_OU_1', 'SSL_CLIENT_S_DN_UID',
  'SSL_CLIENT_S_DN_Email', 'SSL_CLIENT_S_DN_L', 'SSL_CLIENT_S_DN_C', 'SSL_CLIENT_I_DN_CN', 'SSL_CLIENT_I_DN_O', 'SSL_CLIENT_SAN_Email_0',
  'SSL_CLIENT_SAN_Email_1', 'SSL_CLIENT_SAN_DNS_0', 'SSL_CLIENT_SAN_OTHER_msUPN_0', 'SSL_CLIENT_CERT_RFC4523_CEA', 'SSL_CLIENT_S_DN_CN_RAW',
];
/** The header that carries `%{variable}s`. */
const header = (variable: string): string => `x-s${SSL_VARIABLES.indexOf(variable)}`;

const ENV_VARIABLES = [
  'SSL_CLIENT_CERT', 'SSL_CLIENT_CERT_CHAIN_0', 'SSL_CLIENT_VERIFY', 'SSL_CLIENT_S_DN', 'SSL_CLIENT_S_DN_CN', 'SSL_CLIENT_S_DN_CN_1',
  'SSL_CLIENT_S_DN_OU_1', 'SSL_CLIENT_S_DN_Email', 'SSL_CLIENT_SAN_Email_1', 'SSL_CLIENT_SAN_OTHER_msUPN_0', 'SSL_CLIENT_M_SERIAL',
  'SSL_CLIENT_V_REMAIN', 'SSL_CLIENT_CERT_RFC4523_CEA', 'SSL_CLIENT_S_DN_SP', 'SSL_PROTOCOL', 'SSL_CIPHER', 'SSL_TLS_SNI',
];

const LOG_FORMAT = '%{subjectdn}c|%{issuerdn}c|%{errcode}c|%{errstr}c|%{SSL_CLIENT_S_DN}x|%{SSL_CLIENT_VERIFY}x|%{SSL_CLIENT_S_DN_CN}x|%{SSL_CLIENT_M_SERIAL}x|%{SSL_CLIENT_S_DN}e|%{SSL_CLIENT_S_DN_CN_1}e|%{SSL_CLIENT_CERT}e|%{SSL_CLIENT_V_END}e';

const recipe = (caFile: string, logFile: string): string =>
  [
    ' SSLVerifyClient optional_no_ca',
    ' SSLVerifyDepth 2',
    ` SSLCACertificateFile ${caFile}`,
    ' SSLOptions +ExportCertData +StdEnvVars',
    ' RequestHeader set SSL_CLIENT_CERT "%{SSL_CLIENT_CERT}s"',
    ...SSL_VARIABLES.map((v, i) => ` RequestHeader set X-S${i} "%{${v}}s"`),
    ...ENV_VARIABLES.map((v, i) => ` RequestHeader set X-E${i} "%{${v}}e"`),
    ` CustomLog ${logFile} "${LOG_FORMAT}"`,
  ].join('\n');

let dir: string;
let backend: RecordingBackend;
let members: ApacheMember[];
let ca: MadeCertificate;
const clients: Record<string, { cert: string; key: string } | undefined> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-client-cert-diff-'));
  backend = await RecordingBackend.start(1);
  members = [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'node1' }];
  ca = issueCertificate(dir, 'ca', { subject: '/C=LK/O=WSO2 Test CA\\, Ltd./CN=Test Client Root', ca: true, key: 'rsa:2048' });
  const other = issueCertificate(dir, 'other-ca', { subject: '/O=Nobody We Know/CN=Unknown Root', ca: true });
  const person = issueCertificate(dir, 'person', {
    subject: '/C=DE/L=München/O=Smith\\, Jones & Co/OU=Dev/OU=Ops <α>/CN=Jörg Müller+UID=jm42/emailAddress=jorg@example.org/CN= #2 back\\\\slash "q";x ',
    altNames: 'email:jorg@example.org,email:j2@example.org,DNS:jorg.example,otherName:1.3.6.1.4.1.311.20.2.3;UTF8:jorg@EXAMPLE.ORG',
    issuer: ca,
    serial: '00C0FFEE',
  });
  const stranger = issueCertificate(dir, 'stranger', { subject: '/CN=eve', issuer: other });
  const plain = issueCertificate(dir, 'plain', { subject: '/CN=alice', issuer: ca, key: 'rsa:2048' });
  const key = async (c: MadeCertificate) => readFile(c.keyFile, 'utf8');
  clients['a DN with commas, plus, UTF-8, a multi-valued RDN and an email'] = { cert: person.pem, key: await key(person) };
  clients['the same, sending its CA after its certificate'] = { cert: person.pem + ca.pem, key: await key(person) };
  clients['an unknown CA (optional_no_ca lets it in)'] = { cert: stranger.pem, key: await key(stranger) };
  clients['an unknown CA, sending that CA after its certificate'] = { cert: stranger.pem + other.pem, key: await key(stranger) };
  clients['a plain one with an RSA key'] = { cert: plain.pem, key: await key(plain) };
  clients['none'] = undefined;
  // openssl ends validity exactly `-days` after this second, so SSL_CLIENT_V_REMAIN (whole days left) is one more
  // within it than after it: the products are asked only once it is past, and agree whenever each is asked.
  await new Promise((resolve) => setTimeout(resolve, 1_100));
});

after(async () => {
  await backend?.close();
});

/** The configuration for a product: the seed's virtual host with the recipe, its own log file. */
async function configText(port: number, name: string): Promise<{ text: string; logFile: string }> {
  const home = join(dir, name);
  await mkdir(home, { recursive: true });
  const logFile = join(home, 'client_log');
  const { certFile, keyFile } = localCertificate();
  return { text: apacheConfig({ port, certFile, keyFile, members, dir: home, extraVhost: recipe(ca.certFile, logFile) }), logFile };
}

/** The recipe's fields in the head the member got on the connections from `from` on, values as bytes. */
function recipeFields(from: number): Map<string, string> {
  const connections = backend.connections.slice(from).filter((c) => c.requests.length > 0);
  assert.equal(connections.length, 1, `${connections.length} member connections got a request`);
  const head = recordedBytes(connections).toString('latin1').split('\r\n\r\n')[0]!;
  const fields = new Map<string, string>();
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    if (name === 'ssl_client_cert' || /^x-[se]\d+$/.test(name)) fields.set(name, line.slice(colon + 1).replace(/^[ \t]+/, ''));
  }
  return fields;
}

/** Each client's fields, as the member got them, in the order of `clients`. */
type Seen = Record<string, Record<string, string>>;

type Credentials = (typeof clients)[string];

/** One GET by a client with `credentials`, over one protocol; the status. */
type Send = (url: string, credentials: Credentials) => Promise<number>;
const http1: Send = async (url, credentials) => (await request(url, { ...(credentials && { clientCertificate: credentials }), timeoutMs: BOUND })).status;
const http2: Send = (url, credentials) => h2Status(url, { ...(credentials && { clientCertificate: credentials }), timeoutMs: BOUND });

/** What the member got for each client, asked in turn through the product on `port`. */
async function seenVia(port: number, send: Send): Promise<Seen> {
  const seen: Seen = {};
  for (const [what, credentials] of Object.entries(clients)) {
    const from = backend.connections.length;
    const status = await send(`https://127.0.0.1:${port}/`, credentials);
    assert.equal(status, 200, `${what}: status ${status}`);
    seen[what] = Object.fromEntries(recipeFields(from));
  }
  return seen;
}

test('the WSO2 recipe: the member gets the same SSL_CLIENT_* bytes from Apache and Stickler for every client, and the logs agree', async () => {
  const apachePort = await freePort();
  const apacheSide = await configText(apachePort, 'apache');
  const apache = await startApache(apacheSide.text);
  let fromApache: Seen;
  try {
    fromApache = await seenVia(apachePort, http1);
  } finally {
    await apache.stop();
  }
  const sticklerPort = await freePort();
  const sticklerSide = await configText(sticklerPort, 'stickler');
  const file = join(dir, 'stickler.conf');
  await writeFile(file, sticklerSide.text);
  const stickler = await startStickler(file);
  let fromStickler: Seen;
  let overHttp2: Seen;
  try {
    fromStickler = await seenVia(sticklerPort, http1);
    overHttp2 = await seenVia(sticklerPort, http2);
  } finally {
    await stickler.stop();
  }
  const count = Object.keys(clients).length;
  for (const what of Object.keys(clients)) {
    const names = [...new Set([...Object.keys(fromApache[what]!), ...Object.keys(fromStickler[what]!)])].sort();
    // Every line of the recipe wrote its field, `(null)` included.
    assert.equal(names.length, 1 + SSL_VARIABLES.length + ENV_VARIABLES.length, `${what}: ${names.join(' ')}`);
    for (const name of names) {
      const variable = name === 'ssl_client_cert' ? 'SSL_CLIENT_CERT}s' : name[2] === 's' ? `${SSL_VARIABLES[Number(name.slice(3))]}}s` : `${ENV_VARIABLES[Number(name.slice(3))]}}e`;
      assert.equal(fromStickler[what]![name], fromApache[what]![name], `${what}: %{${variable} differs`);
      assert.equal(overHttp2[what]![name], fromApache[what]![name], `${what}: %{${variable} differs over HTTP/2`);
    }
  }
  // Stickler's log has the HTTP/1.1 requests, then the same clients over HTTP/2.
  const apacheLines = await fileLines(apacheSide.logFile, count, 'latin1');
  assert.deepEqual(await fileLines(sticklerSide.logFile, count * 2, 'latin1'), [...apacheLines, ...apacheLines]);
  // What the comparison rests on, so that two products failing alike cannot pass.
  const person = fromApache[Object.keys(clients)[0]!]!;
  assert.match(person['ssl_client_cert']!, /^-----BEGIN CERTIFICATE----- MII[^\n]+ -----END CERTIFICATE----- $/);
  assert.equal(person[header('SSL_CLIENT_VERIFY')], 'SUCCESS');
  assert.equal(Buffer.from(person[header('SSL_CLIENT_S_DN_CN')]!, 'latin1').toString('utf8'), 'Jörg Müller');
  assert.equal(fromApache['an unknown CA (optional_no_ca lets it in)']![header('SSL_CLIENT_VERIFY')], 'FAILED:unable to verify the first certificate');
  assert.equal(fromApache['none']![header('SSL_CLIENT_S_DN')], '(null)');
  // SSL_CLIENT_CERT_CHAIN_0 of the client that sent its CA, of the one that did not.
  assert.match(fromApache['the same, sending its CA after its certificate']![header('SSL_CLIENT_CERT_CHAIN_0')]!, /^-----BEGIN CERTIFICATE-----/);
  assert.equal(person[header('SSL_CLIENT_CERT_CHAIN_0')], '(null)');
});
