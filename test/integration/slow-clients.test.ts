// Limits and slow clients, end to end. First in process, each defence provoked exactly: 414/431/413/417 with
// nothing sent upstream, Expect: 100-continue only after the limits pass, a trickled head or body cut off at its
// deadline whatever its activity, a client that stops reading dropped after the send timeout, and the connection
// cap refusing new connections while the established ones and the manager keep working. Then Debian's
// slowhttptest in its slowloris, slow body and slow read modes against the Stickler CLI and, for comparison,
// against Debian's nginx with the same timeouts: a probe must always be served, and every attack connection must
// be gone within the configured timeouts, as the kernel's socket table shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxMainContext, nginxTempPaths, runNginx } from '../../bench/nginx.ts';
import type { ClientPolicy, SticklerConfig } from '../../src/config/model.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';
import { Stickler } from '../../src/server/server.ts';
import { rawRequest, request } from '../support/client.ts';
import { engineConfig, localCertificate, member, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { spawnManaged } from '../support/process.ts';
import { startStickler } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';

/**
 * What the members of these tests serve: /big streams `size` bytes, produced only as fast as the connection takes
 * them (`produced` counts them), anything else echoes the length of the body it read.
 */
function serve(size: number, produced: (bytes: number) => void): http.RequestListener {
  const piece = Buffer.alloc(64 * 1024, 'x');
  return (req, res) => {
    if (req.url?.startsWith('/big')) {
      res.writeHead(200, { 'Content-Length': size });
      Readable.from((function* () {
        for (let sent = 0; sent < size; sent += piece.length) {
          produced(Math.min(piece.length, size - sent));
          yield piece.subarray(0, Math.min(piece.length, size - sent));
        }
      })()).pipe(res);
      return;
    }
    let length = 0;
    req.on('data', (c: Buffer) => (length += c.length));
    req.on('end', () => res.end(`ok ${length}\n`));
  };
}

interface Member {
  url: string;
  /** Requests that reached the member, and those cut off: a body that never arrived whole, or a response never sent whole. */
  requests: () => number;
  abandoned: () => number;
  /** Bytes of /big responses produced so far. */
  produced: () => number;
  close(): void;
}

async function startMember(scheme: 'https' | 'http', size = 4 * 1024 * 1024): Promise<Member> {
  const { certFile, keyFile } = localCertificate();
  let requests = 0;
  let abandoned = 0;
  let produced = 0;
  const handler = serve(size, (bytes) => (produced += bytes));
  const counting: http.RequestListener = (req, res) => {
    requests++;
    res.once('close', () => (!req.complete || !res.writableFinished) && abandoned++);
    handler(req, res);
  };
  const server = scheme === 'https'
    ? https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 30_000 }, counting)
    : http.createServer({ keepAliveTimeout: 30_000 }, counting);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    abandoned: () => abandoned,
    produced: () => produced,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** A raw client connection that records what comes back, when, and when it closes. */
interface RawClient {
  socket: net.Socket;
  /** When the connection was ready to send (after the TLS handshake). */
  opened: number;
  received(): string;
  closedAt(): number | undefined;
}

function connect(port: number, secure = true): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    let text = '';
    let closedAt: number | undefined;
    const socket: net.Socket = secure
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' })
      : net.connect({ host: '127.0.0.1', port });
    const client = { socket, opened: 0, received: () => text, closedAt: () => closedAt };
    socket.once(secure ? 'secureConnect' : 'connect', () => resolve({ ...client, opened: Date.now() }));
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', (err) => (closedAt === undefined && text === '' ? reject(err) : undefined));
    socket.on('close', () => (closedAt = Date.now()));
  });
}

async function closed(c: RawClient, what: string, timeoutMs = 10_000): Promise<number> {
  await pollUntil(async () => c.closedAt() !== undefined, { timeoutMs, intervalMs: 20, what });
  return c.closedAt()! - c.opened;
}

/** Writes `text` one piece every `everyMs` until the connection closes. */
function trickle(c: RawClient, text: string, pieceLength: number, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (c.closedAt() !== undefined || c.socket.destroyed) return clearInterval(timer);
    c.socket.write(text.slice(at, at + pieceLength));
    at = (at + pieceLength) % text.length;
  }, everyMs);
}

