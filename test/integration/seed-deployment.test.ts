// The seed deployment end to end: two real Tomcat 10 nodes with jvmRoute isNode1/isNode2 behind Stickler,
// started by its CLI on the seed's Apache configuration (ports and paths filled in), and the same script sent
// to Debian's apache2 started on the same file: the same node must answer each request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apacheConfig, startApache, type ApacheConfigOptions, type ApacheServer } from '../support/apache.ts';
import { testCertificate, type CertificateFiles } from '../support/certs.ts';
import { request, CookieJar } from '../support/client.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { startTomcat, type TomcatNode } from '../support/tomcat.ts';

let dir: string;
let certs: CertificateFiles;
let node1: TomcatNode;
let node2: TomcatNode;
const running: Array<{ stop(): Promise<void> }> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-seed-'));
  certs = await testCertificate(dir);
  [node1, node2] = await Promise.all([
    startTomcat({ jvmRoute: 'isNode1', ...certs }),
    startTomcat({ jvmRoute: 'isNode2', ...certs }),
  ]);
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await Promise.all([node1?.stop(), node2?.stop()]);
});

type Variant = Omit<ApacheConfigOptions, 'port' | 'certFile' | 'keyFile' | 'members' | 'dir'> & { weights?: [number, number] };

/** Stickler's manager, for its explain API; Apache's file has none, and a `<Location>` changes no routing. */
const EXPLAIN_MANAGER = `<Location /stickler-manager>
 SetHandler balancer-manager
 Require local
 ProxyPass !
</Location>`;

/**
 * The same configuration text, differing only in its port, run by Apache and by Stickler; with `explained`, Stickler's
 * also mounts its manager (EXPLAIN_MANAGER).
 */
async function pair(name: string, variant: Variant, explained = false): Promise<{ apache: ApacheServer; stickler: SticklerProcess; sticklerPort: number }> {
  const members = [
    { url: node1.url, route: 'isNode1', loadfactor: variant.weights?.[0] ?? 1 },
    { url: node2.url, route: 'isNode2', loadfactor: variant.weights?.[1] ?? 1 },
  ];
  const make = async (port: number, sub: string, extraVhost = variant.extraVhost) => {
    const d = join(dir, sub);
    await mkdir(d, { recursive: true });
    return apacheConfig({ ...variant, port, members, dir: d, ...certs, ...(extraVhost !== undefined && { extraVhost }) });
  };
  const apache = await startApache(await make(await freePort(), `${name}-apache`));
  running.push(apache);
  const sticklerPort = await freePort();
  const file = join(dir, `${name}-stickler.conf`);
  await writeFile(file, await make(sticklerPort, `${name}-stickler`, explained ? `${variant.extraVhost ?? ''}\n${EXPLAIN_MANAGER}` : variant.extraVhost));
  const stickler = await startStickler(file);
  running.push(stickler);
  return { apache, stickler, sticklerPort };
}

/** Which node answered: counter.jsp prints `node=<jvmRoute> hits=<n> session=<id>`. */
async function nodeOf(port: number, path: string, cookie?: string): Promise<string> {
  const r = await request(`https://127.0.0.1:${port}${path}`, { headers: cookie ? { cookie } : {} });
  assert.equal(r.status, 200, `${path} answered ${r.status}: ${r.body.slice(0, 200)}`);
  const m = /node=(\S*)/.exec(r.body);
  assert.ok(m, `no node= line in ${JSON.stringify(r.body.slice(0, 200))}`);
  return m[1]!;
}

/** `from`: where Stickler must find the step's route (explain's route source); absent: the step names none. */
type Step = { path: string; cookie?: string; from?: 'path' | 'query' | 'cookie' };

async function runScript(port: number, script: Step[]): Promise<string[]> {
  const out: string[] = [];
  for (const step of script) out.push(await nodeOf(port, step.path, step.cookie));
  return out;
}

/** What Stickler's explain said just before a step's request: the node, and why. */
interface Explained {
  node: string;
  source: string;
  how: string;
  text: string;
}

/**
 * The script through Stickler, each request preceded by an explain of it on the live state (GET
 * /stickler-manager/api/v1/explain), which changes no counter, so it names the node the request then gets.
 */
