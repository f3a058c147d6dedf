// Resilience end to end (issue 6): what clients see when members die, hang, talk garbage, break mid-body or are
// put on standby, drained or stopped, and what Stickler does about it. Real processes on 127.0.0.1: Stickler's
// CLI on Apache-syntax files shaped like the seed (and one native YAML file), two real Tomcat 10 nodes for the
// kill test, and small node:https / node:tls members where a failure has to be provoked exactly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { testCertificate, type CertificateFiles } from '../support/certs.ts';
import { CookieJar, keepAliveAgent, rawRequest, request, type HttpsResponse } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { startStickler } from '../support/stickler.ts';
import { startTomcat, type TomcatNode } from '../support/tomcat.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';
import type { ManagerOverview, MemberOverview } from '../../src/manager/model.ts';

let dir: string;
let certs: CertificateFiles;
/** Stickler processes and servers, stopped after the file whatever happened. */
const running: Array<{ stop(): Promise<void> }> = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-resilience-'));
  certs = await testCertificate(dir);
});

after(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await rm(dir, { recursive: true, force: true });
});

// ---- Stickler on an Apache-syntax file ------------------------------------------------------------------------

interface BalancerSpec {
  name: string;
  /** The front-end path sent to it; `/` must come last, as in any httpd file. */
  path: string;
  /** Balancer parameters appended to the ProxyPass line. */
  params?: string;
  /** One `url key=value...` per BalancerMember line. */
  members: string[];
}

/** The seed deployment's shape (see test/support/apache.ts), with the balancers and parameters under test. */
function apacheSite(port: number, balancers: BalancerSpec[], accessLog?: string): string {
  const passes = balancers.map((b) => ` ProxyPass ${b.path} balancer://${b.name}/ ${b.params ?? ''}`.trimEnd());
  const reverse = balancers.map((b) => ` ProxyPassReverse ${b.path} balancer://${b.name}/`);
  const proxies = balancers.map((b) => `<Proxy balancer://${b.name}>\n${b.members.map((m) => ` BalancerMember ${m}`).join('\n')}\n</Proxy>`);
  return `Listen 127.0.0.1:${port}
ServerName localhost
${accessLog ? `CustomLog "${accessLog}" combined` : ''}
<VirtualHost *:${port}>
 ServerName localhost
 SSLEngine On
 SSLProxyEngine On
 SSLProxyCheckPeerName Off
 SSLCertificateFile "${certs.certFile}"
 SSLCertificateKeyFile "${certs.keyFile}"
 ProxyPass /balancer-manager !
${passes.join('\n')}
${reverse.join('\n')}
${proxies.join('\n')}
<Location /balancer-manager>
 SetHandler balancer-manager
 Require local
</Location>
</VirtualHost>
`;
}

/** Starts the CLI on `text` (written to `<name>.conf`, or `.yaml` when `yaml`) and returns its port. */
async function stickler(name: string, text: (port: number) => string, yaml = false): Promise<number> {
  const port = await freePort();
  const file = join(dir, `${name}.${yaml ? 'yaml' : 'conf'}`);
  await writeFile(file, text(port));
  running.push(await startStickler(file));
  return port;
}

/** Every member of every balancer, by route, as the manager's JSON API shows it. */
async function managed(port: number): Promise<Map<string, MemberOverview>> {
  const r = await request(`https://127.0.0.1:${port}/balancer-manager/api/v1/balancers`);
  assert.equal(r.status, 200, `the manager API answered ${r.status}: ${r.body.slice(0, 200)}`);
  const overview = JSON.parse(r.body) as ManagerOverview;
  return new Map(overview.balancers.flatMap((b) => b.members.map((m) => [m.route, m] as const)));
}

async function memberState(port: number, route: string): Promise<MemberOverview> {
  const m = (await managed(port)).get(route);
  assert.ok(m, `the manager shows no member with route ${route}`);
  return m;
}

const get = (port: number, path: string, cookie?: string): Promise<HttpsResponse> =>
  request(`https://127.0.0.1:${port}${path}`, { headers: cookie ? { cookie: `JSESSIONID=${cookie}` } : {} });

// ---- small members --------------------------------------------------------------------------------------------

