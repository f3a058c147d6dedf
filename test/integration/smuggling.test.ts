// The smuggling corpus (test/fixtures/smuggling) over TLS through Stickler, Debian's nginx and Debian's HAProxy,
// each in front of the same recording backend, in one run; then a bounded mutation fuzzer against Stickler alone.
// What reached the backend is read from its recording, byte for byte: a case Stickler refuses must put nothing
// upstream, what it forwards must be re-serialised, and it must never forward a case nginx or HAProxy refuses.
//
// Cases run in lanes: each lane has its own front port and backend port and runs its cases one after another, so
// every byte the backend records on a lane's port belongs to that lane's current case.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { startForegroundTls } from '../../bench/foreground.ts';
import { nginxMainContext, nginxTempPaths, runNginx } from '../../bench/nginx.ts';
import { getHeader, getHeaders, type ResponseHead } from '../../src/http/head.ts';
import { MessageReader } from '../../src/http/reader.ts';
import { serializeRequestHead } from '../../src/http/serialize.ts';
import type { Stickler } from '../../src/server/server.ts';
import { loadCorpus, type SmugglingCase } from '../fixtures/smuggling/corpus.ts';
import { localCertificate, member, startEngine } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RECORDED_MARK, RecordingBackend, recordedBytes, type RecordedConnection } from '../support/recording-backend.ts';

const LANES = 6;
/** A case whose connection neither closes nor goes quiet after an answer ends here (the proxy awaits more bytes). */
const CASE_TIMEOUT_MS = 2_000;
/** Quiet time after a complete answer before the case counts as finished (a pipelined answer may still come). */
const IDLE_MS = 400;
/** Time a lane waits for the backend connections of a finished case to close before it destroys them. */
const SETTLE_MS = 1_000;

interface Front {
  name: string;
  /** Per lane: the port clients connect to, and the backend port it forwards to. */
  lanes: Array<{ port: number; backendPort: number }>;
  stop(): Promise<void>;
}

interface Answer {
  status: number;
  /** Carries the recording backend's mark: the backend answered it, through the front. */
  fromBackend: boolean;
}

interface Observed {
  answers: Answer[];
  /** The answers could not be parsed as HTTP/1.1 responses (an HTTP/0.9 reply, say). */
  malformed?: string;
  timedOut: boolean;
  upstream: RecordedConnection[];
}

/** Backend connections that carried bytes: each is one forwarded request, since the backend closes after one. */
function forwarded(o: Observed): number {
  return o.upstream.filter((c) => c.chunks.length > 0).length;
}

const workDir = mkdtempSync(join(tmpdir(), 'stickler-smuggling-'));
let backend: RecordingBackend;
const fronts: Front[] = [];
const internalErrors: string[] = [];
const onWarning = (warning: Error): void => {
  if (warning.message.includes('internal error')) internalErrors.push(warning.message);
};

before(async () => {
  process.on('warning', onWarning);
  backend = await RecordingBackend.start(3 * LANES);
  const ports = backend.ports;
  fronts.push(await startSticklers(ports.slice(0, LANES)));
  fronts.push(await startNginxFront(ports.slice(LANES, 2 * LANES)));
  fronts.push(await startHaproxyFront(ports.slice(2 * LANES)));
});

after(async () => {
  process.off('warning', onWarning);
  await Promise.all(fronts.map((f) => f.stop()));
  await backend?.close();
});

async function startSticklers(backendPorts: number[]): Promise<Front> {
  const lanes: Front['lanes'] = [];
  const engines: Stickler[] = [];
  for (const backendPort of backendPorts) {
    const port = await freePort();
    engines.push(await startEngine(port, { members: [member(`https://127.0.0.1:${backendPort}`)] }));
    lanes.push({ port, backendPort });
  }
  return { name: 'Stickler', lanes, stop: async () => void (await Promise.all(engines.map((e) => e.close()))) };
}