function withClient(config: SticklerConfig, policy: Partial<ClientPolicy>): SticklerConfig {
  return { ...config, client: policy };
}

describe('limits: refused by Stickler itself, nothing sent upstream', () => {
  let m: Member;
  let stickler: Stickler;
  let port: number;
  before(async () => {
    m = await startMember('https');
    port = await freePort();
    stickler = new Stickler(withClient(engineConfig(port, { members: [member(m.url)] }), {
      requestLine: 200, fieldSize: 100, fields: 10, bodySize: 1000,
    }));
    await stickler.start();
  });
  after(async () => {
    await stickler.close();
    m.close();
  });

  const refused = async (raw: string, status: number) => {
    const before = m.requests();
    const r = await rawRequest(port, raw);
    assert.match(r.text, new RegExp(`^HTTP/1\\.1 ${status} `), raw.slice(0, 60));
    assert.match(r.text, /\r\nConnection: close\r\n/);
    assert.ok(r.closedByPeer, 'the connection is closed');
    assert.equal(m.requests(), before, 'nothing reached the member');
  };

  test('414 request line, 431 header line, 431 field count, 413 Content-Length, 417 expectation', async () => {
    await refused(`GET /${'a'.repeat(200)} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 414);
    await refused(`GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'v'.repeat(100)}\r\n\r\n`, 431);
    await refused(`GET / HTTP/1.1\r\nHost: localhost\r\n${'X-A: 1\r\n'.repeat(10)}\r\n`, 431);
    await refused(`POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1001\r\n\r\n`, 413);
    await refused(`POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 101-continue\r\nContent-Length: 5\r\n\r\nhello`, 417);
    const ok = await rawRequest(port, `POST / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 1000\r\n\r\n${'b'.repeat(1000)}`);
    assert.match(ok.text, /^HTTP\/1\.1 200 [^]*ok 1000\n$/, 'exactly the limits pass');
  });

  test('Expect: 100-continue: 413 instead of 100 when the length is over the limit, 100 only once it passes', async () => {
    const over = await connect(port);
    over.socket.write('POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n');
    await closed(over, 'the refusal');
    assert.match(over.received(), /^HTTP\/1\.1 413 /);
    assert.doesNotMatch(over.received(), /100 Continue/);
    const within = await connect(port);
    within.socket.write('POST / HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    await pollUntil(async () => within.received().includes('\r\n\r\n'), { timeoutMs: 5_000, what: 'the interim response' });
    assert.match(within.received(), /^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    within.socket.write('hello');
    await pollUntil(async () => within.received().endsWith('ok 5\n'), { timeoutMs: 5_000, what: 'the answer' });
    within.socket.destroy();
  });

  test('HTTP/2 streams get the same limits: 414, 431, 413', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'localhost' });
    session.on('error', () => {});
    // A body announced but not sent: the answer must come from its content-length alone.
    const status = (headers: http2.OutgoingHttpHeaders) => new Promise<number>((resolve, reject) => {
      const stream = session.request(headers, { endStream: headers['content-length'] === undefined });
      stream.on('response', (h) => {
        resolve(Number(h[':status']));
        stream.close();
      });
      stream.on('error', reject);
      stream.resume();
    });
    try {
      const before = m.requests();
      assert.equal(await status({ ':path': `/${'a'.repeat(200)}` }), 414);
      assert.equal(await status({ ':path': '/', 'x-big': 'v'.repeat(100) }), 431);
      assert.equal(await status({ ':path': '/', ...Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-${i}`, '1'])) }), 431);
      assert.equal(await status({ ':path': '/', ':method': 'POST', 'content-length': '1001' }), 413);
      assert.equal(m.requests(), before, 'nothing reached the member');
      assert.equal(await status({ ':path': '/' }), 200);
    } finally {
      session.close();
    }
  });

  test('a chunked body is cut off at the limit with 413 and the member request aborted', async () => {
    const before = m.abandoned();
    const c = await connect(port);
    c.socket.write('POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n');
    c.socket.write(`258\r\n${'c'.repeat(600)}\r\n`);
    c.socket.write(`258\r\n${'c'.repeat(600)}\r\n`);
    await closed(c, 'the refusal');
    assert.match(c.received(), /^HTTP\/1\.1 413 /);
    await pollUntil(async () => m.abandoned() > before, { timeoutMs: 5_000, what: 'the member request to be aborted' });
  });
});

