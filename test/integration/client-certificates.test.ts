// Client certificates at the front, as a client and a member see them: three virtual hosts on three ports with
// SSLVerifyClient require, optional and optional_no_ca in front of a member that records every byte; clients with a
// valid, an expired, a revoked and an unknown certificate, and none, over HTTP/1.1 and HTTP/2. The member sees the
// verdict (SSL_CLIENT_VERIFY through RequestHeader), never a refused client's bytes, and never a client's own
// client-certificate headers. A TLS session taken where no certificate is asked for does not resume where one is
// required (CVE-2025-23419).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http2 from 'node:http2';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { formatDiagnostic, type SticklerConfig } from '../../src/config/model.ts';
import { Stickler } from '../../src/server/server.ts';
import { testCertificate, testClientCa, type CertificateFiles, type ClientCa } from '../support/certs.ts';
import { freePort } from '../support/ports.ts';
import { runCli, startStickler } from '../support/stickler.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { withTimeout } from '../support/wait.ts';

/** Loopback round trips; a refused client is disconnected right after its handshake. */
const BOUND = 20_000;

const dir = mkdtempSync(join(tmpdir(), 'stickler-client-certs-'));
let ca: ClientCa;
let backend: RecordingBackend;
let stickler: Stickler;
const ports = { require: 0, optional: 0, optional_no_ca: 0, plain: 0 };

let server: CertificateFiles;

/** The configuration of every test: `plain` and `crlFile` change it for the reload test. */
function configuration(plain: string[] = [], crlFile = ca.crlFile): SticklerConfig {
  const vhost = (port: number, lines: string[]) => [
    `<VirtualHost 127.0.0.1:${port}>`, 'SSLEngine On', `SSLCertificateFile ${server.certFile}`, `SSLCertificateKeyFile ${server.keyFile}`,
    ...lines, 'ProxyPass / balancer://members/', '</VirtualHost>',
  ];
  const crl = [`SSLCARevocationFile ${crlFile}`, 'SSLCARevocationCheck chain'];
  const text = [
    ...Object.values(ports).map((p) => `Listen 127.0.0.1:${p}`),
    'SSLProxyEngine On',
    '<Proxy balancer://members>', `BalancerMember https://127.0.0.1:${backend.ports[0]}`, '</Proxy>',
    `SSLCACertificateFile ${ca.caFile}`,
    'RequestHeader set X-Client-Verify "%{SSL_CLIENT_VERIFY}s"',
    ...vhost(ports.require, ['SSLVerifyClient require', ...crl]),
    ...vhost(ports.optional, ['SSLVerifyClient optional', ...crl]),
    // No CRL here: the revoked certificate is as good as the valid one, which shows the CRL is the port's own.
    ...vhost(ports.optional_no_ca, ['SSLVerifyClient optional_no_ca']),
    ...vhost(ports.plain, plain),
  ].join('\n');
  const loaded = loadApacheConfigText(`${text}\n`, join(dir, 'stickler.conf'));
  assert.ok(loaded.config, loaded.diagnostics.map(formatDiagnostic).join('\n'));
  return loaded.config;
}

before(async () => {
  ca = await testClientCa(dir);
  server = await testCertificate(dir);
  backend = await RecordingBackend.start(1);
  for (const level of Object.keys(ports) as Array<keyof typeof ports>) ports[level] = await freePort();
  // As the worker threads share them: one ticket key for every port, so only the session ID context keeps them apart.
  stickler = new Stickler(configuration(), { ticketKeys: randomBytes(48) });
  await stickler.start();
});

after(async () => {
  await stickler?.close();
  await backend?.close();
});

type Client = keyof Pick<ClientCa, 'valid' | 'expired' | 'revoked' | 'unknown' | 'unknownExpired' | 'serverOnly' | 'chained'> | 'none';

/** What the member saw of one request: the verdict header, or `refused` when nothing reached it. */
const EXPECTED: Record<'require' | 'optional' | 'optional_no_ca', Record<Client, string>> = {
  require: { valid: 'SUCCESS', expired: 'refused', revoked: 'refused', unknown: 'refused', unknownExpired: 'refused', serverOnly: 'refused', chained: 'refused', none: 'refused' },
  optional: { valid: 'SUCCESS', expired: 'refused', revoked: 'refused', unknown: 'refused', unknownExpired: 'refused', serverOnly: 'refused', chained: 'refused', none: 'NONE' },
  optional_no_ca: { valid: 'SUCCESS', expired: 'refused', revoked: 'SUCCESS', unknown: 'FAILED:unable to verify the first certificate', unknownExpired: 'refused', serverOnly: 'refused', chained: 'refused', none: 'NONE' },
};

