// Health checks sent where the application serves its health, not to its traffic port (Keycloak's management
// port, WSO2's health API behind TLS): real members whose main port always answers, and health endpoints on other
// ports that the test makes fail and pass. The member must leave the rotation when its health port fails, come back
// when it passes, and the main port must never be asked for the health path.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { closeHealthEndpoints, startHealthEndpoint, type HealthEndpoint } from '../support/health-endpoint.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';

const INTERVAL_MS = 200;
/** One failure takes a member out and one pass brings it back: a change shows within about one interval (jittered). */
const CHANGE_MS = loadedBound(3 * INTERVAL_MS);

let dir: string;
let members: RecordingBackend;
/** Keycloak-like: plain HTTP management port beside a TLS member. */
let management: HealthEndpoint;
/** WSO2-like: the health API over TLS, on its own port here. */
let api: HealthEndpoint;
let stickler: SticklerProcess;
let port: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-hc-port-'));
  members = await RecordingBackend.start(2);
  management = await startHealthEndpoint();
  api = await startHealthEndpoint({ secure: true });
  port = await freePort();
  const [p1, p2] = members.ports;
  const file = join(dir, 'stickler.yaml');
  await writeFile(file, yamlConfig(port, [
    { url: `https://127.0.0.1:${p1}/auth`, route: 'm1',
      lines: [`health-check: { method: GET, uri: /health/ready, interval: ${INTERVAL_MS}ms, scheme: http, port: ${management.port} }`] },
    { url: `https://127.0.0.1:${p2}`, route: 'm2',
      lines: ['health-check:', '  method: GET', '  uri: /api/health-check/v1.0/health', `  interval: ${INTERVAL_MS}ms`, `  port: ${api.port}`, '  expr: "hc(\'body\') =~ /UP/"'] },
  ]));
  stickler = await startStickler(file);
});

after(async () => {
  await stickler?.stop();
  await members?.close();
  closeHealthEndpoints([management, api]);
  await rm(dir, { recursive: true, force: true });
});

/** The member port a request with session route `route` reached. */
async function servedBy(route: string): Promise<number> {
  const before = members.connections.length;
  const r = await request(`https://127.0.0.1:${port}/auth/app`, { headers: { cookie: `JSESSIONID=s.${route}` } });
  assert.equal(r.status, 200, stickler.output());
  const reached = members.connections.slice(before).at(-1);
  assert.ok(reached, 'the request reached a member');
  return reached.port;
}

function until(what: RegExp, from: number): Promise<void> {
  return pollUntil(async () => what.test(stickler.output().slice(from)), { timeoutMs: CHANGE_MS, what: `${what}` });
}

test('a member leaves when its health port fails and comes back when it passes, its traffic port never asked', async () => {
  const [p1, p2] = members.ports;
  await pollUntil(async () => management.seen.length >= 2 && api.seen.length >= 2, { timeoutMs: CHANGE_MS, what: 'two checks of each health port' });
  assert.equal(await servedBy('m1'), p1);

  let mark = stickler.output().length;
  management.up = false;
  await until(new RegExp(`member https://127\\.0\\.0\\.1:${p1}/auth failed its health check \\(it answered 503\\)`), mark);
  assert.equal(await servedBy('m1'), p2, 'its sessions go to the other member while it is out');

  mark = stickler.output().length;
  management.up = true;
  await until(new RegExp(`member https://127\\.0\\.0\\.1:${p1}/auth passed its health check`), mark);
  assert.equal(await servedBy('m1'), p1, 'back in, it takes its sessions again');

  // The path is the member's joined with the check's; Host names where the check went, in clear HTTP as asked.
  assert.deepEqual(management.seen[0], { url: '/auth/health/ready', host: `127.0.0.1:${management.port}`, tls: false });
  const asked = members.connections.flatMap((c) => c.requests.map((r) => r.target));
  assert.ok(asked.length > 0 && asked.every((target) => target.endsWith('/auth/app')), `the traffic ports were asked ${asked.join(', ')}`);
});

test('an https health port: checked over TLS with the member\'s proxy TLS settings, its condition judging the body', async () => {
  const [p1, p2] = members.ports;
  assert.ok(api.seen.length > 0 && api.seen.every((s) => s.tls && s.url === '/api/health-check/v1.0/health' && s.host === `127.0.0.1:${api.port}`),
    JSON.stringify(api.seen.slice(0, 3)));
  assert.equal(await servedBy('m2'), p2);

  let mark = stickler.output().length;
  api.up = false;
  await until(new RegExp(`member https://127\\.0\\.0\\.1:${p2} failed its health check`), mark);
  assert.equal(await servedBy('m2'), p1);

  mark = stickler.output().length;
  api.up = true;
  await until(new RegExp(`member https://127\\.0\\.0\\.1:${p2} passed its health check`), mark);
  assert.equal(await servedBy('m2'), p2);
});
