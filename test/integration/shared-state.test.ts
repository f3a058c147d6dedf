// Three Stickler instances on one configuration and one Redis (Debian's redis-server), in front of the same
// members, under a steady load through all three: an edit made on one is obeyed by the others within 1 s; with
// Redis killed nothing fails, edits are refused with a clear 503 and the metric says 0, and once Redis is back
// the instances catch up; one instance cut off from Redis alone serves on its last state and catches up too.
// lb2 runs two worker threads, which apply what the main thread reads; lb1 is reloaded. Redis losing its data
// (FLUSHALL) leaves every instance on its state, says so, and has one of them publish it as the snapshot.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { RedisRelay, RedisServer } from '../support/redis.ts';
import { runCli, startStickler, type SticklerProcess } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';
import { compareIds } from '../../src/shared/journal.ts';

/** What the code promises: an edit obeyed everywhere within 1 s. Polled with the margin of a loaded machine. */
const PROPAGATION_MS = 1_000;
const RECONNECT_MS = 1_000;

interface Instance {
  name: string;
  port: number;
  managerPort: number;
  file: string;
  proc: SticklerProcess;
}

const dir = mkdtempSync(join(tmpdir(), 'stickler-shared-'));
let redis: RedisServer;
let relay: RedisRelay;
let members: RecordingBackend;
const instances: Instance[] = [];
let load: { stop(): Promise<{ sent: number; failed: string[] }> };

/** lb2 runs worker threads; lb1 has a pid file, for `stickler reload`. */
const argsOf = (name: string): string[] => (name === 'lb2' ? ['--workers', '2'] : name === 'lb1' ? ['--pid-file', join(dir, 'lb1.pid')] : []);

async function startInstance(name: string, url: string, ports?: { port: number; managerPort: number }): Promise<Instance> {
  const port = ports?.port ?? (await freePort());
  const managerPort = ports?.managerPort ?? (await freePort());
  const file = join(dir, `${name}.yaml`);
  const urls = members.ports.map((p, i) => ({ url: `https://127.0.0.1:${p}`, route: `m${i}` }));
  writeFileSync(file, yamlConfig(port, urls, { top: `manager:\n  port: ${managerPort}\nshared-state:\n  url: ${url}\n  instance: ${name}` }));
  const proc = await startStickler(file, { args: argsOf(name) });
  return { name, port, managerPort, file, proc };
}

const base = (i: Instance) => `http://127.0.0.1:${i.managerPort}/balancer-manager`;

async function overview(i: Instance): Promise<any> {
  return (await fetch(`${base(i)}/api/v1/balancers`, { signal: AbortSignal.timeout(5_000) })).json();
}

async function edit(i: Instance, body: unknown): Promise<{ status: number; text: string; at: number }> {
  const page = await fetch(`${base(i)}/console`, { signal: AbortSignal.timeout(5_000) });
  const token = /name="csrf-token" content="([^"]+)"/.exec(await page.text())![1]!;
  const cookie = page.headers.get('set-cookie')!.split(';')[0]!;
  const answer = await fetch(`${base(i)}/api/v1/edits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': token, cookie, origin: `http://127.0.0.1:${i.managerPort}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: answer.status, text: await answer.text(), at: performance.now() };
}

async function connectedMetric(i: Instance): Promise<string | undefined> {
  const text = await (await fetch(`${base(i)}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  return /^stickler_shared_state_connected (\d)$/m.exec(text)?.[1];
}

/** Requests through every instance, one after another on each, until stopped. */
function steadyLoad(): typeof load {
  let running = true;
  let sent = 0;
  const failed: string[] = [];
  const lanes = instances.map(async (_, n) => {
    while (running) {
      const i = instances[n]!;
      try {
        const r = await request(`https://127.0.0.1:${i.port}/load`, { timeoutMs: 10_000 });
        if (r.status !== 200) failed.push(`${i.name}: ${r.status}`);
      } catch (err) {
        failed.push(`${i.name}: ${(err as Error).message}`);
      }
      sent++;
    }
  });
  return { stop: async () => ((running = false), await Promise.all(lanes), { sent, failed }) };
}