/** nginx as shipped, one server block per lane: only what proxying to an HTTPS member needs is configured. */
async function startNginxFront(backendPorts: number[]): Promise<Front> {
  const { certFile, keyFile } = localCertificate();
  const dir = join(workDir, 'nginx');
  const lanes = await Promise.all(backendPorts.map(async (backendPort) => ({ port: await freePort(), backendPort })));
  const servers = lanes.map(({ port, backendPort }) => `  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${certFile};
    ssl_certificate_key ${keyFile};
    location / {
      proxy_pass https://127.0.0.1:${backendPort};
      proxy_http_version 1.1;
    }
  }`);
  const config = `${nginxMainContext(dir)}
http {
  access_log off;
${nginxTempPaths(dir)}
${servers.join('\n')}
}
`;
  const running = await runNginx('nginx', dir, config, lanes.map((l) => l.port));
  return { name: 'nginx', lanes, stop: () => running.stop() };
}

/** HAProxy with its defaults (no `accept-invalid-*` options), one frontend and backend per lane. */
async function startHaproxyFront(backendPorts: number[]): Promise<Front> {
  const { certFile, keyFile } = localCertificate();
  const pemFile = join(workDir, 'haproxy.pem');
  writeFileSync(pemFile, readFileSync(certFile, 'utf8') + readFileSync(keyFile, 'utf8'), { mode: 0o600 });
  const lanes = await Promise.all(backendPorts.map(async (backendPort) => ({ port: await freePort(), backendPort })));
  const sections = lanes.map(({ port, backendPort }, i) => `frontend lane${i}
  bind 127.0.0.1:${port} ssl crt ${pemFile}
  default_backend lane${i}
backend lane${i}
  server member 127.0.0.1:${backendPort} ssl verify none`);
  const configFile = join(workDir, 'haproxy.cfg');
  writeFileSync(configFile, `global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 10s
  timeout server 10s
${sections.join('\n')}
`);
  const running = await startForegroundTls('haproxy', '/usr/sbin/haproxy', ['-db', '-f', configFile], lanes.map((l) => l.port));
  return { name: 'HAProxy', lanes, stop: () => running.stop() };
}

interface ClientResult {
  answers: Answer[];
  malformed?: string;
  timedOut: boolean;
}

/**
 * Writes `raw` in one piece and reads the answers until the server closes, goes quiet for IDLE_MS after a complete
 * answer, or `timeoutMs` pass. `halfClose` ends the client's side after the write, and then only the server's close
 * ends the case (nginx takes a half-close as an abort, so the three-way run keeps the connection open).
 */
function send(port: number, raw: Buffer, halfClose: boolean, timeoutMs: number): Promise<ClientResult> {
  return new Promise((resolve) => {
    const answers: Answer[] = [];
    const reader = new MessageReader('response', { maxHeadBytes: 1024 * 1024 });
    const first = raw.subarray(0, 5).toString('latin1') === 'HEAD ' ? 'HEAD' : 'GET';
    for (let i = 0; i < 16; i++) reader.expectResponseTo(i === 0 ? first : 'GET');
    let malformed: string | undefined;
    let head: ResponseHead | undefined;
    const take = (events: ReturnType<MessageReader['push']>): void => {
      for (const ev of events) {
        if (ev.type === 'head') head = ev.head as ResponseHead;
        else if (ev.type === 'end' && head !== undefined && head.status >= 200) {
          answers.push({ status: head.status, fromBackend: getHeader(head.headers, RECORDED_MARK) !== undefined });
        }
      }
    };
    const read = (step: () => ReturnType<MessageReader['push']>): void => {
      if (malformed !== undefined) return;
      try {
        // The reader stops after each response; the next one may already be buffered.
        for (let events = step(); ; events = reader.resume()) {
          take(events);
          if (events.at(-1)?.type !== 'end') break;
        }
      } catch (err) {
        malformed = (err as { code?: string }).code ?? String(err);
      }
    };
    let idle: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (timedOut: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(idle);
      socket.destroy();
      resolve({ answers, timedOut, ...(malformed !== undefined && { malformed }) });
    };
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      if (halfClose) socket.end(raw);
      else socket.write(raw);
    });
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      read(() => reader.push(chunk));
      clearTimeout(idle);
      // A half-closed connection must be closed by the server: quiet is no end there.
      if (!halfClose && (answers.length > 0 || malformed !== undefined)) idle = setTimeout(() => finish(false), IDLE_MS);
    });
    socket.on('close', () => {
      read(() => reader.finish());
      finish(false);
    });
    socket.on('error', () => {});
  });
}

