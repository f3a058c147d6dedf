// The control plane with 2 worker threads, as `--workers 2` runs it: edits carrying inherited names are refused by
// name and change nothing; an edit a worker cannot take changes nothing anywhere, the worker is replaced and the
// next edit is applied by every worker; a worker that dies gives back the busy counts of the requests it held, and
// the lock of a state from before a reload, which the other workers' retired runtimes still pick from. A worker that
// never says it is ready fails the start; as a replacement it is ended and tried again a bounded number of times,
// and what is queued behind it goes on.
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
import { loadedBound, pollUntil, withTimeout } from '../support/wait.ts';

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

/** How long these tests give a new worker to say it is ready: starting two takes about a second on a loaded machine. */
const READY_MS = 5_000;

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

test('with 2 workers, a worker that never says it is ready fails the start within its bound, and nothing is left running', async () => {
  const port = await freePort();
  process.env.STICKLER_TEST_STUCK_WORKERS = '2';
  const group = new WorkerGroup(config(port), 2, () => {}, { readyMs: READY_MS });
  try {
    await assert.rejects(withTimeout(group.start(), loadedBound(READY_MS), 'the start'), /worker 2 did not say it was ready within 5 s; it was ended/);
    assert.equal(group.workers.length, 0);
    await assert.rejects(request(`https://127.0.0.1:${port}/`, { timeoutMs: 5_000 }), /ECONNREFUSED/, 'the worker that started was stopped too');
  } finally {
    delete process.env.STICKLER_TEST_STUCK_WORKERS;
    await group.close();
  }
});

/**
 * Starts 2 workers, those with the `stuck` ids hanging before they listen, kills worker 1 and waits for a reload
 * queued behind its replacement (a READY_MS for each stuck attempt, then a start); then an edit must reach every
 * worker left. Returns the log.
 */
async function replaceWithStuck(stuck: number[], workersLeft: number): Promise<string> {
  const port = await freePort();
  const lines: string[] = [];
  process.env.STICKLER_TEST_STUCK_WORKERS = stuck.join(',');
  const group = new WorkerGroup(config(port), 2, (line) => lines.push(line), { readyMs: READY_MS });
  try {
    await group.start();
    await group.workers[0]!.terminate();
    await pollUntil(async () => lines.some((l) => /worker 1 exited .* starting a replacement/.test(l)), { timeoutMs: 10_000, what: 'the replacement to start' });
    await withTimeout(group.reload(config(port)), loadedBound((stuck.length + 1) * READY_MS), 'the reload queued behind the stuck replacements');
    assert.equal(group.workers.length, workersLeft);
    const applied = await edit(port, JSON.stringify({ kind: 'member', balancer: 'cluster', member: urls[0], change: { route: 'first' } }));
    assert.equal(applied.status, 200, applied.body);
    assert.deepEqual(await stickyAnswers(port, 'first'), ['200 a'], 'every worker left took the edit');
    return lines.join('\n');
  } finally {
    delete process.env.STICKLER_TEST_STUCK_WORKERS;
    await group.close();
  }
}

test('with 2 workers, a replacement that never says it is ready is ended and another started; the reload queued behind it goes on', async () => {
  const log = await replaceWithStuck([3], 2);
  assert.match(log, /replacement worker failed to start \(worker 3 did not say it was ready within 5 s; it was ended\); trying again/);
  assert.match(log, /replacement worker ready/);
});

test('with 2 workers, after 3 replacements that never say they are ready the group serves on with 1 thread and says so', async () => {
  const log = await replaceWithStuck([3, 4, 5], 1);
  assert.match(log, /no replacement worker started after 3 attempts \(last: worker 5 did not say it was ready within 5 s; it was ended\); serving with 1 of 2 worker threads/);
});

test('with 2 workers, a worker that dies holding the lock of the state before a reload does not stop the other one', async () => {
  const port = await freePort();
  const group = new WorkerGroup(config(port, [member(urls[2]!, { route: 'hung' })]), 2);
  await group.start();
  const busy = async () => (await overview(port)).balancers[0]!.members[0]!.busy;
  // Each on a fresh connection, so both workers hold some (all 16 on one of two threads: odds of 2^-15).
  // Each answer, or undefined for a request that failed (those the dead worker held).
  const requests = Array.from({ length: 16 }, () => request(`https://127.0.0.1:${port}/`, { timeoutMs: 60_000 }).then((r) => `${r.status} ${r.body}`, () => undefined));
  try {
    await pollUntil(async () => held.length === requests.length && (await busy()) === requests.length, { timeoutMs: 10_000, what: `${requests.length} requests in flight` });
    const old = group.sharedState('cluster')!;
    // The requests in flight keep both workers' retired runtimes picking from `old` for the grace period (30 s).
    await group.reload(config(port, [member(urls[2]!, { route: 'hung' })]));
    assert.notEqual(group.sharedState('cluster'), old);
    // As if worker 1 were ended inside a pick, the lock taken: the lock word is its thread id + 1 (state.ts).
    const victim = group.workers[0]!;
    const lockWord = new Int32Array(old, 0, 1);
    assert.equal(Atomics.compareExchange(lockWord, 0, 0, victim.threadId + 1), 0, 'nothing else holds the lock');
    await victim.terminate();
    await pollUntil(async () => Atomics.load(lockWord, 0) === 0, { timeoutMs: 10_000, what: 'the dead worker\'s lock on the state before the reload to be released' });
    // The survivor's answers go through its retired runtime's release(), under that lock.
    for (const release of held.splice(0)) release();
    const answered = (await withTimeout(Promise.all(requests), 10_000, 'every request to settle')).filter((a) => a !== undefined);
    assert.ok(answered.length > 0 && answered.length < requests.length, `${answered.length} of ${requests.length} answered: only the dead worker's are lost`);
    assert.deepEqual([...new Set(answered)], ['200 hung']);
  } finally {
    for (const release of held.splice(0)) release();
    await Promise.all(requests);
    await group.close();
  }
});
