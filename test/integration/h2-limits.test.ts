// The client policy on every protocol: HTTP/2 streams meet the header deadline (header blocks and frames the
// client is slow to finish), the body deadline, the send timeout and the stream cap as HTTP/1.1 connections do;
// a client that leaves cancels its member requests at once, however it left; the cap on requests in flight turns
// new requests away with 503 while those in progress and the manager go on. The attacks are sent by a raw frame
// client (test/support/h2-raw.ts), since well-behaved clients cannot send them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientPolicy } from '../../src/config/model.ts';
import type { Stickler } from '../../src/server/server.ts';
import { localCertificate, member, startEngine } from '../support/engine.ts';
import { ERROR, FRAME, RawH2, SETTING, errorCode, frame, headerBlock, requestFields } from '../support/h2-raw.ts';
import { freePort } from '../support/ports.ts';
import { request } from '../support/client.ts';
import { pollUntil, withTimeout } from '../support/wait.ts';

/** Short clocks so the attacks end quickly; every bound below is derived from these. */
const CLIENT: Partial<ClientPolicy> = {
  headerTimeout: { timeout: 1_500, minRate: 0, max: 0 },
  bodyTimeout: { timeout: 1_500, minRate: 0, max: 0 },
  sendTimeout: 1_500,
  maxStreams: 4,
  maxRequests: 6,
};
/** What a loaded 2-core machine may add to any clock here. */
const MARGIN = 10_000;
/** The member timeout: what a request that is not cancelled would hold its member for. */
const MEMBER_TIMEOUT = 60_000;
/** Longer than any wait below, so an idle timeout never ends a connection a deadline should have ended. */
const KEEP_ALIVE = 60_000;

/** Requests the member holds unanswered until released, with how each ended. */
const held = new Set<ServerResponse>();
/** The paths of held requests that ended without an answer: cancelled by Stickler. */
const aborted = new Set<string>();
let backend: https.Server;
let stickler: Stickler;
let port: number;
const accessLog = join(mkdtempSync(join(tmpdir(), 'stickler-h2-limits-')), 'access.log');

function answer(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/big') return void res.end(Buffer.alloc(1024 * 1024, 'x'));
  if (req.url?.startsWith('/hold')) {
    held.add(res);
    res.once('close', () => {
      if (!res.writableFinished) aborted.add(req.url!);
      held.delete(res);
    });
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => res.end(`got ${Buffer.concat(chunks).length}`));
}

function release(): void {
  for (const res of held) res.end('released');
}

function busy(): number {
  return stickler.runtime.balancers.get('cluster')!.balancer.state.busy(0);
}

/** Until the member itself holds `n` requests: the busy count goes up before the member connection is made. */
async function waitHeld(n: number, what: string): Promise<void> {
  await pollUntil(async () => held.size === n && busy() === n, { timeoutMs: MARGIN, intervalMs: 10, what: `${what}: the member holds ${n} (it holds ${held.size}, busy ${busy()})` });
}

async function waitBusy(n: number, what: string, ms = MARGIN): Promise<number> {
  const started = performance.now();
  await pollUntil(async () => busy() === n, { timeoutMs: ms, intervalMs: 10, what: `${what}: member busy count ${n} (it is ${busy()})` });
  return performance.now() - started;
}

function logLines(): string[] {
  try {
    return readFileSync(accessLog, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

before(async () => {
  const { certFile, keyFile } = localCertificate();
  backend = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, answer);
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  port = await freePort();
  stickler = await startEngine(port, {
    members: [member(`https://127.0.0.1:${(backend.address() as AddressInfo).port}`)],
    accessLog,
    timeout: MEMBER_TIMEOUT,
    keepAliveTimeout: KEEP_ALIVE,
    client: CLIENT,
    vhost: { locations: [{ source: { file: 'test', line: 1 }, path: '/balancer-manager', handler: 'balancer-manager', access: [] }] },
  });
});

after(async () => {
  release();
  await stickler.close();
  backend.closeAllConnections();
  backend.close();
});

function h2session(): http2.ClientHttp2Session {
  const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'localhost' });
  session.on('error', () => {});
  return session;
}