async function runExplained(port: number, script: Step[]): Promise<Array<{ node: string; explained: Explained }>> {
  const out = [];
  for (const step of script) {
    const query = `url=${encodeURIComponent(step.path)}${step.cookie ? `&cookie=${encodeURIComponent(step.cookie)}` : ''}`;
    const r = await request(`https://127.0.0.1:${port}/stickler-manager/api/v1/explain?${query}`);
    assert.equal(r.status, 200, `explain ${step.path}: ${r.body}`);
    const answer = JSON.parse(r.body) as { decision: { route: { source: string }; attempts: Array<{ route: string; how: string }> }; text: string };
    const [attempt] = answer.decision.attempts;
    const explained = { node: attempt!.route, source: answer.decision.route.source, how: attempt!.how, text: answer.text };
    out.push({ node: await nodeOf(port, step.path, step.cookie), explained });
  }
  return out;
}

/**
 * Each step's explain named the node Apache chose, and the reason: the route and where it came from when the route
 * named that node, the lbmethod otherwise.
 */
function assertExplained(script: Step[], viaApache: string[], explainedRuns: Array<{ node: string; explained: Explained }>): void {
  script.forEach((step, i) => {
    const { node, explained } = explainedRuns[i]!;
    const at = `step ${i} ${step.path} ${step.cookie ?? ''}:\n${explained.text}`;
    assert.equal(node, viaApache[i], at);
    assert.equal(explained.node, viaApache[i], at);
    assert.equal(explained.source, step.from ?? 'none', at);
    const byRoute = step.from !== undefined && new RegExp(`\\.${viaApache[i]}($|[;&])`).test(step.from === 'cookie' ? step.cookie! : step.path);
    assert.equal(explained.how, byRoute ? 'route' : 'balanced', at);
    assert.match(explained.text, byRoute ? /^chosen .*: the session's route$/m : /^chosen .*: (no usable member has the session's route .*, so )?byrequests \(/m, at);
  });
}

const fresh = (n: number): Step[] => Array.from({ length: n }, () => ({ path: '/counter.jsp' }));

