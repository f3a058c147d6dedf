// RFC 9440 from a running Stickler (native `forward: rfc9440`): a member behind it gets the client's certificate as
// `Client-Cert` and what the client sent after it as `Client-Cert-Chain`, Structured Field byte sequences of the
// DER, over HTTP/1.1 and HTTP/2; a client without a certificate gets neither, and fields of those names that a
// client writes itself never reach the member.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCertificate, type MadeCertificate } from '../support/certs.ts';
import { h2Status, request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend, recordedBytes } from '../support/recording-backend.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';

/** Loopback round trips through a proxy; generous for a loaded CI machine. */
const BOUND = 20_000;

const FORGED = { 'client-cert': ':Zm9yZ2Vk:', 'client-cert-chain': ':Zm9yZ2Vk:' };

let backend: RecordingBackend;
let stickler: SticklerProcess;
let port: number;
let intermediate: MadeCertificate;
let leaf: MadeCertificate;
let credentials: { cert: string; key: string };

before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stickler-rfc9440-'));
  const root = issueCertificate(dir, 'root', { subject: '/CN=Client Root', ca: true });
  intermediate = issueCertificate(dir, 'intermediate', { subject: '/CN=Client Issuing CA', ca: true, issuer: root });
  leaf = issueCertificate(dir, 'leaf', { subject: '/CN=alice', issuer: intermediate });
  // Only the root is configured: the client sends its issuing CA after its own certificate.
  credentials = { cert: leaf.pem + intermediate.pem, key: await readFile(leaf.keyFile, 'utf8') };
  backend = await RecordingBackend.start(1);
  port = await freePort();
  const file = join(dir, 'stickler.yaml');
  const tls = `client-certificates: { verify: optional, verify-depth: 2, ca-file: ${root.certFile}, forward: rfc9440 }`;
  await writeFile(file, yamlConfig(port, [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'n1' }], { tls }));
  stickler = await startStickler(file);
});

after(async () => {
  await stickler?.stop();
  await backend?.close();
});

/** The RFC 9440 fields of the one request that reached the member from `from` on, as sent on the wire. */
function fieldsSince(from: number): string[] {
  const connections = backend.connections.slice(from).filter((c) => c.requests.length > 0);
  assert.equal(connections.length, 1);
  const head = recordedBytes(connections).toString('latin1').split('\r\n\r\n')[0]!;
  return head.split('\r\n').filter((l) => /^client-cert/i.test(l));
}

const expected = (): string[] => {
  const field = (pem: string) => `:${new X509Certificate(pem).raw.toString('base64')}:`;
  return [`Client-Cert: ${field(leaf.pem)}`, `Client-Cert-Chain: ${field(intermediate.pem)}`];
};

test('HTTP/1.1: the certificate and the chain the client sent; nothing of a client without one; forged fields dropped', async () => {
  let from = backend.connections.length;
  assert.equal((await request(`https://127.0.0.1:${port}/`, { headers: FORGED, clientCertificate: credentials, timeoutMs: BOUND })).status, 200);
  assert.deepEqual(fieldsSince(from), expected());
  from = backend.connections.length;
  assert.equal((await request(`https://127.0.0.1:${port}/`, { headers: FORGED, timeoutMs: BOUND })).status, 200);
  assert.deepEqual(fieldsSince(from), []);
});

test('HTTP/2: the same fields', async () => {
  const from = backend.connections.length;
  assert.equal(await h2Status(`https://127.0.0.1:${port}/`, { headers: FORGED, clientCertificate: credentials, timeoutMs: BOUND }), 200);
  assert.deepEqual(fieldsSince(from), expected());
});
