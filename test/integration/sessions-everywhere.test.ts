// Header rules and the signed balancer cookie hold the same over HTTP/2, across two worker threads and after a
// reload: each connection may land on another thread, so a cookie issued by one thread must be obeyed by the
// other, a rule changed by `stickler reload` must apply on every thread, and every thread's JSON log records
// where each request's route came from.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { fileLines } from '../support/wait.ts';
import type { RoutingDecision } from '../../src/balancer/decision.ts';
import { runCli, startStickler, type SticklerProcess } from '../support/stickler.ts';

/** Sessions per check: enough connections that both threads take some. */
const SESSIONS = 8;
const servers: https.Server[] = [];
const running: SticklerProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'stickler-sessions-'));
const { certFile, keyFile } = localCertificate();
let members: Array<{ url: string; route: string }> = [];

/** Members that name themselves and echo what they were sent; they issue no session cookie. */
before(async () => {
  for (const route of ['n1', 'n2']) {
    const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
      req.resume();
      req.on('end', () => res.end(JSON.stringify({ node: route, proto: req.headers['x-forwarded-proto'] ?? null })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    members.push({ url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, route });
  }
});

after(async () => {
  await Promise.all(running.map((s) => s.stop()));
  for (const s of servers) s.close();
});

interface Answer {
  status: number;
  node: string;
  proto: string | null;
  cookies: string[];
  headers: http2.IncomingHttpHeaders;
}

/** One GET on a new HTTP/2 connection (so that successive calls spread over the threads). */
function h2Get(port: number, cookie?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'localhost' });
    session.on('error', reject);
    const req = session.request({ ':path': '/app', ...(cookie && { cookie }) });
    let head: http2.IncomingHttpHeaders = {};
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => (head = h));
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      session.close();
      const setCookie = head['set-cookie'];
      try {
        const parsed = JSON.parse(body) as { node: string; proto: string | null };
        resolve({ status: Number(head[':status']), ...parsed, cookies: setCookie ?? [], headers: head });
      } catch {
        reject(new Error(`status ${head[':status']}: ${body.slice(0, 200)}`));
      }
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.close(http2.constants.NGHTTP2_CANCEL));
  });
}

describe('the ROUTEID recipe and everyday rules, over HTTP/2 with two worker threads, before and after a reload', () => {
  let port: number;
  let pidFile: string;
  let file: string;
  const config = (extra: string) => [
    `Listen 127.0.0.1:${port}`,
    'SSLProxyEngine on',
    'SSLProxyVerify none',
    'SSLProxyCheckPeerName off',
    `<VirtualHost 127.0.0.1:${port}>`,
    'ServerName localhost',
    'Protocols h2 http/1.1',
    'SSLEngine on',
    `SSLCertificateFile ${certFile}`,
    `SSLCertificateKeyFile ${keyFile}`,
    '<Proxy balancer://app>',
    ...members.map((m) => `BalancerMember ${m.url} route=${m.route}`),
    '</Proxy>',
    'Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED',
    'Header always set Strict-Transport-Security "max-age=63072000"',
    'RequestHeader set X-Forwarded-Proto https',
    extra,
    'ProxyPass / balancer://app/ stickysession=ROUTEID',
    '</VirtualHost>',
  ].join('\n') + '\n';

  before(async () => {
    port = await freePort();
    pidFile = join(dir, 'apache.pid');
    file = join(dir, 'httpd.conf');
    writeFileSync(file, config(''));
    running.push(await startStickler(file, { args: ['--workers', '2', '--pid-file', pidFile] }));
  });

  /** Fresh sessions get the cookie of the node that answered; each cookie then keeps its node, with no new cookie. */
  async function checkSessions(): Promise<Answer[]> {
    const fresh: Answer[] = [];
    for (let i = 0; i < SESSIONS; i++) fresh.push(await h2Get(port));
    for (const a of fresh) {
      assert.equal(a.status, 200);
      assert.deepEqual(a.cookies, [`ROUTEID=.${a.node}; path=/`]);
      assert.equal(a.headers['strict-transport-security'], 'max-age=63072000');
      assert.equal(a.proto, 'https');
    }
    assert.deepEqual(new Set(fresh.map((a) => a.node)), new Set(['n1', 'n2']), 'the balancer spreads fresh sessions');
    for (const a of fresh) {
      const again = await h2Get(port, a.cookies[0]!.split(';')[0]);
      assert.equal(again.node, a.node);
      assert.deepEqual(again.cookies, []);
    }
    return fresh;
  }

  test('every thread issues and obeys the route cookie and applies the rules', async () => {
    await checkSessions();
  });

  test('after `stickler reload` with a changed rule, every thread applies the new rules and sessions still stick', async () => {
    writeFileSync(file, config('Header always set X-Rules v2'));
    const reloaded = await runCli(['reload', '--pid-file', pidFile, '--config', file]);
    assert.equal(reloaded.code, 0, reloaded.output);
    const fresh = await checkSessions();
    for (const a of fresh) assert.equal(a.headers['x-rules'], 'v2');
  });
});

