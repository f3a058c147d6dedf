// `npm run bench:stalled`: what a client that asks for a large response and never reads it costs Stickler, over
// HTTP/1.1 and HTTP/2. One member answers 1 MiB to every GET; clients open connections, send their requests and
// read nothing (HTTP/1.1: a TLS socket paused after its request; HTTP/2: sessions whose SETTINGS give every stream
// a flow-control window of 0, so not one byte of body may be sent). Stickler's resident memory and heap are sampled
// before and while they are stalled, after a garbage collection, then after the clients close, and the growth is
// divided by the connections and streams held. Stickler runs in a child process of its own (this file, role
// `serve`), so its figures are not the clients' or the member's, and answers samples over IPC: its heap cannot be
// read from outside. What the kernel holds in the sockets' queues for Stickler is read from /proc/net/tcp: a stalled
// client's response may sit there rather than in Stickler. Its send timeout (and keep-alive timeout) are 60 s, longer
// than a phase, so the clients stay stalled while sampled.
// The whole run stops by itself within two minutes.

import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { member, startEngine } from '../test/support/engine.ts';
import { freePort } from '../test/support/ports.ts';
import { fmt, renderTable } from './report.ts';

const PATH = '/1mib.bin';
const BODY = Buffer.alloc(1024 * 1024, 'x');
/** Stickler's send timeout (and its default): longer than any phase, so no stalled client is reset while sampled. */
const SEND_TIMEOUT_MS = 60_000;
/** HTTP/2 streams per connection in the streams phase: the default `client.max-streams`, the most a client may open. */
const STREAM_CAP = 100;
const PHASES: Phase[] = [
  { name: 'HTTP/1.1', protocol: 'h1', connections: 500, streams: 1 },
  { name: 'HTTP/2, 1 stream each', protocol: 'h2', connections: 500, streams: 1 },
  { name: `HTTP/2, ${STREAM_CAP} streams each`, protocol: 'h2', connections: 20, streams: STREAM_CAP },
];
/** Each phase runs first at this share of its size, so that compiled code, pools and buffers are warm for the figures. */
const WARMUP_SHARE = 1 / 25;
/** Connections opened at once, so that Stickler's accept queue is not flooded. */
const OPEN_PARALLEL = 50;
const OPEN_TIMEOUT_MS = 20_000;
/** How long Stickler may take to have every stalled request in flight at its member, and to drop them all. */
const SETTLE_TIMEOUT_MS = 10_000;
/** Requests in flight unchanged this long: the others were answered whole into the sockets' buffers. */
const STABLE_MS = 1_000;
/** Lets Stickler read from its member what it will buffer before the sample. */
const FILL_MS = 1_000;
const POLL_MS = 100;
const RUN_LIMIT_MS = 115_000;

interface Phase {
  name: string;
  protocol: 'h1' | 'h2';
  connections: number;
  /** Requests per connection (HTTP/1.1: always 1). */
  streams: number;
}

/** What Stickler's process reports of itself, in bytes, after a full garbage collection. */
interface Sample {
  rss: number;
  heapUsed: number;
  /** Memory outside the JS heap held by JS objects: Buffers, TLS and nghttp2 allocations reported to V8. */
  external: number;
  /** Proxied requests in flight: the stalled exchanges still holding their member request. */
  inFlight: number;
}

/** Bytes the kernel holds for Stickler's sockets (/proc/net/tcp), which its RSS does not show. */
interface KernelQueues {
  /** Sent by Stickler to its clients and not yet taken by them. */
  toClients: number;
  /** Sent by the member to Stickler and not yet read by it. */
  fromMember: number;
}

/** The local and remote ports and the send and receive queues of each line of a /proc/net/tcp text. */
function tcpQueues(text: string): Array<{ local: number; remote: number; tx: number; rx: number }> {
  return text.split('\n').slice(1).filter((line) => line.trim() !== '').map((line) => {
    const [, local = '', remote = '', , queues = ''] = line.trim().split(/\s+/);
    const [tx = '', rx = ''] = queues.split(':');
    const port = (address: string) => parseInt(address.split(':')[1] ?? '', 16);
    return { local: port(local), remote: port(remote), tx: parseInt(tx, 16), rx: parseInt(rx, 16) };
  });
}

async function kernelQueues(sticklerPort: number, memberPort: number): Promise<KernelQueues> {
  const sockets = tcpQueues(await readFile('/proc/net/tcp', 'utf8'));
  const sum = (picked: typeof sockets, field: 'tx' | 'rx') => picked.reduce((total, s) => total + s[field], 0);
  return { toClients: sum(sockets.filter((s) => s.local === sticklerPort), 'tx'), fromMember: sum(sockets.filter((s) => s.remote === memberPort), 'rx') };
}

