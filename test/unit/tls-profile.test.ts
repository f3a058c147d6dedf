import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:crypto';
import { once } from 'node:events';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { ListenerConfig, TlsPolicy, VirtualHostConfig } from '../../src/config/model.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import {
  checkCipherSuites, checkCiphers, checkProtocols, handshakeOptions, hstsHeader, ocspResponseProblem, policyConflicts, tlsPolicy, withHsts,
} from '../../src/config/tls-profile.ts';
import { TEST_SOURCE, vhostDefaults } from '../support/fixtures.ts';

const source = TEST_SOURCE;
const { cert, key } = createSelfSigned({ commonName: 'localhost', altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });

const MOZILLA_TLS12 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
];
const MOZILLA_TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

function policy(over: Partial<TlsPolicy>): TlsPolicy {
  return { source, profile: 'intermediate', honorCipherOrder: false, ...over };
}

/** A TLS server with `policy`'s options and an ECDSA certificate; `connect` reports what a client offering `client` gets. */
async function withServer(p: TlsPolicy | undefined, fn: (connect: (client: tls.ConnectionOptions) => Promise<{ protocol: string; cipher: string } | Error>) => Promise<void>): Promise<void> {
  const server = tls.createServer({ cert, key, ...handshakeOptions(p) }, (s) => s.on('error', () => {}));
  server.on('tlsClientError', () => {});
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const connect = (client: tls.ConnectionOptions) => new Promise<{ protocol: string; cipher: string } | Error>((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...client }, () => {
      resolve({ protocol: socket.getProtocol() ?? '', cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error('handshake timed out')));
    socket.on('error', resolve);
  });
  try {
    await fn(connect);
  } finally {
    server.close();
  }
}

test('the intermediate profile: TLS 1.2 and 1.3, Mozilla 6.0 ciphers and groups, client order, no renegotiation', () => {
  assert.deepEqual(handshakeOptions(undefined), {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: [...MOZILLA_TLS13, ...MOZILLA_TLS12].join(':'),
    ecdhCurve: 'X25519MLKEM768:X25519:prime256v1:secp384r1',
    honorCipherOrder: false,
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  });
  // Node accepts every name in it (an unknown group or cipher would throw here).
  tls.createSecureContext({ cert, key, ...handshakeOptions(undefined) });
});

test('the modern profile is TLS 1.3 only', () => {
  const options = handshakeOptions(policy({ profile: 'modern' }));
  assert.equal(options.minVersion, 'TLSv1.3');
  assert.equal(options.maxVersion, 'TLSv1.3');
  assert.equal(options.ciphers, MOZILLA_TLS13.join(':'));
});

