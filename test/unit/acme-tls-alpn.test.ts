// TLS-ALPN-01 pieces: the ClientHello reader (real hellos from Node's TLS client, any truncation, any bytes), the
// RFC 8737 certificate (checked by acme-client's own verifier and by @peculiar/x509, not by the builder), and the
// challenge board's answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import acme from 'acme-client';
import * as x509 from '@peculiar/x509';
import { MAX_HELLO_BYTES, peekClientHello } from '../../src/acme/client-hello.ts';
import { ChallengeBoard, HTTP01_PREFIX, alpnCertificate, type PendingChallenge } from '../../src/acme/challenges.ts';

/** The first bytes Node's TLS client sends with these options. */
function capturedHello(options: tls.ConnectionOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        const all = Buffer.concat(chunks);
        if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
          socket.destroy();
          server.close();
          resolve(all);
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const client = tls.connect({ ...options, host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, rejectUnauthorized: false });
      client.on('error', () => {});
    });
    server.on('error', reject);
  });
}

test('a ClientHello gives its server name and ALPN list, in TLS 1.3 and TLS 1.2', async () => {
  for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
    const hello = await capturedHello({ servername: 'Acme.Example.ORG', ALPNProtocols: ['acme-tls/1'], maxVersion });
    assert.deepEqual(peekClientHello(hello), { kind: 'hello', serverName: 'acme.example.org', alpn: ['acme-tls/1'] });
  }
  const plain = await capturedHello({ ALPNProtocols: ['h2', 'http/1.1'] });
  assert.deepEqual(peekClientHello(plain), { kind: 'hello', serverName: undefined, alpn: ['h2', 'http/1.1'] });
});

test('every prefix of a ClientHello is incomplete; anything not a TLS handshake is other', async () => {
  const hello = await capturedHello({ servername: 'a.example', ALPNProtocols: ['acme-tls/1'] });
  for (let n = 0; n < hello.length; n++) assert.deepEqual(peekClientHello(hello.subarray(0, n)), { kind: 'incomplete' }, `prefix of ${n} bytes`);
  assert.deepEqual(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'other' });
  const notHello = Buffer.from(hello);
  notHello[5] = 2;
  assert.deepEqual(peekClientHello(notHello), { kind: 'other' });
});

test('property: any bytes give an answer and never throw; a full record never asks for more', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
    const peek = peekClientHello(Buffer.from(bytes));
    if (bytes.length >= 5 && bytes[0] === 22 && bytes[1] === 3 && bytes.length >= 5 + Buffer.from(bytes).readUInt16BE(3)) assert.notEqual(peek.kind, 'incomplete');
  }));
  // A handshake record with random content, of a consistent length.
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (body) => {
    const record = Buffer.concat([Buffer.from([22, 3, 1, body.length >> 8, body.length & 0xff]), Buffer.from(body)]);
    assert.notEqual(peekClientHello(record).kind, 'incomplete');
  }));
  assert.ok(MAX_HELLO_BYTES > 16384);
});

test('the RFC 8737 certificate: only the validated name, the critical acmeIdentifier holding the key authorization digest', () => {
  const keyAuthorization = 'token-abc.thumbprint-xyz';
  const { cert } = alpnCertificate('acme.example.org', keyAuthorization);
  assert.equal(acme.crypto.isAlpnCertificateAuthorizationValid(cert, keyAuthorization), true);
  assert.equal(acme.crypto.isAlpnCertificateAuthorizationValid(cert, 'other.token'), false);
  const parsed = new x509.X509Certificate(cert);
  const extension = parsed.getExtension('1.3.6.1.5.5.7.1.31');
  assert.ok(extension, 'the acmeIdentifier extension is there');
  assert.equal(extension.critical, true);
  assert.equal(new NodeX509(cert).subjectAltName, 'DNS:acme.example.org');
});

const pending = (type: PendingChallenge['type'], name: string, token: string): PendingChallenge => ({ type, name, token, keyAuthorization: `${token}.thumb` });

test('HTTP-01 is answered only for a name with a challenge pending: the key authorization, or 404 for another token', () => {
  const board = new ChallengeBoard();
  assert.equal(board.httpAnswer('a.example', `${HTTP01_PREFIX}t1`), undefined, 'nothing pending: the request goes its way');
  board.set([pending('http-01', 'a.example', 't1'), pending('tls-alpn-01', 'b.example', 't2')]);
  assert.deepEqual(board.httpAnswer('A.example:8080', `${HTTP01_PREFIX}t1`), { status: 200, body: 't1.thumb' });
  assert.deepEqual(board.httpAnswer('a.example', `${HTTP01_PREFIX}t9`), { status: 404 });
  assert.equal(board.httpAnswer('b.example', `${HTTP01_PREFIX}t2`), undefined, 'a TLS-ALPN-01 challenge is not served over HTTP');
  assert.equal(board.httpAnswer('a.example', '/t1'), undefined);
  assert.equal(board.httpAnswer(undefined, `${HTTP01_PREFIX}t1`), undefined);
  assert.equal(board.alpnPending, true);
  assert.ok(board.alpnContext('B.example'));
  assert.equal(board.alpnContext('a.example'), undefined);
  board.set([]);
  assert.equal(board.alpnPending, false);
  assert.equal(board.httpAnswer('a.example', `${HTTP01_PREFIX}t1`), undefined);
});