describe('timeouts: deadlines, not inactivity', () => {
  test('a head trickled byte by byte is cut off at the header timeout; bytes sent fast earn time up to its maximum', async () => {
    const m = await startMember('https');
    const port = await freePort();
    const stickler = new Stickler(withClient(engineConfig(port, { members: [member(m.url)] }), {
      headerTimeout: { timeout: 1_000, minRate: 500, max: 2_000 },
    }));
    await stickler.start();
    try {
      const slow = await connect(port);
      slow.socket.write('GET / HTTP/1.1\r\n');
      trickle(slow, 'X-Slow: loris\r\n', 1, 100);
      const fast = await connect(port);
      // 5000 bytes at once earn 10 s at 500 B/s, but the maximum is 2 s: far enough apart to tell on a loaded machine.
      fast.socket.write(`GET / HTTP/1.1\r\n${`X-Fast: ${'0123456789'.repeat(24)}\r\n`.repeat(20)}`);
      trickle(fast, 'X-Slow: loris\r\n', 1, 100);
      const slowFor = await closed(slow, 'the slowloris to be cut off');
      const fastFor = await closed(fast, 'the fast start to be cut off', 20_000);
      // The deadlines start at the handshake, as `opened` does: a timer fires late, never early.
      assert.ok(slowFor >= 950 && slowFor < loadedBound(1_000), `trickled head cut off after ${slowFor} ms (timeout 1 s)`);
      assert.ok(fastFor >= 1_950 && fastFor < loadedBound(2_000), `fast start cut off after ${fastFor} ms (maximum 2 s)`);
      for (const c of [slow, fast]) assert.match(c.received(), /^HTTP\/1\.1 408 /);
      assert.equal(m.requests(), 0);
    } finally {
      await stickler.close();
      m.close();
    }
  });

  test('a body trickled below the minimum rate gets 408 at its deadline, and the member request is aborted', async () => {
    const m = await startMember('https');
    const port = await freePort();
    const stickler = new Stickler(withClient(engineConfig(port, { members: [member(m.url)] }), {
      bodyTimeout: { timeout: 1_000, minRate: 500, max: 0 },
    }));
    await stickler.start();
    try {
      const c = await connect(port);
      c.socket.write('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n');
      trickle(c, 'body=0123456789', 10, 100);
      const lasted = await closed(c, 'the slow body to be cut off');
      // 100 B/s earn 0.2 s a second: the deadline comes at 1.25 s.
      assert.ok(lasted >= 1_150 && lasted < loadedBound(1_250), `slow body cut off after ${lasted} ms`);
      assert.match(c.received(), /^HTTP\/1\.1 408 /);
      await pollUntil(async () => m.abandoned() === 1, { timeoutMs: 5_000, what: 'the member request to be aborted' });
    } finally {
      await stickler.close();
      m.close();
    }
  });

  test('a client that stops reading is reset after the send timeout; the response was never all in memory', async () => {
    const m = await startMember('http', 64 * 1024 * 1024);
    const port = await freePort();
    const stickler = new Stickler(withClient(engineConfig(port, { members: [member(m.url)], plain: true }), { sendTimeout: 1_000 }));
    await stickler.start();
    try {
      const c = await connect(port, false);
      c.socket.write('GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n');
      // Paused, the client would never see the reset: the server side of the kernel's table tells.
      c.socket.pause();
      const clientPort = c.socket.localPort!;
      await pollUntil(async () => !connectionsOn(port).has(clientPort), { timeoutMs: 10_000, intervalMs: 20, what: 'the stalled reader to be dropped' });
      const lasted = Date.now() - c.opened;
      // The send timeout counts from when the buffers are full, which takes a moment of the member's streaming.
      assert.ok(lasted >= 1_000 && lasted < loadedBound(1_000) + 1_000, `stalled reader dropped after ${lasted} ms`);
      await pollUntil(async () => m.abandoned() === 1, { timeoutMs: 5_000, what: 'the member response to be abandoned' });
      // Backpressure reached the member: it produced what the kernel buffers and Stickler's one buffer hold.
      assert.ok(m.produced() < 16 * 1024 * 1024, `the member produced ${m.produced() >> 20} MiB of 64`);
    } finally {
      await stickler.close();
      m.close();
    }
  });
});

