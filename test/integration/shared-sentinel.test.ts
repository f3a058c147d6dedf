// A Redis primary failover under edits (Debian's redis-server and redis-sentinel: a primary, a replica, three
// sentinels): every edit the shared journal acknowledged is applied by every instance afterwards, and an edit
// that could not be made durable is refused with a clear reason rather than acknowledged and lost. The
// instances are the shared-edits module of three Stickler instances over their own Redis connections, each
// recording what it applies (the EditApplier seam), so that the test sees the journal order every instance obeys.
// Then two whole Stickler instances configured with the sentinels: an edit acknowledged before the primary dies is
// kept by both, and edits are acknowledged again once the failover is over.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor, Edit, EditOutcome } from '../../src/manager/model.ts';
import { emptyOverlay } from '../../src/manager/overlay.ts';
import { clientOptions, RedisConnection, REPLICA_WAIT_MS } from '../../src/shared/connection.ts';
import { sharedKeys } from '../../src/shared/keys.ts';
import { SharedEdits, type EditApplier } from '../../src/shared/shared-edits.ts';
import { request } from '../support/client.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { postManagerEdit } from '../support/manager.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { DOWN_AFTER_MS, FAILOVER_TIMEOUT_MS, MASTER_NAME, startSentinelGroup, type SentinelGroup } from '../support/redis-sentinel.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';

const ACTOR: Actor = { user: 'test', ip: '127.0.0.1' };
/** A failover takes detection (down-after), an election and the promotion; the clients then ask the sentinels. */
const FAILOVER_BOUND_MS = 4 * (DOWN_AFTER_MS + FAILOVER_TIMEOUT_MS);

class Recorder implements EditApplier {
  readonly applied: string[] = [];
  check(): undefined {
    return undefined;
  }
  async apply(edit: Edit): Promise<EditOutcome> {
    if (edit.kind === 'member' && edit.change.route !== undefined) this.applied.push(edit.change.route);
    return { ok: true, before: null, after: null };
  }
  async replace(): Promise<void> {}
  overlay() {
    return emptyOverlay();
  }
}

let group: SentinelGroup;
before(async () => {
  group = await startSentinelGroup();
});
after(async () => {
  await group?.stop();
});