interface Member {
  url: string;
  /** Requests it answered. */
  served(): number;
  /** Closes the listener and every connection: connections are refused from now on. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
}

/** An HTTPS member that answers any request with `name` (so any health-check URI passes). */
async function member(name: string): Promise<Member> {
  const identity = { cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) };
  let served = 0;
  const server = https.createServer(identity, (req, res) => {
    req.resume();
    served++;
    res.setHeader('X-Node', name);
    res.end(name);
  });
  const port = await freePort();
  const listen = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  const down = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  running.push({ stop: down });
  return { url: `https://127.0.0.1:${port}`, served: () => served, down, up: listen };
}

/** A TLS member that hands each request head to `answer`, to misbehave exactly as a test needs. */
async function rawMember(answer: (socket: tls.TLSSocket, head: string) => void): Promise<string> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let seen = '';
    socket.on('data', (d: Buffer) => {
      seen += d.toString('latin1');
      const end = seen.indexOf('\r\n\r\n');
      if (end === -1) return;
      answer(socket, seen.slice(0, end));
      seen = '';
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return stopLater(server, sockets);
}

/** Closes `server` and its sockets when the test ends; returns its URL. */
function stopLater(server: net.Server, sockets: Set<net.Socket>): string {
  running.push({
    stop: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  });
  return `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}

/** A member that accepts TCP connections and never says a word, not even the TLS handshake: a hung JVM. */
async function mutePort(): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return stopLater(server, sockets);
}

// ---- 1. kill -9 of a Tomcat node under load -------------------------------------------------------------------

const LOAD_MS = 9_000;
const KILL_AT_MS = 3_000;
const SESSION_CLIENTS = 6;
const ANONYMOUS_CLIENTS = 14;
const HC_INTERVAL_MS = 1_000;
const HC_PASSES = 2;
/** Stickler A's health checks, as BalancerMember parameters (mod_proxy_hcheck, hcinterval in seconds). */
const HC_PARAMS = `hcmethod=GET hcuri=/tiny.txt hcinterval=${HC_INTERVAL_MS / 1000} hcpasses=${HC_PASSES} hcfails=1`;
const SLOW_START_MS = 5_000;

type Method = 'GET' | 'HEAD' | 'POST';

/** One request of the load and what became of it. */
interface Sent {
  id: string;
  client: number;
  method: Method;
  bodyLength: number;
  start: number;
  end: number;
  /** 0 when no complete response came back. */
  status: number;
  /** The jvmRoute that answered (X-Node). */
  node?: string;
  /** The session's hit count, for session clients. */
  hits?: number;
  error?: string;
}

interface LoadClient {
  index: number;
  methods: Method[];
  /** Session clients keep their JSESSIONID cookie here; record.jsp then counts hits in the session. */
  jar?: CookieJar;
}

/** One client sending requests back to back on one kept-alive connection until `until`. */
async function drive(port: number, client: LoadClient, until: number, out: Sent[]): Promise<void> {
  const agent = keepAliveAgent();
  try {
    for (let seq = 0; Date.now() < until; seq++) {
      const method = client.methods[seq % client.methods.length]!;
      const id = `c${client.index}-${seq}`;
      // Small bodies of varied sizes: a POST sent again after a refused connect must arrive whole.
      const bodyLength = method === 'POST' ? 1 + ((seq * 997 + client.index * 131) % 4096) : 0;
      const sent: Sent = { id, client: client.index, method, bodyLength, start: Date.now(), end: 0, status: 0 };
      try {
        const r = await request(`https://127.0.0.1:${port}/record.jsp?id=${id}${client.jar ? '&session=1' : ''}`, {
          method,
          agent,
          jar: client.jar,
          ...(method === 'POST' && {
            body: Buffer.alloc(bodyLength, 'p'),
            headers: { 'content-type': 'application/octet-stream', 'content-length': String(bodyLength) },
          }),
        });
        sent.status = r.status;
        sent.node = String(r.headers['x-node'] ?? '');
        const hits = /hits=(\d+)/.exec(r.body);
        if (hits) sent.hits = Number(hits[1]);
      } catch (err) {
        sent.error = (err as Error).message;
      }
      sent.end = Date.now();
      out.push(sent);
    }
  } finally {
    agent.destroy();
  }
}

interface Recorded {
  method: string;
  bodyLength: number;
  node: string;
}