test('max-connections: new connections are closed at once; established ones and the manager keep working', async () => {
  const m = await startMember('https');
  const [port, managerPort] = [await freePort(), await freePort()];
  const yaml = `${yamlConfig(port, [{ url: m.url, route: 'n1' }], { top: 'client:\n  max-connections: 5' })}manager:\n  port: ${managerPort}\n`;
  const loaded = loadNativeConfigText(yaml, 'stickler.yaml');
  assert.ok(loaded.config, loaded.diagnostics.map(formatDiagnostic).join('\n'));
  const stickler = new Stickler(loaded.config);
  await stickler.start();
  const held: RawClient[] = [];
  try {
    for (let i = 0; i < 5; i++) held.push(await connect(port));
    await assert.rejects(connect(port), 'a sixth connection never completes its handshake');
    held[0]!.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await pollUntil(async () => held[0]!.received().endsWith('ok 0\n'), { timeoutMs: 5_000, what: 'an established connection to be served' });
    const manager = await new Promise<number>((resolve, reject) => {
      http.get(`http://127.0.0.1:${managerPort}/balancer-manager`, { timeout: 5_000 }, (res) => resolve(res.resume().statusCode ?? 0)).on('error', reject);
    });
    assert.equal(manager, 200, 'the manager, on its own listener, is still reachable');
    held.pop()!.socket.destroy();
    await pollUntil(async () => (await connect(port).then((c) => (held.push(c), true), () => false)), { timeoutMs: 5_000, what: 'room for a new connection' });
  } finally {
    for (const c of held) c.socket.destroy();
    await stickler.close();
    m.close();
  }
});

// ---- slowhttptest: Stickler and nginx side by side --------------------------------------------------------------

/** The timeouts both servers get (seconds, and the minimum rate in bytes a second): short, for a short run. */
const TIMEOUTS = { header: 2, headerMax: 4, body: 2, minRate: 500, send: 2, keepAlive: 2 };

/**
 * `connections` attack connections, opened at `rate` a second; `limit`: how long, in seconds, the timeouts above
 * let one of them live after its handshake. The bound a test asserts is loadedBound of that (scheduling, sampling
 * and a loaded two-core machine; the deadlines themselves are exact).
 */
const ATTACKS = [
  // A head that never ends: cut off at the header deadline's maximum.
  { mode: '-H', name: 'slowloris', path: '/', connections: 200, rate: 100, args: ['-i', '1', '-x', '24'], limit: TIMEOUTS.headerMax },
  // The head at once, at worst at the header deadline's maximum; then 24 body bytes a second, each earning 1/500 s.
  {
    mode: '-B', name: 'slow body', path: '/upload', connections: 200, rate: 100, args: ['-i', '1', '-x', '24', '-s', '65536'],
    limit: TIMEOUTS.headerMax + TIMEOUTS.body / (1 - 24 / TIMEOUTS.minRate),
  },
  // The head, then it reads 32 bytes a second: the send buffer fills and stays full past the send timeout.
  { mode: '-X', name: 'slow read', path: '/big', connections: 100, rate: 50, args: ['-w', '1', '-y', '16', '-n', '1', '-z', '32', '-k', '1'], limit: TIMEOUTS.headerMax + TIMEOUTS.send },
] as const;

/**
 * How long an attack runs at most (slowhttptest stops sooner once it sees every connection closed): its
 * connections are all open within `connections / rate` seconds, so one the defence failed to cut off outlives the
 * bound by a few seconds.
 */
const attackSeconds = (a: (typeof ATTACKS)[number]) => Math.ceil(loadedBound(a.limit * 1000) / 1000 + a.connections / a.rate + 2);