/** Runs `cases` through one lane, in order, attributing to each what the lane's backend port received meanwhile. */
async function runLane(lane: { port: number; backendPort: number }, cases: Buffer[], halfClose: boolean, timeoutMs: number): Promise<Observed[]> {
  const out: Observed[] = [];
  for (const raw of cases) {
    const from = backend.connections.length;
    const result = await send(lane.port, raw, halfClose, timeoutMs);
    await backend.settle(lane.backendPort, SETTLE_MS);
    out.push({ ...result, upstream: backend.on(lane.backendPort, from) });
  }
  return out;
}

/** Every case through every lane of `front`, the lanes side by side; results in the order of `cases`. */
async function runAll(front: Front, cases: Buffer[], halfClose: boolean, timeoutMs: number): Promise<Observed[]> {
  const byLane = front.lanes.map((_, lane) => cases.filter((__, i) => i % front.lanes.length === lane));
  const results = await Promise.all(front.lanes.map((lane, i) => runLane(lane, byLane[i]!, halfClose, timeoutMs)));
  return cases.map((_, i) => results[i % front.lanes.length]![Math.floor(i / front.lanes.length)]!);
}

/**
 * Why what Stickler put on one backend connection is not a single re-serialised request, or undefined: one request
 * per connection, its head exactly as Stickler's serializer writes it (single spaces, HTTP/1.1, `name: value`), one
 * framing field that matches the body, chunks in Stickler's own encoding. A connection Stickler abandoned mid-body
 * (the client's body broke its framing after the head went out) holds an incomplete request, never a complete one.
 */
function notReserialised(conn: RecordedConnection, complete: boolean): string | undefined {
  const bytes = recordedBytes([conn]);
  if (conn.framingError !== undefined && (complete || conn.framingError !== 'STK_HTTP_INCOMPLETE_MESSAGE')) {
    return `backend could not frame what it got (${conn.framingError})`;
  }
  if (conn.requests.length > 1) return `${conn.requests.length} requests on one backend connection`;
  const head = conn.requests[0];
  if (head === undefined) return complete ? 'no complete request upstream' : undefined;
  const headEnd = bytes.indexOf('\r\n\r\n') + 4;
  if (!serializeRequestHead(head.method, head.target, head.headers).equals(bytes.subarray(0, headEnd))) return 'head not re-serialised';
  const lengths = getHeaders(head.headers, 'content-length');
  const codings = getHeaders(head.headers, 'transfer-encoding');
  if (lengths.length + codings.length > 1 || (codings.length === 1 && codings[0] !== 'chunked')) return 'framing fields not Stickler\'s own';
  const body = bytes.subarray(headEnd);
  const framing = head.framing;
  if (framing.kind === 'none' && body.length > 0) return 'bytes after a request without a body';
  if (framing.kind === 'length' && body.length !== framing.length) return `body of ${body.length} bytes under Content-Length ${framing.length}`;
  if (framing.kind === 'chunked' && !isOwnChunking(body)) return 'chunked body not in Stickler\'s encoding';
  return undefined;
}