/** What the nodes executed, from record.jsp's files: id → one entry per execution. */
async function executions(files: string[]): Promise<Map<string, Recorded[]>> {
  const byId = new Map<string, Recorded[]>();
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').filter((l) => l !== '')) {
      const m = /^(\S+) (GET|HEAD|POST) (\d+) (\S+)$/.exec(line);
      assert.ok(m, `${file}: a record line is not "id method length node": ${JSON.stringify(line)}`);
      const list = byId.get(m[1]!) ?? [];
      list.push({ method: m[2]!, bodyLength: Number(m[3]), node: m[4]! });
      byId.set(m[1]!, list);
    }
  }
  return byId;
}

const describeSent = (s: Sent): string => `${s.method} ${s.id} → ${s.status || s.error} (sent at ${new Date(s.start).toISOString().slice(11, 23)})`;

describe('kill -9 of a Tomcat node under load, and its return', () => {
  const routes = ['node1', 'node2'] as const;
  const nodes = new Map<string, TomcatNode>();
  const recordFile = (route: string): string => join(dir, `${route}.records`);
  let accessLog: string;
  /** Stickler A: the Apache file, health checks on the members. */
  let portA: number;
  /** Stickler B: the same cluster in native YAML, with health checks and slow-start. */
  let portB: number;
  let killedAt = 0;

  const startNode = async (route: string, port?: number): Promise<void> => {
    nodes.set(route, await startTomcat({ jvmRoute: route, ...certs, recordFile: recordFile(route), ...(port !== undefined && { port }) }));
  };

  before(async () => {
    running.push({ stop: async () => void (await Promise.all([...nodes.values()].map((n) => n.stop()))) });
    await Promise.all(routes.map((r) => startNode(r)));
    const members = routes.map((r) => ({ url: nodes.get(r)!.url, route: r }));
    accessLog = join(dir, 'kill-access.log');
    [portA, portB] = await Promise.all([
      stickler('kill-apache', (port) => apacheSite(port, [{
        name: 'cluster',
        path: '/',
        params: 'stickysession=JSESSIONID',
        members: members.map((m) => `${m.url} route=${m.route} ${HC_PARAMS}`),
      }], accessLog)),
      stickler('kill-native', (port) => yamlConfig(port, members, {
        certificates: certs,
        balancer: [`slow-start: ${SLOW_START_MS / 1000}s`],
        member: [`health-check: { method: GET, uri: /tiny.txt, interval: ${HC_INTERVAL_MS / 1000}s, passes: ${HC_PASSES}, fails: 1 }`],
      }), true),
    ]);
  });

  test('kill -9 mid-load: no GET fails, no POST runs twice or fails after running, sessions move to the survivor', async (t) => {
    // Session clients get their sessions first, half on each node, so the killed node surely has some.
    const clients: LoadClient[] = [];
    const initialNode = new Map<number, string>();
    for (let i = 0; i < SESSION_CLIENTS; i++) {
      const jar = new CookieJar();
      const want = routes[i % 2]!;
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 20, `no session on ${want} after 20 new sessions`);
        jar.clear();
        const r = await request(`https://127.0.0.1:${portA}/record.jsp?id=init-${i}-${attempt}&session=1`, { jar });
        assert.equal(r.status, 200, r.body);
        if (r.headers['x-node'] === want) break;
      }
      initialNode.set(i, want);
      clients.push({ index: i, methods: ['GET', 'POST', 'GET'], jar });
    }
    for (let i = SESSION_CLIENTS; i < SESSION_CLIENTS + ANONYMOUS_CLIENTS; i++) {
      clients.push({ index: i, methods: ['GET', 'POST', 'GET', 'POST', 'HEAD'] });
    }

    const started = Date.now();
    const out: Sent[] = [];
    const load = Promise.all(clients.map((c) => drive(portA, c, started + LOAD_MS, out)));
    await sleep(KILL_AT_MS);
    nodes.get('node2')!.kill();
    killedAt = Date.now();
    await load;
    // The access log is written in batches; let the last one land.
    await sleep(500);

    const done = await executions(routes.map(recordFile));
    const failed = out.filter((s) => s.status !== 200);
    const failedReads = failed.filter((s) => s.method !== 'POST');
    const posts = out.filter((s) => s.method === 'POST');
    const duplicated = posts.filter((s) => (done.get(s.id)?.length ?? 0) > 1);
    const rerunReads = out.filter((s) => s.method !== 'POST' && (done.get(s.id)?.length ?? 0) > 1);
    const logLines = (await readFile(accessLog, 'utf8')).split('\n').filter((l) => l.includes('/record.jsp?id=c'));
    const retriedLines = logLines.filter((l) => / retries=\d+$/.test(l));
    const lastFailure = Math.max(killedAt, ...failed.map((s) => s.end));
    // A POST the node executed and then died before answering: Stickler cannot know it ran, and must not resend it.
    const diedRunning = failed.filter((s) => s.method === 'POST' && (done.get(s.id)?.length ?? 0) === 1);

    t.diagnostic(`requests sent: ${out.length} (${posts.length} POST) by ${clients.length} clients in ${LOAD_MS} ms, node2 killed at +${killedAt - started} ms`);
    t.diagnostic(`failed: ${failed.length} (GET/HEAD ${failedReads.length}, POST ${failed.length - failedReads.length}, of which ${diedRunning.length} ran on node2 as it died)`);
    t.diagnostic(`retried (access log lines with retries=N): ${retriedLines.length} of ${logLines.length} lines`);
    t.diagnostic(`duplicated POSTs: ${duplicated.length}; GET/HEAD executed twice (idempotent retry after the node ran them): ${rerunReads.length}`);
    t.diagnostic(`kill → no more errors: ${lastFailure - killedAt} ms`);

    assert.deepEqual(duplicated.map(describeSent), [], 'no POST is executed twice');
    for (const s of posts) {
      const ran = done.get(s.id) ?? [];
      if (s.status === 200) {
        assert.equal(ran.length, 1, `${describeSent(s)}: succeeded, so executed exactly once (executed ${ran.length} times)`);
        assert.equal(ran[0]!.node, s.node, `${describeSent(s)}: executed on the node that answered`);
        assert.equal(ran[0]!.method, 'POST', `${describeSent(s)}: executed as a POST`);
        assert.equal(ran[0]!.bodyLength, s.bodyLength, `${describeSent(s)}: the node read the whole body`);
        continue;
      }
      assert.ok(s.status === 502 || s.status === 503, `${describeSent(s)}: a POST that fails gets 502 or 503, not a broken connection`);
      if (ran.length === 0) continue;
      assert.ok(
        ran.length === 1 && ran[0]!.node === 'node2' && s.start <= killedAt,
        `${describeSent(s)}: failed, yet executed (${JSON.stringify(ran)}); only a POST running on node2 as it was killed may have`,
      );
    }
    // Only requests in flight on node2 as it died may fail; a JVM takes up to about a second to be gone after SIGKILL.
    const errorsFor = loadedBound(1_000);
    assert.ok(lastFailure - killedAt < errorsFor, `errors went on for ${lastFailure - killedAt} ms after the kill; expected them to stop within ${errorsFor} ms`);

    // Sessions: one node per session at a time, hits counting on; node2's move once to node1, starting afresh
    // (Tomcat does not replicate them here) after the kill.
    for (let i = 0; i < SESSION_CLIENTS; i++) {
      const answered = out.filter((s) => s.client === i && s.status === 200);
      const first = initialNode.get(i)!;
      let node = first;
      let hits = 1;
      for (const s of answered) {
        if (s.node !== node) {
          assert.ok(node === 'node2' && s.node === 'node1' && s.end >= killedAt, `session client ${i}: moved from ${node} to ${s.node} (${describeSent(s)})`);
          node = 'node1';
          hits = 0;
        }
        assert.equal(s.hits, ++hits, `session client ${i}: ${describeSent(s)} continues its session on ${node}`);
      }
      if (first === 'node2') {
        assert.equal(node, 'node1', `session client ${i}: its session moved to node1 after node2 died`);
        assert.match(clients[i]!.jar!.get('JSESSIONID') ?? '', /\.node1$/);
      }
    }
    // Last, so that a failure here still shows every check above passed.
    assert.deepEqual(failedReads.map(describeSent), [], 'every GET and HEAD succeeds, the killed node\'s ones on the survivor');
  });

  test('node2 restarts on its port: health checks bring it back after hcpasses, and slow-start ramps up its share', async (t) => {
    assert.ok(killedAt > 0, 'the kill test ran first');
    const [down] = await Promise.all([memberState(portA, 'node2'), nodes.get('node2')!.stop()]);
    assert.equal(down.usable, false, `the killed node is out of service: ${JSON.stringify(down.status)}`);
    const before = down.changes.healthCheckPassed;

    const restartedAt = Date.now();
    await startNode('node2', nodes.get('node2')!.port);
    const readyAt = Date.now();

    // Through B, new sessions (no cookie) from now on, to measure node2's share as its weight ramps up.
    const fresh: Array<{ at: number; node: string; status: number }> = [];
    let freshUntil = readyAt + 20_000;
    const freshLoad = Promise.all([0, 1, 2, 3].map(async (c) => {
      const agent = keepAliveAgent();
      try {
        for (let seq = 0; Date.now() < freshUntil; seq++) {
          const r = await request(`https://127.0.0.1:${portB}/record.jsp?id=ramp${c}-${seq}&session=1`, { agent }).catch(() => undefined);
          fresh.push({ at: Date.now(), node: String(r?.headers['x-node'] ?? ''), status: r?.status ?? 0 });
        }
      } finally {
        agent.destroy();
      }
    }));

    let backAt: number;
    try {
      // Through A: node2's own sessions come back to it once A has put it back in service.
      await pollUntil(async () => (await get(portA, '/record.jsp?id=probe', 'x.node2')).headers['x-node'] === 'node2', {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'node2 serving its sessions again through the Apache-configured balancer',
      });
      const servingAt = Date.now();
      const up = await memberState(portA, 'node2');
      t.diagnostic(`restart → Tomcat answering: ${readyAt - restartedAt} ms; → serving again through Stickler: ${servingAt - restartedAt} ms (${servingAt - readyAt} ms after Tomcat answered)`);
      assert.ok(up.changes.healthCheckPassed > before, `a passed health check brought node2 back (changes: ${JSON.stringify(up.changes)})`);
      // retry=60 s keeps a failed member out that long; only the checks can bring it back sooner: hcpasses checks,
      // each at most 1.1 intervals (the checker's jitter) after the one before.
      const backWithin = loadedBound(HC_PASSES * 1.1 * HC_INTERVAL_MS);
      assert.ok(servingAt - readyAt <= backWithin, `node2 back ${servingAt - readyAt} ms after it answered; expected within ${HC_PASSES} check intervals (${backWithin} ms)`);

      // The ramp, measured from node2's first new session through B.
      await pollUntil(async () => fresh.some((f) => f.node === 'node2'), { timeoutMs: 10_000, intervalMs: 100, what: 'a new session on node2 through the YAML balancer' });
      backAt = fresh.find((f) => f.node === 'node2')!.at;
      freshUntil = backAt + SLOW_START_MS + 2_500;
    } catch (err) {
      freshUntil = 0;
      throw err;
    } finally {
      await freshLoad;
    }
    assert.deepEqual(fresh.filter((f) => f.status !== 200), [], 'every new session through the YAML balancer is served');
    const share = (from: number, to: number): { share: number; n: number } => {
      const window = fresh.filter((f) => f.at >= backAt + from && f.at < backAt + to);
      return { share: window.filter((f) => f.node === 'node2').length / Math.max(1, window.length), n: window.length };
    };
    const early = share(0, 1_000);
    const late = share(SLOW_START_MS + 500, SLOW_START_MS + 2_500);
    t.diagnostic(`node2's share of new sessions: ${(early.share * 100).toFixed(0)} % of ${early.n} in its first second back, ${(late.share * 100).toFixed(0)} % of ${late.n} after the ${SLOW_START_MS} ms ramp`);
    assert.ok(early.n >= 20 && late.n >= 20, 'enough new sessions in each window to measure a share');
    assert.ok(early.share < 0.25, `node2 took ${(early.share * 100).toFixed(0)} % of new sessions in its first second back; slow-start should keep it well under its 50 %`);
    assert.ok(late.share > 0.35, `node2 took ${(late.share * 100).toFixed(0)} % of new sessions after the ramp; expected about 50 %`);
  });
});

