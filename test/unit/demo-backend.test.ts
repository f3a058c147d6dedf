import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import { escapeHtml, mappedPath, requestedSessionIds, startDemoNode } from '../../src/demo/backend.ts';
import { SessionStore } from '../../src/demo/sessions.ts';
import { prepareDemo, renderBanner, renderDemoConfig } from '../../src/demo/demo.ts';

const { cert, key } = createSelfSigned({ commonName: 'localhost', altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', ca = cert): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, method, headers, ca, servername: 'localhost', agent: false, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function sessionCookie(r: Reply): string {
  const setCookie = r.headers['set-cookie'];
  assert.ok(setCookie && setCookie.length === 1, 'one Set-Cookie');
  const match = /^JSESSIONID=([0-9A-F]{32}\.node1); Path=\/; Secure; HttpOnly$/.exec(setCookie[0]!);
  assert.ok(match, `Set-Cookie in Tomcat's form, got ${setCookie[0]}`);
  return match[1]!;
}

test('demo node: sessions by cookie and by ;jsessionid=, JSON, absolute redirect', async (t) => {
  const node = await startDemoNode({ route: 'node1', cert, key });
  t.after(() => node.close());

  const first = await get(node.port, '/api/whoami');
  assert.equal(first.status, 200);
  const id = sessionCookie(first);
  assert.deepEqual(JSON.parse(first.body), { node: 'node1', session: id, hits: 1 });

  const second = await get(node.port, '/api/whoami', { Cookie: `other=1; JSESSIONID=${id}` });
  assert.equal(second.headers['set-cookie'], undefined, 'a known session gets no new cookie');
  assert.deepEqual(JSON.parse(second.body), { node: 'node1', session: id, hits: 2 });

  const byUrl = await get(node.port, `/api/whoami;jsessionid=${id}?x=1`);
  assert.deepEqual(JSON.parse(byUrl.body), { node: 'node1', session: id, hits: 3 });

  const stale = await get(node.port, '/api/whoami', { Cookie: 'JSESSIONID=0123456789ABCDEF0123456789ABCDEF.node2' });
  assert.notEqual(sessionCookie(stale), id, 'an unknown session id gets a fresh session');

  const redirect = await get(node.port, '/redirect', { Cookie: `JSESSIONID=${id}` });
  assert.equal(redirect.status, 302);
  assert.equal(redirect.headers.location, `https://localhost:${node.port}/`);
});

test('demo node: HTML page names the node and escapes what it echoes', async (t) => {
  const node = await startDemoNode({ route: 'node1', cert, key });
  t.after(() => node.close());

  const r = await get(node.port, '/', {
    'X-Forwarded-For': '<script>alert(1)</script>',
    'X-Forwarded-Host': 'example.com"onload="x',
  });
  assert.equal(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/html; charset=utf-8$/);
  const id = sessionCookie(r);
  assert.match(r.body, /Answered by node1/);
  assert.match(r.body, new RegExp(`Backend port ${node.port}`));
  assert.ok(r.body.includes(`href="/;jsessionid=${id}"`));
  assert.ok(r.body.includes('&#60;script&#62;alert(1)&#60;/script&#62;'));
  assert.ok(r.body.includes('example.com&#34;onload=&#34;x'));
  assert.ok(!r.body.includes('<script>'));

  assert.equal((await get(node.port, '/nope')).status, 404);
  const post = await get(node.port, '/', {}, 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('request parsing helpers', () => {
  assert.deepEqual(requestedSessionIds('a=b; JSESSIONID=X.node1;JSESSIONID=Y.node2', '/p;jsessionid=Z.node1?q=;jsessionid=no'), [
    'X.node1',
    'Y.node2',
    'Z.node1',
  ]);
  assert.deepEqual(requestedSessionIds(undefined, '/'), []);
  assert.equal(mappedPath('/api/whoami;jsessionid=A.b?x=1'), '/api/whoami');
  assert.equal(mappedPath('/;jsessionid=A.b'), '/');
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;');
});

test('session store: first live candidate wins, idle expiry, bounded size', () => {
  let now = 0;
  const store = new SessionStore({ route: 'n1', idleMs: 1000, maxSessions: 3, now: () => now });
  const a = store.touch([]).session;
  assert.match(a.id, /^[0-9A-F]{32}\.n1$/);
  assert.equal(store.touch(['unknown', a.id]).session.hits, 2);

  now = 999;
  assert.equal(store.touch([a.id]).created, false, 'touched before the idle limit');
  now = 1999;
  const fresh = store.touch([a.id]);
  assert.equal(fresh.created, true, 'expired after 1000 ms idle');
  assert.equal(store.size, 1);

  const ids = [store.touch([]).session.id, store.touch([]).session.id, store.touch([]).session.id];
  assert.equal(store.size, 3);
  assert.equal(store.touch([fresh.session.id]).created, true, 'the oldest session was evicted at the cap');
  assert.equal(store.touch([ids[2]!]).created, false);
  assert.equal(store.size, 3);
});

test('prepareDemo: config, running nodes, certificate cached across runs', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'stickler-demo-')), 'demo dir');
  t.after(() => rmSync(dirname(dir), { recursive: true, force: true }));

  const demo = await prepareDemo(dir, { port: 9443 });
  t.after(() => Promise.all(demo.nodes.map((n) => n.close())));
  assert.deepEqual(demo.nodes.map((n) => n.route), ['node1', 'node2']);
  const [p1, p2] = demo.nodes.map((n) => n.port);

  const conf = readFileSync(demo.configFile, 'utf8');
  assert.equal(demo.configFile, join(dir, 'stickler.conf'));
  for (const line of [
    'Listen 127.0.0.1:9443',
    '<VirtualHost 127.0.0.1:9443>',
    'ServerName localhost',
    'SSLEngine On',
    'SSLProxyEngine On',
    'SSLProxyCheckPeerName off',
    `SSLCertificateFile "${join(dir, 'cert.pem')}"`,
    `SSLCertificateKeyFile "${join(dir, 'key.pem')}"`,
    '<Proxy *>',
    'Order deny,allow',
    'Allow from all',
    'ProxyPass /balancer-manager !',
    'ProxyPass / balancer://demo/ lbmethod=byrequests stickysession=JSESSIONID|jsessionid scolonpathdelim=On',
    `ProxyPassReverse / https://localhost:${p1}/`,
    `ProxyPassReverse / https://localhost:${p2}/`,
    '<Proxy balancer://demo>',
    `BalancerMember https://127.0.0.1:${p1} route=node1 loadfactor=1`,
    `BalancerMember https://127.0.0.1:${p2} route=node2 loadfactor=1`,
    '</VirtualHost>',
  ]) {
    assert.ok(conf.split('\n').some((l) => l.trim() === line), `config has "${line}"`);
  }
  assert.match(demo.banner, /https:\/\/localhost:9443\//);
  assert.match(demo.banner, /self-signed/);
  assert.match(demo.banner, /-c \/tmp\/stickler-demo\.jar -b \/tmp\/stickler-demo\.jar https:\/\/localhost:9443\/api\/whoami/);

  const demoCert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  assert.equal(statSync(join(dir, 'key.pem')).mode & 0o777, 0o600);
  const whoami = await get(p2!, '/api/whoami', {}, 'GET', demoCert);
  assert.equal(JSON.parse(whoami.body).node, 'node2');

  const again = await prepareDemo(dir);
  t.after(() => Promise.all(again.nodes.map((n) => n.close())));
  assert.equal(readFileSync(join(dir, 'cert.pem'), 'utf8'), demoCert, 'certificate reused');
  assert.match(readFileSync(again.configFile, 'utf8'), /^Listen 127\.0\.0\.1:8443$/m, 'loopback unless told otherwise');
  assert.match(demo.banner, /Listening on 127\.0\.0\.1:9443 only/);
});

test('prepareDemo replaces a cached certificate that expires within 7 days', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const expiring = createSelfSigned({ commonName: 'localhost', altNames: { dns: ['localhost'] }, days: 3 });
  writeFileSync(join(dir, 'cert.pem'), expiring.cert);
  writeFileSync(join(dir, 'key.pem'), expiring.key);

  const demo = await prepareDemo(dir);
  t.after(() => Promise.all(demo.nodes.map((n) => n.close())));
  const renewed = new X509Certificate(readFileSync(join(dir, 'cert.pem'), 'utf8'));
  assert.ok(renewed.validToDate.getTime() - Date.now() > 300 * 24 * 60 * 60 * 1000);
  assert.equal(renewed.checkIP('127.0.0.1'), '127.0.0.1');
});