test('Sentinel: killing the primary under edits loses no acknowledged edit on any instance', async () => {
  const logs: string[] = [];
  const instances = ['lb1', 'lb2', 'lb3'].map((name) => {
    const options = clientOptions({
      url: 'redis://127.0.0.1:6379/0', keyPrefix: 'sentinel-test:', instance: name, masterName: MASTER_NAME,
      sentinels: group.sentinels.map(({ port }) => ({ host: '127.0.0.1', port })),
    });
    assert.ok(!('error' in options));
    const recorder = new Recorder();
    const edits = new SharedEdits(new RedisConnection(options, (line) => logs.push(`${name} ${line}`)), sharedKeys('sentinel-test:'), name, recorder, (line) => logs.push(`${name} ${line}`));
    edits.start();
    return { name, edits, recorder };
  });
  const refusals: string[] = [];
  const diagnostics = () => `${logs.slice(-30).join('\n')}\nlast refusals:\n${refusals.slice(-5).join('\n')}`;
  try {
    await pollUntil(async () => instances.every(({ edits }) => edits.status().connected), { timeoutMs: 15_000, what: 'three instances connected through Sentinel', diagnostics });

    const acked: string[] = [];
    let killedAt = 0;
    let firstAckAfterKill = 0;
    /** Starts of the submissions acknowledged, to find any made while the promoted primary had no replica. */
    const ackedStarts: number[] = [];
    let writing = true;
    const writers = instances.map(async ({ name, edits }) => {
      for (let n = 0; writing; n++) {
        const route = `${name}e${n}`;
        const edit: Edit = { kind: 'member', balancer: 'b', member: 'm', change: { route } };
        const afterKill = killedAt !== 0;
        const started = Date.now();
        const outcome = await edits.submit(edit, ACTOR);
        if (outcome.ok) {
          acked.push(route);
          ackedStarts.push(started);
          if (afterKill && firstAckAfterKill === 0) firstAckAfterKill = Date.now();
        } else {
          refusals.push(outcome.reason);
          await sleep(50);
        }
      }
    });

    await pollUntil(async () => acked.length >= 30, { timeoutMs: 15_000, what: '30 edits acknowledged before the failover', diagnostics });
    const ackedBeforeKill = acked.length;
    const oldPrimary = await group.primaryPort();
    const index = group.nodes.findIndex((node) => node.port === oldPrimary);
    group.nodes[index]!.process.kill();
    killedAt = Date.now();
    await pollUntil(async () => (await group.primaryPort()) !== oldPrimary, { timeoutMs: FAILOVER_BOUND_MS, what: 'the sentinels promoting the replica', diagnostics });
    const promotedAt = Date.now();
    const promotedMs = promotedAt - killedAt;
    // With one replica, the promoted primary has none until the old one returns: edits are refused meanwhile,
    // as not durable, and acknowledged again once it is back as a replica.
    await sleep(2 * REPLICA_WAIT_MS);
    const ackedWhileAlone = acked.length;
    const restartAt = Date.now();
    await group.restart(index);
    const restartedMs = Date.now() - killedAt;
    // The sentinels make the returning node a replica once they see it up, then it syncs in full.
    await pollUntil(async () => acked.length >= ackedWhileAlone + 30, { timeoutMs: 2 * FAILOVER_BOUND_MS, what: '30 more edits acknowledged after the old primary came back as a replica', diagnostics });
    writing = false;
    await Promise.all(writers);

    for (const { name, recorder } of instances) {
      await pollUntil(async () => acked.every((route) => recorder.applied.includes(route)), {
        timeoutMs: 15_000, what: `${name} applying every acknowledged edit`,
        diagnostics: () => `missing on ${name}: ${acked.filter((route) => !recorder.applied.includes(route)).join(' ')}\n${diagnostics()}`,
      });
    }
    // Every instance applied the journal in one order. A write the client retried on the new primary (its
    // reply lost with the old one) is in the journal twice, and applied twice everywhere alike.
    await pollUntil(async () => instances.every(({ recorder }) => recorder.applied.length === instances[0]!.recorder.applied.length), {
      timeoutMs: 15_000, what: 'every instance at the end of the journal', diagnostics,
    });
    for (const { recorder } of instances.slice(1)) assert.deepEqual(recorder.applied, instances[0]!.recorder.applied);
    const journal = instances[0]!.recorder.applied;
    assert.ok(refusals.length > 0, 'the failover refused no edit at all');
    // A submission that began after the promotion and had its WAIT over before the restart had no replica.
    const undurable = ackedStarts.filter((at) => at >= promotedAt && at + REPLICA_WAIT_MS < restartAt);
    assert.deepEqual(undurable, [], 'edits acknowledged while the primary had no replica to hold them');
    for (const reason of refusals) assert.match(reason, /Redis/);
    console.log(`failover figures: ${acked.length} edits acknowledged (${ackedBeforeKill} before the kill), all ${acked.length} on each of 3 instances, in one order (${journal.length - new Set(journal).size} written twice by a client retry); ${refusals.length} refused; replica promoted ${promotedMs} ms after the kill; old primary restarted ${restartedMs} ms after the kill; first edit submitted after the kill acknowledged ${firstAckAfterKill - killedAt} ms after it (${ackedWhileAlone - ackedBeforeKill} acknowledged between the kill and the restart); refusal reasons: ${[...new Set(refusals.map((r) => r.replace(/[0-9-]{5,}/g, '#')))].slice(0, 4).join(' | ')}`);
  } finally {
    await Promise.all(instances.map(({ edits }) => edits.close()));
  }
});