describe('the signed balancer cookie over HTTP/2 with two worker threads', () => {
  let port: number;
  const accessLog = join(dir, 'access.json');

  before(async () => {
    port = await freePort();
    const keyPath = join(dir, 'cookie.key');
    writeFileSync(keyPath, Buffer.alloc(32, 7).map((b, i) => (b * i + 13) & 0xff));
    chmodSync(keyPath, 0o600);
    const file = join(dir, 'stickler.yaml');
    writeFileSync(file, yamlConfig(port, members, { balancer: ['cookie:', '  name: ROUTEID', '  key-file: cookie.key'] }));
    running.push(await startStickler(file, { args: ['--workers', '2', '--access-log', accessLog, '--json-log'] }));
  });

  test('a cookie issued on one connection is obeyed on every other; an altered one is not', async () => {
    const fresh: Answer[] = [];
    for (let i = 0; i < SESSIONS; i++) fresh.push(await h2Get(port));
    assert.deepEqual(new Set(fresh.map((a) => a.node)), new Set(['n1', 'n2']));
    for (const a of fresh) {
      assert.equal(a.cookies.length, 1, 'one signed cookie per fresh session');
      const cookie = a.cookies[0]!.split(';')[0]!;
      for (let i = 0; i < 3; i++) {
        const again = await h2Get(port, cookie);
        assert.equal(again.node, a.node);
        assert.deepEqual(again.cookies, []);
      }
    }
    // The same route with the signature's last character changed: not obeyed, so a fresh cookie is issued.
    const original = fresh[0]!.cookies[0]!.split(';')[0]!;
    const forged = original.slice(0, -1) + (original.endsWith('A') ? 'B' : 'A');
    const answers = await Promise.all(Array.from({ length: 4 }, () => h2Get(port, forged)));
    for (const a of answers) assert.equal(a.cookies.length, 1, `a forged cookie gets a fresh one: ${JSON.stringify(a.cookies)}`);

    // The JSON log's decision, written by whichever thread served: where each route came from, as sent.
    const requests = SESSIONS * 4 + answers.length;
    const entries = (await fileLines(accessLog, requests)).map((l) => JSON.parse(l) as {
      thread?: number; protocol: string; decision?: RoutingDecision;
    });
    assert.equal(entries.length, requests);
    assert.ok(entries.every((e) => e.protocol === 'HTTP/2.0'));
    assert.equal(new Set(entries.map((e) => e.thread)).size, 2, 'both worker threads served and logged');
    const sources = (source: string, rejected?: boolean) =>
      entries.filter((e) => e.decision?.route.source === source && (e.decision.route.rejected ?? false) === (rejected ?? false)).length;
    assert.equal(sources('none'), SESSIONS);
    assert.equal(sources('balancer-cookie'), SESSIONS * 3);
    assert.equal(sources('none', true), answers.length, 'the forged cookie gives no route, recorded as rejected');
    for (const e of entries) assert.ok(e.decision!.attempts[0]!.member, 'each decision names the member chosen');
  });
});
