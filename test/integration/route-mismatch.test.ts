// Route-mismatch detection against real Tomcat 10 nodes (issue 14, point 3): node A runs with jvmRoute node1 as
// configured; node B with jvmRoute node9 where Stickler expects route=node2, the classic cause of sessions that do
// not stick. One request answered by B must show the warning on stderr, the metric, and the flag in the manager's
// API (what the console draws) and on Apache's page; `--check --probe` must name both routes and exit 2, and 0 once
// the configuration says what the nodes issue. One Tomcat pair serves every case: each takes seconds to start.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testCertificate, type CertificateFiles } from '../support/certs.ts';
import { request } from '../support/client.ts';
import { freePort } from '../support/ports.ts';
import { CLI, startStickler, type SticklerProcess } from '../support/stickler.ts';
import { startTomcat, type TomcatNode } from '../support/tomcat.ts';
import { pollUntil } from '../support/wait.ts';
import type { ManagerOverview } from '../../src/manager/model.ts';

const run = promisify(execFile);
/** --probe's bound: each member's connect and answer within the default 60 s timeout, with margin. */
const PROBE_TIMEOUT_MS = 120_000;

let dir: string;
let certs: CertificateFiles;
let good: TomcatNode;
let wrong: TomcatNode;
let stickler: SticklerProcess | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-route-mismatch-'));
  certs = await testCertificate(dir);
  [good, wrong] = await Promise.all([
    startTomcat({ jvmRoute: 'node1', ...certs }),
    startTomcat({ jvmRoute: 'node9', ...certs }),
  ]);
});

after(async () => {
  await stickler?.stop();
  await Promise.all([good?.stop(), wrong?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** The seed's shape, the balancer mounted at `mount` (by default the page that starts sessions); B configured with `wrongRoute`. */
function site(port: number, wrongRoute: string, mount: string): string {
  return `Listen 127.0.0.1:${port}
ServerName localhost
<VirtualHost *:${port}>
 ServerName localhost
 SSLEngine On
 SSLProxyEngine On
 SSLProxyCheckPeerName Off
 SSLCertificateFile "${certs.certFile}"
 SSLCertificateKeyFile "${certs.keyFile}"
 ProxyPass /balancer-manager !
 ProxyPass ${mount} balancer://cluster${mount} stickysession=JSESSIONID|jsessionid
<Proxy balancer://cluster>
 BalancerMember ${good.url} route=node1
 BalancerMember ${wrong.url} route=${wrongRoute}
</Proxy>
<Location /balancer-manager>
 SetHandler balancer-manager
 Require local
</Location>
</VirtualHost>
`;
}

async function siteFile(name: string, wrongRoute: string, mount = '/counter.jsp'): Promise<{ file: string; port: number }> {
  const port = await freePort();
  const file = join(dir, `${name}.conf`);
  await writeFile(file, site(port, wrongRoute, mount));
  return { file, port };
}

test('one session from the misconfigured node: warning, metric, and the flag in the manager and on Apache\'s page', async () => {
  const { file, port } = await siteFile('serve', 'node2');
  stickler = await startStickler(file);
  const base = `https://127.0.0.1:${port}`;
  // Round robin from a fresh state: the first new session goes to A, the second to B. One from B is the request.
  let fromWrong = false;
  for (let i = 0; i < 4 && !fromWrong; i++) {
    const r = await request(`${base}/counter.jsp`);
    assert.equal(r.status, 200);
    fromWrong = r.headers['x-node'] === 'node9';
  }
  assert.ok(fromWrong, 'node B answered one of the first requests');

  await pollUntil(async () => stickler!.stderr().includes('issues sessions with route node9'), { timeoutMs: 10_000, what: 'the warning on stderr' });
  const warning = stickler.stderr().split('\n').find((l) => l.includes('route node9'))!;
  for (const part of ['balancer://cluster', wrong.url, 'route=node2', 'jvmRoute="node2"', 'deployment.toml']) {
    assert.ok(warning.includes(part), `${part} in: ${warning}`);
  }
  assert.ok(!stickler.stderr().includes(`member ${good.url} issues`), 'the well-configured node is not warned about');

  const metrics = await request(`${base}/balancer-manager/metrics`);
  assert.match(metrics.body,
    new RegExp(`stickler_member_route_mismatch_total\\{balancer="cluster",member="${wrong.url}",route="node2",seen="node9"\\} 1\\n`));
  assert.doesNotMatch(metrics.body, new RegExp(`route_mismatch_total\\{[^}]*route="node1"`));

  const api = JSON.parse((await request(`${base}/balancer-manager/api/v1/balancers`)).body) as ManagerOverview;
  const members = new Map(api.balancers[0]!.members.map((m) => [m.route, m]));
  assert.deepEqual(members.get('node2')!.routeMismatch && { ...members.get('node2')!.routeMismatch, lastAt: 0 },
    { flagged: true, lastAt: 0, lastSeen: 'node9', counts: [{ seen: 'node9', count: 1 }], other: 0 });
  assert.equal(members.get('node1')!.routeMismatch, null);

  const page = await request(`${base}/balancer-manager`);
  assert.ok(page.body.includes(`${wrong.url}: route mismatch: issues node9, configured node2`), 'the flag on Apache\'s page');
  assert.equal(page.body.split('route mismatch').length, 2, 'only B is flagged');
  await stickler.stop();
  stickler = undefined;
});

async function probe(file: string, ...args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, '--check', '--probe', '--config', file, ...args], { timeout: PROBE_TIMEOUT_MS });
    return { code: 0, stdout };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    assert.equal(typeof failed.code, 'number', `--probe did not exit by itself: ${failed.stderr}`);
    return { code: failed.code, stdout: failed.stdout };
  }
}

test('--check --probe prints the route each node issues beside the configured one: exit 2 on a mismatch, 0 when they match', async () => {
  const mismatched = await probe((await siteFile('probe-wrong', 'node2')).file);
  assert.equal(mismatched.code, 2, mismatched.stdout);
  const lines = mismatched.stdout.trim().split('\n');
  assert.equal(lines.length, 2, mismatched.stdout);
  assert.match(lines.find((l) => l.includes(wrong.url))!, /route=node2, issues node9: MISMATCH/);
  assert.match(lines.find((l) => l.includes(good.url))!, /route=node1, issues node1: ok/);

  const matched = await probe((await siteFile('probe-right', 'node9')).file);
  assert.equal(matched.code, 0, matched.stdout);
  assert.match(matched.stdout, /route=node9, issues node9: ok/);
});

test('--probe-path asks for the page that starts sessions when the balancer is mounted on a path that starts none', async () => {
  const { file } = await siteFile('probe-mount', 'node2', '/');
  const atMount = await probe(file);
  assert.equal(atMount.code, 0, atMount.stdout);
  assert.match(atMount.stdout, /route=node2, no session issued at \//);
  const atPage = await probe(file, '--probe-path', '/counter.jsp');
  assert.equal(atPage.code, 2, atPage.stdout);
  assert.match(atPage.stdout, /route=node2, issues node9: MISMATCH/);
  const elsewhere = await probe(file, '--probe-path', 'counter.jsp');
  assert.equal(elsewhere.code, 1, elsewhere.stdout);
  assert.match(elsewhere.stdout, /not probed: counter\.jsp is not proxied to this balancer/);
});