/** A request body trickled a byte every 200 ms, forever: only the body deadline can end it. */
function trickle(write: (byte: Buffer) => void): () => void {
  const timer = setInterval(() => write(Buffer.from('x')), 200);
  return () => clearInterval(timer);
}

test('a body trickled over HTTP/2 gets 408 at the body deadline, as over HTTP/1.1, and its member is freed', async (t) => {
  const session = h2session();
  try {
    const started = performance.now();
    const req = session.request({ ':method': 'POST', ':path': '/upload' }, { endStream: false });
    req.on('error', () => {});
    const stop = trickle((b) => req.write(b));
    const status = await withTimeout(new Promise<number>((resolve) => req.once('response', (h) => resolve(Number(h[':status'])))), MEMBER_TIMEOUT / 2, 'an answer to the trickled HTTP/2 body');
    stop();
    assert.equal(status, 408);
    await waitBusy(0, 'after the HTTP/2 408');
    t.diagnostic(`HTTP/2 slow body held the member for ${Math.round(performance.now() - started)} ms (body deadline ${CLIENT.bodyTimeout!.timeout} ms)`);
  } finally {
    session.destroy();
  }

  const started = performance.now();
  const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
  socket.on('error', () => {});
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.write('POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n');
  const stop = trickle((b) => socket.write(b));
  try {
    await pollUntil(async () => text.startsWith('HTTP/1.1 '), { timeoutMs: MEMBER_TIMEOUT / 2, what: 'an answer to the trickled HTTP/1.1 body' });
    assert.match(text, /^HTTP\/1\.1 408 /);
    await waitBusy(0, 'after the HTTP/1.1 408');
    t.diagnostic(`HTTP/1.1 slow body held the member for ${Math.round(performance.now() - started)} ms`);
  } finally {
    stop();
    socket.destroy();
  }
});

test('a header block kept open by a trickled CONTINUATION frame is cut off at the header deadline', async () => {
  const client = await RawH2.connect(port);
  const before = logLines().length;
  client.headers(1, requestFields('GET', '/never'), { endHeaders: false });
  // One CONTINUATION frame of 200 bytes whose payload comes a byte every 200 ms: 40 s if nobody stops it.
  const payload = headerBlock([['x-slow', 'y'.repeat(190)]]);
  client.send(frame(FRAME.CONTINUATION, 0, 1, payload).subarray(0, 9));
  let sent = 0;
  const timer = setInterval(() => client.send(payload.subarray(sent, ++sent)), 200);
  try {
    await client.waitClosed(CLIENT.headerTimeout!.timeout + MARGIN, 'the connection closed at the header deadline');
    assert.ok(sent < payload.length, `closed while the frame was still trickling (${sent} of ${payload.length} bytes sent)`);
  } finally {
    clearInterval(timer);
    client.destroy();
  }
  await pollUntil(async () => logLines().slice(before).some((l) => / 408 /.test(l)), { timeoutMs: MARGIN, what: 'a 408 line in the access log' });
  assert.equal(busy(), 0);
});

test('a frame header trickled a byte at a time, and a connection that never sends its preface, are cut off too', async () => {
  const client = await RawH2.connect(port);
  // A SETTINGS frame of ten entries, a byte every 300 ms: 21 s if nobody stops it.
  const settings = frame(FRAME.SETTINGS, 0, 0, Buffer.concat(Array.from({ length: 10 }, () => Buffer.from([0, SETTING.MAX_CONCURRENT_STREAMS, 0, 0, 0, 100]))));
  let sent = 0;
  const timer = setInterval(() => client.send(settings.subarray(sent, ++sent)), 300);
  try {
    await client.waitClosed(CLIENT.headerTimeout!.timeout + MARGIN, 'closed while a SETTINGS frame trickled');
    assert.ok(sent < settings.length, `closed before the frame was complete (${sent} of ${settings.length} bytes)`);
  } finally {
    clearInterval(timer);
    client.destroy();
  }
  const silent = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ALPNProtocols: ['h2'], rejectUnauthorized: false });
  silent.on('error', () => {});
  await withTimeout(new Promise((resolve) => silent.once('close', resolve)), CLIENT.headerTimeout!.timeout + MARGIN, 'a silent h2 connection closed');
});

