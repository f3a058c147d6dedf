// Bad input of every kind never takes the process down: the real CLI process takes a few thousand mutated,
// truncated and garbage requests, and a stray backend answer, then must still serve and must not have logged
// any internal error (its last-resort handler prints one and keeps running).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { startStickler } from '../support/stickler.ts';

/** Small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const valid = [
  'GET /a;jsessionid=X.n1?x=1 HTTP/1.1\r\nHost: localhost\r\nCookie: JSESSIONID=abc.n1\r\n\r\n',
  'POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello',
  'POST /up HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n',
];

function mutate(rand: () => number, input: string): Buffer {
  const bytes = [...Buffer.from(input, 'latin1')];
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    const kind = Math.floor(rand() * 5);
    const byte = [0, 9, 10, 13, 32, 44, 58, 59, 0x7f, 0xff, 48, 70][Math.floor(rand() * 12)]!;
    if (kind === 0) bytes.splice(at, 1);
    else if (kind === 1) bytes.splice(at, 0, byte);
    else if (kind === 2) bytes[at] = byte;
    else if (kind === 3) bytes.splice(at, Math.floor(rand() * 8), ...Buffer.from(['\r\n', 'chunked', '-1', 'ffffffffffffffff', ' '][Math.floor(rand() * 5)]!));
    else bytes.length = at;
  }
  return Buffer.from(bytes);
}

function send(port: number, data: Buffer, rand: () => number): Promise<void> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      // Sometimes in pieces, sometimes closed early: both must be harmless.
      const cut = Math.floor(rand() * data.length);
      socket.write(data.subarray(0, cut));
      setImmediate(() => {
        if (rand() < 0.2) socket.destroy();
        else socket.end(data.subarray(cut));
      });
    });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 2_000);
    socket.on('data', () => {});
    socket.on('error', done);
    socket.on('close', done);
  });
}

test('thousands of hostile requests: no crash, no internal error, still serving', async () => {
  const { certFile, keyFile } = localCertificate();
  const backend = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stickler-hostile-'));
  writeFileSync(join(dir, 'stickler.yaml'), yamlConfig(port, [{ url: `https://127.0.0.1:${(backend.address() as AddressInfo).port}`, route: 'n1' }]));
  const stickler = await startStickler(join(dir, 'stickler.yaml'));
  try {
    const rand = prng(20261125);
    const garbage = () => Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
    const inputs: Buffer[] = [];
    for (let i = 0; i < 2000; i++) inputs.push(rand() < 0.1 ? garbage() : mutate(rand, valid[i % valid.length]!));
    for (let i = 0; i < inputs.length; i += 50) await Promise.all(inputs.slice(i, i + 50).map((d) => send(port, d, rand)));
    const ok = await request(`https://127.0.0.1:${port}/after`);
    assert.equal(ok.status, 200);
    assert.equal(ok.body, 'ok');
    assert.doesNotMatch(stickler.stderr(), /internal error/);
  } finally {
    await stickler.stop();
    backend.close();
  }
});