interface Observed {
  /** Connections to the port alive at once, at most, as the kernel's table shows them (probes included). */
  peak: number;
  /** The longest any one connection lived, and whether any was still open when the attack ended. */
  longestMs: number;
  openAtEnd: number;
  probes: { ok: number; total: number; slowestMs: number };
  /** slowhttptest's own view at its last second, the most it had connected at once, and the seconds its own probe found no service. */
  tool: { seconds: number; closed: number; connected: number; peakConnected: number; unavailable: number };
}

/** Connections on 127.0.0.1:`port` by client port, from /proc/net/tcp; LISTEN and TIME_WAIT hold nothing. */
function connectionsOn(port: number): Set<number> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const open = new Set<number>();
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, local, remote, state] = row.trim().split(/\s+/);
    if (local?.endsWith(`:${hex}`) && state !== '0A' && state !== '06') open.add(parseInt(remote!.split(':')[1]!, 16));
  }
  return open;
}

async function attack(port: number, attackDef: (typeof ATTACKS)[number], dir: string): Promise<Observed> {
  const csv = join(dir, `${attackDef.name.replace(' ', '-')}-${port}`);
  const tool = spawnManaged('slowhttptest', '/usr/bin/slowhttptest', [
    attackDef.mode, '-c', String(attackDef.connections), '-r', String(attackDef.rate), ...attackDef.args, '-l', String(attackSeconds(attackDef)), '-p', '3', '-g', '-o', csv, '-u', `https://127.0.0.1:${port}${attackDef.path}`,
  ]);
  const firstSeen = new Map<number, number>();
  const lastSeen = new Map<number, number>();
  let peak = 0;
  const probes = { ok: 0, total: 0, slowestMs: 0 };
  const inflight: Promise<void>[] = [];
  let running = true;
  void tool.exited.then(() => (running = false));
  let nextProbe = Date.now() + 500;
  while (running) {
    const now = Date.now();
    const open = connectionsOn(port);
    peak = Math.max(peak, open.size);
    for (const p of open) {
      if (!firstSeen.has(p)) firstSeen.set(p, now);
      lastSeen.set(p, now);
    }
    if (now >= nextProbe) {
      nextProbe += 500;
      probes.total++;
      // Generous: a probe that waits is reported as the slowest; only one never answered counts as refused service.
      inflight.push(request(`https://127.0.0.1:${port}/`, { timeoutMs: 10_000 }).then((r) => {
        if (r.status === 200) probes.ok++;
        probes.slowestMs = Math.max(probes.slowestMs, Date.now() - now);
      }, () => {}));
    }
    // /proc/net/tcp lists every socket of the machine: read it often enough to time seconds, not so often that
    // the kernel's time spent on it slows the servers under test.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await Promise.all(inflight);
  const end = Date.now();
  const stillOpen = connectionsOn(port);
  const longestMs = Math.max(0, ...[...firstSeen].map(([p, first]) => (stillOpen.has(p) ? end : lastSeen.get(p)!) - first));
  // Seconds,Closed,Pending,Connected,Service Available (0 when its probe failed).
  const rows = readFileSync(`${csv}.csv`, 'utf8').trim().split('\n').slice(1).map((r) => r.split(',').map(Number));
  const [seconds = 0, toolClosed = 0, , connected = 0] = rows.at(-1) ?? [];
  return {
    peak,
    longestMs,
    openAtEnd: stillOpen.size,
    probes,
    tool: { seconds, closed: toolClosed, connected, peakConnected: Math.max(0, ...rows.map((r) => r[3]!)), unavailable: rows.filter((r) => r[4] === 0).length },
  };
}

function nginxFront(port: number, memberUrl: string, dir: string): string {
  const { certFile, keyFile } = localCertificate();
  // nginx's nearest equivalents; reset_timedout_connection does what Stickler does to a client that stopped reading.
  return `${nginxMainContext(dir, 2_000)}
http {
  access_log off;
${nginxTempPaths(dir)}
  client_header_timeout ${TIMEOUTS.header}s;
  client_body_timeout ${TIMEOUTS.body}s;
  send_timeout ${TIMEOUTS.send}s;
  keepalive_timeout ${TIMEOUTS.keepAlive}s;
  reset_timedout_connection on;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certFile};
    ssl_certificate_key ${keyFile};
    location / {
      proxy_pass ${memberUrl};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
    }
  }
}
`;
}

describe('slowhttptest against Stickler and nginx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-slow-'));
  let m: Member;
  let sticklerPort: number;
  let nginxPort: number;
  let stop: Array<() => Promise<void> | void> = [];
  const results: Array<{ name: string; stickler: Observed; nginx: Observed; boundMs: number; seconds: number }> = [];

  before(async () => {
    // Plain HTTP behind both: the member runs in this process, and TLS to it would only take CPU from the servers.
    m = await startMember('http');
    [sticklerPort, nginxPort] = [await freePort(), await freePort()];
    const top = `keep-alive-timeout: ${TIMEOUTS.keepAlive}s
client:
  header-timeout: { timeout: ${TIMEOUTS.header}s, min-rate: ${TIMEOUTS.minRate}, max: ${TIMEOUTS.headerMax}s }
  body-timeout: { timeout: ${TIMEOUTS.body}s, min-rate: ${TIMEOUTS.minRate} }
  send-timeout: ${TIMEOUTS.send}s`;
    writeFileSync(join(dir, 'stickler.yaml'), yamlConfig(sticklerPort, [{ url: m.url, route: 'n1' }], { top }));
    const stickler = await startStickler(join(dir, 'stickler.yaml'));
    const nginx = await runNginx('nginx', join(dir, 'nginx'), nginxFront(nginxPort, m.url, join(dir, 'nginx')), [nginxPort]);
    stop = [() => stickler.stop(), () => nginx.stop(), () => m.close()];
  });

  after(async () => {
    for (const s of stop) await s();
    const table = results.map((r) => {
      const cell = (o: Observed) =>
        `peak ${String(o.peak).padStart(3)}, longest ${(o.longestMs / 1000).toFixed(1).padStart(4)} s, open at end ${String(o.openAtEnd).padStart(3)}, ` +
        `probes ${o.probes.ok}/${o.probes.total} (slowest ${o.probes.slowestMs} ms); slowhttptest at ${o.tool.seconds} s: ` +
        `${o.tool.closed} closed, ${o.tool.connected} connected (at most ${o.tool.peakConnected}), no service ${o.tool.unavailable} s`;
      return `  ${r.name.padEnd(10)} (${r.seconds} s at most, bound ${(r.boundMs / 1000).toFixed(1)} s)\n    Stickler: ${cell(r.stickler)}\n    nginx:    ${cell(r.nginx)}`;
    });
    process.stdout.write(`\nslowhttptest. peak/longest/open: the connections the kernel holds for ` +
      `the server; slowhttptest's own counts lag (it sees a close on its next send, and never a reset in -X mode):\n${table.join('\n')}\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const a of ATTACKS) {
    const boundMs = loadedBound(a.limit * 1000);
    test(`${a.name} (${a.mode}): the attack holds connections, the probe is always served, every connection is gone within ${(boundMs / 1000).toFixed(1)} s`, async () => {
      // One after the other: the member and the probes run in this process, which two attacks at once would starve.
      const stickler = await attack(sticklerPort, a, dir);
      const nginx = await attack(nginxPort, a, dir);
      results.push({ name: a.name, stickler, nginx, boundMs, seconds: attackSeconds(a) });
      // Without these the rest proves nothing: an attack that never got its connections open is cut off by nothing.
      assert.ok(stickler.peak >= a.connections / 4, `the attack had ${stickler.peak} connections open at once, at most; it opens ${a.connections}`);
      assert.ok(stickler.tool.peakConnected >= a.connections / 4, `slowhttptest counted ${stickler.tool.peakConnected} connected at most`);
      assert.ok(stickler.probes.total >= 2, `${stickler.probes.total} probes sent during the attack`);
      assert.equal(stickler.probes.ok, stickler.probes.total, `probes served during the ${a.name} attack`);
      assert.ok(stickler.longestMs <= boundMs, `a connection lived ${stickler.longestMs} ms`);
      assert.equal(stickler.openAtEnd, 0, 'connections left open');
    });
  }
});
