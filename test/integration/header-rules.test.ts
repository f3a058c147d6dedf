// mod_headers' rules end to end: RequestHeader on what the member gets, Header on what the client gets, the
// ROUTEID recipe's Set-Cookie only when the route changes, and `always` on Stickler's own 503.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeader } from '../../src/http/head.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';

let backend: RecordingBackend;
let stickler: SticklerProcess;
let base: string;

/** Plain HTTP (the support client speaks TLS only); every Set-Cookie kept apart. */
async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
  await res.arrayBuffer();
  return { status: res.status, cookies: res.headers.getSetCookie(), header: (name: string) => res.headers.get(name) ?? undefined };
}

before(async () => {
  backend = await RecordingBackend.start(1);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stickler-headers-'));
  const config = join(dir, 'httpd.conf');
  writeFileSync(config, [
    `Listen 127.0.0.1:${port}`,
    'SSLProxyEngine on',
    '<Proxy balancer://app>', `BalancerMember https://127.0.0.1:${backend.ports[0]} route=n1`, '</Proxy>',
    '<Proxy balancer://none>', `BalancerMember http://127.0.0.1:${await freePort()} route=n9 status=+D`, '</Proxy>',
    'Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED',
    'Header always set X-Always yes',
    'Header set X-Success yes',
    'RequestHeader set X-Route "%{BALANCER_WORKER_ROUTE}e"',
    'RequestHeader unset Authorization',
    'RequestHeader set X-Forwarded-Proto https',
    '<Location /private>', 'RequestHeader set X-Private yes', '</Location>',
    'ProxyPass /down balancer://none/',
    'ProxyPass / balancer://app/ stickysession=ROUTEID',
  ].join('\n') + '\n');
  stickler = await startStickler(config);
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await stickler?.stop();
  await backend?.close();
});

test('a new session gets the ROUTEID cookie; one that keeps its route gets none; the member gets the request rules', async () => {
  const first = await get('/a', { Authorization: 'Basic eDp5', 'X-Forwarded-For': '6.6.6.6', 'X-Real-IP': '6.6.6.6', 'X-Forwarded-Proto': 'ftp' });
  assert.equal(first.status, 200);
  assert.deepEqual(first.cookies, ['ROUTEID=.n1; path=/']);
  assert.equal(first.header('x-always'), 'yes');
  assert.equal(first.header('x-success'), 'yes');
  const sent = backend.connections.at(-1)!.requests[0]!;
  // As in httpd, RequestHeader runs before the balancer chooses: BALANCER_* are unset there.
  assert.equal(getHeader(sent.headers, 'x-route'), '(null)');
  assert.equal(getHeader(sent.headers, 'authorization'), undefined);
  // The operator's X-Forwarded-Proto survives; what the untrusted client claimed about itself does not.
  assert.equal(getHeader(sent.headers, 'x-forwarded-proto'), 'https');
  assert.equal(getHeader(sent.headers, 'x-forwarded-for'), '127.0.0.1');
  assert.equal(getHeader(sent.headers, 'x-real-ip'), undefined);
  const kept = await get('/a', { Cookie: 'ROUTEID=.n1' });
  assert.deepEqual(kept.cookies, []);
  const unknown = await get('/a', { Cookie: 'ROUTEID=.zz' });
  assert.deepEqual(unknown.cookies, ['ROUTEID=.n1; path=/']);
});

test('Stickler\'s own 503 gets the always rules only', async () => {
  const down = await get('/down/x');
  assert.equal(down.status, 503);
  assert.equal(down.header('x-always'), 'yes');
  assert.equal(down.header('x-success'), undefined);
});

/** fetch would normalise the path before sending it; this sends it as written. */
function rawGet(path: string, headers: Record<string, string>): Promise<number | undefined> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, path, headers, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} within 30 s`)));
    req.on('error', reject);
    req.end();
  });
}

test('a <Location> rule covers its path however the client spells it (encoded, with dot segments), as httpd matches r->uri', async () => {
  const seen = (probe: string) => backend.connections.flatMap((c) => c.requests).find((r) => getHeader(r.headers, 'x-probe') === probe);
  for (const path of ['/private/x', '/%70rivate/x', '/./private/x', '/a/../private/x', '/public/x']) {
    assert.equal(await rawGet(path, { 'X-Probe': path }), 200, path);
    assert.equal(getHeader(seen(path)!.headers, 'x-private'), path === '/public/x' ? undefined : 'yes', path);
  }
});
