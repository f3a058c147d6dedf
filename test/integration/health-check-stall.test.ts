// A health check whose regular expression backtracks catastrophically, against a member whose health page is
// large: with the checks on the thread that serves (no worker threads), proxied requests must keep flowing. The
// Stickler CLI runs as a child process, so a check that blocked its event loop fails this test by timeout instead
// of freezing it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepAliveAgent, request } from '../support/client.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';

const INTERVAL_MS = 100;
/** How long the load runs: many checks' worth. */
const LOAD_MS = 3_000;
/**
 * The longest a proxied request may take. A backtracking engine needs about 5 s for this pattern on 30 bytes and
 * doubles with each byte; the member sends 64 KiB of it. Thirty check intervals leave a loaded machine its margin.
 */
const LATENCY_BOUND_MS = 30 * INTERVAL_MS;

/** Words up to the check's 64 KiB cap, ending in the one character the pattern cannot match, then more words. */
const HEALTH_PAGE = Buffer.from(`${'word '.repeat(64 * 1024 / 5)}${'x'.repeat(64 * 1024 % 5 - 1)}!${'word '.repeat(40_000)}`);

let dir: string;
let member: https.Server;
let stickler: SticklerProcess;
let port: number;
let healthChecks = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-hc-stall-'));
  const { certFile, keyFile } = localCertificate();
  member = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    req.resume();
    if (req.url === '/health') {
      healthChecks++;
      res.end(HEALTH_PAGE);
    } else res.end('served');
  });
  await new Promise<void>((resolve) => member.listen(0, '127.0.0.1', resolve));
  port = await freePort();
  const file = join(dir, 'stickler.yaml');
  await writeFile(file, yamlConfig(port, [{ url: `https://127.0.0.1:${(member.address() as AddressInfo).port}`, route: 'm1' }], {
    member: ['health-check:', '  method: GET', '  uri: /health', `  interval: ${INTERVAL_MS}ms`, "  expr: 'hc(''body'') !~ /^(\\w+\\s?)*$/'"],
  }));
  stickler = await startStickler(file);
});

after(async () => {
  await stickler?.stop();
  member?.closeAllConnections();
  member?.close();
  await rm(dir, { recursive: true, force: true });
});

test('proxied requests keep flowing while checks match a catastrophic pattern against a 64 KiB body', async (t) => {
  // The first check runs within one interval of the start; wait for a few so the load runs among them.
  await pollUntil(async () => healthChecks >= 3, { timeoutMs: 100 * INTERVAL_MS, what: 'three health checks' });
  const agent = keepAliveAgent();
  const latencies: number[] = [];
  const checksBefore = healthChecks;
  try {
    for (const until = Date.now() + LOAD_MS; Date.now() < until;) {
      const started = performance.now();
      const r = await request(`https://127.0.0.1:${port}/app`, { agent, timeoutMs: LATENCY_BOUND_MS });
      latencies.push(performance.now() - started);
      assert.equal(r.status, 200, `a proxied request answered ${r.status}: the member was taken out (${stickler.output()})`);
    }
  } finally {
    agent.destroy();
  }
  const checks = healthChecks - checksBefore;
  // About LOAD_MS / INTERVAL_MS checks ran; a tenth of them shows the checks went on all along.
  assert.ok(checks >= LOAD_MS / INTERVAL_MS / 10, `only ${checks} health checks during the load`);
  assert.doesNotMatch(stickler.output(), /failed its health check/);
  latencies.sort((a, b) => a - b);
  const longest = latencies.at(-1)!;
  t.diagnostic(`${latencies.length} requests among ${checks} checks: median ${latencies[latencies.length >> 1]!.toFixed(1)} ms, longest ${longest.toFixed(1)} ms`);
  assert.ok(longest < LATENCY_BOUND_MS, `a proxied request took ${longest.toFixed(0)} ms`);
});
