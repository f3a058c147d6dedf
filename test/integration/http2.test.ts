// HTTP/2 clients on the same TLS port as HTTP/1.1: the same routing and stickiness, bodies both ways, members
// spoken to in HTTP/1.1, and a rapid-reset burst from one client does not starve another.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { localCertificate, member, startEngine } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { request } from '../support/client.ts';
import { pollUntil } from '../support/wait.ts';
import type { Stickler } from '../../src/server/server.ts';

const servers: https.Server[] = [];
let stickler: Stickler;
let port: number;
const accessLog = join(mkdtempSync(join(tmpdir(), 'stickler-h2-')), 'access.log');

before(async () => {
  const { certFile, keyFile } = localCertificate();
  const urls: string[] = [];
  for (const name of ['a', 'b']) {
    const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.setHeader('Set-Cookie', [`JSESSIONID=NEW.${name}; Path=/`, 'other=1']);
        // Valid in HTTP/1.1, not as they are in HTTP/2: a repeated single-value field, an HTTP/2 connection field.
        res.setHeader('X-Repeated', ['one', 'two']);
        res.setHeader('Content-Type', ['application/json', 'application/json']);
        res.setHeader('HTTP2-Settings', 'AAMAAABkAAQAAP__');
        res.end(JSON.stringify({ node: name, version: req.httpVersion, cookie: req.headers.cookie, host: req.headers.host, body: Buffer.concat(chunks).toString() }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    urls.push(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
  port = await freePort();
  stickler = await startEngine(port, { members: [member(urls[0]!, { route: 'a' }), member(urls[1]!, { route: 'b' })], accessLog });
});

after(async () => {
  await stickler.close();
  for (const s of servers) s.close();
});

function h2(): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'localhost' });
  session.on('error', () => {});
  return session;
}

function ask(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/', ...headers }, { endStream: body === undefined });
    let text = '';
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve({ status: Number(head[':status']), headers: head, body: text }));
    req.on('error', reject);
    req.setTimeout(5_000, () => reject(new Error('no answer')));
    if (body !== undefined) req.end(body);
  });
}

test('HTTP/2 is negotiated by ALPN and routed like HTTP/1.1: balanced, then sticky by cookie; members get HTTP/1.1', async () => {
  const session = h2();
  try {
    const balanced = [];
    for (let i = 0; i < 4; i++) balanced.push(JSON.parse((await ask(session, {})).body).node);
    assert.deepEqual(balanced, ['a', 'b', 'a', 'b']);
    for (let i = 0; i < 5; i++) {
      const r = await ask(session, { cookie: 'JSESSIONID=xyz.b' });
      assert.equal(r.status, 200);
      const seen = JSON.parse(r.body);
      assert.equal(seen.node, 'b');
      assert.equal(seen.version, '1.1');
      assert.match(seen.host, /^127\.0\.0\.1:\d+$/);
    }
    assert.equal(session.alpnProtocol, 'h2');
  } finally {
    session.close();
  }
});

test('cookie crumbs become one Cookie field; Set-Cookie lines stay separate; request bodies stream with and without a length', async () => {
  const session = h2();
  try {
    const r = await ask(session, { cookie: ['a=1', 'JSESSIONID=xyz.a', 'b=2'] });
    const seen = JSON.parse(r.body);
    assert.equal(seen.cookie, 'a=1; JSESSIONID=xyz.a; b=2');
    assert.equal(seen.node, 'a');
    assert.deepEqual(r.headers['set-cookie'], ['JSESSIONID=NEW.a; Path=/', 'other=1']);
    assert.equal(r.headers['x-repeated'], 'one, two');
    assert.equal(r.headers['http2-settings'], undefined);
    const withLength = await ask(session, { ':method': 'POST', 'content-length': '11' }, 'hello world');
    assert.equal(JSON.parse(withLength.body).body, 'hello world');
    const streamed = await ask(session, { ':method': 'POST' }, 'streamed body');
    assert.equal(JSON.parse(streamed.body).body, 'streamed body');
  } finally {
    session.close();
  }
});

test('a rapid-reset burst on one connection does not starve another client', async () => {
  const attacker = h2();
  await new Promise((resolve) => attacker.once('connect', resolve));
  for (let i = 0; i < 1000; i++) {
    const req = attacker.request({ ':path': '/' });
    req.on('error', () => {});
    req.close(http2.constants.NGHTTP2_CANCEL);
  }
  // Each answer within its own 5 s: starved behind the burst, a client would wait for all of it.
  for (let i = 0; i < 5; i++) assert.equal((await request(`https://127.0.0.1:${port}/`, { timeoutMs: 5_000 })).status, 200);
  const other = h2();
  try {
    assert.equal((await ask(other, {})).status, 200);
  } finally {
    other.close();
    attacker.destroy();
  }
  const busy = () => stickler.runtime.balancers.get('cluster')!.balancer.snapshot(Date.now()).map((m) => m.busy);
  await pollUntil(async () => busy().every((b) => b === 0), {
    timeoutMs: 5_000,
    what: 'cancelled streams giving their member slots back',
    diagnostics: () => `busy: ${busy().join(', ')}`,
  });
});

test('the access log names HTTP/2 requests HTTP/2.0', async () => {
  const session = h2();
  try {
    assert.equal((await ask(session, { ':path': '/logged-as-h2' })).status, 200);
  } finally {
    session.close();
  }
  const line = () => readFileSync(accessLog, 'utf8').split('\n').find((l) => l.includes('/logged-as-h2'));
  await pollUntil(async () => line() !== undefined, { timeoutMs: 5_000, what: 'the access log line' });
  assert.match(line()!, /"GET \/logged-as-h2 HTTP\/2\.0" 200 /);
});