/** Apache's balancer-manager form, as an operator's script posts it: the nonce from the page, a Referer. */
async function apacheForm(i: Instance, fields: Record<string, string>): Promise<{ status: number; at: number }> {
  const page = await (await fetch(base(i), { signal: AbortSignal.timeout(5_000) })).text();
  const nonce = /nonce=([^&"]+)/.exec(page)![1]!;
  const answer = await fetch(base(i), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', referer: base(i) },
    body: new URLSearchParams({ b: 'cluster', nonce, ...fields }).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  await answer.arrayBuffer();
  return { status: answer.status, at: performance.now() };
}

const redisCli = (...args: string[]): string => execFileSync('/usr/bin/redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8', timeout: 10_000 }).trim();

const member0 = () => `https://127.0.0.1:${members.ports[0]}`;
const drained = (o: any, url: string) => o.balancers[0].members.find((m: any) => m.url === url)?.status.drain === true;

/** Waits until every instance but `from` shows `seen`; returns each one's delay after `since`. */
async function obeyed(from: Instance, since: number, seen: (o: any) => boolean, what: string, within = PROPAGATION_MS): Promise<number[]> {
  return Promise.all(instances.filter((i) => i !== from).map(async (i) => {
    await pollUntil(async () => seen(await overview(i)), { timeoutMs: within + 2_000, intervalMs: 5, what: `${i.name}: ${what}`, diagnostics: () => i.proc.output().slice(-2000) });
    return performance.now() - since;
  }));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

before(async () => {
  redis = await RedisServer.start();
  relay = await RedisRelay.start(redis.port);
  members = await RecordingBackend.start(3);
  instances.push(await startInstance('lb1', redis.url), await startInstance('lb2', redis.url), await startInstance('lb3', relay.url));
  load = steadyLoad();
});

after(async () => {
  await Promise.all(instances.map((i) => i.proc.stop()));
  relay?.close();
  await members?.close?.();
  await redis?.close();
});

test('edits through one instance are obeyed by the others within 1 s, with no failed request', async () => {
  const [lb1, lb2] = instances as [Instance, Instance, Instance];
  const delays: number[] = [];
  const added = 'https://127.0.0.1:9';
  const steps: Array<[Instance, unknown, (o: any) => boolean, string]> = [
    [lb1, { kind: 'member', balancer: 'cluster', member: member0(), change: { status: { drain: true } } }, (o) => drained(o, member0()), 'drain'],
    [lb2, { kind: 'member', balancer: 'cluster', member: member0(), change: { status: { drain: false, disabled: true } } }, (o) => o.balancers[0].members[0].status.disabled, 'disable'],
    [lb1, { kind: 'member', balancer: 'cluster', member: member0(), change: { status: { disabled: false }, loadfactor: 7 } }, (o) => o.balancers[0].members[0].loadfactor === 7, 'weight'],
    [lb2, { kind: 'add-member', balancer: 'cluster', url: added, change: {} }, (o) => o.balancers[0].members.some((m: any) => m.url === added), 'add'],
    [lb1, { kind: 'remove-member', balancer: 'cluster', member: added }, (o) => !o.balancers[0].members.some((m: any) => m.url === added), 'remove'],
  ];
  for (let round = 0; round < 4; round++) {
    for (const [from, body, seen, what] of steps) {
      const answer = await edit(from, body);
      assert.equal(answer.status, 200, `${what}: ${answer.text}`);
      delays.push(...(await obeyed(from, answer.at, seen, what)));
    }
  }
  const form = await apacheForm(lb1, { w: member0(), w_lf: '3' });
  assert.ok(form.status < 400, `Apache's form answered ${form.status}`);
  delays.push(...(await obeyed(lb1, form.at, (o) => o.balancers[0].members[0].loadfactor === 3, 'the edit through Apache\'s form')));
  // Every instance, worker threads included, reports the journal position it applied: the same one everywhere.
  const lastIds = await Promise.all(instances.map(async (i) => (await overview(i)).sharedState.lastId));
  assert.match(String(lastIds[0]), /^\d+-\d+$/);
  assert.deepEqual(lastIds, instances.map(() => lastIds[0]));
  const p50 = percentile(delays, 50);
  const p99 = percentile(delays, 99);
  process.stdout.write(`# shared-state propagation over ${delays.length} edits x instances: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms\n`);
  assert.ok(p99 < PROPAGATION_MS + 2_000, `p99 ${p99} ms`);
  const audit = (await (await fetch(`${base(instances[2]!)}/api/v1/audit`)).json()).entries;
  assert.ok(audit.some((e: any) => e.instance === 'lb2' && e.edit.kind === 'add-member'), 'lb3 audits the edit lb2 took, naming lb2');
  const { failed } = await load.stop();
  assert.deepEqual(failed, []);
  load = steadyLoad();
});

test('two edits to one member made at once on two instances end the same everywhere, in journal order, both audited', async () => {
  const [lb1, lb2, lb3] = instances as [Instance, Instance, Instance];
  const [first, second] = await Promise.all([
    edit(lb1, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 11 } }),
    edit(lb2, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 12 } }),
  ]);
  assert.equal(first.status, 200, first.text);
  assert.equal(second.status, 200, second.text);
  let entries: any[] = [];
  await pollUntil(async () => {
    entries = ((await (await fetch(`${base(lb3)}/api/v1/audit`)).json()).entries as any[])
      .filter((e) => e.edit.change?.loadfactor === 11 || e.edit.change?.loadfactor === 12);
    return entries.length === 2;
  }, { timeoutMs: PROPAGATION_MS + 2_000, what: 'both edits audited on lb3, the instance that took neither' });
  const byJournal = [...entries].sort((x, y) => compareIds(x.journalId, y.journalId));
  const last = byJournal[1].edit.change.loadfactor;
  for (const i of instances) {
    await pollUntil(async () => (await overview(i)).balancers[0].members[0].loadfactor === last, { timeoutMs: PROPAGATION_MS + 2_000, what: `${i.name} ending on the later journal entry (${last})` });
  }
  assert.deepEqual(new Set(entries.map((e) => e.instance)), new Set(['lb1', 'lb2']));
});

