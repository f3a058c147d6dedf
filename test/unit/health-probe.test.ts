// Real probes of each method against a local TLS member, through a MemberPool as traffic uses it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { HealthCheckConfig } from '../../src/config/model.ts';
import { probeMember } from '../../src/health/probe.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import { MemberPool } from '../../src/upstream/pool.ts';
import { memberConfig, TEST_SOURCE } from '../support/fixtures.ts';

/** What the member answers to a request head: raw bytes, or `hang` (never answer), or `close`. */
type Answer = (head: string) => string | Buffer | 'hang' | 'close';

const { cert, key } = createSelfSigned({ commonName: 'localhost', altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });
const requests: string[] = [];
let answer: Answer = () => 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
let port = 0;
const server = tls.createServer({ cert, key }, (socket) => {
  let head = '';
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    head += chunk.toString('latin1');
    if (!head.includes('\r\n\r\n')) return;
    requests.push(head);
    const reply = answer(head);
    if (reply === 'close') socket.destroy();
    else if (reply !== 'hang') socket.end(reply);
  });
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

const never = new AbortController().signal;

async function probe(over: Partial<HealthCheckConfig>, options: { path?: string; verify?: 'none' | 'require'; ioTimeout?: number; port?: number; url?: string } = {}) {
  const member = memberConfig({ url: options.url ?? `https://127.0.0.1:${options.port ?? port}${options.path ?? ''}` });
  const pool = new MemberPool({
    member, backendTls: { enabled: true, verify: options.verify ?? 'none', checkPeerName: true }, connectTimeout: 1000, ioTimeout: options.ioTimeout ?? 2000,
  });
  try {
    return await probeMember(member, { method: 'GET', uri: '/', interval: 1000, passes: 1, fails: 1, ...over }, pool, never);
  } finally {
    pool.close();
  }
}

const condition = (text: string, name = 'ok'): HealthCheckConfig['expr'] => ({ name, text, source: TEST_SOURCE });
const ok = (status: string, body = '') => `HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

test('TCP passes once the TLS handshake completes, and fails when nothing listens', async () => {
  requests.length = 0;
  assert.deepEqual(await probe({ method: 'TCP' }), { ok: true });
  assert.deepEqual(requests, [], 'no request is sent');
  const closed = tls.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  assert.deepEqual(await probe({ method: 'TCP' }, { port: deadPort }),
    { ok: false, reason: `connect to https://127.0.0.1:${deadPort} failed: ECONNREFUSED` });
});

test('the checks connect with the TLS settings of traffic: verify require refuses the self-signed member', async () => {
  const outcome = await probe({ method: 'TCP' }, { verify: 'require' });
  assert.equal(outcome.ok, false);
});

test('each HTTP method sends httpd\'s request line, in HTTP/1.1, with Host and the port', async () => {
  answer = () => ok('200 OK');
  requests.length = 0;
  await probe({ method: 'OPTIONS', uri: '/ignored' }, { path: '/app' });
  await probe({ method: 'HEAD', uri: '/health?deep=1' }, { path: '/app/' });
  await probe({ method: 'GET' });
  const host = `Host: 127.0.0.1:${port}\r\nUser-Agent: Stickler-health-check\r\nConnection: close\r\n\r\n`;
  assert.deepEqual(requests, [
    `OPTIONS * HTTP/1.1\r\n${host}`,
    `HEAD /app/health?deep=1 HTTP/1.1\r\n${host}`,
    `GET / HTTP/1.1\r\n${host}`,
  ]);
});

test('without a condition 2xx and 3xx pass and anything else fails', async () => {
  for (const [status, passes] of [['204 No Content', true], ['302 Found', true], ['404 Not Found', false], ['503 Service Unavailable', false]] as const) {
    answer = () => ok(status);
    assert.deepEqual(await probe({ method: 'HEAD' }), passes ? { ok: true } : { ok: false, reason: `it answered ${status.slice(0, 3)}` });
  }
  answer = () => 'HTTP/1.1 100 Continue\r\n\r\n' + ok('200 OK');
  assert.deepEqual(await probe({}), { ok: true }, 'interim responses are skipped');
});

test('a condition judges the status and the body', async () => {
  answer = () => ok('200 OK', 'status: UP\n');
  assert.deepEqual(await probe({ expr: condition("hc('body') =~ /UP$/") }), { ok: true });
  answer = () => ok('200 OK', '<h1>Under maintenance</h1>');
  assert.deepEqual(await probe({ expr: condition("hc('body') !~ /Under maintenance/", 'maint') }),
    { ok: false, reason: 'it answered 200, which does not meet ProxyHCExpr maint' });
  answer = () => ok('503 Service Unavailable');
  assert.deepEqual(await probe({ expr: condition('%{REQUEST_STATUS} =~ /^[2345]/', '') }), { ok: true }, 'a condition may accept a 503');
  answer = () => ok('200 OK', 'many');
  assert.deepEqual(await probe({ expr: condition("hc('body') -gt 2", '') }),
    { ok: false, reason: 'the condition hc(\'body\') -gt 2 could not be evaluated: -gt needs whole numbers, got "many"' });
});

