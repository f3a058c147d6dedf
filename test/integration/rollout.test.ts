// `stickler rollout` against two real Tomcat 10 nodes under a steady load of logged-in users (issue 14, point 5):
// each user gets a session, sends requests with its cookie for a while, then stops. The --exec command restarts the
// Tomcat named by {route} by calling back into this test (a tiny HTTP endpoint on 127.0.0.1), which stops the node
// and starts it again on the same port; a restarted node has lost its sessions, so any session still active when
// its node restarts would show up as a moved session. Then a failing command stops the rollout and leaves every
// node serving, --dry-run changes nothing, and a drained node with no active session is stopped by itself
// (stop-when-idle). Every wait derives from the configured durations below.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testCertificate, type CertificateFiles } from '../support/certs.ts';
import { CookieJar, request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { CLI, startStickler, type SticklerProcess } from '../support/stickler.ts';
import { startTomcat, type TomcatNode } from '../support/tomcat.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';
import type { ManagerOverview } from '../../src/manager/model.ts';

/** The balancer's stop-when-idle, which is also rollout's --idle by default. */
const IDLE_MS = 3_000;
/** How long a user keeps sending requests, and the pause between two. */
const USER_ACTIVE_MS = 2_000;
const USER_PAUSE_MS = 150;
/** Users active at once. */
const USERS = 4;
const TOKEN = 'rollout-test-token-0123456789';
/** A Tomcat start (60 s in tomcat.ts) and the drain's idle wait, with margin: what one member may take. */
const MEMBER_BOUND_MS = 60_000 + loadedBound(IDLE_MS + USER_ACTIVE_MS);

let dir: string;
let certs: CertificateFiles;
const nodes = new Map<string, TomcatNode>();
let stickler: SticklerProcess | undefined;
let restartServer: http.Server;
let restartPort: number;
const restarted: string[] = [];
let port: number;
let managerPort: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-rollout-'));
  certs = await testCertificate(dir);
  for (const node of await Promise.all(['n1', 'n2'].map((jvmRoute) => startTomcat({ jvmRoute, ...certs })))) nodes.set(node.jvmRoute, node);
  // The --exec command's other end: stops the node it names and starts it again where the balancer expects it.
  restartServer = http.createServer((req, res) => {
    const route = decodeURIComponent(req.url!.slice('/restart/'.length));
    const node = nodes.get(route);
    if (!node) return void res.writeHead(404).end(`no node ${route}\n`);
    restarted.push(route);
    void (async () => {
      await node.stop();
      nodes.set(route, await startTomcat({ jvmRoute: route, ...certs, port: node.port }));
      res.end('up\n');
    })().catch((err: Error) => res.writeHead(500).end(`${err.message}\n`));
  });
  await new Promise<void>((resolve) => restartServer.listen(0, '127.0.0.1', resolve));
  restartPort = (restartServer.address() as AddressInfo).port;
  [port, managerPort] = await Promise.all([freePort(), freePort()]);
  await writeFile(join(dir, 'tokens'), `${TOKEN}\n`, { mode: 0o600 });
  const file = join(dir, 'stickler.yaml');
  await writeFile(file, yamlConfig(port, [...nodes.values()].map((n) => ({ url: n.url, route: n.jvmRoute })), {
    certificates: certs,
    balancer: [`stop-when-idle: ${IDLE_MS}ms`, 'slow-start: 2s'],
    top: [
      'manager:', '  host: 127.0.0.1', `  port: ${managerPort}`, `  tls: { certificate-file: ${certs.certFile}, key-file: ${certs.keyFile} }`,
      `  token-file: ${join(dir, 'tokens')}`, `  audit-log: ${join(dir, 'audit.jsonl')}`,
    ].join('\n'),
  }));
  stickler = await startStickler(file);
});

after(async () => {
  await stickler?.stop();
  restartServer?.close();
  await Promise.all([...nodes.values()].map((n) => n.stop()));
  await rm(dir, { recursive: true, force: true });
});

const managerBase = () => `https://127.0.0.1:${managerPort}/balancer-manager`;
const bearer = () => ({ authorization: `Bearer ${TOKEN}` });

