// A WebSocket peer on each side, enough for tests: a member that answers upgrades and echoes text frames, and
// a client over raw TLS. Frames are small (payloads under 126 bytes).
import type http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo, Socket } from 'node:net';
import { localCertificate } from './engine.ts';
import { pollUntil } from './wait.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const webSocketAccept = (key: string) => createHash('sha1').update(key + GUID).digest('base64');

/** One unmasked server frame, or a masked client frame: text opcode 1, close opcode 8. Payloads < 126 bytes. */
export function frame(opcode: number, payload: Buffer, masked: boolean): Buffer {
  const mask = masked ? randomBytes(4) : undefined;
  const body = mask ? payload.map((b, i) => b ^ mask[i % 4]!) : payload;
  return Buffer.concat([Buffer.from([0x80 | opcode, (masked ? 0x80 : 0) | payload.length]), mask ?? Buffer.alloc(0), body]);
}

export function parseFrame(data: Buffer): { opcode: number; payload: Buffer } {
  const masked = (data[1]! & 0x80) !== 0;
  const length = data[1]! & 0x7f;
  const mask = masked ? data.subarray(2, 6) : undefined;
  const start = masked ? 6 : 2;
  const payload = Buffer.from(data.subarray(start, start + length));
  if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
  return { opcode: data[0]! & 0x0f, payload };
}

export interface WebSocketMember {
  server: https.Server;
  url: string;
  upgrades: string[];
  sockets: Socket[];
}

/** An HTTPS member named `name`: plain requests get `handler` (by default "<name> plain <Upgrade or ->"). */
export async function wsMember(name: string, handler?: http.RequestListener): Promise<WebSocketMember> {
  const { certFile, keyFile } = localCertificate();
  const m: WebSocketMember = { server: undefined as unknown as https.Server, url: '', upgrades: [], sockets: [] };
  m.server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handler ?? ((req, res) => {
    res.end(`${name} plain ${req.headers.upgrade ?? '-'}`);
  }));
  m.server.on('upgrade', (req, socket: Socket) => {
    m.upgrades.push(`${req.headers.upgrade} ${req.headers.connection}`);
    m.sockets.push(socket);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${webSocketAccept(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
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
export async function connectWebSocket(port: number, path: string, cookie?: string) {
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