test('Redis killed: no request fails, edits refused with 503 and the metric 0; back: they catch up', async () => {
  const [lb1, lb2, lb3] = instances as [Instance, Instance, Instance];
  await redis.kill();
  await pollUntil(async () => (await connectedMetric(lb1)) === '0', { timeoutMs: RECONNECT_MS + 3_000, what: 'lb1 says it lost Redis' });
  const refused = await edit(lb1, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 2 } });
  assert.equal(refused.status, 503);
  assert.match(refused.text, /shared state \(Redis\) is unreachable/);
  await redis.restart();
  for (const i of instances) await pollUntil(async () => (await connectedMetric(i)) === '1', { timeoutMs: 10_000, what: `${i.name} reconnects` });
  const answer = await edit(lb2, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 4 } });
  assert.equal(answer.status, 200, answer.text);
  await obeyed(lb2, answer.at, (o) => o.balancers[0].members[0].loadfactor === 4, 'the edit after Redis came back');
  void lb3;
  const { failed } = await load.stop();
  assert.deepEqual(failed, []);
  load = steadyLoad();
});

test('one instance cut off from Redis serves on its last state, then catches up; a restarted one comes back with the shared state', async () => {
  const [lb1, , lb3] = instances as [Instance, Instance, Instance];
  relay.sever();
  await pollUntil(async () => (await connectedMetric(lb3)) === '0', { timeoutMs: RECONNECT_MS + 3_000, what: 'lb3 says it lost Redis' });
  const answer = await edit(lb1, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 5 } });
  assert.equal(answer.status, 200, answer.text);
  assert.equal((await overview(lb3)).balancers[0].members[0].loadfactor, 4, 'lb3 keeps its last state while cut off');
  relay.restore();
  await pollUntil(async () => (await overview(lb3)).balancers[0].members[0].loadfactor === 5, { timeoutMs: 10_000, what: 'lb3 catches up' });
  const { failed } = await load.stop();
  assert.deepEqual(failed, []);

  await lb3.proc.stop();
  lb3.proc = (await startInstance('lb3', relay.url, lb3)).proc;
  await pollUntil(async () => (await overview(lb3)).balancers[0].members[0].loadfactor === 5, { timeoutMs: 10_000, what: 'restarted lb3 has the shared state' });
  load = steadyLoad();
  await load.stop();
});

