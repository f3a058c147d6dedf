// Drain across a group: a member drained through instance A (one thread) is drained on B (two worker threads) by
// the shared journal; sessions active only through B keep it draining on A past stop-when-idle, A's drain view
// counting them; once no session is active anywhere it is stopped, with one stop-when-idle audit entry however
// many deciders found it idle.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { postManagerEdit } from '../support/manager.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { RedisServer } from '../support/redis.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';

const IDLE_MS = 2_000;
/** An instance's activity reaches the others within a report period (1 s); a decider ticks every second at this stop-when-idle. */
const SPREAD_MS = 2 * 1_000;

interface Instance {
  port: number;
  managerPort: number;
  proc: SticklerProcess;
}

const dir = mkdtempSync(join(tmpdir(), 'stickler-shared-drain-'));
let redis: RedisServer;
let members: RecordingBackend;
let a: Instance;
let b: Instance;

async function start(name: string, args: string[]): Promise<Instance> {
  const [port, managerPort] = await Promise.all([freePort(), freePort()]);
  const { certFile, keyFile } = localCertificate();
  const file = join(dir, `${name}.yaml`);
  const urls = members.ports.map((p, i) => ({ url: `https://127.0.0.1:${p}`, route: `m${i}` }));
  writeFileSync(file, yamlConfig(port, urls, {
    balancer: [`stop-when-idle: ${IDLE_MS}ms`],
    top: `manager:\n  host: 127.0.0.1\n  port: ${managerPort}\n  tls: { certificate-file: ${certFile}, key-file: ${keyFile} }\nshared-state:\n  url: ${redis.url}\n  instance: ${name}`,
  }));
  return { port, managerPort, proc: await startStickler(file, { args }) };
}

async function api(i: Instance, path: string): Promise<any> {
  const r = await request(`https://127.0.0.1:${i.managerPort}/balancer-manager/api/v1/${path}`);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
}

const drained = async (i: Instance) => (await api(i, 'balancers')).balancers[0].members[0];

before(async () => {
  redis = await RedisServer.start();
  members = await RecordingBackend.start(2);
  [a, b] = await Promise.all([start('lb-a', []), start('lb-b', ['--workers', '2'])]);
});

after(async () => {
  await Promise.all([a?.proc.stop(), b?.proc.stop()]);
  await members?.close?.();
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sessions active only through B keep a member drained through A draining past stop-when-idle; idle everywhere, it stops once', async () => {
  const m0 = `https://127.0.0.1:${members.ports[0]}`;
  let sending = true;
  let sent = 0;
  const sessions = (async () => {
    while (sending) {
      const r = await request(`https://127.0.0.1:${b.port}/app`, { headers: { cookie: `JSESSIONID=busy-through-b.m0` } });
      assert.equal(r.status, 200, r.body);
      sent++;
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 8));
    }
  })();
  try {
    const edit = await postManagerEdit(a.managerPort, JSON.stringify({ kind: 'member', balancer: 'cluster', member: m0, change: { status: { drain: true } } }));
    assert.equal(edit.status, 200, edit.body);
    await pollUntil(async () => (await drained(b)).status.drain, { timeoutMs: loadedBound(1_000), intervalMs: 50, what: 'the drain obeyed on B' });
    await pollUntil(async () => ((await drained(a)).drainSessions?.active ?? 0) > 0, {
      timeoutMs: loadedBound(SPREAD_MS), intervalMs: 100, what: 'A counting the session active through B in its drain view',
    });
    const busyUntil = Date.now() + 3 * IDLE_MS;
    while (Date.now() < busyUntil) {
      const seen = await Promise.all([drained(a), drained(b)]);
      for (const m of seen) assert.deepEqual([m.status.drain, m.status.stopped], [true, false], `still draining while a session is active through B\n${a.proc.output().slice(-1500)}\n---\n${b.proc.output().slice(-1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    sending = false;
    await sessions;
  }
  assert.ok(sent > 0);
  const idleSince = Date.now();
  await pollUntil(async () => (await Promise.all([drained(a), drained(b)])).every((m) => m.status.stopped && !m.status.drain), {
    timeoutMs: loadedBound(IDLE_MS + SPREAD_MS + 1_000), intervalMs: 100, what: 'stopped everywhere once idle everywhere',
  });
  assert.ok(Date.now() - idleSince >= IDLE_MS - 1_000, 'not before stop-when-idle has passed since the last request');
  // Both deciders may have found it idle; wait as long as a second stop would take to be applied and audited.
  await new Promise((resolve) => setTimeout(resolve, SPREAD_MS + 1_000));
  for (const i of [a, b]) {
    const stops = (await api(i, 'audit')).entries.filter((e: any) => e.user === 'stop-when-idle' && e.edit.member === m0);
    assert.equal(stops.length, 1, JSON.stringify(stops));
  }
});
