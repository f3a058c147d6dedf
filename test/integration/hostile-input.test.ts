// Bad input of every kind never takes the process down: the real CLI process takes a few thousand mutated,
// truncated and garbage requests, and stray member answers (bytes after a response, and a response nobody asked
// for on an idle connection), then must still serve, never hand a stray answer to a client, and must not have
// logged any internal error (its last-resort handler prints one and keeps running). The inputs come from a seed,
// printed with every run: HOSTILE_SEED=<seed> replays them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { startStickler } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';

/** Small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const valid = [
  'GET /a;jsessionid=X.n1?x=1 HTTP/1.1\r\nHost: localhost\r\nCookie: JSESSIONID=abc.n1\r\n\r\n',
  'POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello',
  'POST /up HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n',
  'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n',
];

function mutate(rand: () => number, input: string): Buffer {
  const bytes = [...Buffer.from(input, 'latin1')];
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    const kind = Math.floor(rand() * 5);
    const byte = [0, 9, 10, 13, 32, 44, 58, 59, 0x7f, 0xff, 48, 70][Math.floor(rand() * 12)]!;
    if (kind === 0) bytes.splice(at, 1);
    else if (kind === 1) bytes.splice(at, 0, byte);
    else if (kind === 2) bytes[at] = byte;
    else if (kind === 3) bytes.splice(at, Math.floor(rand() * 8), ...Buffer.from(['\r\n', 'chunked', '-1', 'ffffffffffffffff', ' '][Math.floor(rand() * 5)]!));
    else bytes.length = at;
  }
  return Buffer.from(bytes);
}

/** One hostile request: its bytes, where they are split in two writes, and whether the client then vanishes. */
interface Input {
  data: Buffer;
  cut: number;
  vanish: boolean;
}

/** Every input is drawn up front, in order: the sends interleave by timing, and must not draw from the PRNG. */
function inputs(seed: number, count: number): Input[] {
  const rand = prng(seed);
  const garbage = () => Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)));
  return Array.from({ length: count }, (_, i) => {
    const data = rand() < 0.1 ? garbage() : mutate(rand, valid[i % valid.length]!);
    // Sometimes in pieces, sometimes closed early: both must be harmless.
    return { data, cut: Math.floor(rand() * data.length), vanish: rand() < 0.2 };
  });
}

function send(port: number, { data, cut, vanish }: Input): Promise<void> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      socket.write(data.subarray(0, cut));
      setImmediate(() => {
        if (vanish) socket.destroy();
        else socket.end(data.subarray(cut));
      });
    });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 2_000);
    socket.on('data', () => {});
    socket.on('error', done);
    socket.on('close', done);
  });
}

/** A whole response, which a member that talks out of turn sends where no request asked for one. */
const STRAY = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstray';

test('thousands of hostile requests and stray member answers: no crash, no internal error, still serving', async (t) => {
  const seed = Number(process.env.HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 32));
  t.diagnostic(`seed ${seed}: HOSTILE_SEED=${seed} replays these inputs`);
  const { certFile, keyFile } = localCertificate();
  /** By request path: whether Stickler has closed the member connection that sent a stray answer after it. */
  const strays = new Map<string, boolean>();
  const stray = (path: string, socket: Socket, bytes: string) => {
    strays.set(path, false);
    socket.once('close', () => strays.set(path, true));
    socket.write(bytes);
  };
  // A long keep-alive: the member must not be the one that closes a connection Stickler should have dropped.
  const backend = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      // In the answer's own write, as bytes past its end (the response is left unended: those bytes were it).
      if (req.url === '/stray-behind') return stray(req.url, req.socket, `HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok${STRAY}`);
      res.end('ok');
      // Later, on what is by then an idle pooled connection.
      if (req.url === '/stray-idle') setTimeout(() => stray('/stray-idle', req.socket, STRAY), 100);
    });
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'stickler-hostile-'));
  writeFileSync(join(dir, 'stickler.yaml'), yamlConfig(port, [{ url: `https://127.0.0.1:${(backend.address() as AddressInfo).port}`, route: 'n1' }]));
  const stickler = await startStickler(join(dir, 'stickler.yaml')).catch((err: unknown) => {
    backend.close();
    throw err;
  });
  try {
    const hostile = inputs(seed, 2000);
    for (let i = 0; i < hostile.length; i += 50) await Promise.all(hostile.slice(i, i + 50).map((input) => send(port, input)));
    for (const path of ['/stray-behind', '/stray-idle']) {
      const answer = await request(`https://127.0.0.1:${port}${path}`);
      assert.deepEqual([answer.status, answer.body], [200, 'ok'], `${path}: the answer itself is whole`);
      await pollUntil(async () => strays.get(path) === true, {
        timeoutMs: 10_000,
        what: `${path}: Stickler to drop the member connection that talked out of turn`,
      });
    }
    for (let i = 0; i < 10; i++) {
      const ok = await request(`https://127.0.0.1:${port}/after`);
      assert.deepEqual([ok.status, ok.body], [200, 'ok'], `still serving after the inputs of seed ${seed}, and no stray answer reaches a client`);
    }
    assert.doesNotMatch(stickler.stderr(), /internal error/, `seed ${seed}`);
  } finally {
    await stickler.stop();
    backend.close();
  }
});