interface Held {
  /** Connections whose requests were sent. */
  opened: number;
  /** Errors on the clients' side while open, with the first one's message. */
  errors: { count: number; first?: string };
  close(): void;
}

interface PhaseFigures {
  phase: Phase;
  opened: number;
  before: Sample;
  stalled: Sample;
  after: Sample;
  kernel: KernelQueues;
  /** From the clients' close to no request in flight, in ms; undefined when that did not happen in time. */
  releasedMs: number | undefined;
  clientErrors: Held['errors'];
}

// --- Stickler's side ---------------------------------------------------------------------------------------

async function serve(memberPort: number): Promise<void> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('serve needs --expose-gc');
  const port = await freePort();
  const stickler = await startEngine(port, {
    members: [member(`http://127.0.0.1:${memberPort}`)],
    client: { sendTimeout: SEND_TIMEOUT_MS },
    // An HTTP/1.1 connection whose response was all handed to the kernel is idle: it must not be closed as such.
    keepAliveTimeout: SEND_TIMEOUT_MS,
  });
  process.on('message', () => {
    gc();
    const { rss, heapUsed, external } = process.memoryUsage();
    process.send!({ rss, heapUsed, external, inFlight: stickler.runtime.inFlight.size } satisfies Sample);
  });
  process.send!({ port });
  // The parent's exit closes the channel: nothing is left to serve.
  process.once('disconnect', () => process.exit(0));
}

// --- the clients' side -------------------------------------------------------------------------------------

function onMessage<T>(child: ChildProcess, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Stickler did not answer ${what} within ${timeoutMs} ms`)), timeoutMs);
    child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as T);
    });
  });
}

function sample(child: ChildProcess): Promise<Sample> {
  const answer = onMessage<Sample>(child, 5_000, 'a sample');
  child.send('sample');
  return answer;
}

/** Samples until `done` holds or `timeoutMs` passes; the last sample, and whether `done` held. */
async function sampleUntil(child: ChildProcess, done: (s: Sample) => boolean, timeoutMs: number): Promise<{ last: Sample; held: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await sample(child);
    if (done(last)) return { last, held: true };
    if (Date.now() >= deadline) return { last, held: false };
    await sleep(POLL_MS);
  }
}

function noteError(errors: Held['errors']): (err: Error) => void {
  return (err) => {
    errors.count++;
    errors.first ??= err.message;
  };
}

/** Opens `count` connections `OPEN_PARALLEL` at a time; `open` resolves once a connection's requests are sent. */
async function openAll<T>(count: number, open: () => Promise<T>): Promise<T[]> {
  const opened: T[] = [];
  for (let i = 0; i < count; i += OPEN_PARALLEL) {
    const batch = Array.from({ length: Math.min(OPEN_PARALLEL, count - i) }, open);
    opened.push(...(await Promise.all(batch)));
  }
  return opened;
}

function withTimeout<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${OPEN_TIMEOUT_MS} ms`)), OPEN_TIMEOUT_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

async function holdHttp1(port: number, connections: number): Promise<Held> {
  const errors: Held['errors'] = { count: 0 };
  const request = `GET ${PATH} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
  const sockets = await openAll(connections, () => new Promise<tls.TLSSocket>((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['http/1.1'], rejectUnauthorized: false }, () => {
      socket.write(request);
      // Never read: what Stickler sends piles up in the kernel's buffers, then in Stickler's, if it lets it.
      socket.pause();
      socket.off('error', reject).on('error', noteError(errors));
      resolve(socket);
    });
    socket.once('error', reject);
  }));
  return { opened: sockets.length, errors, close: () => sockets.forEach((s) => s.destroy()) };
}

async function holdHttp2(port: number, connections: number, streams: number): Promise<Held> {
  const errors: Held['errors'] = { count: 0 };
  const sessions = await openAll(connections, () => new Promise<http2.ClientHttp2Session>((resolve, reject) => {
    // A window of 0 for every stream: Stickler may send the response head but no byte of its body.
    const session = http2.connect(`https://127.0.0.1:${port}`, { servername: 'localhost', rejectUnauthorized: false, settings: { initialWindowSize: 0 } });
    session.once('error', reject);
    session.once('remoteSettings', () => {
      session.off('error', reject).on('error', noteError(errors));
      for (let i = 0; i < streams; i++) session.request({ ':path': PATH }).on('error', noteError(errors));
      resolve(session);
    });
  }));
  return { opened: sessions.length, errors, close: () => sessions.forEach((s) => s.destroy()) };
}