test('handshakes: old protocols and non-profile ciphers are refused, profile ones negotiated', async () => {
  await withServer(undefined, async (connect) => {
    assert.match(String(await connect({ maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })), /version|protocol/i);
    assert.deepEqual(await connect({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' }), { protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
    // CBC, and static RSA key exchange: in OpenSSL's HIGH, never in the profile.
    assert.ok(await connect({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA' }) instanceof Error);
    assert.equal(((await connect({})) as { protocol: string }).protocol, 'TLSv1.3');
  });
  await withServer(policy({ profile: 'modern' }), async (connect) => {
    assert.ok(await connect({ maxVersion: 'TLSv1.2' }) instanceof Error);
    assert.equal(((await connect({})) as { protocol: string }).protocol, 'TLSv1.3');
  });
});

test('a cipher string narrows the profile and cannot widen it; with honorCipherOrder the server order wins', async () => {
  // Apache's `SSLCipherSuite HIGH:!aNULL` (Debian's default) selects CBC and static-RSA ciphers too: they stay off.
  await withServer(policy({ ciphers: 'HIGH:!aNULL' }), async (connect) => {
    assert.ok(await connect({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-SHA384' }) instanceof Error);
    assert.equal(((await connect({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' })) as { cipher: string }).cipher, 'ECDHE-ECDSA-CHACHA20-POLY1305');
  });
  const order = 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256';
  const clientOrder = 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384';
  await withServer(policy({ ciphers: order, honorCipherOrder: true }), async (connect) => {
    assert.equal(((await connect({ maxVersion: 'TLSv1.2', ciphers: clientOrder })) as { cipher: string }).cipher, 'ECDHE-ECDSA-AES256-GCM-SHA384');
    assert.ok(await connect({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305' }) instanceof Error, 'not in the narrowed list');
  });
  await withServer(policy({ ciphers: order }), async (connect) => {
    assert.equal(((await connect({ maxVersion: 'TLSv1.2', ciphers: clientOrder })) as { cipher: string }).cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  });
  await withServer(policy({ protocols: ['TLSv1.2'], cipherSuites: 'TLS_AES_256_GCM_SHA384' }), async (connect) => {
    assert.equal(((await connect({})) as { protocol: string }).protocol, 'TLSv1.2');
  });
  assert.equal(handshakeOptions(policy({ cipherSuites: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256' })).ciphers.split(':')[0], 'TLS_AES_256_GCM_SHA384');
  assert.ok(!handshakeOptions(policy({ cipherSuites: 'TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_SHA256' })).ciphers.includes('CCM'));
});

test('a client that asks to renegotiate TLS 1.2 is refused (Node alone would allow three per ten minutes)', async () => {
  const server = tls.createServer({ cert, key, ...handshakeOptions(undefined) }, (s) => s.on('error', () => {}));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = tls.connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2' });
  try {
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer to the renegotiation')));
    await once(socket, 'secureConnect');
    socket.renegotiate({ rejectUnauthorized: false }, () => {});
    const [err] = await once(socket, 'error');
    assert.match((err as Error).message, /no renegotiation/);
  } finally {
    socket.destroy();
    server.close();
  }
});

test('cipher strings are checked against the profile: unknown, none selected, some outside', () => {
  assert.equal(checkCiphers('intermediate', 'ECDHE+AESGCM'), undefined);
  assert.equal(checkCiphers('intermediate', 'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305'), undefined);
  assert.deepEqual(checkCiphers('intermediate', 'HIGH:!aNULL'), {
    severity: 'warning', message: '"HIGH:!aNULL" also selects ciphers outside Mozilla\'s intermediate profile; those are never offered',
  });
  assert.equal(checkCiphers('intermediate', 'AES128-SHA')?.severity, 'error');
  assert.match(checkCiphers('intermediate', 'AES128-SHA')!.message, /^"AES128-SHA" selects none of Mozilla's intermediate ciphers \(ECDHE-ECDSA-AES128-GCM-SHA256:/);
  assert.match(checkCiphers('intermediate', 'NO-SUCH-CIPHER')!.message, /^OpenSSL finds no cipher in "NO-SUCH-CIPHER"; expected/);
  assert.equal(checkCiphers('modern', 'ECDHE+AESGCM')?.severity, 'warning');

  assert.equal(checkCipherSuites('intermediate', 'TLS_AES_256_GCM_SHA384'), undefined);
  assert.deepEqual(checkCipherSuites('intermediate', 'TLS_AES_256_GCM_SHA384:TLS_AES_128_CCM_8_SHA256'), {
    severity: 'warning', message: 'TLS_AES_128_CCM_8_SHA256 is not in Mozilla\'s intermediate profile and is never offered',
  });
  assert.equal(checkCipherSuites('intermediate', 'TLS_AES_128_CCM_SHA256')?.severity, 'error');

  assert.equal(checkProtocols('intermediate', ['TLSv1.3']), undefined);
  assert.equal(checkProtocols('modern', ['TLSv1.2', 'TLSv1.3'])?.severity, 'warning');
  assert.deepEqual(checkProtocols('modern', ['TLSv1.2']), {
    severity: 'error', message: 'the modern profile offers TLSv1.3; expected protocols among them, got TLSv1.2',
  });
});

test('one shape for a policy whichever front end read it: the plain intermediate profile is no policy', () => {
  assert.equal(tlsPolicy({ source }), undefined);
  assert.equal(tlsPolicy({ source, profile: 'intermediate', protocols: ['TLSv1.3', 'TLSv1.2'], honorCipherOrder: false }), undefined);
  assert.deepEqual(tlsPolicy({ source, protocols: ['TLSv1.3'], ciphers: undefined }), { source, profile: 'intermediate', protocols: ['TLSv1.3'], honorCipherOrder: false });
  assert.deepEqual(tlsPolicy({ source, profile: 'modern', protocols: ['TLSv1.2', 'TLSv1.3'] }), { source, profile: 'modern', honorCipherOrder: false });
  assert.deepEqual(tlsPolicy({ source, honorCipherOrder: true }), { source, profile: 'intermediate', honorCipherOrder: true });
});

test('virtual hosts sharing a TLS port must share a policy; `*` hosts are on every port', () => {
  const files = { source, certificateFile: 'c', keyFile: 'k' };
  const vhost = (port: number, p?: TlsPolicy): VirtualHostConfig => ({ source, host: '*', port, ...vhostDefaults(), tls: { ...files, ...(p && { policy: p }) } });
  const listener = (port: number): ListenerConfig => ({ source, host: '0.0.0.0', port, tls: true });
  const a = vhost(443);
  const b = vhost(443, policy({ profile: 'modern' }));
  const c = vhost(8443, policy({ profile: 'modern' }));
  const any = vhost(0);
  assert.deepEqual(policyConflicts([listener(443), listener(8443)], [a, b, c]), [{ port: 443, first: a, vhost: b }]);
  assert.deepEqual(policyConflicts([listener(443), listener(8443)], [a, c, any]), [{ port: 8443, first: c, vhost: any }]);
});

test('HSTS: the header value, and the member\'s own replaced as `Header always set` does', () => {
  const twoYears = { source, maxAge: 63072000, includeSubDomains: false, preload: false };
  assert.deepEqual(hstsHeader(twoYears), ['Strict-Transport-Security', 'max-age=63072000']);
  assert.deepEqual(hstsHeader({ source, maxAge: 300, includeSubDomains: true, preload: true }), ['Strict-Transport-Security', 'max-age=300; includeSubDomains; preload']);
  const fromMember: [string, string][] = [['Content-Type', 'text/html'], ['strict-transport-security', 'max-age=0'], ['X-A', '1']];
  assert.deepEqual(withHsts(fromMember, twoYears), [['Content-Type', 'text/html'], ['X-A', '1'], ['Strict-Transport-Security', 'max-age=63072000']]);
});

test('an OCSP response file must be a successful DER OCSPResponse', () => {
  // OCSPResponse { responseStatus successful, responseBytes [0] { id-pkix-ocsp-basic, OCTET STRING } }
  const good = Buffer.from('3014' + '0a0100' + 'a00f' + '300d' + '06092b0601050507300101' + '0400', 'hex');
  assert.equal(ocspResponseProblem(good), undefined);
  assert.match(ocspResponseProblem(Buffer.from('-----BEGIN'))!, /^not a DER OCSP response; expected/);
  assert.match(ocspResponseProblem(good.subarray(0, 10))!, /^not a DER OCSP response/);
  assert.match(ocspResponseProblem(Buffer.from('30030a0106', 'hex'))!, /answer is unauthorized, not successful/);
  assert.match(ocspResponseProblem(Buffer.from('30030a0100', 'hex'))!, /successful status without a response/);
  assert.match(ocspResponseProblem(Buffer.alloc(0))!, /^not a DER OCSP response/);
});
