import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const generated = createSelfSigned({
  commonName: 'localhost',
  altNames: { dns: ['localhost', 'stickler.test'], ip: ['127.0.0.1', '::1', 'fe80::1:2'] },
  days: 30,
});

function hasCommand(cmd: string, versionArg: string): boolean {
  try {
    execFileSync(cmd, [versionArg], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

test('PEM shapes: certificate and PKCS#8 key', () => {
  assert.match(generated.cert, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
  assert.match(generated.key, /^-----BEGIN PRIVATE KEY-----\n/);
  const key = createPrivateKey(generated.key);
  assert.equal(key.asymmetricKeyType, 'ec');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

test('node parses it: names, IPs, self-signature, CA flag, validity', () => {
  const x = new X509Certificate(generated.cert);
  assert.equal(x.subject, 'CN=localhost');
  assert.equal(x.issuer, 'CN=localhost');
  assert.equal(x.checkHost('localhost'), 'localhost');
  assert.equal(x.checkHost('stickler.test'), 'stickler.test');
  assert.equal(x.checkHost('example.com'), undefined);
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('::1'), '::1');
  assert.equal(x.checkIP('fe80::1:2'), 'fe80::1:2');
  assert.equal(x.checkIP('10.0.0.1'), undefined);
  assert.equal(x.verify(x.publicKey), true);
  assert.equal(x.checkIssued(x), true);
  assert.equal(x.ca, true);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(x.serialNumber.length, 32);

  const now = Date.now();
  const from = x.validFromDate.getTime();
  const to = x.validToDate.getTime();
  assert.ok(from <= now && from > now - 60 * 60 * 1000, `validFrom ${x.validFrom} should be shortly before now`);
  assert.ok(Math.abs(to - (now + 30 * DAY_MS)) < 60 * 1000, `validTo ${x.validTo} should be 30 days from now`);
});

test('each certificate gets its own key and serial', () => {
  const other = createSelfSigned({ commonName: 'localhost', altNames: { dns: ['localhost'] } });
  const a = new X509Certificate(generated.cert);
  const b = new X509Certificate(other.cert);
  assert.notEqual(a.serialNumber, b.serialNumber);
  assert.notEqual(a.fingerprint256, b.fingerprint256);
  assert.equal(a.verify(b.publicKey), false);
  const days = (b.validToDate.getTime() - Date.now()) / DAY_MS;
  assert.ok(days > 364 && days <= 365, 'default validity is 365 days');
});

test('bad input gives a clear error', () => {
  assert.throws(() => createSelfSigned({ commonName: 'x', altNames: { ip: ['300.1.1.1'] } }), /"300\.1\.1\.1" is not an IPv4 or IPv6/);
  assert.throws(() => createSelfSigned({ commonName: 'x', altNames: { dns: ['bad name'] } }), /"bad name" is not a valid DNS name/);
  assert.throws(() => createSelfSigned({ commonName: 'x', altNames: {}, days: 0 }), /days must be positive/);
});

test('a TLS client trusting only this certificate completes the handshake', async () => {
  const server = tls.createServer({ cert: generated.cert, key: generated.key }, (socket) => socket.end('hello'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const client = tls.connect({ host: '127.0.0.1', port, ca: generated.cert, servername: 'localhost', rejectUnauthorized: true });
    await once(client, 'secureConnect', { signal: AbortSignal.timeout(5000) });
    assert.equal(client.authorized, true);
    let body = '';
    client.setEncoding('utf8').on('data', (c: string) => (body += c));
    await once(client, 'end', { signal: AbortSignal.timeout(5000) });
    assert.equal(body, 'hello');
    client.destroy();
  } finally {
    server.close();
  }
});

test('openssl and keytool accept it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-cert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'cert.pem');
  writeFileSync(file, generated.cert);

  await t.test('openssl x509 -text and verify', { skip: !hasCommand('openssl', 'version') }, () => {
    const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', file], { encoding: 'utf8', timeout: 10_000 });
    assert.match(text, /CA:TRUE/);
    assert.match(text, /Digital Signature, Certificate Sign/);
    assert.match(text, /TLS Web Server Authentication/);
    assert.match(text, /DNS:localhost, DNS:stickler\.test, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1/);
    const verify = execFileSync('openssl', ['verify', '-CAfile', file, file], { encoding: 'utf8', timeout: 10_000 });
    assert.match(verify, /: OK/);
  });

  await t.test('keytool -printcert', { skip: !hasCommand('keytool', '-help') }, () => {
    const text = execFileSync('keytool', ['-printcert', '-file', file], { encoding: 'utf8', timeout: 30_000 });
    assert.match(text, /Owner: CN=localhost/);
    assert.match(text, /SHA256withECDSA/);
    assert.match(text, /DNSName: localhost/);
  });
});