/** Lower-case hex sizes without leading zeros or extensions, then the last chunk and canonical trailer lines. */
function isOwnChunking(body: Buffer): boolean {
  let pos = 0;
  for (;;) {
    const line = /^(0|[1-9a-f][0-9a-f]*)\r\n/.exec(body.toString('latin1', pos, pos + 20));
    if (line === null) return false;
    const size = parseInt(line[1]!, 16);
    pos += line[0].length;
    if (size === 0) return /^(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [^\r\n]*\r\n)*\r\n$/.test(body.toString('latin1', pos));
    pos += size;
    if (body.toString('latin1', pos, pos + 2) !== '\r\n') return false;
    pos += 2;
  }
}

function describe(raw: Buffer): string {
  const text = JSON.stringify(raw.toString('latin1'));
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** The three columns: per class, how many cases each front refused (nothing upstream) or forwarded. */
function summary(cases: SmugglingCase[], results: Observed[][]): string {
  const classes = [...new Set(cases.map((c) => c.klass))];
  const cell = (front: number, pick: (i: number) => boolean): string => {
    let refused = 0;
    let passed = 0;
    cases.forEach((_, i) => {
      if (!pick(i)) return;
      if (forwarded(results[front]![i]!) === 0) refused++;
      else passed++;
    });
    return `${refused}/${passed}`.padStart(12);
  };
  const row = (label: string, pick: (i: number) => boolean): string =>
    `${label.padEnd(16)}${String(cases.filter((_, i) => pick(i)).length).padStart(6)}${fronts.map((_, f) => cell(f, pick)).join('')}`;
  return [
    `${'class'.padEnd(16)}${'cases'.padStart(6)}${fronts.map((f) => f.name.padStart(12)).join('')}   (refused: nothing reached the backend)`,
    ...classes.map((k) => row(k, (i) => cases[i]!.klass === k)),
    row('total', () => true),
  ].join('\n');
}

test('the smuggling corpus: Stickler refuses what nginx or HAProxy refuse, forwards nothing it refuses, re-serialises the rest', async () => {
  const cases = loadCorpus();
  assert.ok(cases.length >= 500, `the corpus has ${cases.length} cases; at least 500 are expected`);
  const raws = cases.map((c) => c.raw);
  const results = await Promise.all(fronts.map((f) => runAll(f, raws, false, CASE_TIMEOUT_MS)));
  console.log(`\nSmuggling corpus, ${cases.length} cases, refused/forwarded per front:\n${summary(cases, results)}\n`);

  const [ours, nginx, haproxy] = results as [Observed[], Observed[], Observed[]];
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const o = ours[i]!;
    const fail = (what: string): void => void failures.push(`${c.id} [${c.klass}] ${what}: ${describe(c.raw)}`);
    const statuses = o.answers.map((a) => a.status);
    if (statuses.join() !== c.expect.join()) {
      fail(`Stickler answered ${statuses.join() || 'nothing'}${o.malformed ? ` (${o.malformed})` : ''}, expected ${c.expect.join()}`);
    }
    const fromBackend = o.answers.filter((a) => a.fromBackend).length;
    const upstreamRequests = o.upstream.reduce((n, conn) => n + conn.requests.length, 0);
    if (upstreamRequests !== fromBackend) fail(`${upstreamRequests} requests reached the backend, ${fromBackend} answers came from it`);
    if (fromBackend === 0 && recordedBytes(o.upstream).length > 0) fail('refused, yet bytes reached the backend');
    for (const conn of o.upstream) {
      const problem = notReserialised(conn, fromBackend > 0);
      if (problem !== undefined) fail(problem);
    }
    const others = [['nginx', nginx[i]!], ['HAProxy', haproxy[i]!]] as const;
    for (const [name, other] of others) {
      if (forwarded(o) > forwarded(other)) fail(`Stickler forwarded ${forwarded(o)} request(s), ${name} ${forwarded(other)}`);
    }
  });
  assert.deepEqual(internalErrors, []);
  assert.deepEqual(failures.slice(0, 40), [], `${failures.length} failures`);
});

// ---- the fuzzer ------------------------------------------------------------------------------------------------

/** xorshift32: a seeded PRNG, so a failing edit can be replayed. */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const FUZZ_SEED = 0x5eed7;
const FUZZ_CASES = 3000;

