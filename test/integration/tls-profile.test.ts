// The TLS edge as a client sees it: Debian's testssl.sh against a Stickler listener with the default profile
// (protocols, cipher categories, forward secrecy, the -U vulnerability checks), the modern profile and OCSP stapling
// per certificate with Node clients, and identity headers from a client replaced before they reach a member.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { SticklerConfig } from '../../src/config/model.ts';
import { Stickler } from '../../src/server/server.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import { request } from '../support/client.ts';
import { engineConfig, member } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { spawnManaged, tail } from '../support/process.ts';
import { withTimeout } from '../support/wait.ts';

const TESTSSL = '/usr/bin/testssl';
const dir = mkdtempSync(join(tmpdir(), 'stickler-tls-'));
/** Mozilla's intermediate ciphers and TLS 1.3 suites (guidelines 6.0). */
const MOZILLA = new Set([
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
]);
/** A DER OCSPResponse: status successful, a basic response whose content no server looks into. */
const OCSP_A = Buffer.from('3016' + '0a0100' + 'a011' + '300f' + '06092b0601050507300101' + '0402' + 'aaaa', 'hex');

let member1: http.Server;
/** The request headers the member received last, as sent. */
let received: string[] = [];
const running: Stickler[] = [];

async function start(config: SticklerConfig): Promise<Stickler> {
  const stickler = new Stickler(config);
  await stickler.start();
  running.push(stickler);
  return stickler;
}

before(async () => {
  member1 = http.createServer((req, res) => {
    received = req.rawHeaders;
    res.end('ok');
  });
  member1.listen(0, '127.0.0.1');
  await once(member1, 'listening');
});

after(async () => {
  await Promise.all(running.map((s) => s.close()));
  member1.close();
});

function memberUrl(): string {
  return `http://127.0.0.1:${(member1.address() as AddressInfo).port}`;
}

/**
 * testssl runs thousands of openssl handshakes, each a process: 115 s measured on a busy 2-core machine, more
 * with both cores taken. Its bound is only there to stop a hung run.
 */
const TESTSSL_BOUND = 540_000;

test('testssl: TLS 1.2 and 1.3 only, no weak cipher, forward secrecy, ALPN h2, no vulnerability flagged', { timeout: TESTSSL_BOUND + 60_000, skip: !existsSync(TESTSSL) && `${TESTSSL} is not installed (Debian package testssl.sh)` }, async () => {
  const port = await freePort();
  await start(engineConfig(port, { members: [member(memberUrl())] }));
  const json = join(dir, 'testssl.json');
  // -p protocols and ALPN, -s cipher categories, -f forward secrecy, -S server defaults, -U vulnerabilities.
  // Offline: no DNS (-n none, --ip), no CRL or OCSP fetches (no --phone-out).
  const run = spawnManaged('testssl', TESTSSL, [
    '--quiet', '--color', '0', '--warnings', 'batch', '-n', 'none', '--ip', '127.0.0.1', '--jsonfile', json,
    '-p', '-s', '-f', '-S', '-U', `https://localhost:${port}/`,
  ], { env: { ...process.env, TERM: 'dumb' } });
  try {
    await withTimeout(run.exited, TESTSSL_BOUND, 'testssl');
  } finally {
    await run.stop(2_000);
  }
  assert.ok(existsSync(json), `testssl wrote no JSON\n${tail(run.output())}`);
  const findings = new Map((JSON.parse(readFileSync(json, 'utf8')) as Array<{ id: string; severity: string; finding: string }>).map((f) => [f.id, f]));
  const finding = (id: string) => findings.get(id)?.finding ?? `(no ${id} in testssl's output)`;
  for (const id of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.equal(finding(id), 'not offered', id);
  assert.equal(finding('TLS1_2'), 'offered');
  assert.match(finding('TLS1_3'), /^offered/);
  assert.equal(finding('ALPN_HTTP2'), 'h2');
  assert.equal(finding('ALPN'), 'http/1.1');
  // NULL, anonymous, EXPORT, LOW (DES, RC2, RC4), 3DES/IDEA, and AVERAGE: the obsolete CBC ciphers.
  for (const id of ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE']) {
    assert.equal(finding(id), 'not offered', id);
  }
  assert.equal(finding('cipherlist_STRONG'), 'offered');
  assert.equal(findings.get('PFS')?.severity, 'OK');
  for (const cipher of finding('PFS_ciphers').split(/\s+/)) assert.ok(MOZILLA.has(cipher), `${cipher} is not a Mozilla intermediate cipher`);
  const vulnerabilities = [
    'heartbleed', 'CCS', 'ticketbleed', 'ROBOT', 'secure_renego', 'secure_client_renego', 'CRIME_TLS', 'BREACH', 'POODLE_SSL',
    'fallback_SCSV', 'SWEET32', 'FREAK', 'DROWN', 'LOGJAM', 'LOGJAM-common_primes', 'BEAST', 'LUCKY13', 'RC4',
  ];
  for (const id of vulnerabilities) assert.equal(findings.get(id)?.severity, 'OK', `${id}: ${finding(id)}`);
  // Any other finding rated LOW or worse may only be about the self-signed test certificate. (WARN is testssl's
  // own trouble, such as a check it could not run, not a finding about the server.)
  const flagged = [...findings.values()].filter((f) => ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity) && !f.id.startsWith('cert_'));
  assert.deepEqual(flagged, []);
});