test('HEAD sees no body, and a long body is judged by its first 64 KiB', async () => {
  answer = () => ok('200 OK', 'UP');
  assert.equal((await probe({ method: 'HEAD', expr: condition("hc('body') == ''") })).ok, true);
  // Its 64 Ki-th byte is the only b: the condition sees the body end right after it.
  const body = `${'a'.repeat(64 * 1024 - 1)}b${'a'.repeat(0x100000 - 64 * 1024)}`;
  answer = () => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n${body}\r\n0\r\n\r\n`;
  assert.deepEqual(await probe({ expr: condition("hc('body') =~ /^a+b$/") }), { ok: true });
});

test('a member that never answers, answers garbage or hangs up fails its check with the reason', async () => {
  answer = () => 'hang';
  assert.deepEqual(await probe({}, { ioTimeout: 200 }), { ok: false, reason: 'no complete response within 200 ms' });
  answer = () => 'garbage\r\n\r\n';
  const garbage = await probe({});
  assert.equal(garbage.ok, false);
  assert.match((garbage as { reason: string }).reason, /^its response is invalid: /);
  answer = () => 'close';
  assert.deepEqual(await probe({}), { ok: false, reason: 'it closed the connection before a complete response' });
  answer = () => 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nUP';
  assert.deepEqual(await probe({ expr: condition("hc('body') =~ /UP/") }),
    { ok: false, reason: 'it closed the connection before a complete response' }, 'a cut body is no answer');
});

test('stopping the checks ends a probe in flight', async () => {
  answer = () => 'hang';
  const member = memberConfig({ url: `https://127.0.0.1:${port}` });
  const pool = new MemberPool({ member, backendTls: { enabled: true, verify: 'none', checkPeerName: true }, connectTimeout: 1000, ioTimeout: 60_000 });
  const stop = new AbortController();
  const pending = probeMember(member, { method: 'GET', uri: '/', interval: 1000, passes: 1, fails: 1 }, pool, stop.signal);
  await new Promise((resolve) => setTimeout(resolve, 50));
  stop.abort();
  assert.deepEqual(await pending, { ok: false, reason: 'health checks stopped' });
  pool.close();
});

test('a check with port, scheme or host goes there, with Host naming it, whatever the member\'s own port serves', async () => {
  const plain: string[] = [];
  const management = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (chunk) => {
      plain.push(chunk.toString('latin1'));
      socket.end(ok('200 OK'));
    });
  });
  await new Promise<void>((resolve) => management.listen(0, '127.0.0.1', resolve));
  const plainPort = (management.address() as AddressInfo).port;
  try {
    answer = () => ok('503 Service Unavailable');
    requests.length = 0;
    assert.deepEqual(await probe({ uri: '/health/ready', scheme: 'http', port: plainPort }, { path: '/auth' }), { ok: true });
    assert.deepEqual(requests, [], 'the member\'s own port is not asked');
    assert.deepEqual(plain, [`GET /auth/health/ready HTTP/1.1\r\nHost: 127.0.0.1:${plainPort}\r\nUser-Agent: Stickler-health-check\r\nConnection: close\r\n\r\n`]);
    // An https check of a plain member: TLS with the member's proxy TLS settings, so verify require refuses the self-signed one.
    const member = `http://127.0.0.1:${plainPort}`;
    assert.deepEqual(await probe({ method: 'HEAD', scheme: 'https', port }, { url: member }), { ok: false, reason: 'it answered 503' });
    assert.equal(requests.at(-1), `HEAD / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: Stickler-health-check\r\nConnection: close\r\n\r\n`);
    assert.equal((await probe({ method: 'TCP', scheme: 'https', port }, { url: member, verify: 'require' })).ok, false);
    // host: the check connects to it and names it, on the member's port when none is given.
    assert.deepEqual(await probe({ method: 'TCP', host: '127.0.0.1' }, { url: `http://localhost:${plainPort}` }), { ok: true });
    plain.length = 0;
    assert.deepEqual(await probe({ host: '127.0.0.1' }, { url: `http://localhost:${plainPort}` }), { ok: true });
    assert.match(plain[0] ?? '', new RegExp(`^GET / HTTP/1.1\r\nHost: 127.0.0.1:${plainPort}\r\n`));
  } finally {
    await new Promise((resolve) => management.close(resolve));
  }
  assert.deepEqual(await probe({ method: 'TCP', scheme: 'http', port: plainPort }),
    { ok: false, reason: `connect to http://127.0.0.1:${plainPort} failed: ECONNREFUSED` }, 'a failure names where the check went');
});
