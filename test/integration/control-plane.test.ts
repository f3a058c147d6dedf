// The control plane with 2 worker threads, as `--workers 2` runs it: edits carrying inherited names are refused by
// name and change nothing; an edit a worker cannot take changes nothing anywhere, the worker is replaced and the
// next edit is applied by every worker; a worker that dies gives back the busy counts of the requests it held.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { SticklerConfig } from '../../src/config/model.ts';
import type { ManagerOverview } from '../../src/manager/model.ts';
import { WorkerGroup } from '../../src/server/workers.ts';
import { request } from '../support/client.ts';
import { engineConfig, localCertificate, member } from '../support/engine.ts';
import { INHERITED_NAMES } from '../support/hostile-data.ts';
import { postManagerEdit } from '../support/manager.ts';
import { freePort } from '../support/ports.ts';
import { pollUntil } from '../support/wait.ts';

const source = { file: 'test', line: 1 };
const backends: https.Server[] = [];
const urls: string[] = [];
/** Requests the hung member holds, answered when a test lets them go. */
const held: Array<() => void> = [];

before(async () => {
  const { certFile, keyFile } = localCertificate();
  const tls = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  for (const name of ['a', 'b', 'hung']) {
    const server = https.createServer(tls, (_req, res) => (name === 'hung' ? held.push(() => res.end(name)) : res.end(name)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    backends.push(server);
    urls.push(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
});

after(() => {
  for (const release of held.splice(0)) release();
  for (const s of backends) s.closeAllConnections();
  for (const s of backends) s.close();
});

function config(port: number, members = [member(urls[0]!, { route: 'a' }), member(urls[1]!, { route: 'b' })]): SticklerConfig {
  return engineConfig(port, {
    members,
    timeout: 120_000,
    vhost: {
      routes: [
        { source, path: '/balancer-manager', target: { kind: 'exclude' } },
        { source, path: '/', target: { kind: 'balancer', balancer: 'cluster', path: '/' } },
      ],
      locations: [{ source, path: '/balancer-manager', handler: 'balancer-manager', access: [] }],
    },
  });
}

const edit = postManagerEdit;

async function overview(port: number): Promise<ManagerOverview> {
  return JSON.parse((await request(`https://127.0.0.1:${port}/balancer-manager/api/v1/balancers`, { timeoutMs: 5_000 })).body) as ManagerOverview;
}

/** Which member answers `n` sticky requests, each on a fresh connection so that both workers take some. */
async function stickyAnswers(port: number, route: string, n = 16): Promise<string[]> {
  const bodies = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await request(`https://127.0.0.1:${port}/`, { headers: { cookie: `JSESSIONID=x.${route}` } });
    bodies.add(`${r.status} ${r.body}`);
  }
  return [...bodies].sort();
}

test('with 2 workers, an inherited name anywhere in an edit is 400 naming it; nothing changes, reloads and later edits work', async () => {
  const port = await freePort();
  const group = new WorkerGroup(config(port), 2);
  await group.start();
  try {
    const before = JSON.stringify((await overview(port)).balancers);
    for (const name of INHERITED_NAMES) {
      const key = JSON.stringify(name);
      for (const body of [
        `{"kind":"member","balancer":"cluster","member":"${urls[0]}","change":{"status":{${key}:true}}}`,
        `{"kind":"member","balancer":"cluster","member":"${urls[0]}","change":{${key}:{"disabled":true}}}`,
        `{"kind":"balancer","balancer":"cluster",${key}:1,"change":{}}`,
      ]) {
        const r = await edit(port, body);
        assert.equal(r.status, 400, `${body}: ${r.body}`);
        assert.ok((JSON.parse(r.body) as { error: string }).error.includes(key), `${body}: ${r.body}`);
      }
    }
    assert.equal(JSON.stringify((await overview(port)).balancers), before, 'no status, no member, no setting changed');
    // What broke the old main: every later reload failed to copy a function to the workers.
    await group.reload(config(port));
    const r = await edit(port, JSON.stringify({ kind: 'member', balancer: 'cluster', member: urls[0], change: { route: 'first' } }));
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(await stickyAnswers(port, 'first'), ['200 a'], 'the edit after a reload is applied by every worker');
  } finally {
    await group.close();
  }
});

test('with 2 workers, an edit one worker cannot take changes nothing; that worker is replaced and the next edit is applied everywhere', async () => {
  const port = await freePort();
  const lines: string[] = [];
  process.env.STICKLER_TEST_FAIL_EDITS_IN_WORKER = '1';
  const group = new WorkerGroup(config(port), 2, (line) => lines.push(line));
  try {
    await group.start();
  } finally {
    delete process.env.STICKLER_TEST_FAIL_EDITS_IN_WORKER;
  }
  try {
    const refused = await edit(port, JSON.stringify({ kind: 'member', balancer: 'cluster', member: urls[0], change: { route: 'first', loadfactor: 7 } }));
    assert.equal(refused.status, 503, refused.body);
    assert.match(refused.body, /worker 1 could not apply it \(worker 1 was told to fail every edit.*\) and is being replaced; nothing was changed/);
    // The old state keeps serving on every worker: the old route still sticks, the new one does not exist.
    assert.deepEqual(await stickyAnswers(port, 'a'), ['200 a']);
    const shown = (await overview(port)).balancers[0]!.members[0]!;
    assert.deepEqual([shown.route, shown.loadfactor], ['a', 1], 'neither the local half (route) nor the shared half (loadfactor) was applied');
    await pollUntil(async () => group.replaced === 1 && group.workers.length === 2, { timeoutMs: 30_000, what: 'the failed worker to be replaced' });
    assert.match(lines.join('\n'), /worker 1 could not prepare an edit \(worker 1 was told to fail every edit.*\); replacing it/);
    const applied = await edit(port, JSON.stringify({ kind: 'member', balancer: 'cluster', member: urls[0], change: { route: 'first', loadfactor: 7 } }));
    assert.equal(applied.status, 200, applied.body);
    assert.deepEqual(await stickyAnswers(port, 'first'), ['200 a'], 'every worker, the replacement included, has the new route');
    const audit = JSON.parse((await request(`https://127.0.0.1:${port}/balancer-manager/api/v1/audit`)).body) as { entries: unknown[] };
    assert.equal(audit.entries.length, 1, 'only the edit that was applied is audited');
  } finally {
    await group.close();
  }
});

test('with 2 workers, the busy counts of the requests a killed worker held return to 0 (read through the manager API)', async () => {
  const port = await freePort();
  const group = new WorkerGroup(config(port, [member(urls[2]!, { route: 'hung' })]), 2);
  await group.start();
  const busy = async () => (await overview(port)).balancers[0]!.members[0]!.busy;
  const requests = 8;
  let pending = requests;
  try {
    for (let i = 0; i < requests; i++) {
      // Each on a fresh connection, so both workers hold some; the member never answers while the workers live.
      request(`https://127.0.0.1:${port}/`, { timeoutMs: 60_000 }).then(
        () => assert.fail('the hung member answered a request'),
        () => pending--,
      );
    }
    await pollUntil(async () => held.length === requests && (await busy()) === requests, { timeoutMs: 10_000, what: `${requests} requests in flight` });
    const [first, second] = group.workers;
    await first!.terminate();
    // The survivor still holds its own; what the dead one held is given back at once, not at the next reload.
    await pollUntil(async () => (await busy()) === pending && pending < requests, {
      timeoutMs: 10_000,
      what: 'busy to equal the requests still open',
      diagnostics: async () => `busy ${await busy()}, requests still open ${pending}`,
    });
    await second!.terminate();
    await pollUntil(async () => pending === 0 && (await busy()) === 0, {
      timeoutMs: 10_000,
      what: 'busy 0 once both workers that held requests are gone',
      diagnostics: async () => `busy ${await busy()}, requests still open ${pending}`,
    });
    assert.equal(held.length, requests, 'the member still holds every request: nothing but the workers dying freed them');
  } finally {
    for (const release of held.splice(0)) release();
    await group.close();
  }
});