test('the modern profile refuses TLS 1.2; OCSP responses are stapled per certificate, chosen by SNI', async () => {
  const port = await freePort();
  const config = engineConfig(port, { members: [member(memberUrl())] });
  const ocspFile = join(dir, 'a.ocsp');
  writeFileSync(ocspFile, OCSP_A);
  const other = createSelfSigned({ commonName: 'b.test', altNames: { dns: ['b.test'] } });
  writeFileSync(join(dir, 'b.pem'), other.cert);
  writeFileSync(join(dir, 'b.key'), other.key);
  const a = config.virtualHosts[0]!;
  const policy = { source: a.source, profile: 'modern' as const, honorCipherOrder: false };
  a.tls = { ...a.tls!, policy, ocspResponseFile: ocspFile };
  config.virtualHosts.push({ ...a, serverName: 'b.test', tls: { source: a.source, certificateFile: join(dir, 'b.pem'), keyFile: join(dir, 'b.key'), policy } });
  await start(config);

  const handshake = (options: tls.ConnectionOptions) => new Promise<{ protocol: string | null; staple?: Buffer; subject: string } | Error>((resolve) => {
    let staple: Buffer | undefined;
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, requestOCSP: true, ...options }, () => {
      resolve({ protocol: socket.getProtocol(), subject: socket.getPeerX509Certificate()?.subject ?? '', ...(staple && { staple }) });
      socket.destroy();
    });
    socket.on('OCSPResponse', (response: Buffer) => (staple = response));
    socket.setTimeout(5_000, () => socket.destroy(new Error('no handshake within 5 s')));
    socket.on('error', resolve);
  });
  assert.ok(await handshake({ servername: 'localhost', maxVersion: 'TLSv1.2' }) instanceof Error, 'TLS 1.2 refused');
  assert.deepEqual(await handshake({ servername: 'localhost' }), { protocol: 'TLSv1.3', subject: 'CN=localhost', staple: OCSP_A });
  assert.deepEqual(await handshake({ servername: 'b.test' }), { protocol: 'TLSv1.3', subject: 'CN=b.test' });
});

test('identity headers from a client that is no trusted proxy are replaced before the member sees them', async () => {
  const port = await freePort();
  await start(engineConfig(port, { members: [member(memberUrl())] }));
  const response = await request(`https://127.0.0.1:${port}/`, {
    headers: {
      host: 'localhost',
      'X-Forwarded-For': '10.0.0.1',
      'X-Forwarded-Proto': 'http',
      'X-Forwarded-Host': 'admin.internal',
      Forwarded: 'for=10.0.0.1',
      'X-Real-IP': '10.0.0.1',
      'SSL_CLIENT_S_DN': 'CN=admin',
      'X-SSL-Client-Verify': 'SUCCESS',
      'X-Client-Cert': 'forged',
    },
  });
  assert.equal(response.status, 200);
  const names = received.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  const value = (name: string) => received[received.findIndex((n, i) => i % 2 === 0 && n.toLowerCase() === name) + 1];
  for (const gone of ['forwarded', 'x-real-ip', 'ssl_client_s_dn', 'x-ssl-client-verify', 'x-client-cert']) assert.ok(!names.includes(gone), `${gone} reached the member`);
  assert.equal(value('x-forwarded-for'), '127.0.0.1');
  assert.equal(value('x-forwarded-proto'), 'https');
  assert.equal(value('x-forwarded-host'), 'localhost');
  assert.equal(names.filter((n) => n.startsWith('x-forwarded-')).length, 4);
});