function credentials(client: Client): { cert?: Buffer; key?: Buffer } {
  if (client === 'none') return {};
  const files: CertificateFiles = ca[client];
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

/** Headers a client may try to pass off as the proxy's word. */
const FORGED = { 'X-Client-Verify': 'SUCCESS', 'Client-Cert': ':Zm9yZ2Vk:', 'SSL_CLIENT_S_DN': 'CN=admin' };

async function overHttp1(port: number, client: Client, path: string): Promise<number | 'refused'> {
  return withTimeout(new Promise((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, path, agent: false, rejectUnauthorized: false, headers: FORGED, ...credentials(client) }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve('refused'));
    req.end();
  }), BOUND, `HTTP/1.1 ${client} on ${port}`);
}

async function overHttp2(port: number, client: Client, path: string): Promise<number | 'refused'> {
  return withTimeout(new Promise((resolve) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, ...credentials(client) });
    const done = (result: number | 'refused') => {
      session.destroy();
      resolve(result);
    };
    session.on('error', () => done('refused'));
    session.on('close', () => done('refused'));
    const stream = session.request({ ':path': path, ...Object.fromEntries(Object.entries(FORGED).map(([k, v]) => [k.toLowerCase(), v])) });
    stream.on('response', (headers) => {
      stream.resume();
      stream.on('end', () => done(Number(headers[':status'])));
    });
    stream.on('error', () => done('refused'));
    stream.end();
  }), BOUND, `HTTP/2 ${client} on ${port}`);
}

for (const [protocol, send] of [['HTTP/1.1', overHttp1], ['HTTP/2', overHttp2]] as const) {
  for (const level of ['require', 'optional', 'optional_no_ca'] as const) {
    test(`${protocol}, SSLVerifyClient ${level}: the member sees the verdict of each accepted client and nothing of a refused one`, async () => {
      for (const [client, expected] of Object.entries(EXPECTED[level]) as Array<[Client, string]>) {
        const path = `/${protocol === 'HTTP/2' ? 'h2' : 'h1'}/${level}/${client}`;
        const before = backend.connections.length;
        const result = await send(ports[level], client, path);
        const seen = backend.connections.slice(before).flatMap((c) => c.requests).filter((r) => r.target === path);
        if (expected === 'refused') {
          assert.equal(result, 'refused', `${client}: expected the connection closed, got ${result}`);
          assert.equal(seen.length, 0, `${client}: a refused client reached the member`);
          assert.equal(backend.connections.slice(before).reduce((n, c) => n + c.chunks.length, 0), 0, `${client}: bytes reached the member`);
          continue;
        }
        assert.equal(result, 200, `${client}: expected an answer from the member`);
        assert.equal(seen.length, 1, `${client}: expected the request at the member`);
        const headers = seen[0]!.headers;
        const field = (name: string) => headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
        assert.deepEqual(field('X-Client-Verify'), [expected], `${client}: the verdict the member saw`);
        assert.deepEqual(field('Client-Cert'), [], `${client}: the client's own Client-Cert reached the member`);
        assert.deepEqual(field('SSL_CLIENT_S_DN'), [], `${client}: the client's own SSL_CLIENT_S_DN reached the member`);
      }
    });
  }
}

test('a port that asks for no certificate passes SSL_CLIENT_VERIFY NONE and the client\'s forged verdict is replaced', async () => {
  const before = backend.connections.length;
  assert.equal(await overHttp1(ports.plain, 'valid', '/plain'), 200);
  const [head] = backend.connections.slice(before).flatMap((c) => c.requests);
  assert.deepEqual(head!.headers.filter(([n]) => n.toLowerCase() === 'x-client-verify').map(([, v]) => v), ['NONE']);
});

