// Several worker threads, one balancer: picks come from one shared state, so the byrequests sequence over fresh
// connections is the single-thread sequence whatever thread takes each connection; a dead worker is replaced.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BalancerState } from '../../src/balancer/state.ts';
import type { SticklerConfig } from '../../src/config/model.ts';
import { Stickler } from '../../src/server/server.ts';
import { WorkerGroup } from '../../src/server/workers.ts';
import { request } from '../support/client.ts';
import { engineConfig, localCertificate, member } from '../support/engine.ts';
import { postManagerEdit } from '../support/manager.ts';
import { freePort } from '../support/ports.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';

const backends: https.Server[] = [];
const urls: string[] = [];
const logDir = mkdtempSync(join(tmpdir(), 'stickler-workers-'));
let logs = 0;

before(async () => {
  const { certFile, keyFile } = localCertificate();
  for (const name of ['a', 'b', 'c']) {
    const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (_req, res) => res.end(name));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    backends.push(server);
    urls.push(`https://127.0.0.1:${(server.address() as AddressInfo).port}`);
  }
});

after(() => {
  for (const s of backends) s.close();
  rmSync(logDir, { recursive: true, force: true });
});

/**
 * Each request on a new connection, so the kernel spreads them over the workers' listening sockets; only a 200
 * counts as served. 30 fresh connections all landing on one of two threads would take odds of 2^-29.
 */
async function sequence(port: number, n: number, path = '/'): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await request(`https://127.0.0.1:${port}${path}`);
    assert.equal(r.status, 200, `request ${i + 1} of ${n}: ${r.body}`);
    out.push(r.body);
  }
  return out;
}

/** `config` with a JSON access log of its own, whose lines name the worker thread that served each request. */
function logged(config: SticklerConfig): { config: SticklerConfig; servedBy: (path?: string) => Set<number> } {
  const file = join(logDir, `access-${++logs}.log`);
  return {
    config: { ...config, log: { access: file, format: { kind: 'json' } } },
    // Read once the group is closed: each worker flushes its lines as it stops.
    servedBy: (path) => new Set(readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { target: string; thread: number })
      .filter((e) => path === undefined || e.target === path).map((e) => e.thread)),
  };
}

const threads = (group: WorkerGroup) => new Set(group.workers.map((w) => w.threadId));

const weighted = () => [member(urls[0]!, { route: 'a', loadfactor: 5 }), member(urls[1]!, { route: 'b', loadfactor: 3 }), member(urls[2]!, { route: 'c', loadfactor: 2 })];

test('with 2 workers, byrequests 5:3:2 picks exactly the single-thread sequence, from one shared state', async () => {
  const singlePort = await freePort();
  const single = new Stickler(engineConfig(singlePort, { members: weighted() }));
  await single.start();
  const expected = await sequence(singlePort, 30);
  await single.close();

  const port = await freePort();
  const log = logged(engineConfig(port, { members: weighted() }));
  const group = new WorkerGroup(log.config, 2);
  await group.start();
  const workers = threads(group);
  try {
    assert.deepEqual(await sequence(port, 30), expected);
    assert.deepEqual(
      expected.reduce((n, x) => ({ ...n, [x]: (n[x] ?? 0) + 1 }), {} as Record<string, number>),
      { a: 15, b: 9, c: 6 },
    );
  } finally {
    await group.close();
  }
  assert.deepEqual(log.servedBy(), workers, 'both workers served part of the sequence');
});

test('a state change made through one worker is obeyed by every worker from its next pick', async () => {
  const port = await freePort();
  const deadPort = await freePort();
  const config = engineConfig(port, { members: [member(`https://127.0.0.1:${deadPort}`, { route: 'dead' }), member(urls[1]!, { route: 'b' })] });
  const group = new WorkerGroup(config, 2);
  await group.start();
  try {
    // The first pick goes to the dead member, which is put in error (retry 60 s) and the request fails over.
    assert.deepEqual(await sequence(port, 20), Array(20).fill('b'));
    const state = BalancerState.attach(group.sharedState('cluster')!);
    // Only one connection attempt ever went to the dead member: the error it set was seen by both workers.
    assert.equal(state.elected(0), 1);
    assert.equal(state.elected(1), 20);
  } finally {
    await group.close();
  }
});

