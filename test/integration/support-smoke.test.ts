// Proves the real-process harness: two Tomcat nodes behind Debian's httpd on the seed configuration.
// Each test gets its own httpd, because byrequests state (lbstatus) carries over from request to request,
// sticky ones included, and a test must not depend on what ran before it.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apacheConfig, startApache } from '../support/apache.ts';
import { testCertificate, type CertificateFiles } from '../support/certs.ts';
import { CookieJar, request } from '../support/client.ts';
import { freePort } from '../support/ports.ts';
import { startTomcat, type TomcatNode } from '../support/tomcat.ts';

let dir: string;
let cert: CertificateFiles;
let nodes: TomcatNode[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-smoke-'));
  cert = await testCertificate(dir);
  nodes = await Promise.all(['node1', 'node2'].map((jvmRoute) => startTomcat({ jvmRoute, ...cert })));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** A fresh httpd in front of both nodes; returns its base URL. */
async function startBalancer(t: TestContext): Promise<string> {
  const port = await freePort();
  const serverRoot = await mkdtemp(join(dir, 'apache-'));
  const members = nodes.map((n) => ({ url: n.url, route: n.jvmRoute }));
  const apache = await startApache(apacheConfig({ port, ...cert, dir: serverRoot, members }));
  t.after(() => apache.stop());
  return `https://127.0.0.1:${port}`;
}

function parseCounter(body: string): { node: string; hits: number; session: string } {
  const m = /^node=(\S+) hits=(\d+) session=(\S+)$/m.exec(body);
  assert.ok(m, `counter.jsp answer not understood: ${JSON.stringify(body)}`);
  return { node: m[1]!, hits: Number(m[2]), session: m[3]! };
}

test('a session through Apache sticks to the node that created it', { timeout: 60_000 }, async (t) => {
  const base = await startBalancer(t);
  const jar = new CookieJar();
  const first = parseCounter((await request(`${base}/counter.jsp`, { jar })).body);
  assert.ok(first.session.endsWith(`.${first.node}`), 'Tomcat appends its jvmRoute to the session id');
  for (let hits = 2; hits <= 10; hits++) {
    const res = await request(`${base}/counter.jsp`, { jar });
    assert.equal(res.status, 200);
    assert.deepEqual(parseCounter(res.body), { ...first, hits });
  }
});

test('without a session, byrequests alternates, starting with the first member', { timeout: 60_000 }, async (t) => {
  const base = await startBalancer(t);
  const served: string[] = [];
  for (let i = 0; i < 4; i++) served.push(parseCounter((await request(`${base}/counter.jsp`)).body).node);
  assert.deepEqual(served, ['node1', 'node2', 'node1', 'node2']);
});

test('an absolute redirect from a node is rewritten to Apache by ProxyPassReverse', { timeout: 60_000 }, async (t) => {
  const base = await startBalancer(t);
  const res = await request(`${base}/redirect.jsp`);
  assert.equal(res.status, 302);
  assert.equal(res.headers.location, `${base}/counter.jsp`);
});
