// WebSocket through Stickler: a route with `upgrade=websocket` switches protocols with the member the session's
// route picks, carries frames both ways, and closes each side when the other goes away; a route without it
// never forwards the Upgrade.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { localCertificate, member, startEngine } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { pollUntil } from '../support/wait.ts';
import type { Stickler } from '../../src/server/server.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const accept = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

/** One unmasked server frame, or a masked client frame: text opcode 1, close opcode 8. Payloads < 126 bytes. */
function frame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const mask = masked ? randomBytes(4) : undefined;
  const body = mask ? payload.map((b, i) => b ^ mask[i % 4]!) : payload;
  return Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]), mask ?? Buffer.alloc(0), body]);
}

function parseFrame(data: Buffer): { opcode: number; payload: Buffer } {
  const masked = (data[1]! & 0x80) !== 0;
  const length = data[1]! & 0x7f;
  const mask = masked ? data.subarray(2, 6) : undefined;
  const start = masked ? 6 : 2;
  const payload = Buffer.from(data.subarray(start, start + length));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return { opcode: data[0]! & 0x0f, payload };
}

interface Member {
  server: https.Server;
  url: string;
  upgrades: string[];
  sockets: Socket[];
}

async function wsMember(name: string): Promise<Member> {
  const { certFile, keyFile } = localCertificate();
  const m: Member = { server: undefined as unknown as https.Server, url: '', upgrades: [], sockets: [] };
  m.server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
    res.end(`${name} plain ${req.headers.upgrade ?? '-'}`);
  });
  m.server.on('upgrade', (req, socket: Socket) => {
    m.upgrades.push(`${req.headers.upgrade} ${req.headers.connection}`);
    m.sockets.push(socket);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
    );
    // Say who we are first, then echo every text frame back, prefixed.
    socket.write(frame(1, Buffer.from(`hello from ${name}`), false));
    socket.on('data', (data: Buffer) => {
      const { opcode, payload } = parseFrame(data);
      if (opcode === 1) socket.write(frame(1, Buffer.from(`${name} echo: ${payload}`), false));
      if (opcode === 8) socket.end(frame(8, Buffer.alloc(0), false));
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => m.server.listen(0, '127.0.0.1', resolve));
  m.url = `https://127.0.0.1:${(m.server.address() as AddressInfo).port}`;
  return m;
}

/** A WebSocket client over raw TLS: the handshake, then frames as they arrive. */
async function connect(port: number, path: string, cookie?: string) {
  const key = randomBytes(16).toString('base64');
  const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  let buffer = Buffer.alloc(0);
  const frames: Array<{ opcode: number; payload: string }> = [];
  let head = '';
  let closed = false;
  socket.on('data', (d: Buffer) => {
    buffer = Buffer.concat([buffer, d]);
    if (!head) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = buffer.subarray(0, end).toString('latin1');
      buffer = buffer.subarray(end + 4);
    }
    while (buffer.length >= 2 && buffer.length >= 2 + (buffer[1]! & 0x7f)) {
      const f = parseFrame(buffer);
      frames.push({ opcode: f.opcode, payload: f.payload.toString() });
      buffer = buffer.subarray(2 + (buffer[1]! & 0x7f));
    }
  });
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${cookie ? `Cookie: ${cookie}\r\n` : ''}\r\n`,
  );
  await pollUntil(async () => head !== '' || closed, { timeoutMs: 5_000, what: 'the handshake answer' });
  return {
    head: () => head,
    key,
    frames,
    closed: () => closed,
    send: (text: string) => socket.write(frame(1, Buffer.from(text), true)),
    close: () => socket.write(frame(8, Buffer.alloc(0), true)),
    destroy: () => socket.destroy(),
  };
}

let a: Member;
let b: Member;
let stickler: Stickler;
let port: number;

before(async () => {
  a = await wsMember('a');
  b = await wsMember('b');
  port = await freePort();
  const source = { file: 'test', line: 1 };
  stickler = await startEngine(port, {
    members: [member(a.url, { route: 'a' }), member(b.url, { route: 'b' })],
    vhost: {
      routes: [
        { source, path: '/ws', target: { kind: 'balancer', balancer: 'cluster', path: '/ws', upgrade: ['websocket'] } },
        { source, path: '/', target: { kind: 'balancer', balancer: 'cluster', path: '/' } },
      ],
    },
  });
});

after(async () => {
  await stickler.close();
  a.server.close();
  b.server.close();
});

test('a WebSocket opens through Stickler on the session\'s member and carries frames both ways', async () => {
  const ws = await connect(port, '/ws/chat', 'JSESSIONID=xyz.b');
  assert.match(ws.head(), /^HTTP\/1\.1 101 /);
  assert.match(ws.head(), new RegExp(`Sec-WebSocket-Accept: ${accept(ws.key).replace(/[+/]/g, '\\$&')}`, 'i'));
  assert.match(ws.head(), /\r\nupgrade: websocket/i);
  await pollUntil(async () => ws.frames.length >= 1, { timeoutMs: 5_000, what: 'the greeting frame' });
  assert.equal(ws.frames[0]!.payload, 'hello from b');
  ws.send('ping 1');
  ws.send('ping 2');
  await pollUntil(async () => ws.frames.length >= 3, { timeoutMs: 5_000, what: 'the echoes' });
  assert.deepEqual(ws.frames.slice(1).map((f) => f.payload), ['b echo: ping 1', 'b echo: ping 2']);
  assert.equal(b.upgrades.at(-1), 'websocket Upgrade');
  ws.close();
  await pollUntil(async () => ws.closed(), { timeoutMs: 5_000, what: 'the connection closing after the close handshake' });
});

test('the member going away closes the client, and the client going away closes the member', async () => {
  const first = await connect(port, '/ws/x', 'JSESSIONID=xyz.a');
  await pollUntil(async () => first.frames.length >= 1, { timeoutMs: 5_000, what: 'the greeting' });
  a.sockets.at(-1)!.destroy();
  await pollUntil(async () => first.closed(), { timeoutMs: 5_000, what: 'the client side closing' });

  const second = await connect(port, '/ws/y', 'JSESSIONID=xyz.a');
  await pollUntil(async () => second.frames.length >= 1, { timeoutMs: 5_000, what: 'the greeting' });
  const memberSide = a.sockets.at(-1)!;
  let memberClosed = false;
  memberSide.on('close', () => (memberClosed = true));
  second.destroy();
  await pollUntil(async () => memberClosed, { timeoutMs: 5_000, what: 'the member side closing' });
  await pollUntil(async () => stickler.runtime.balancers.get('cluster')!.balancer.snapshot(Date.now())[0]!.busy === 0, {
    timeoutMs: 5_000,
    what: 'the busy count back to 0 once the tunnels are gone',
  });
});

test('a route without upgrade never forwards Upgrade: the member sees a plain request', async () => {
  const upgradesBefore = a.upgrades.length;
  const ws = await connect(port, '/plain', 'JSESSIONID=xyz.a');
  // Had Upgrade been forwarded, the member would have switched protocols (101) instead of answering 200.
  assert.match(ws.head(), /^HTTP\/1\.1 200 /);
  assert.equal(a.upgrades.length, upgradesBefore);
  ws.destroy();
});