test('a reload that changes shared-state keeps the running one and says so', async () => {
  const lb1 = instances[0]!;
  writeFileSync(lb1.file, readFileSync(lb1.file, 'utf8').replace('instance: lb1', 'instance: lb1\n  key-prefix: "other:"'));
  const reloaded = await runCli(['reload', '--pid-file', join(dir, 'lb1.pid'), '--config', lb1.file]);
  assert.equal(reloaded.code, 0, reloaded.output);
  assert.match(reloaded.output, /shared-state changes take effect at the next start; this instance stays on redis:\/\/\S+ \(key prefix stickler:\)/);
  const answer = await edit(lb1, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 6 } });
  assert.equal(answer.status, 200, answer.text);
  await obeyed(lb1, answer.at, (o) => o.balancers[0].members[0].loadfactor === 6, 'an edit after the reload, on the same keys');
});

test('Redis loses its data: the instances keep their state, say so, and one publishes it as the snapshot', async () => {
  const [lb1, lb2, lb3] = instances as [Instance, Instance, Instance];
  const before = (await overview(lb1)).balancers[0].members[0].loadfactor;
  assert.equal(redisCli('FLUSHALL'), 'OK');
  // Noticed at the next quiet read of the journal (a 2 s block), with the margin of a loaded machine.
  for (const i of instances) {
    await pollUntil(async () => typeof (await overview(i)).sharedState.lostAt === 'number', { timeoutMs: 10_000, what: `${i.name} notices Redis lost the shared state`, diagnostics: () => i.proc.output().slice(-2000) });
    assert.equal((await overview(i)).balancers[0].members[0].loadfactor, before, `${i.name} keeps its state`);
  }
  assert.match(lb1.proc.output(), /WARNING: Redis has lost the shared state/);
  assert.match(redisCli('HGET', 'stickler:snapshot', 'overlay'), new RegExp(`"loadfactor":${before}`));
  const answer = await edit(lb2, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 8 } });
  assert.equal(answer.status, 200, answer.text);
  await obeyed(lb2, answer.at, (o) => o.balancers[0].members[0].loadfactor === 8, 'an edit after the loss');
  await lb3.proc.stop();
  lb3.proc = (await startInstance('lb3', relay.url, lb3)).proc;
  await pollUntil(async () => (await overview(lb3)).balancers[0].members[0].loadfactor === 8, { timeoutMs: 10_000, what: 'lb3 restarted after the loss has the shared state' });
  await load.stop();

  // A journal trimmed past what a starting instance has: it must start from the snapshot (HGETALL's reply).
  await lb3.proc.stop();
  const snapshotLoadfactor = Number(/"loadfactor":(\d+)/.exec(redisCli('HGET', 'stickler:snapshot', 'overlay'))![1]);
  assert.equal(redisCli('XTRIM', 'stickler:journal', 'MAXLEN', '0').length > 0, true);
  lb3.proc = (await startInstance('lb3', relay.url, lb3)).proc;
  await pollUntil(async () => /took the snapshot at/.test(lb3.proc.output()), { timeoutMs: 10_000, what: 'lb3 starts from the snapshot', diagnostics: () => lb3.proc.output().slice(-2000) });
  assert.doesNotMatch(lb3.proc.output(), /not one Stickler wrote/);
  assert.equal((await overview(lb3)).balancers[0].members[0].loadfactor, snapshotLoadfactor);
});

test('an instance started while Redis is out of its reach starts from its configuration, serves, then catches up', async () => {
  const [lb1, , lb3] = instances as [Instance, Instance, Instance];
  await lb3.proc.stop();
  relay.sever();
  const answer = await edit(lb1, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 9 } });
  assert.equal(answer.status, 200, answer.text);
  lb3.proc = (await startInstance('lb3', relay.url, lb3)).proc;
  assert.equal(await connectedMetric(lb3), '0');
  assert.equal((await overview(lb3)).balancers[0].members[0].loadfactor, 1, 'the configuration\'s loadfactor, until Redis is reached');
  const served = await request(`https://127.0.0.1:${lb3.port}/load`, { timeoutMs: 10_000 });
  assert.equal(served.status, 200);
  const refused = await edit(lb3, { kind: 'member', balancer: 'cluster', member: member0(), change: { loadfactor: 2 } });
  assert.equal(refused.status, 503, 'no edit while it cannot reach the journal');
  relay.restore();
  await pollUntil(async () => (await overview(lb3)).balancers[0].members[0].loadfactor === 9, { timeoutMs: 10_000, what: 'lb3 catches up once Redis is reached' });
});
