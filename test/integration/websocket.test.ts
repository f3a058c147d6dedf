// WebSocket through Stickler: a route with `upgrade=websocket` switches protocols with the member the session's
// route picks, carries frames both ways, and closes each side when the other goes away; a route without it
// never forwards the Upgrade.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { member, startEngine } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { pollUntil } from '../support/wait.ts';
import { connectWebSocket, webSocketAccept, wsMember, type WebSocketMember } from '../support/websocket.ts';
import type { Stickler } from '../../src/server/server.ts';

let a: WebSocketMember;
let b: WebSocketMember;
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
  const ws = await connectWebSocket(port, '/ws/chat', 'JSESSIONID=xyz.b');
  assert.match(ws.head(), /^HTTP\/1\.1 101 /);
  assert.match(ws.head(), new RegExp(`Sec-WebSocket-Accept: ${webSocketAccept(ws.key).replace(/[+/]/g, '\\$&')}`, 'i'));
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
  const first = await connectWebSocket(port, '/ws/x', 'JSESSIONID=xyz.a');
  await pollUntil(async () => first.frames.length >= 1, { timeoutMs: 5_000, what: 'the greeting' });
  a.sockets.at(-1)!.destroy();
  await pollUntil(async () => first.closed(), { timeoutMs: 5_000, what: 'the client side closing' });

  const second = await connectWebSocket(port, '/ws/y', 'JSESSIONID=xyz.a');
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
  const ws = await connectWebSocket(port, '/plain', 'JSESSIONID=xyz.a');
  // Had Upgrade been forwarded, the member would have switched protocols (101) instead of answering 200.
  assert.match(ws.head(), /^HTTP\/1\.1 200 /);
  assert.equal(a.upgrades.length, upgradesBefore);
  ws.destroy();
});