async function overview(): Promise<ManagerOverview> {
  const r = await request(`${managerBase()}/api/v1/balancers`, { headers: bearer() });
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body);
}

async function edit(member: string, status: Record<string, boolean>): Promise<void> {
  const r = await request(`${managerBase()}/api/v1/edits`, {
    method: 'POST', headers: { ...bearer(), 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'member', balancer: 'cluster', member, change: { status } }),
  });
  assert.equal(r.status, 200, r.body);
}

function rollout(args: string[], started: (pid: number) => void = () => {}): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, 'rollout', '--manager', managerBase(), '--ca', certs.certFile, '--token-file', join(dir, 'tokens'), '--balancer', 'cluster', ...args],
      { timeout: 2 * MEMBER_BOUND_MS + 30_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : String(err.signal ?? err.code)) : 0, stdout, stderr }));
    started(child.pid!);
  });
}

interface Load {
  requests: number;
  failures: string[];
  /** Sessions whose requests, while the user was active, were not all answered by one node within one session. */
  moved: string[];
  stop(): Promise<void>;
}

/** USERS users at a time, each logged in (a session) for USER_ACTIVE_MS, then replaced by a new one. */
function steadyLoad(): Load {
  const load: Load = { requests: 0, failures: [], moved: [], stop: async () => {} };
  let running = true;
  const user = async (): Promise<void> => {
    const jar = new CookieJar();
    const seen: Array<{ node: string; session: string; hits: number }> = [];
    const until = Date.now() + USER_ACTIVE_MS;
    while (Date.now() < until) {
      load.requests++;
      try {
        const r = await request(`https://127.0.0.1:${port}/counter.jsp`, { jar, timeoutMs: 30_000 });
        const m = /node=(\S+) hits=(\d+) session=(\S+)/.exec(r.body);
        if (r.status !== 200 || !m) load.failures.push(`${r.status} ${r.body.slice(0, 100)}`);
        else seen.push({ node: m[1]!, hits: Number(m[2]), session: m[3]! });
      } catch (err) {
        load.failures.push((err as Error).message);
      }
      await sleep(USER_PAUSE_MS);
    }
    // One node, one session, and hits counting up by one: the session never moved nor was lost while active.
    if (seen.some((s, i) => s.node !== seen[0]!.node || s.session !== seen[0]!.session || s.hits !== i + 1)) {
      load.moved.push(seen.map((s) => `${s.node}:${s.hits}`).join(' '));
    }
  };
  const lanes = Array.from({ length: USERS }, async () => {
    while (running) await user();
  });
  load.stop = async () => {
    running = false;
    await Promise.all(lanes);
  };
  return load;
}