async function runPhase(child: ChildProcess, port: number, memberPort: number, phase: Phase): Promise<PhaseFigures> {
  const expected = phase.connections * phase.streams;
  const before = await sample(child);
  const held = await withTimeout(
    phase.protocol === 'h1' ? holdHttp1(port, phase.connections) : holdHttp2(port, phase.connections, phase.streams),
    `opening ${phase.connections} connections (${phase.name})`,
  );
  try {
    let last = -1;
    let since = Date.now();
    await sampleUntil(child, (s) => {
      if (s.inFlight !== last) [last, since] = [s.inFlight, Date.now()];
      return s.inFlight >= expected || Date.now() - since >= STABLE_MS;
    }, SETTLE_TIMEOUT_MS);
    await sleep(FILL_MS);
    const stalled = await sample(child);
    const kernel = await kernelQueues(port, memberPort);
    held.close();
    const closed = Date.now();
    const released = await sampleUntil(child, (s) => s.inFlight === 0, SETTLE_TIMEOUT_MS);
    const releasedMs = released.held ? Date.now() - closed : undefined;
    return { phase, opened: held.opened, before, stalled, after: await sample(child), kernel, releasedMs, clientErrors: held.errors };
  } finally {
    held.close();
  }
}

/** The member: 1 MiB to every request, over plain HTTP/1.1 so that its own cost stays small. */
async function startMember(): Promise<http.Server> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BODY.length });
    res.end(BODY);
  });
  // Stalled exchanges leave member requests open until the clients go; their sockets end with them.
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

const KIB = 1024;
const MIB = 1024 * 1024;

function report(figures: PhaseFigures[]): string {
  const rows = figures.map(({ phase, opened, before, stalled, after, kernel, releasedMs }) => {
    const streams = opened * phase.streams;
    const per = (field: keyof Omit<Sample, 'inFlight'>, count: number) => fmt((stalled[field] - before[field]) / KIB / count, 1);
    return [
      phase.name,
      String(opened),
      String(streams),
      String(stalled.inFlight),
      per('rss', opened),
      per('heapUsed', opened),
      per('external', opened),
      per('rss', streams),
      per('heapUsed', streams),
      per('external', streams),
      fmt(kernel.toClients / KIB / opened, 1),
      fmt(kernel.fromMember / KIB / streams, 1),
      releasedMs === undefined ? 'never' : String(releasedMs),
      fmt((after.rss - before.rss) / MIB, 1),
      fmt((after.heapUsed - before.heapUsed) / MIB, 1),
      fmt((after.external - before.external) / MIB, 1),
    ];
  });
  const header = ['phase', 'conns', 'streams', 'in flight', 'RSS/conn', 'heap/conn', 'external/conn', 'RSS/stream', 'heap/stream',
    'external/stream', 'kernel to client/conn', 'kernel from member/stream', 'close->0 ms', 'RSS left MiB', 'heap left MiB', 'external left MiB'];
  const lines = [renderTable(header, rows), '(KiB unless named; kernel: socket queues, outside the RSS)'];
  for (const f of figures) {
    if (f.clientErrors.count > 0) lines.push(`${f.phase.name}: ${f.clientErrors.count} client errors (first: ${f.clientErrors.first})`);
    if (f.stalled.inFlight < f.opened * f.phase.streams) {
      lines.push(`${f.phase.name}: ${f.stalled.inFlight} of ${f.opened * f.phase.streams} requests still in flight; the others' responses fit in the socket buffers`);
    }
  }
  return lines.join('\n');
}

/** One phase on a Stickler of its own, warmed by the same phase at a small size, so no phase inherits another's heap. */
async function measure(memberPort: number, phase: Phase): Promise<PhaseFigures> {
  const child = fork(fileURLToPath(import.meta.url), ['serve', String(memberPort)], { execArgv: [...process.execArgv, '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await onMessage<{ port: number }>(child, 20_000, 'that it listens');
    await runPhase(child, port, memberPort, { ...phase, connections: Math.ceil(phase.connections * WARMUP_SHARE) });
    return await runPhase(child, port, memberPort, phase);
  } finally {
    child.kill();
  }
}

async function main(): Promise<void> {
  // A Stickler child left behind exits with this process: its IPC channel closes.
  const watchdog = setTimeout(() => {
    console.error(`bench:stalled: still running after ${RUN_LIMIT_MS / 1000} s; stopped`);
    process.exit(1);
  }, RUN_LIMIT_MS);
  const memberServer = await startMember();
  try {
    const memberPort = (memberServer.address() as { port: number }).port;
    const figures: PhaseFigures[] = [];
    for (const phase of PHASES) {
      const started = Date.now();
      figures.push(await measure(memberPort, phase));
      console.log(`  ${phase.name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    console.log(`\n== Stalled clients: ${BODY.length / MIB} MiB responses never read; Stickler's memory after a GC ==\n${report(figures)}`);
  } finally {
    clearTimeout(watchdog);
    memberServer.closeAllConnections();
    memberServer.close();
  }
}

if (process.argv[2] === 'serve') await serve(Number(process.argv[3]));
else await main();
