// Three Stickler instances on one configuration and one Redis (Debian's redis-server), in front of the same
// members, under a steady load through all three: an edit made on one is obeyed by the others within 1 s; with
// Redis killed nothing fails, edits are refused with a clear 503 and the metric says 0, and once Redis is back
// the instances catch up; one instance cut off from Redis alone serves on its last state and catches up too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { RedisRelay, RedisServer } from '../support/redis.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';

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

async function startInstance(name: string, url: string, ports?: { port: number; managerPort: number }): Promise<Instance> {
  const port = ports?.port ?? (await freePort());
  const managerPort = ports?.managerPort ?? (await freePort());
  const file = join(dir, `${name}.yaml`);
  const urls = members.ports.map((p, i) => ({ url: `https://127.0.0.1:${p}`, route: `m${i}` }));
  writeFileSync(file, yamlConfig(port, urls, { top: `manager:\n  port: ${managerPort}\nshared-state:\n  url: ${url}\n  instance: ${name}` }));
  const proc = await startStickler(file);
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
