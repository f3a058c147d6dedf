// The native balancer cookie end to end: two real Tomcat 10 nodes WITHOUT jvmRoute (their session ids carry no route,
// as with Spring Boot or Keycloak 26.8) behind Stickler's signed cookie. Sessions stick through a login-like sequence;
// a forged, altered or unsigned cookie, or a route the client wrote into JSESSIONID, is not obeyed; is answered with a fresh cookie, and is counted on /metrics.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCertificate } from '../support/certs.ts';
import { CookieJar, request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { startTomcat, type TomcatNode } from '../support/tomcat.ts';
import { cookieValue } from '../../src/sticky/balancer-cookie.ts';
import type { BalancerCookieConfig } from '../../src/config/model.ts';

const KEY = Buffer.alloc(32, 0).map((_, i) => (i * 37 + 11) & 0xff);
const COOKIE: BalancerCookieConfig = { name: 'ROUTEID', path: '/', httpOnly: true, sameSite: 'Lax', key: KEY };

let dir: string;
let nodes: TomcatNode[] = [];
let stickler: SticklerProcess | undefined;
let port: number;
let managerPort: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-balancer-cookie-'));
  const certs = await testCertificate(dir);
  nodes = await Promise.all(['n1', 'n2'].map((jvmRoute) => startTomcat({ jvmRoute, sessionRoute: false, ...certs })));
  const keyFile = join(dir, 'cookie.key');
  await writeFile(keyFile, KEY);
  await chmod(keyFile, 0o600);
  [port, managerPort] = [await freePort(), await freePort()];
  const file = join(dir, 'stickler.yaml');
  await writeFile(file, yamlConfig(port, nodes.map((n) => ({ url: n.url, route: n.jvmRoute })), {
    certificates: certs,
    balancer: ['cookie:', '  name: ROUTEID', '  key-file: cookie.key'],
    top: `manager:\n  host: 127.0.0.1\n  port: ${managerPort}`,
  }));
  stickler = await startStickler(file);
});

after(async () => {
  await stickler?.stop();
  await Promise.all(nodes.map((n) => n.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** counter.jsp: `node=<jvmRoute> hits=<n> session=<id>`, and the ROUTEID Set-Cookie, if any. */
async function counter(opts: { jar?: CookieJar; cookie?: string; path?: string }): Promise<{ node: string; hits: number; session: string; routeCookie?: string }> {
  const r = await request(`https://127.0.0.1:${port}${opts.path ?? '/counter.jsp'}`, { ...(opts.jar && { jar: opts.jar }), headers: opts.cookie ? { cookie: opts.cookie } : {} });
  assert.equal(r.status, 200, r.body.slice(0, 200));
  const m = /node=(\S+) hits=(\d+) session=(\S+)/.exec(r.body);
  assert.ok(m, r.body.slice(0, 200));
  const routeCookie = (r.headers['set-cookie'] ?? []).find((c) => c.startsWith('ROUTEID='));
  return { node: m[1]!, hits: Number(m[2]), session: m[3]!, ...(routeCookie && { routeCookie }) };
}

function altered(value: string): string {
  return value.slice(0, -1) + (value.endsWith('A') ? 'B' : 'A');
}

async function rejectedCount(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${managerPort}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const m = /^stickler_balancer_cookie_rejected_total\{balancer="cluster"\} (\d+)$/m.exec(text);
  assert.ok(m, 'the metric is exposed for a balancer with a cookie');
  return Number(m[1]);
}

describe('two Tomcat nodes without jvmRoute behind the signed balancer cookie', () => {
  test('the nodes issue session ids without a route, so only the cookie can keep a session', async () => {
    const first = await counter({});
    assert.doesNotMatch(first.session, /\./, 'no jvmRoute suffix');
  });

  test('a login-like sequence with a cookie jar stays on one node; the cookie is issued once, signed', async () => {
    for (let user = 0; user < 2; user++) {
      const jar = new CookieJar();
      const first = await counter({ jar });
      assert.ok(first.routeCookie, 'the first answer hands out the route cookie');
      assert.equal(first.routeCookie, `ROUTEID=${cookieValue('cluster', COOKIE, first.node)}; Path=/; Secure; HttpOnly; SameSite=Lax`);
      for (let step = 2; step <= 8; step++) {
        const next = await counter({ jar });
        assert.deepEqual([next.node, next.hits, next.session], [first.node, step, first.session], `user ${user} step ${step}`);
        assert.equal(next.routeCookie, undefined, 'a request with the right route gets no new cookie');
      }
    }
  });

  test('a valid cookie for a node is obeyed every time', async () => {
    for (const node of ['n1', 'n2']) {
      for (let i = 0; i < 4; i++) assert.equal((await counter({ cookie: `ROUTEID=${cookieValue('cluster', COOKIE, node)}` })).node, node);
    }
  });

  test('a forged, altered or unsigned cookie naming a node is not obeyed, gets a fresh cookie and is counted', async () => {
    const before = await rejectedCount();
    const otherKey = { ...COOKIE, key: Buffer.alloc(32, 1) };
    const n1Signature = cookieValue('cluster', COOKIE, 'n1').split('.')[1]!;
    const forged = [
      'ROUTEID=n2', // unsigned
      `ROUTEID=n2.${n1Signature}`, // the other node's signature
      `ROUTEID=${cookieValue('cluster', otherKey, 'n2')}`, // signed with another key
      `ROUTEID=${cookieValue('other', COOKIE, 'n2')}`, // signed for another balancer sharing the key file
      `ROUTEID=${altered(cookieValue('cluster', COOKIE, 'n2'))}`, // one character of the signature altered
    ];
    const answeredBy = new Set<string>();
    for (const cookie of forged) {
      // Two each: balanced picks alternate between the two nodes, so an obeyed route would show as n2 twice.
      for (let i = 0; i < 2; i++) {
        const r = await counter({ cookie });
        answeredBy.add(r.node);
        assert.equal(r.routeCookie?.split(';')[0], `ROUTEID=${cookieValue('cluster', COOKIE, r.node)}`, `${cookie}: a fresh, valid cookie`);
      }
    }
    assert.ok(answeredBy.has('n1'), 'cookies naming n2 were not obeyed');
    assert.equal(await rejectedCount() - before, 2 * forged.length);
  });

  test('a route the client writes into the session cookie or the URL is not obeyed: only the signed cookie routes', async () => {
    const jar = new CookieJar();
    const mine = await counter({ jar });
    const other = mine.node === 'n1' ? 'n2' : 'n1';
    const signed = `ROUTEID=${cookieValue('cluster', COOKIE, mine.node)}`;
    for (let i = 0; i < 3; i++) {
      assert.equal((await counter({ cookie: `JSESSIONID=x.${other}; ${signed}` })).node, mine.node, 'JSESSIONID=x.<other> beside a valid cookie');
      assert.equal((await counter({ cookie: signed, path: `/counter.jsp;jsessionid=x.${other}` })).node, mine.node, ';jsessionid=x.<other>');
    }
    // Alone it is balanced, not obeyed: an obeyed route is the member's own, so it would get no new cookie (sticky picks
    // skew byrequests, so which node answers proves nothing).
    for (let i = 0; i < 2; i++) {
      const r = await counter({ cookie: `JSESSIONID=x.${other}` });
      assert.equal(r.routeCookie?.split(';')[0], `ROUTEID=${cookieValue('cluster', COOKIE, r.node)}`, `JSESSIONID=x.${other} alone: balanced, a fresh cookie`);
    }
  });
});