describe('seed configuration (stickysession=JSESSIONID, loadfactor 1:1)', () => {
  let apache: ApacheServer;
  let port: number;
  before(async () => {
    ({ apache, sticklerPort: port } = await pair('seed', {}, true));
  });

  // First, while both balancers still have the same counters: every request below moves them.
  test('differential: the same node answers each request through Apache and through Stickler', async () => {
    const script: Step[] = [
      ...fresh(6),
      { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.isNode2', from: 'cookie' },
      { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.isNode1', from: 'cookie' },
      ...fresh(3),
      { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.isNode2', from: 'cookie' },
      { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.isNode2', from: 'cookie' },
      ...fresh(3),
      // unknown routes are balanced
      { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.zzz', from: 'cookie' },
      { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.ISNODE2', from: 'cookie' },
      { path: '/counter.jsp', cookie: 'JSESSIONID=noseparator' },
      ...fresh(2),
      // with the bare JSESSIONID form, Tomcat's lowercase ;jsessionid= is not matched (Apache's behaviour)
      { path: '/counter.jsp;jsessionid=ABC.isNode2' },
      { path: '/counter.jsp;jsessionid=ABC.isNode1' },
      // the uppercase name in the URL is matched, and wins over the cookie
      { path: '/counter.jsp?JSESSIONID=ABC.isNode2', cookie: 'JSESSIONID=ABC.isNode1', from: 'query' },
      { path: '/counter.jsp?x=1&JSESSIONID=ABC.isNode1', from: 'query' },
      ...fresh(3),
    ];
    const viaApache = await runScript(apache.port, script);
    const viaStickler = await runExplained(port, script);
    assert.deepEqual(viaStickler.map((s) => s.node), viaApache);
    // stickler explain names, before each request, the node Apache chose and why.
    assertExplained(script, viaApache, viaStickler);
  });

  test('a session created through Stickler stays on its node for 50 requests', async () => {
    const jar = new CookieJar();
    const first = await request(`https://127.0.0.1:${port}/counter.jsp`, { jar });
    const node = /node=(\S+)/.exec(first.body)![1]!;
    assert.match(jar.get('JSESSIONID') ?? '', new RegExp(`\\.${node}$`));
    for (let i = 2; i <= 50; i++) {
      const r = await request(`https://127.0.0.1:${port}/counter.jsp`, { jar });
      assert.match(r.body, new RegExp(`^node=${node} hits=${i} `));
    }
  });

  test('/balancer-manager is not proxied', async () => {
    // Not mounted here: this Stickler's manager is at /stickler-manager, for explain.
    const r = await request(`https://127.0.0.1:${port}/balancer-manager`);
    assert.equal(r.status, 404);
    assert.doesNotMatch(r.body, /node=/);
  });

  test('ProxyPassReverse rewrites the node\'s absolute redirect to the front end', async () => {
    const r = await request(`https://127.0.0.1:${port}/redirect.jsp`, { headers: { host: `localhost:${port}` } });
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, `https://localhost:${port}/counter.jsp`);
  });

});

describe('stickysession=JSESSIONID|jsessionid scolonpathdelim=On: Tomcat URL rewriting', () => {
  let apache: ApacheServer;
  let port: number;
  before(async () => {
    ({ apache, sticklerPort: port } = await pair('url', { stickysession: 'JSESSIONID|jsessionid', proxyPassExtra: 'scolonpathdelim=On' }, true));
  });

  test('differential: URL and cookie routes through Apache and Stickler', async () => {
    const script: Step[] = [
      ...fresh(3),
      { path: '/counter.jsp;jsessionid=ABC.isNode2', from: 'path' },
      { path: '/counter.jsp;jsessionid=ABC.isNode1;foo=bar', from: 'path' },
      { path: '/counter.jsp;jsessionid=ABC.isNode2', cookie: 'JSESSIONID=ABC.isNode1', from: 'path' },
      { path: '/counter.jsp?jsessionid=ABC.isNode2', from: 'query' },
      { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.isNode2', from: 'cookie' },
      { path: '/counter.jsp;jsessionid=ABC.nowhere', from: 'path' },
      ...fresh(3),
    ];
    const viaApache = await runScript(apache.port, script);
    const viaStickler = await runExplained(port, script);
    assert.deepEqual(viaStickler.map((s) => s.node), viaApache);
    assertExplained(script, viaApache, viaStickler);
  });

  test('a cookie-less client following ;jsessionid= links stays on its node', async () => {
    let path = '/counter.jsp';
    let node = '';
    for (let i = 1; i <= 20; i++) {
      const r = await request(`https://127.0.0.1:${port}${path}`);
      const m = /^node=(\S+) hits=(\d+)/.exec(r.body);
      assert.ok(m, r.body);
      if (i === 1) node = m[1]!;
      assert.equal(m[1], node);
      assert.equal(Number(m[2]), i, 'the session continues');
      const link = /href="([^"]+)"/.exec(r.body);
      assert.ok(link, 'Tomcat rewrote the URL with ;jsessionid=');
      assert.match(link[1]!, /;jsessionid=[0-9A-F]+\.isNode[12]$/);
      path = `/${link[1]}`;
    }
  });

});

describe('loadfactor 3:1', () => {
  let apache: ApacheServer;
  let port: number;
  before(async () => {
    ({ apache, sticklerPort: port } = await pair('weights', { weights: [3, 1] }));
  });

  test('new sessions go 3:1, in the same order as Apache', async () => {
    const viaStickler = await runScript(port, fresh(16));
    const count = (n: string) => viaStickler.filter((x) => x === n).length;
    assert.equal(count('isNode1'), 12);
    assert.equal(count('isNode2'), 4);
    assert.deepEqual(viaStickler, await runScript(apache.port, fresh(16)));
  });
});

describe('a node stops (run last: it stops Tomcat isNode2)', () => {
  let apache: ApacheServer;
  let port: number;
  before(async () => {
    ({ apache, sticklerPort: port } = await pair('failover', {}));
  });

  test('its sessions move to the other node, new sessions keep working, as with Apache', async () => {
    const jar = new CookieJar();
    let r = await request(`https://127.0.0.1:${port}/counter.jsp`, { jar });
    while (!/node=isNode2/.test(r.body)) r = await request(`https://127.0.0.1:${port}/counter.jsp`, { jar: (jar.clear(), jar) });
    assert.match(jar.get('JSESSIONID') ?? '', /\.isNode2$/);

    await node2.stop();
    const moved = await request(`https://127.0.0.1:${port}/counter.jsp`, { jar });
    assert.equal(moved.status, 200);
    assert.match(moved.body, /^node=isNode1 hits=1 /, 'the session lives on isNode1 now (no replication: a new session)');
    assert.match(jar.get('JSESSIONID') ?? '', /\.isNode1$/);
    for (let i = 0; i < 5; i++) assert.equal(await nodeOf(port, '/counter.jsp'), 'isNode1');

    const script: Step[] = [{ path: '/counter.jsp', cookie: 'JSESSIONID=ABC.isNode2' }, ...fresh(4), { path: '/counter.jsp', cookie: 'JSESSIONID=ABC.isNode1' }];
    assert.deepEqual(await runScript(port, script), await runScript(apache.port, script));
  });
});
