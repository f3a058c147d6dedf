// Shared health verdicts: three Stickler instances on one Redis, in front of the same members, whose
// configurations differ only in the health-check port of the first member, so that its health answers 503 to some
// instances and 200 to the others. `local` takes it out where it fails only; `any` everywhere once one instance
// sees it down; `quorum` only once two of the three do.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { yamlConfig } from '../support/engine.ts';
import { closeHealthEndpoints, startHealthEndpoint, type HealthEndpoint } from '../support/health-endpoint.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { RedisServer } from '../support/redis.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';

const INTERVAL_MS = 200;
/** A failure seen, published, read by the others (within a period of about one interval each) and acted on at a check. */
const VERDICT_MS = loadedBound(6 * INTERVAL_MS);

const dir = mkdtempSync(join(tmpdir(), 'stickler-shared-health-'));
let redis: RedisServer;
let members: RecordingBackend;
/** lb1 checks the first member here (always 503), lb2 at `second` (the test turns it), lb3 at `good`. */
let bad: HealthEndpoint;
let second: HealthEndpoint;
let good: HealthEndpoint;

interface Instance {
  name: string;
  managerPort: number;
  proc: SticklerProcess;
}

/** `threaded`: the instances (by index) run with `--workers 2`, where the main thread checks and applies the rule. */
async function group(rule: string, threaded: readonly number[] = []): Promise<Instance[]> {
  const ports = [bad.port, second.port, good.port];
  return Promise.all(ports.map(async (healthPort, n) => {
    const name = `lb${n + 1}`;
    const port = await freePort();
    const managerPort = await freePort();
    const file = join(dir, `${rule}-${threaded.join('')}-${name}.yaml`);
    const [p0, p1] = members.ports;
    writeFileSync(file, yamlConfig(port, [
      { url: `https://127.0.0.1:${p0}`, route: 'm0', lines: [`health-check: { method: GET, uri: /health, interval: ${INTERVAL_MS}ms, scheme: http, port: ${healthPort} }`] },
      { url: `https://127.0.0.1:${p1}`, route: 'm1' },
    ], { top: `manager:\n  port: ${managerPort}\nshared-state:\n  url: ${redis.url}\n  key-prefix: "${rule}${threaded.join('')}:"\n  instance: ${name}\n  health-rule: ${rule}` }));
    return { name, managerPort, proc: await startStickler(file, threaded.includes(n) ? { args: ['--workers', '2'] } : {}) };
  }));
}

async function failed(i: Instance): Promise<boolean> {
  const o: any = await (await fetch(`http://127.0.0.1:${i.managerPort}/balancer-manager/api/v1/balancers`, { signal: AbortSignal.timeout(5_000) })).json();
  return o.balancers[0].members[0].status.healthCheckFailed === true;
}

async function outOn(instances: Instance[], expected: boolean[], what: string): Promise<void> {
  await pollUntil(async () => {
    const seen = await Promise.all(instances.map(failed));
    return seen.every((s, n) => s === expected[n]);
  }, { timeoutMs: VERDICT_MS, intervalMs: 20, what, diagnostics: () => instances.map((i) => i.proc.output().slice(-800)).join('\n---\n') });
}

/** Stays so for a while as long as a change would take to show: nothing taken out that should not be. */
async function staysOut(instances: Instance[], expected: boolean[], what: string): Promise<void> {
  const until = Date.now() + 6 * INTERVAL_MS + 2_000;
  while (Date.now() < until) {
    const seen = await Promise.all(instances.map(failed));
    if (seen.some((s, n) => s !== expected[n])) {
      assert.fail(`${what}: ${JSON.stringify(seen)}, expected ${JSON.stringify(expected)}\n${instances.map((i) => `${i.name}:\n${i.proc.output().slice(-1500)}`).join('\n---\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  redis = await RedisServer.start();
  members = await RecordingBackend.start(2);
  [bad, second, good] = await Promise.all([startHealthEndpoint({ up: false }), startHealthEndpoint(), startHealthEndpoint()]);
});

after(async () => {
  await members?.close?.();
  closeHealthEndpoints([bad, second, good]);
  await redis?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function withGroup(rule: string, body: (instances: Instance[]) => Promise<void>, threaded: readonly number[] = []): Promise<void> {
  second.up = true;
  bad.up = false;
  const instances = await group(rule, threaded);
  try {
    await body(instances);
  } finally {
    await Promise.all(instances.map((i) => i.proc.stop()));
  }
}

test('local: the member is out only on the instance whose checks fail', () => withGroup('local', async (instances) => {
  await outOn(instances, [true, false, false], 'out on lb1 only');
  await staysOut(instances, [true, false, false], 'the others keep it');
}));

test('any: one instance seeing it down takes it out on every instance', () => withGroup('any', async (instances) => {
  await outOn(instances, [true, true, true], 'out everywhere');
  await staysOut(instances, [true, true, true], 'and stays out, without flapping');
}));

test('any, with worker threads: an instance at --workers 2 whose own checks pass takes the member out too, in every thread', () => withGroup('any', async (instances) => {
  await outOn(instances, [true, true, true], 'out everywhere, lb3 (two workers) included');
  await staysOut(instances, [true, true, true], 'and stays out on whichever worker answers');
  second.up = false;
  bad.up = true;
  await outOn(instances, [true, true, true], 'out everywhere while only lb2 sees it down');
  second.up = true;
  await outOn(instances, [false, false, false], 'back in everywhere, lb3 included, once no instance sees it down');
}, [2]));

test('quorum: out on no instance while one of three sees it down, on all once two do', () => withGroup('quorum', async (instances) => {
  // Until the others' first heartbeats reach it, lb1 is the only live instance it knows, and so a majority alone.
  await pollUntil(async () => /failed its health check/.test(instances[0]!.proc.output()), { timeoutMs: VERDICT_MS, intervalMs: 20, what: 'lb1 seeing it fail' });
  await outOn(instances, [false, false, false], 'in everywhere once the three know each other');
  await staysOut(instances, [false, false, false], 'one of three is not a quorum');
  second.up = false;
  await outOn(instances, [true, true, true], 'out everywhere once lb1 and lb2 see it down');
  second.up = true;
  await outOn(instances, [false, false, false], 'back in once only lb1 does');
}));