// ---- 2. members that hang, talk garbage or break mid-body -----------------------------------------------------

/** Whether a raw response looks complete: its Content-Length met, or its chunked body ended by the last chunk. */
function completeness(text: string): 'complete' | 'cut' | 'close-delimited' {
  const end = text.indexOf('\r\n\r\n');
  if (end === -1) return 'cut';
  const head = text.slice(0, end).toLowerCase();
  const body = text.slice(end + 4);
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) return body.length >= Number(length[1]) ? 'complete' : 'cut';
  if (/\r\ntransfer-encoding: *chunked/.test(head)) return /(^|\r\n)0\r\n(.*\r\n)*\r\n$/.test(body) ? 'complete' : 'cut';
  return 'close-delimited';
}

describe('members that hang, answer garbage or break mid-body', () => {
  let port: number;
  let good: Member;
  const MEMBER_TIMEOUT_MS = 2_000;

  before(async () => {
    good = await member('good');
    const hang = await rawMember(() => {});
    const garbage = await rawMember((socket) => socket.end('this is not an HTTP response\r\n\r\n'));
    const cut = await rawMember((socket, head) => {
      const chunked = head.startsWith('GET /chunked');
      socket.write(chunked
        ? `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n12c\r\n${'x'.repeat(300)}\r\n`
        : `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(300)}`);
      setTimeout(() => socket.destroy(), 50);
    });
    const mute = await mutePort();
    port = await stickler('broken', (p) => apacheSite(p, [
      { name: 'garbage', path: '/garbage/', members: [garbage] },
      { name: 'cut', path: '/cut/', members: [cut] },
      { name: 'mute', path: '/mute/', params: 'stickysession=JSESSIONID', members: [`${mute} route=mute connectiontimeout=1`, `${good.url} route=good2`] },
      {
        name: 'cluster',
        path: '/',
        params: 'stickysession=JSESSIONID failontimeout=On',
        members: [`${hang} route=hang timeout=${MEMBER_TIMEOUT_MS / 1000}`, `${good.url} route=good`],
      },
    ]));
  });

  test('a member that accepts the request and never answers: 504 after its timeout, in error, others unaffected', async () => {
    const started = Date.now();
    const hung = get(port, '/', 'x.hang');
    await sleep(200);
    const others = await Promise.all(Array.from({ length: 10 }, async () => {
      const t0 = Date.now();
      const r = await get(port, '/', 'x.good');
      return { status: r.status, body: r.body, ms: Date.now() - t0 };
    }));
    for (const o of others) {
      assert.equal(o.status, 200);
      assert.equal(o.body, 'good');
      // One that waited for the hung member would take its whole timeout, as a timer never fires early.
      assert.ok(o.ms < MEMBER_TIMEOUT_MS, `a request to the healthy member took ${o.ms} ms while another member hung`);
    }
    const r = await hung;
    const elapsed = Date.now() - started;
    assert.equal(r.status, 504);
    assert.ok(elapsed >= MEMBER_TIMEOUT_MS - 100 && elapsed < loadedBound(MEMBER_TIMEOUT_MS), `504 after ${elapsed} ms; expected after the member's ${MEMBER_TIMEOUT_MS} ms timeout`);
    const state = await memberState(port, 'hang');
    assert.equal(state.status.error, true, `failontimeout puts the member in error: ${JSON.stringify(state.status)}`);
    const t0 = Date.now();
    const next = await get(port, '/', 'x.hang');
    assert.equal(next.status, 200);
    assert.equal(next.body, 'good', 'its sessions go to a live member meanwhile');
    assert.ok(Date.now() - t0 < MEMBER_TIMEOUT_MS, 'without waiting for the hung member again');
  });

  test('a member that accepts TCP and never completes the handshake: in error after connectiontimeout, the request served elsewhere', async () => {
    const t0 = Date.now();
    const r = await get(port, '/mute/', 'x.mute');
    assert.equal(r.status, 200, 'nothing reached the member, so the request may go to another one');
    assert.equal(r.body, 'good');
    assert.ok(Date.now() - t0 < loadedBound(1_000), `served after ${Date.now() - t0} ms; expected soon after the 1 s connectiontimeout`);
    assert.equal((await memberState(port, 'mute')).status.error, true);
  });

  test('a member that answers garbage: 502', async () => {
    const r = await get(port, '/garbage/');
    assert.equal(r.status, 502);
    assert.doesNotMatch(r.body, /this is not an HTTP response/, 'nothing of the garbage is passed on');
  });

  for (const framing of ['length', 'chunked'] as const) {
    test(`a member that closes mid-body (${framing === 'length' ? 'Content-Length' : 'chunked'}): the client sees an aborted response`, async () => {
      const raw = await rawRequest(port, `GET /cut/${framing} HTTP/1.1\r\nHost: localhost\r\n\r\n`, { timeoutMs: 5_000 });
      assert.match(raw.text, /^HTTP\/1\.1 200 /, 'the head had already gone out');
      assert.ok(raw.text.includes('x'.repeat(300)), 'what the member sent was passed on');
      assert.equal(raw.closedByPeer, true, 'Stickler closed the connection instead of waiting');
      assert.equal(completeness(raw.text), 'cut', `the response must not look complete:\n${raw.text.slice(0, 300)}`);
      await assert.rejects(request(`https://127.0.0.1:${port}/cut/${framing}`), 'a client library reports the response as broken');
    });
  }
});

