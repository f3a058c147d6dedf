// Descriptor exhaustion is this process's trouble, not the members'. The Stickler CLI runs under `ulimit -n 64`
// (soft and hard, so nothing raises it again) and an attacker opens connections until Stickler closes new ones at
// once: the last descriptors are kept for the manager's own listener, which answers throughout; requests on the
// connections held get 503 with Retry-After, logged once for the burst; no member is put in error; and proxying
// resumes as soon as the attacker leaves, not after the members' 60 s retry.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManagerOverview } from '../../src/manager/model.ts';
import { rawRequest } from '../support/client.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { loadedBound, pollUntil, withTimeout } from '../support/wait.ts';

const LIMIT = 64;
const ATTACK = 120;
const scratch = mkdtempSync(join(tmpdir(), 'stickler-descriptors-'));
const members: http.Server[] = [];
let stickler: SticklerProcess;
let port: number;
let managerPort: number;

before(async () => {
  for (let i = 0; i < 2; i++) {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    members.push(server);
  }
  [port, managerPort] = [await freePort(), await freePort()];
  const file = join(scratch, 'stickler.yaml');
  // A max-connections of its own: without one, Stickler would size it to the limit and never run out.
  writeFileSync(file, `listeners:
  - host: 127.0.0.1
    port: ${port}
virtual-hosts:
  - port: ${port}
    routes:
      - path: /
        balancer: cluster
balancers:
  cluster:
    members:
${members.map((m, i) => `      - url: http://127.0.0.1:${(m.address() as net.AddressInfo).port}\n        route: m${i}`).join('\n')}
manager:
  port: ${managerPort}
client:
  max-connections: 20000
`);
  stickler = await startStickler(file, { descriptors: LIMIT });
});

after(async () => {
  await stickler?.stop();
  for (const m of members) m.close();
  rmSync(scratch, { recursive: true, force: true });
});

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`;

async function proxied(): Promise<string> {
  return (await rawRequest(port, GET('/'), { tls: false, timeoutMs: 5_000 })).text;
}

async function overview(): Promise<ManagerOverview> {
  const answer = await rawRequest(managerPort, GET('/balancer-manager/api/v1/balancers'), { tls: false, timeoutMs: 5_000 });
  assert.match(answer.text, /^HTTP\/1\.1 200 /, `the manager answers: ${answer.text.slice(0, 200)}`);
  return JSON.parse(answer.text.slice(answer.text.indexOf('\r\n\r\n') + 4)) as ManagerOverview;
}

function assertMembersHealthy(o: ManagerOverview, when: string): void {
  for (const m of o.balancers[0]!.members) {
    assert.equal(m.status.error, false, `${when}: ${m.url} is not in error`);
    assert.equal(m.failures, 0, `${when}: ${m.url} has no failure counted`);
  }
}

/** Opens `count` connections to the proxy port; resolves once each is connected or already closed. */
async function attack(count: number): Promise<{ open: net.Socket[]; closed: () => number }> {
  let closed = 0;
  const sockets = await Promise.all(Array.from({ length: count }, () => new Promise<net.Socket>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.once('close', () => {
      closed++;
      resolve(s);
    });
    s.once('connect', () => resolve(s));
  })));
  return { open: sockets, closed: () => closed };
}

/** One request on a held connection: its status line and Retry-After, or `closed` when Stickler had closed it. */
function requestOn(socket: net.Socket): Promise<string> {
  if (socket.destroyed || socket.readableEnded) return Promise.resolve('closed');
  return withTimeout(new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.includes('\r\n\r\n')) resolve(`${text.split('\r\n')[0]} ${/\r\nRetry-After: (\d+)/i.exec(text)?.[0]?.trim() ?? 'no Retry-After'}`);
    });
    socket.once('close', () => resolve(text === '' ? 'closed' : text.split('\r\n')[0]!));
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
  }), 10_000, 'an answer on a held connection');
}

test(`under ulimit -n ${LIMIT}: the manager answers, members stay out of error, service resumes when the attacker leaves`, async () => {
  const warning = new RegExp(`warning: the descriptor limit is ${LIMIT}, below the \\d+ that client.max-connections 20000 needs`);
  await pollUntil(async () => warning.test(stickler.stderr()), { timeoutMs: 5_000, what: 'the startup warning about the descriptor limit' });
  assert.match(await proxied(), /^HTTP\/1\.1 200 /, 'served before the attack');

  const { open, closed } = await attack(ATTACK);
  await pollUntil(async () => /out of descriptors: new connections are closed at once/.test(stickler.stderr()), {
    timeoutMs: 10_000, what: 'Stickler refusing connections past its reserve', diagnostics: () => stickler.stderr(),
  });
  await pollUntil(async () => closed() > 0, { timeoutMs: 5_000, what: 'the attack going past what Stickler holds' });
  assertMembersHealthy(await overview(), 'while the attacker holds every descriptor but the reserve');

  const answers = await Promise.all(open.map(requestOn));
  const served = answers.filter((a) => a !== 'closed');
  assert.ok(served.length > 0, `some attack connections were held: ${answers.join(', ')}`);
  for (const a of served) assert.match(a, /^HTTP\/1\.1 (200 OK|503 Service Unavailable Retry-After: 1)/, 'a request on a held connection is served or gets 503 with Retry-After');
  assert.ok(served.some((a) => a.includes(' 503 ')), `connects past the reserve answer 503: ${served.join(', ')}`);
  const logged = stickler.stderr().split('\n').filter((l) => l.includes('cannot connect to members, this process is out of resources'));
  assert.equal(logged.length, 1, `one line for the burst: ${logged.join('\n')}`);
  assertMembersHealthy(await overview(), 'after the 503s');

  for (const s of open) s.destroy();
  const left = Date.now();
  // Freeing a descriptor takes Stickler one read of the client's FIN; nothing waits for a member's retry (60 s).
  await pollUntil(async () => /^HTTP\/1\.1 200 /.test(await proxied()), {
    timeoutMs: loadedBound(1_000), intervalMs: 50, what: 'a proxied 200 after the attacker left', diagnostics: () => stickler.stderr(),
  });
  const resumed = Date.now() - left;
  assertMembersHealthy(await overview(), 'after the attack');
  process.stdout.write(`# service resumed ${resumed} ms after the attacker left\n`);
});
