// What a hostile client can put into the SSL_* variables, against a running Stickler in front of a member that records
// every byte. Under `SSLVerifyClient optional_no_ca` anyone's self-made certificate is let in, so the certificate, its
// chain and the SNI are the client's own bytes: an SNI with a control character read by RequestHeader and
// `Header always` rules (it failed the request, then its error response, and the connection hung), and a long chain of
// large certificates forwarded as SSL_CLIENT_CERT_CHAIN_n. Each request is answered, over HTTP/1.1 and HTTP/2.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { apacheConfig } from '../support/apache.ts';
import { issueCertificate, type MadeCertificate } from '../support/certs.ts';
import { h2Status, request } from '../support/client.ts';
import { localCertificate } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend, recordedBytes } from '../support/recording-backend.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { withTimeout } from '../support/wait.ts';

/** Loopback round trips through a proxy; generous for a loaded CI machine. */
const BOUND = 20_000;
/** The chain a client sends: its certificate and nine CAs, each with a few kilobytes of names. */
const CHAIN = 10;

let backend: RecordingBackend;
let stickler: SticklerProcess;
let port: number;
let chain: MadeCertificate[];
let longChain: { cert: string; key: string };

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stickler-client-cert-hostile-'));
  backend = await RecordingBackend.start(1);
  const ca = issueCertificate(dir, 'ca', { subject: '/CN=Configured Root', ca: true });
  const names = Array.from({ length: 150 }, (_, i) => `DNS:name-${i}.a-rather-long-domain.example`).join(',');
  chain = [issueCertificate(dir, 'unknown-root', { subject: '/CN=Unknown Root', ca: true, altNames: names })];
  for (let i = 1; i < CHAIN; i++) {
    chain.unshift(issueCertificate(dir, `c${i}`, { subject: `/CN=Level ${i}`, ca: i < CHAIN - 1, issuer: chain[0]!, altNames: names }));
  }
  longChain = { cert: chain.map((c) => c.pem).join(''), key: await readFile(chain[0]!.keyFile, 'utf8') };
  port = await freePort();
  const { certFile, keyFile } = localCertificate();
  const extraVhost = [
    ' SSLVerifyClient optional_no_ca',
    ` SSLVerifyDepth ${CHAIN}`,
    ` SSLCACertificateFile ${ca.certFile}`,
    ' RequestHeader set X-SNI "%{SSL_TLS_SNI}s"',
    ' Header always set X-SNI "%{SSL_TLS_SNI}s"',
    ...Array.from({ length: CHAIN }, (_, i) => ` RequestHeader set X-Chain-${i} "%{SSL_CLIENT_CERT_CHAIN_${i}}s"`),
  ].join('\n');
  const file = join(dir, 'httpd.conf');
  await writeFile(file, apacheConfig({ port, certFile, keyFile, members: [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'n1' }], dir, extraVhost }));
  stickler = await startStickler(file);
});

after(async () => {
  await stickler?.stop();
  await backend?.close();
});

/** The head the member got on the connections from `from` on. */
function memberHead(from: number): string {
  return recordedBytes(backend.connections.slice(from)).toString('latin1').split('\r\n\r\n')[0]!;
}

/** One HTTP/1.1 request with `servername` as the SNI, as a raw TLS client sends it: the status line and X-SNI. */
function withSni(servername: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
        socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      });
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('end', () => resolve(got.split('\r\n').filter((l) => /^HTTP\/|^x-sni:/i.test(l)).join('|')));
      socket.on('error', reject);
    }),
    BOUND,
    `the answer to SNI ${JSON.stringify(servername)}`,
  );
}

test('an SNI with control characters is answered: its bytes are spaces in RequestHeader and Header values', async () => {
  const from = backend.connections.length;
  assert.equal(await withSni('a\x01b\x7fc.example'), 'HTTP/1.1 200 OK|X-SNI: a b c.example');
  assert.match(memberHead(from), /\r\nX-SNI: a b c\.example\r\n/);
});

test('a long chain of large certificates: every SSL_CLIENT_CERT_CHAIN_n reaches the member as httpd sends it, whose answer the client gets; over HTTP/1.1 and HTTP/2', async () => {
  const expected = chain.slice(1).map((c, i) => `X-Chain-${i}: ${c.pem.replaceAll('\n', ' ')}`);
  for (const ask of [
    async () => (await request(`https://127.0.0.1:${port}/`, { clientCertificate: longChain, timeoutMs: BOUND })).status,
    () => h2Status(`https://127.0.0.1:${port}/`, { clientCertificate: longChain, timeoutMs: BOUND }),
  ]) {
    const from = backend.connections.length;
    // The recording member refuses a field line over 8190 bytes, as Tomcat's and httpd's defaults do.
    assert.equal(await ask(), 400);
    const lines = memberHead(from).split('\r\n').filter((l) => l.startsWith('X-Chain-'));
    assert.deepEqual(lines.filter((l) => !l.endsWith('(null)')), expected);
    assert.ok(lines.join('').length > 50_000, `${lines.join('').length} bytes of chain`);
  }
  assert.equal((await request(`https://127.0.0.1:${port}/`, { timeoutMs: BOUND })).status, 200);
});

test('client-certificate fields a client writes itself never reach the member, over HTTP/2 as over HTTP/1.1 (no forward: rfc9440 here)', async () => {
  const forged = { 'ssl_client_cert': 'forged', 'ssl-client-s-dn': 'CN=admin', 'x-ssl-client-cert': 'forged', 'client-cert': ':Zm9yZ2Vk:', 'client-cert-chain': ':Zm9yZ2Vk:', 'x-chain-0': 'forged' };
  for (const ask of [
    async () => (await request(`https://127.0.0.1:${port}/`, { headers: forged, timeoutMs: BOUND })).status,
    () => h2Status(`https://127.0.0.1:${port}/`, { headers: forged, timeoutMs: BOUND }),
  ]) {
    const from = backend.connections.length;
    assert.equal(await ask(), 200);
    const head = memberHead(from);
    assert.doesNotMatch(head, /forged|Zm9yZ2Vk|CN=admin/);
    // RequestHeader set keeps the first field's name, as apr_table_set does, and writes its own value.
    assert.match(head, /\r\nx-chain-0: \(null\)\r\n/);
  }
});