/** A TLS 1.3 session ticket from a handshake on `port`, with whether that handshake resumed `session`. */
function handshake(port: number, client: Client, version: tls.SecureVersion, session?: Buffer): Promise<{ ticket?: Buffer; reused: boolean; answered: boolean }> {
  return withTimeout(new Promise((resolve) => {
    let ticket: Buffer | undefined;
    let reused = false;
    let answer = '';
    const socket = tls.connect({
      host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'], maxVersion: version, ...(session && { session }), ...credentials(client),
    });
    socket.on('session', (s: Buffer) => (ticket = s));
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write(`GET /resumed HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ ...(ticket && { ticket }), reused, answered: answer.startsWith('HTTP/1.1 200') }));
  }), BOUND, `handshake on ${port}`);
}

for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
  test(`${version}: a session from a port that asks for no certificate does not resume on a port that requires one (CVE-2025-23419)`, async () => {
    const first = await handshake(ports.plain, 'none', version);
    assert.ok(first.ticket, 'the port without client certificates gave no session');
    // The session is good where it came from, so a refusal below is the session ID context's doing.
    const again = await handshake(ports.plain, 'none', version, first.ticket);
    assert.ok(again.reused && again.answered, 'the session did not resume on its own port');
    const before = backend.connections.length;
    const across = await handshake(ports.require, 'none', version, first.ticket);
    assert.equal(across.reused, false, 'the session resumed on the port that requires a certificate');
    assert.equal(across.answered, false, 'a client without a certificate was answered on the port that requires one');
    assert.equal(backend.connections.length, before, 'the resumed client reached the member');
  });
}

for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
  test(`${version}: a resumed session gets the verdict of the handshake it resumes, SSL_CLIENT_VERIFY included`, async () => {
    const verdicts = (from: number) => backend.connections.slice(from).flatMap((c) => c.requests)
      .filter((r) => r.target === '/resumed').map((r) => r.headers.find(([n]) => n.toLowerCase() === 'x-client-verify')?.[1]);
    for (const [level, client, expected] of [
      ['require', 'valid', 'SUCCESS'], ['optional', 'none', 'NONE'], ['optional_no_ca', 'unknown', 'FAILED:unable to verify the first certificate'],
    ] as const) {
      const before = backend.connections.length;
      const first = await handshake(ports[level], client, version);
      assert.ok(first.answered && first.ticket, `${level}, ${client}: the first handshake was not answered or gave no session`);
      const again = await handshake(ports[level], client, version, first.ticket);
      assert.ok(again.reused && again.answered, `${level}, ${client}: the session did not resume`);
      assert.deepEqual(verdicts(before), [expected, expected], `${level}, ${client}: the verdicts of the full and the resumed handshake`);
    }
  });
}

for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
  test(`${version}: a revoked client's session from a port without the CRL does not resume on the port that checks it`, async () => {
    const lenient = await handshake(ports.optional_no_ca, 'revoked', version);
    assert.ok(lenient.answered && lenient.ticket, 'the revoked client is let in where no CRL is checked, and given a session');
    const before = backend.connections.length;
    const across = await handshake(ports.require, 'revoked', version, lenient.ticket);
    assert.equal(across.reused, false, 'the session resumed on a port with other CAs and CRLs');
    assert.equal(across.answered, false, 'the revoked client was answered on the port that checks the CRL');
    assert.equal(backend.connections.length, before, 'the revoked client reached the member');
  });
}

test('a certificate swapped in place (ACME renewal) keeps the port\'s verdict: no client without a valid certificate gets in', async () => {
  const vhost = stickler.runtime.config.virtualHosts.findIndex((vh) => vh.port === ports.require);
  stickler.swapCertificate(vhost, stickler.runtime.config.virtualHosts[vhost]!.tls!);
  for (const client of ['none', 'unknown', 'revoked'] as const) {
    const before = backend.connections.length;
    assert.equal(await overHttp1(ports.require, client, `/swapped/${client}`), 'refused', `${client} after the swap`);
    assert.equal(await overHttp2(ports.require, client, `/swapped/h2/${client}`), 'refused', `${client} over HTTP/2 after the swap`);
    assert.equal(backend.connections.length, before, `${client} reached the member after the swap`);
  }
  assert.equal(await overHttp1(ports.require, 'valid', '/swapped/valid'), 200);
});

for (const version of ['TLSv1.3', 'TLSv1.2'] as const) {
  test(`${version}: a client refused for its chain's depth gets no session to resume (OpenSSL does not keep the chain in one, so its depth could not be judged again)`, async () => {
    // SSLVerifyDepth 1: alice's CA is trusted directly; dave's chain goes through a CA of its own, which he sends.
    const refused = await handshake(ports.require, 'chained', version);
    assert.equal(refused.answered, false, 'a chain deeper than SSLVerifyDepth was answered');
    const before = backend.connections.length;
    if (refused.ticket) {
      const resumed = await handshake(ports.require, 'chained', version, refused.ticket);
      assert.equal(resumed.answered, false, 'the refused client was answered on resuming its session');
    }
    assert.equal(backend.connections.length, before, 'the refused client reached the member');
    assert.equal(refused.ticket, undefined, 'the refused client was given a session ticket');
  });
}

test('a reload asks for certificates where the new configuration does, and a broken CRL refuses it with the old one serving', async () => {
  assert.equal(await overHttp1(ports.plain, 'none', '/before-reload'), 200);
  const { ticket } = await handshake(ports.plain, 'none', 'TLSv1.3');
  await stickler.reload(configuration(['SSLVerifyClient require']));
  assert.equal(await overHttp1(ports.plain, 'none', '/after-reload'), 'refused', 'the port asks for a certificate after the reload');
  const resumed = await handshake(ports.plain, 'none', 'TLSv1.3', ticket);
  assert.ok(!resumed.reused && !resumed.answered, 'a session from before the reload resumed without a certificate');
  assert.equal(await overHttp1(ports.plain, 'valid', '/after-reload'), 200);
  const damaged = join(dir, 'damaged-crl.pem');
  writeFileSync(damaged, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
  await assert.rejects(stickler.reload(configuration(['SSLVerifyClient require'], damaged)), /SSLCARevocationFile: .*damaged-crl\.pem is damaged: OpenSSL cannot read a CRL from it/);
  assert.equal(await overHttp1(ports.require, 'valid', '/after-refused-reload'), 200);
  assert.equal(await overHttp1(ports.require, 'revoked', '/after-refused-reload'), 'refused', 'the old CRL still serves');
});

/** A native file: `client-certificates` under tls, the verdict passed on by a header rule. */
function nativeFile(port: number, caFile: string, workers: number): string {
  const path = join(dir, `native-${port}.yaml`);
  writeFileSync(path, [
    `workers: ${workers}`,
    'virtual-hosts:',
    `  - host: 127.0.0.1`, `    port: ${port}`,
    '    tls:', `      certificate-file: ${server.certFile}`, `      key-file: ${server.keyFile}`,
    '      client-certificates:', '        verify: require', `        ca-file: ${caFile}`, `        crl-file: ${ca.crlFile}`,
    '    backend-tls: { enabled: true, verify: none }',
    '    routes: [{ path: /, balancer: members }]',
    '    header-rules:', '      - { direction: request, action: set, header: X-Client-Verify, value: "%{SSL_CLIENT_VERIFY}s" }',
    'balancers:', `  members: { members: [{ url: "https://127.0.0.1:${backend.ports[0]}" }] }`,
    '',
  ].join('\n'));
  return path;
}

test('worker threads, from a native file: the same verdicts, and --check names a CA file that is not one', async () => {
  const port = await freePort();
  const proc = await startStickler(nativeFile(port, ca.caFile, 2));
  try {
    // Several connections each, so both workers' listening sockets are likely to take some.
    for (let i = 0; i < 4; i++) {
      const before = backend.connections.length;
      assert.equal(await overHttp1(port, 'valid', `/workers/valid/${i}`), 200);
      const [head] = backend.connections.slice(before).flatMap((c) => c.requests);
      assert.deepEqual(head!.headers.filter(([n]) => n.toLowerCase() === 'x-client-verify').map(([, v]) => v), ['SUCCESS']);
      for (const client of ['none', 'revoked', 'unknown'] as const) {
        const count = backend.connections.length;
        assert.equal(await overHttp1(port, client, `/workers/${client}/${i}`), 'refused', client);
        assert.equal(await overHttp2(port, client, `/workers/h2/${client}/${i}`), 'refused', client);
        assert.equal(backend.connections.length, count, `${client} reached the member`);
      }
    }
  } finally {
    await proc.stop();
  }
  const check = await runCli(['--check', '--config', nativeFile(port, server.keyFile, 1)]);
  assert.notEqual(check.code, 0);
  assert.match(check.output, /native-\d+\.yaml:10: tls\.client-certificates\.ca-file: .*key\.pem holds a PRIVATE KEY block, not a certificate; expected a PEM certificate/);
});