const fuzzBases = [
  'GET /a?b=c HTTP/1.1\r\nHost: localhost\r\nCookie: JSESSIONID=x.n1\r\n\r\n',
  'POST /p HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello',
  'POST /p HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n',
  'PUT /x HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc',
  'GET http://localhost/x HTTP/1.1\r\nHost: localhost\r\n\r\n',
];

/** Bytes and fragments that sit on parser decisions: separators, line ends, framing words, numbers. */
const fuzzInserts = ['\r\n', '\r', '\n', ' ', '\t', '\x00', ',', ':', ';', '0', 'chunked', 'Content-Length: 3\r\n',
  'Transfer-Encoding: chunked\r\n', '\r\n\r\n', '0\r\n\r\n', '-1', 'ffffffffffffffff', 'HTTP/1.0', 'GET / HTTP/1.1\r\n', '\x7f', '\xff'];

function fuzzCase(rand: () => number): Buffer {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  // A third are pipelined pairs: framing errors show as a second request the client never asked for.
  const input = rand() < 0.33 ? pick(fuzzBases) + pick(fuzzBases) : pick(fuzzBases);
  const bytes = [...Buffer.from(input, 'latin1')];
  for (let edits = 1 + Math.floor(rand() * 3); edits > 0; edits--) {
    const at = Math.floor(rand() * (bytes.length + 1));
    switch (Math.floor(rand() * 5)) {
      case 0:
        bytes.splice(at, 1 + Math.floor(rand() * 4));
        break;
      case 1:
        bytes.splice(at, 0, ...Buffer.from(pick(fuzzInserts), 'latin1'));
        break;
      case 2:
        bytes[at] = Math.floor(rand() * 256);
        break;
      case 3:
        bytes.splice(at, Math.floor(rand() * 6), ...Buffer.from(pick(fuzzInserts), 'latin1'));
        break;
      default:
        // Swap two bytes: moves a CR, a colon or a digit across a boundary.
        [bytes[at], bytes[at - 1]] = [bytes[at - 1]!, bytes[at]!];
    }
  }
  return Buffer.from(bytes.filter((b) => b !== undefined));
}

test(`mutation fuzzer: ${FUZZ_CASES} edited requests, no crash, no hang, the backend framed exactly what Stickler answered`, async () => {
  const rand = seeded(FUZZ_SEED);
  const raws = Array.from({ length: FUZZ_CASES }, () => fuzzCase(rand));
  // The client half-closes after writing, so Stickler must settle every case, complete or cut, by itself.
  const results = await runAll(fronts[0]!, raws, true, 5_000);
  const failures: string[] = [];
  results.forEach((o, i) => {
    const fail = (what: string): void => void failures.push(`fuzz case ${i} (seed ${FUZZ_SEED}) ${what}: ${describe(raws[i]!)}`);
    if (o.timedOut) fail('neither answered nor closed within 5 s');
    if (o.malformed !== undefined) fail(`Stickler's answer is not valid HTTP/1.1 (${o.malformed})`);
    const fromBackend = o.answers.filter((a) => a.fromBackend).length;
    const upstreamRequests = o.upstream.reduce((n, conn) => n + conn.requests.length, 0);
    if (upstreamRequests !== fromBackend) fail(`${upstreamRequests} requests reached the backend, the client got ${fromBackend} answers from it`);
    for (const conn of o.upstream) {
      const problem = notReserialised(conn, conn.requests.length > 0);
      if (problem !== undefined) fail(problem);
    }
  });
  const accepted = results.filter((o) => o.answers.some((a) => a.fromBackend)).length;
  console.log(`\nFuzzer: ${FUZZ_CASES} cases, ${accepted} reached the backend, ${FUZZ_CASES - accepted} refused\n`);
  assert.deepEqual(internalErrors, []);
  assert.deepEqual(failures.slice(0, 40), [], `${failures.length} failures`);
});