test('renderDemoConfig listens where it is told, IPv6 in brackets; the banner says who can reach it', () => {
  const input = { listenPort: 8443, managerPort: 9090, certFile: '/tmp/c.pem', keyFile: '/tmp/k.pem', nodes: [] };
  const lines = (listenAddress: string) => renderDemoConfig({ ...input, listenAddress }).split('\n').filter((l) => /Listen|VirtualHost /.test(l));
  assert.deepEqual(lines('0.0.0.0'), ['Listen 0.0.0.0:8443', '<VirtualHost 0.0.0.0:8443>', 'Listen 127.0.0.1:9090', '<VirtualHost 127.0.0.1:9090>']);
  assert.deepEqual(lines('::1').slice(0, 2), ['Listen [::1]:8443', '<VirtualHost [::1]:8443>']);
  const banner = (listenAddress: string) => renderBanner({ ...input, listenAddress, configFile: '/tmp/s.conf' });
  assert.match(banner('0.0.0.0'), /Open https:\/\/localhost:8443\/\n {2}Listening on 0\.0\.0\.0:8443, reachable from other machines/);
  assert.match(banner('192.0.2.7'), /Open https:\/\/192\.0\.2\.7:8443\//);
  assert.match(banner('::1'), /Listening on \[::1\]:8443 only/);
});

test('renderDemoConfig refuses a path it cannot quote', () => {
  assert.throws(
    () => renderDemoConfig({ listenAddress: '127.0.0.1', listenPort: 8443, managerPort: 9090, certFile: '/tmp/a"b/cert.pem', keyFile: '/tmp/k.pem', nodes: [] }),
    /cannot write the path "\/tmp\/a\\"b\/cert\.pem" into an Apache configuration/,
  );
});