// ---- 3. every member down -------------------------------------------------------------------------------------

describe('every member down', () => {
  test('503 with Retry-After; one member back: traffic resumes within one check interval', async (t) => {
    const [a, b] = await Promise.all([member('a'), member('b')]);
    // forcerecovery=Off: only the health checks can bring a member back before its 60 s retry.
    const port = await stickler('all-down', (p) => apacheSite(p, [{
      name: 'cluster',
      path: '/',
      params: 'forcerecovery=Off',
      members: [a, b].map((m, i) => `${m.url} route=${'ab'[i]} hcmethod=GET hcuri=/tiny.txt hcinterval=${HC_INTERVAL_MS / 1000} hcfails=1`),
    }]));
    assert.equal((await get(port, '/')).status, 200);

    await Promise.all([a.down(), b.down()]);
    for (let i = 0; i < 3; i++) {
      const r = await get(port, '/');
      assert.equal(r.status, 503);
      assert.match(String(r.headers['retry-after']), /^[1-9]\d*$/, 'Retry-After in whole seconds');
    }

    await a.up();
    const upAt = Date.now();
    await pollUntil(async () => (await get(port, '/')).status === 200, { timeoutMs: 10_000, intervalMs: 50, what: 'traffic resuming once member a listens again' });
    const resumed = Date.now() - upAt;
    t.diagnostic(`member back → traffic resumed: ${resumed} ms (check interval ${HC_INTERVAL_MS} ms)`);
    // One passing check, at most 1.1 intervals (the checker's jitter) after the last failed one.
    assert.ok(resumed <= loadedBound(1.1 * HC_INTERVAL_MS), `traffic resumed ${resumed} ms after the member came back; expected within one check interval (${HC_INTERVAL_MS} ms, with jitter)`);
    assert.equal((await get(port, '/')).body, 'a');
  });
});

