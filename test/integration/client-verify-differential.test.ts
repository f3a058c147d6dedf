// The verdict on client certificates, differentially: Debian's apache2 and Stickler started on the same httpd.conf
// (the seed's virtual host with SSLVerifyClient, the test CA, its CRL where named, and RequestHeader set
// X-Client-Verify "%{SSL_CLIENT_VERIFY}s"), the same clients sent to both: valid, expired, not yet valid, revoked, of
// an unknown CA (in date, expired and not yet valid), for servers only (extendedKeyUsage serverAuth), through a CA of its own that it sends (one
// deeper than SSLVerifyDepth 1), and none. For each, whether the client was refused, and otherwise the verdict the member
// got, must be the same.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeader } from '../../src/http/head.ts';
import { apacheConfig, startApache } from '../support/apache.ts';
import { testClientCa, type ClientCa } from '../support/certs.ts';
import { localCertificate } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler } from '../support/stickler.ts';
import { withTimeout } from '../support/wait.ts';

/** Loopback round trips; a refused client is disconnected at or right after its handshake. */
const BOUND = 20_000;

const CLIENTS = ['valid', 'expired', 'notYetValid', 'revoked', 'unknown', 'unknownExpired', 'unknownNotYetValid', 'serverOnly', 'chained', 'none'] as const;
type Client = (typeof CLIENTS)[number];

let backend: RecordingBackend;
let ca: ClientCa;
let dir: string;

before(async () => {
  backend = await RecordingBackend.start(1);
  dir = await mkdtemp(join(tmpdir(), 'stickler-client-verify-diff-'));
  ca = await testClientCa(dir);
});

after(async () => {
  await backend?.close();
});

async function configText(port: number, name: string, lines: string[]): Promise<string> {
  // httpd takes some paths unquoted (SSLSessionCache shmcb:...): no spaces in them.
  const home = join(dir, name.replace(/[^\w-]+/g, '-'));
  await mkdir(home, { recursive: true });
  const { certFile, keyFile } = localCertificate();
  return apacheConfig({
    port, certFile, keyFile, dir: home, members: [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'node1' }],
    extraVhost: [...lines, ' RequestHeader set X-Client-Verify "%{SSL_CLIENT_VERIFY}s"'].join('\n'),
  });
}

/** `refused`, or the verdict the member got. */
function send(port: number, client: Client): Promise<string> {
  const credentials = client === 'none' ? {} : { cert: readFileSync(ca[client].certFile), key: readFileSync(ca[client].keyFile) };
  const from = backend.connections.length;
  return withTimeout(new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, path: `/${client}`, agent: false, rejectUnauthorized: false, ...credentials }, (res) => {
      res.resume();
      res.on('end', () => {
        const head = backend.connections.slice(from).flatMap((c) => c.requests)[0];
        resolve(head ? getHeader(head.headers, 'x-client-verify') ?? '(none)' : `status ${res.statusCode} without the member`);
      });
    });
    req.on('error', () => resolve(backend.connections.length === from ? 'refused' : 'refused after reaching the member'));
    req.end();
  }), BOUND, `${client} on ${port}`);
}

async function run(start: () => Promise<{ port: number; stop(): Promise<void> }>): Promise<Record<Client, string>> {
  const product = await start();
  try {
    const seen = {} as Record<Client, string>;
    for (const client of CLIENTS) seen[client] = await send(product.port, client);
    return seen;
  } finally {
    await product.stop();
  }
}

const crl = () => [` SSLCARevocationFile ${ca.crlFile}`, ' SSLCARevocationCheck chain'];

const refused = { expired: 'refused', notYetValid: 'refused', unknownExpired: 'refused', unknownNotYetValid: 'refused', serverOnly: 'refused', chained: 'refused' };
/**
 * mod_ssl's documentation calls an unknown issuer under optional_no_ca GENEROUS; httpd 2.4.71 on OpenSSL 3 lets the
 * client in and passes on FAILED with OpenSSL's last error, and refuses it when CRLs are checked.
 */
const VARIANTS: Array<[string, () => string[], Record<Client, string>]> = [
  ['require, CRL checked', () => [' SSLVerifyClient require', ` SSLCACertificateFile ${ca.caFile}`, ...crl()],
    { valid: 'SUCCESS', ...refused, revoked: 'refused', unknown: 'refused', none: 'refused' }],
  ['optional, CRL checked', () => [' SSLVerifyClient optional', ` SSLCACertificateFile ${ca.caFile}`, ...crl()],
    { valid: 'SUCCESS', ...refused, revoked: 'refused', unknown: 'refused', none: 'NONE' }],
  ['optional_no_ca', () => [' SSLVerifyClient optional_no_ca', ` SSLCACertificateFile ${ca.caFile}`],
    { valid: 'SUCCESS', ...refused, revoked: 'SUCCESS', unknown: 'FAILED:unable to verify the first certificate', none: 'NONE' }],
  ['optional_no_ca, CRL checked', () => [' SSLVerifyClient optional_no_ca', ` SSLCACertificateFile ${ca.caFile}`, ...crl()],
    { valid: 'SUCCESS', ...refused, revoked: 'refused', unknown: 'refused', none: 'NONE' }],
  // Depth 0: only a certificate with no issuer above it would do; the CA above each of these is one too many.
  ['optional_no_ca, SSLVerifyDepth 0', () => [' SSLVerifyClient optional_no_ca', ' SSLVerifyDepth 0', ` SSLCACertificateFile ${ca.caFile}`],
    { valid: 'refused', ...refused, revoked: 'refused', unknown: 'FAILED:unable to verify the first certificate', none: 'NONE' }],
];

for (const [name, lines, expected] of VARIANTS) {
  test(`SSLVerifyClient ${name}: apache2 and Stickler refuse the same clients and pass on the same SSL_CLIENT_VERIFY`, async () => {
    const viaApache = await run(async () => startApache(await configText(await freePort(), `apache-${name}`, lines())));
    const viaStickler = await run(async () => {
      const port = await freePort();
      const file = join(dir, `stickler-${name.replace(/[^\w-]+/g, '-')}.conf`);
      await writeFile(file, await configText(port, `stickler-${name}`, lines()));
      const stickler = await startStickler(file);
      return { port, stop: () => stickler.stop() };
    });
    assert.deepEqual(viaStickler, viaApache);
    // What apache2 did, spelt out, so that two products failing alike cannot pass.
    assert.deepEqual(viaApache, expected);
  });
}