test('a stream whose window stays shut is reset at the send timeout; a connection whose streams are all stalled is reset', async () => {
  // Stream 1 stalls (window 0), stream 3 waits on the member and is not stalled: only stream 1 is reset.
  const client = await RawH2.connect(port, { [SETTING.INITIAL_WINDOW_SIZE]: 0 });
  try {
    client.headers(1, requestFields('GET', '/big'), { endStream: true });
    client.headers(3, requestFields('GET', '/hold-window'), { endStream: true });
    const rst = await client.waitFor((f) => f.type === FRAME.RST_STREAM && f.stream === 1, CLIENT.sendTimeout! + MARGIN, 'RST_STREAM on the stalled stream');
    assert.equal(errorCode(rst), ERROR.CANCEL);
    assert.equal(client.closed, false, 'the connection with a live stream stays open');
    assert.equal(held.size, 1);
    release();
    await client.waitFor((f) => f.type === FRAME.HEADERS && f.stream === 3, MARGIN, 'the held stream answered');
  } finally {
    client.destroy();
  }
  await waitBusy(0, 'after the stalled stream');

  const stalled = await RawH2.connect(port, { [SETTING.INITIAL_WINDOW_SIZE]: 0 });
  try {
    stalled.headers(1, requestFields('GET', '/big'), { endStream: true });
    stalled.headers(3, requestFields('GET', '/big'), { endStream: true });
    await stalled.waitClosed(CLIENT.sendTimeout! + MARGIN, 'the all-stalled connection reset at the send timeout');
  } finally {
    stalled.destroy();
  }
  await waitBusy(0, 'after the stalled connection');
});

test('streams up to the cap are served; a client that opens more after acknowledging the cap loses the connection', async () => {
  const client = await RawH2.connect(port);
  try {
    for (let id = 1; id <= 7; id += 2) client.headers(id, requestFields('GET', `/hold-cap-${id}`), { endStream: true });
    await waitHeld(CLIENT.maxStreams!, 'the streams within the cap reach the member');
    // nghttp2 treats a stream over a cap the client has acknowledged as a connection error (RFC 9113 §5.1.2).
    client.headers(9, requestFields('GET', '/hold-cap-9'), { endStream: true });
    const goaway = await client.waitFor((f) => f.type === FRAME.GOAWAY, MARGIN, 'GOAWAY for the stream over the cap');
    assert.equal(errorCode(goaway), ERROR.PROTOCOL_ERROR);
    await client.waitClosed(MARGIN, 'the connection closed');
    assert.ok(!aborted.has('/hold-cap-9') && [...held].length <= CLIENT.maxStreams!, 'the stream over the cap never reached the member');
    await waitBusy(0, 'the connection\'s streams cancelled');
    await pollUntil(async () => [1, 3, 5, 7].every((id) => aborted.has(`/hold-cap-${id}`)), { timeoutMs: MARGIN, what: 'the streams within the cap cancelled at the member' });
  } finally {
    client.destroy();
  }
});

const LEAVING: Array<[string, (c: RawH2) => void]> = [
  ['TCP FIN without close_notify', (c) => c.fin()],
  ['TLS close_notify', (c) => c.closeNotify()],
  ['GOAWAY then FIN', (c) => {
    c.goaway(0);
    c.fin();
  }],
  ['TCP reset', (c) => c.reset()],
];

for (const [n, [how, leave]] of LEAVING.entries()) {
  test(`an HTTP/2 client that leaves by ${how} cancels its member requests at once`, async (t) => {
    const before = logLines().length;
    const paths = [1, 3, 5].map((id) => `/hold-leave-${n}-${id}`);
    const client = await RawH2.connect(port);
    for (const [i, path] of paths.entries()) client.headers(2 * i + 1, requestFields('GET', path), { endStream: true });
    await waitHeld(3, 'three requests on the member');
    leave(client);
    const took = await waitBusy(0, `after ${how}`, MEMBER_TIMEOUT / 2);
    client.destroy();
    t.diagnostic(`HTTP/2 ${how}: busy 3 → 0 in ${Math.round(took)} ms`);
    await pollUntil(async () => paths.every((p) => aborted.has(p)), { timeoutMs: MARGIN, what: `the member saw the three requests aborted (${[...aborted].join(' ')}; held ${held.size})` });
    await pollUntil(async () => logLines().slice(before).filter((l) => /"GET \/hold-leave-\d-\d HTTP\/2\.0" 499 /.test(l)).length === 3, {
      timeoutMs: MARGIN,
      what: 'three 499 lines in the access log',
    });
  });
}