test('rollout under steady logged-in load: each node restarted once, in order; no failed request; no active session moved', async () => {
  const load = steadyLoad();
  await sleep(USER_ACTIVE_MS);
  const started = Date.now();
  const result = await rollout(['--exec', `curl -fsS --max-time 120 http://127.0.0.1:${restartPort}/restart/{route}`, '--max-wait', '60s', '--health-timeout', '90s']);
  const tookMs = Date.now() - started;
  await sleep(USER_ACTIVE_MS);
  await load.stop();
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.deepEqual(restarted, ['n1', 'n2'], 'each node restarted once, in the order configured');
  const lines = result.stdout.split('\n').filter((l) => / restarted in /.test(l));
  assert.equal(lines.length, 2, result.stdout);
  assert.match(lines[0]!, /^\[1\/2\] n1 https:\/\/127\.0\.0\.1:\d+ restarted in .*; about \d+ (s|min \d+ s) left$/);
  assert.match(lines[1]!, /^\[2\/2\] n2 .*; done$/);
  const perNode = lines.map((l) => /^\[\d\/2\] (\S+) \S+ restarted in (.+?) \(/.exec(l)!).map((m) => `${m[1]} ${m[2]}`);
  console.log(`rollout figures: ${load.requests} requests, ${load.failures.length} failed, ${load.moved.length} sessions moved, ` +
    `time per node ${perNode.join(', ')}, whole rollout ${Math.round(tookMs / 1000)} s`);
  assert.deepEqual(load.failures, [], 'no failed request');
  assert.deepEqual(load.moved, [], 'no session moved while active');
  for (const m of (await overview()).balancers[0]!.members) {
    assert.deepEqual([m.status.drain, m.status.disabled, m.status.stopped, m.usable], [false, false, false, true], m.url);
  }
});

test('a failing command stops the rollout, exits 1, and leaves every node serving; --dry-run prints the plan and changes nothing', async () => {
  const dry = await rollout(['--exec', 'restart-node {route} {url}', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /1\. n1 https:\/\/127\.0\.0\.1:\d+\n.*\n\s+run: restart-node 'n1' 'https:\/\/127\.0\.0\.1:\d+'/);
  assert.match(dry.stdout, /2\. n2 /);
  const before = restarted.length;
  const failed = await rollout(['--exec', 'false {route} {url}', '--max-wait', '60s']);
  assert.equal(failed.code, 1, `${failed.stdout}\n${failed.stderr}`);
  assert.match(failed.stderr, /exited with status 1: false 'n1'/);
  assert.match(failed.stderr, /stopped; https:\/\/127\.0\.0\.1:\d+ is enabled again; 1 member\(s\) not restarted/);
  assert.equal(restarted.length, before, 'no node restarted');
  for (const m of (await overview()).balancers[0]!.members) {
    assert.deepEqual([m.status.drain, m.status.disabled, m.status.stopped, m.usable], [false, false, false, true], m.url);
  }
  const served = new Set<string>();
  await pollUntil(async () => {
    const r = await request(`https://127.0.0.1:${port}/counter.jsp`);
    served.add(/node=(\S+)/.exec(r.body)?.[1] ?? '');
    return served.has('n1') && served.has('n2');
  }, { timeoutMs: 30_000, intervalMs: 50, what: 'both nodes serving new sessions' });
});

test('rollout stopped by SIGTERM while a command runs lets that member back in', async () => {
  const n1 = nodes.get('n1')!.url;
  let pid = 0;
  let outcome: { code: number | string; stdout: string; stderr: string } | undefined;
  const running = rollout(['--exec', 'sleep 20; : {route}', '--max-wait', '60s'], (p) => (pid = p)).then((r) => (outcome = r));
  await pollUntil(async () => (await overview()).balancers[0]!.members.find((m) => m.url === n1)!.status.disabled, {
    timeoutMs: loadedBound(IDLE_MS), intervalMs: 100, what: `${n1} drained, idle and disabled for its command`,
    diagnostics: () => JSON.stringify(outcome ?? 'still running'),
  });
  process.kill(pid, 'SIGTERM');
  const result = (await running)!;
  assert.equal(result.code, 143, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stderr, /SIGTERM: letting https:\/\/127\.0\.0\.1:\d+ back in and stopping/);
  for (const m of (await overview()).balancers[0]!.members) {
    assert.deepEqual([m.status.drain, m.status.disabled, m.status.stopped, m.usable], [false, false, false, true], m.url);
  }
});

test('stop-when-idle: a drained node with no active session moves to stopped by itself, audited as stop-when-idle', async () => {
  const n1 = nodes.get('n1')!.url;
  const jar = new CookieJar();
  await request(`https://127.0.0.1:${port}/counter.jsp`, { jar });
  await edit(n1, { drain: true });
  const drained = (await overview()).balancers[0]!.members.find((m) => m.url === n1)!;
  assert.equal(drained.drainSessions !== null, true);
  assert.ok(drained.drainSessions!.sessions.every((s) => /^[0-9a-f]{8}$/.test(s.hash)), 'a short hash, never the id');
  // The decider ticks every second at this stop-when-idle: the stop comes within IDLE_MS and a tick.
  await pollUntil(async () => (await overview()).balancers[0]!.members.find((m) => m.url === n1)!.status.stopped, {
    timeoutMs: loadedBound(IDLE_MS + 1_000), intervalMs: 200, what: `${n1} stopped by stop-when-idle`,
  });
  const audit = JSON.parse((await request(`${managerBase()}/api/v1/audit`, { headers: bearer() })).body).entries as Array<{ user: string; edit: { member?: string } }>;
  assert.ok(audit.some((e) => e.user === 'stop-when-idle' && e.edit.member === n1), JSON.stringify(audit.slice(-3)));
  await edit(n1, { stopped: false });
});