test('held (root until the drop to User/Group): the workers bind but answer nothing before serve(), then serve', async () => {
  const port = await freePort();
  const group = new WorkerGroup(engineConfig(port, { members: [member(urls[0]!)] }), 2, () => {}, { held: true });
  await group.start();
  try {
    let answered = false;
    const first = request(`https://127.0.0.1:${port}/`, { timeoutMs: 30_000 }).finally(() => (answered = true));
    // Time for a thread that serves to answer many times over; a held one has not even accepted the connection.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(answered, false, 'a request was answered before serve(), while the process would still be root');
    group.serve();
    assert.equal((await first).status, 200);
    await sequence(port, 4);
  } finally {
    await group.close();
  }
});

test('held and closed without serve() (a start that failed): the workers leave at once, having served nothing', async () => {
  const port = await freePort();
  const config = { ...engineConfig(port, { members: [member(urls[0]!)] }), gracefulShutdownTimeout: 60_000 };
  const group = new WorkerGroup(config, 2, () => {}, { held: true });
  await group.start();
  const started = Date.now();
  await group.close();
  assert.ok(Date.now() - started < 30_000, `close took ${Date.now() - started} ms: held workers waited for the grace period`);
});

test('a worker that dies is replaced; requests keep being served', async () => {
  const port = await freePort();
  const lines: string[] = [];
  const log = logged(engineConfig(port, { members: [member(urls[0]!), member(urls[1]!)] }));
  const group = new WorkerGroup(log.config, 2, (l) => lines.push(l));
  await group.start();
  let workers: Set<number>;
  try {
    await sequence(port, 4);
    const dead = group.workers[0]!.threadId;
    await group.workers[0]!.terminate();
    const failures: string[] = [];
    for (let i = 0; i < 40; i++) {
      try {
        const r = await request(`https://127.0.0.1:${port}/`, { timeoutMs: 5_000 });
        if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    assert.ok(failures.length <= 1, `${failures.length} requests failed (${failures.join('; ')}); only one could have been in flight on the dead worker`);
    await pollUntil(async () => group.replaced === 1 && group.workers.length === 2, { timeoutMs: 10_000, what: 'a replacement worker' });
    assert.match(lines.join('\n'), /worker 1 exited .* starting a replacement/);
    workers = threads(group);
    assert.equal(workers.has(dead), false, 'the dead worker is gone from the group');
    await sequence(port, 30, '/after-replacement');
  } finally {
    await group.close();
  }
  assert.deepEqual(log.servedBy('/after-replacement'), workers, 'the replacement and the surviving worker both serve');
});

test('TLS sessions resume whichever worker a returning client reaches (shared ticket keys)', async () => {
  const port = await freePort();
  const group = new WorkerGroup(engineConfig(port, { members: [member(urls[0]!)] }), 2);
  await group.start();
  try {
    let session: Buffer | undefined;
    const reused: boolean[] = [];
    for (let i = 0; i < 12; i++) {
      const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost', session, maxVersion: 'TLSv1.2' });
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      if (i > 0) reused.push(socket.isSessionReused());
      session = socket.getSession() ?? session;
      socket.end();
    }
    assert.deepEqual(reused, Array(11).fill(true));
  } finally {
    await group.close();
  }
});

test('manager edits with 2 workers: decided once by the main thread, applied by every worker (route, add, disable)', async () => {
  const port = await freePort();
  const source = { file: 'test', line: 1 };
  const config = engineConfig(port, {
    members: [member(urls[0]!, { route: 'a' }), member(urls[1]!, { route: 'b' })],
    balancer: { growth: 1 },
    vhost: {
      routes: [
        { source, path: '/balancer-manager', target: { kind: 'exclude' } },
        { source, path: '/', target: { kind: 'balancer', balancer: 'cluster', path: '/' } },
      ],
      locations: [{ source, path: '/balancer-manager', handler: 'balancer-manager', access: [] }],
    },
  });
  const log = logged(config);
  const group = new WorkerGroup(log.config, 2);
  await group.start();
  const workers = threads(group);
  const edit = (body: unknown) => postManagerEdit(port, JSON.stringify(body));
  try {
    assert.equal((await edit({ kind: 'member', balancer: 'cluster', member: urls[0], change: { route: 'first' } })).status, 200);
    assert.equal((await edit({ kind: 'add-member', balancer: 'cluster', url: urls[2], change: { route: 'c', status: { disabled: false } } })).status, 200);
    assert.equal((await edit({ kind: 'member', balancer: 'cluster', member: urls[1], change: { status: { disabled: true } } })).status, 200);
    // Fresh connections land on both workers: every one must know the new route, the new member and the disabled one.
    // Fresh ones first: each sticky request to a credits the others (Apache's updatelbstatus), so c would take
    // the next thirty picks.
    const fresh = new Set(await sequence(port, 30, '/fresh'));
    assert.deepEqual([...fresh].sort(), ['a', 'c'], 'the added member serves and the disabled one does not, on every worker');
    const sticky = [];
    for (let i = 0; i < 30; i++) sticky.push((await request(`https://127.0.0.1:${port}/sticky`, { headers: { cookie: 'JSESSIONID=x.first' } })).body);
    assert.deepEqual([...new Set(sticky)], ['a'], 'the new route sticks on every worker');
  } finally {
    await group.close();
  }
  assert.deepEqual(log.servedBy('/sticky'), workers, 'both workers served the sticky requests');
  assert.deepEqual(log.servedBy('/fresh'), workers, 'both workers served the fresh ones');
});

test('health checks run once per member whatever the number of workers, and every worker obeys their result', async () => {
  const { certFile, keyFile } = localCertificate();
  let checks = 0;
  let healthy = false;
  const checked = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    if (req.url === '/health') {
      checks++;
      res.statusCode = healthy ? 200 : 500;
      return res.end();
    }
    res.end('checked');
  });
  await new Promise<void>((resolve) => checked.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(checked.address() as AddressInfo).port}`;
  const port = await freePort();
  const healthCheck = { method: 'GET' as const, uri: '/health', interval: 200, passes: 1, fails: 1 };
  const group = new WorkerGroup(engineConfig(port, { members: [member(url, { route: 'x', healthCheck }), member(urls[0]!, { route: 'a' })] }), 2);
  await group.start();
  try {
    const state = BalancerState.attach(group.sharedState('cluster')!);
    await pollUntil(async () => (state.status(0) & 0x400) !== 0, { timeoutMs: 5_000, what: 'the failing member to be taken out' });
    assert.deepEqual([...new Set(await sequence(port, 8))], ['a'], 'no worker sends to a member that fails its check');
    // The checker waits at least 0.9 of the interval (jitter) after each check: one checker cannot make more than
    // elapsed / 180 ms checks, plus the one in flight; a checker per worker would make about twice as many.
    checks = 0;
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const elapsed = Date.now() - started;
    const most = Math.floor(elapsed / (0.9 * healthCheck.interval)) + 2;
    assert.ok(checks >= 1 && checks <= most, `${checks} checks in ${elapsed} ms at a 200 ms interval (at most ${most}): once per member, not once per worker`);
    healthy = true;
    await pollUntil(async () => (state.status(0) & 0x400) === 0, { timeoutMs: 5_000, what: 'the member to pass again' });
    assert.deepEqual([...new Set(await sequence(port, 8))].sort(), ['a', 'checked'], 'back in on every worker');
  } finally {
    await group.close();
    checked.close();
  }
});

test('stop-when-idle with 2 workers: one decider stops a drained member once, its idle time started again by a reload', async () => {
  const STOP_MS = 3_000;
  const audit = join(logDir, `audit-${++logs}.jsonl`);
  const port = await freePort();
  const config = (): SticklerConfig => {
    const c = engineConfig(port, { members: [member(urls[0]!, { route: 'a', status: ['N'] }), member(urls[1]!, { route: 'b' })], balancer: { stopWhenIdle: STOP_MS } });
    c.manager = { source: c.balancers[0]!.source, ownListener: false, auditLog: audit };
    return c;
  };
  const group = new WorkerGroup(config(), 2);
  await group.start();
  const stoppedA = () => group.overview().balancers[0]!.members[0]!.status.stopped;
  try {
    // Reloaded before it would have stopped: the decider first sees it drain at its first tick, 1 s after the start.
    await new Promise((resolve) => setTimeout(resolve, STOP_MS - 1_000));
    const reloadedAt = Date.now();
    await group.reload(config());
    assert.equal(stoppedA(), false, 'not yet');
    // Ticks come every second at this duration: the stop within STOP_MS of the reload, a tick and margin.
    await pollUntil(async () => stoppedA(), { timeoutMs: loadedBound(STOP_MS + 1_000), intervalMs: 100, what: 'the drained member stopped' });
    assert.ok(Date.now() - reloadedAt >= STOP_MS, 'its idle time started again at the reload');
    // Two more ticks: nobody stops it a second time.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const lines = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { user: string; edit: { member: string } });
    assert.deepEqual(lines.map((l) => [l.user, l.edit.member]), [['stop-when-idle', urls[0]]], 'one decider, one edit');
    assert.equal(group.overview().balancers[0]!.members[0]!.status.drain, false);
  } finally {
    await group.close();
  }
});