test('an HTTP/1.1 client that resets cancels its member request at once; one that half-closes still gets its answer', async (t) => {
  const tcp = net.connect(port, '127.0.0.1');
  const socket = tls.connect({ socket: tcp, servername: 'localhost', rejectUnauthorized: false });
  socket.on('error', () => {});
  tcp.on('error', () => {});
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  socket.write('GET /hold-h1-reset HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await waitHeld(1, 'the HTTP/1.1 request on the member');
  tcp.resetAndDestroy();
  const took = await waitBusy(0, 'after the HTTP/1.1 reset', MEMBER_TIMEOUT / 2);
  t.diagnostic(`HTTP/1.1 TCP reset: busy 1 → 0 in ${Math.round(took)} ms`);
  await pollUntil(async () => aborted.has('/hold-h1-reset'), { timeoutMs: MARGIN, what: 'the member saw the request aborted' });

  // HTTP/1.1 has half-close (RFC 9112 §9.6): a client may send its request and FIN, and still read the answer.
  const half = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', rejectUnauthorized: false });
  half.on('error', () => {});
  let text = '';
  half.on('data', (c: Buffer) => (text += c.toString('latin1')));
  await new Promise((resolve) => half.once('secureConnect', resolve));
  half.end('GET /hold-h1-half HTTP/1.1\r\nHost: localhost\r\n\r\n');
  await waitHeld(1, 'the half-closed request on the member');
  release();
  await pollUntil(async () => text.includes('released'), { timeoutMs: MARGIN, what: 'the half-closed client got its answer' });
  half.destroy();
});

test('over the cap of requests in flight new requests get 503 with Retry-After; those in progress and the manager go on', async () => {
  // Connections just under every cap: two HTTP/2 connections of maxStreams - 1 streams each fill maxRequests.
  const perConnection = CLIENT.maxStreams! - 1;
  assert.equal(2 * perConnection, CLIENT.maxRequests);
  const sessions = [h2session(), h2session()];
  try {
    const answers = sessions.flatMap((s, n) =>
      Array.from({ length: perConnection }, (_, i) => {
        const req = s.request({ ':path': `/hold-cap-${n}-${i}` });
        req.on('error', () => {});
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        return new Promise<{ status: number; body: string }>((resolve) => {
          let status = 0;
          req.once('response', (h) => (status = Number(h[':status'])));
          req.once('end', () => resolve({ status, body }));
        });
      }),
    );
    await waitHeld(CLIENT.maxRequests!, 'the capped number of requests on the member');
    const over = await request(`https://127.0.0.1:${port}/over-the-cap`, { timeoutMs: MARGIN });
    assert.equal(over.status, 503);
    assert.equal(over.headers['retry-after'], '1');
    const manager = await request(`https://127.0.0.1:${port}/balancer-manager?xml`, { timeoutMs: MARGIN });
    assert.equal(manager.status, 200, 'the manager answers at the cap');
    release();
    const done = await withTimeout(Promise.all(answers), MARGIN, 'the held requests answered');
    assert.deepEqual(done.map((d) => [d.status, d.body]), done.map(() => [200, 'released']));
    assert.equal((await request(`https://127.0.0.1:${port}/after-the-cap`, { timeoutMs: MARGIN })).status, 200, 'served again below the cap');
  } finally {
    for (const s of sessions) s.destroy();
  }
});

test('a response larger than the stream buffer flows through as the client reads it, and a slow reader gets it whole', async () => {
  const session = h2session();
  try {
    for (const pauseMs of [0, 20]) {
      const req = session.request({ ':path': '/big' });
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        // A reader slower than the member: the stream's buffer fills and drains again many times.
        if (pauseMs > 0) {
          req.pause();
          setTimeout(() => req.resume(), pauseMs);
        }
      });
      await withTimeout(new Promise((resolve) => req.once('end', resolve)), MARGIN * 3, `the 1 MiB answer (pauses of ${pauseMs} ms)`);
      assert.equal(size, 1024 * 1024);
    }
  } finally {
    session.destroy();
  }
  await waitBusy(0, 'after the downloads');
});