test('two Stickler instances through Sentinel: an edit acknowledged before the primary dies is kept by both, and edits resume after the failover', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-sentinel-'));
  // Two members: a lone member's loadfactor is always 1, as Apache's recalc_factors makes it.
  const members = await RecordingBackend.start(2);
  const { certFile, keyFile } = localCertificate();
  const sentinels = group.sentinels.map(({ port }) => `"127.0.0.1:${port}"`).join(', ');
  const started: Array<{ managerPort: number; proc: SticklerProcess }> = [];
  const start = async (name: string) => {
    const [port, managerPort] = await Promise.all([freePort(), freePort()]);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, yamlConfig(port, members.ports.map((p, i) => ({ url: `https://127.0.0.1:${p}`, route: `m${i}` })), {
      top: `manager:\n  host: 127.0.0.1\n  port: ${managerPort}\n  tls: { certificate-file: ${certFile}, key-file: ${keyFile} }\n` +
        `shared-state:\n  url: redis://127.0.0.1/0\n  key-prefix: "instances:"\n  instance: ${name}\n  sentinels: [${sentinels}]\n  master-name: ${MASTER_NAME}`,
    }));
    const instance = { managerPort, proc: await startStickler(file) };
    started.push(instance);
    return instance;
  };
  const member = async (i: { managerPort: number }) => {
    const r = await request(`https://127.0.0.1:${i.managerPort}/balancer-manager/api/v1/balancers`);
    return JSON.parse(r.body) as { sharedState: { connected: boolean }; balancers: Array<{ members: Array<{ loadfactor: number }> }> };
  };
  const loadfactorOn = async (i: { managerPort: number }) => (await member(i)).balancers[0]!.members[0]!.loadfactor;
  const setLoadfactor = (i: { managerPort: number }, loadfactor: number) =>
    postManagerEdit(i.managerPort, JSON.stringify({ kind: 'member', balancer: 'cluster', member: `https://127.0.0.1:${members.ports[0]}`, change: { loadfactor } }));
  try {
    const [a, b] = [await start('lb-a'), await start('lb-b')];
    for (const i of [a, b]) await pollUntil(async () => (await member(i)).sharedState.connected, { timeoutMs: 15_000, what: 'connected through Sentinel' });
    // The promoted primary of the first test has its replica back by now; WAIT may still need a moment.
    await pollUntil(async () => (await setLoadfactor(a, 3)).status === 200, { timeoutMs: 2 * FAILOVER_BOUND_MS, intervalMs: 250, what: 'an edit acknowledged through A' });
    await pollUntil(async () => (await loadfactorOn(b)) === 3, { timeoutMs: 5_000, what: 'B obeying it' });

    const oldPrimary = await group.primaryPort();
    const index = group.nodes.findIndex((node) => node.port === oldPrimary);
    group.nodes[index]!.process.kill();
    await pollUntil(async () => (await group.primaryPort()) !== oldPrimary, { timeoutMs: FAILOVER_BOUND_MS, what: 'the sentinels promoting the replica' });
    await group.restart(index);
    await pollUntil(async () => (await setLoadfactor(b, 5)).status === 200, { timeoutMs: 2 * FAILOVER_BOUND_MS, intervalMs: 250, what: 'an edit acknowledged through B after the failover' });
    await pollUntil(async () => (await loadfactorOn(a)) === 5, { timeoutMs: 5_000, what: 'A obeying it' });
    for (const i of [a, b]) {
      const audit = JSON.parse((await request(`https://127.0.0.1:${i.managerPort}/balancer-manager/api/v1/audit`)).body).entries as Array<{ edit: { change?: { loadfactor?: number } } }>;
      const loadfactors = audit.map((e) => e.edit.change?.loadfactor);
      assert.ok(loadfactors.includes(3) && loadfactors.includes(5), `both edits audited on each instance: ${loadfactors.join(',')}`);
    }
  } finally {
    await Promise.all(started.map((i) => i.proc.stop()));
    await members.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