// ---- 4. tiers: hot standby, lbset, drain, stop ----------------------------------------------------------------

describe('hot standby, lbset tiers, drain and stop, with real traffic', () => {
  test('new sessions go to the regular member, then the standby, then the next lbset; drained members keep their sessions; stopped ones get nothing', async () => {
    const names = ['a', 'd', 's', 'h', 't'] as const;
    const m = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await member(n)] as const))) as Record<(typeof names)[number], Member>;
    const port = await stickler('tiers', (p) => apacheSite(p, [{
      name: 'cluster',
      path: '/',
      params: 'stickysession=JSESSIONID',
      members: [
        `${m.a.url} route=a`,
        `${m.d.url} route=d status=+N`,
        `${m.s.url} route=s status=+S`,
        `${m.h.url} route=h status=+H`,
        `${m.t.url} route=t lbset=1`,
      ],
    }]));
    const answers = async (n: number, cookie?: string): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await get(port, '/', cookie);
        out.push(r.status === 200 ? r.body : String(r.status));
      }
      return out;
    };
    const all = (n: number, who: string): string[] => Array.from({ length: n }, () => who);

    assert.deepEqual(await answers(8), all(8, 'a'), 'new sessions: only the regular member of lbset 0');
    assert.deepEqual(await answers(3, 'x.d'), all(3, 'd'), 'a draining member keeps its sessions');
    assert.deepEqual(await answers(3, 'x.s'), all(3, 'a'), 'a stopped member takes nothing, its sessions go elsewhere');

    await m.a.down();
    assert.deepEqual(await answers(6), all(6, 'h'), 'the hot standby serves when no regular member of its set is usable');
    assert.deepEqual(await answers(3, 'x.d'), all(3, 'd'), 'the draining member still serves its sessions');

    await m.h.down();
    assert.deepEqual(await answers(6), all(6, 't'), 'lbset 1 serves when nothing in lbset 0 can');

    await m.t.down();
    const r = await get(port, '/');
    assert.equal(r.status, 503, 'draining and stopped members take no new sessions even when nothing else is left');
    assert.ok(r.headers['retry-after'], '503 with Retry-After');
    assert.equal(m.s.served(), 0, 'the stopped member never got a request');
  });
});
