// Differential test against Node's llhttp (through node:http, strict mode): for every corpus case Stickler must
// never accept what llhttp rejects. Cases where Stickler is the stricter one are printed as a table; that is
// by design (see edge-security-research.md §1.2, "our bar").

import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { requestCases } from '../fixtures/http/requests.ts';
import { readAll } from '../fixtures/http/verdict.ts';

interface LlhttpVerdict {
  accepted: boolean;
  detail: string;
}

/** Per-case observations of the server; reset before each case, since cases run one at a time. */
let completed = 0;
let failure = '';

const server = http.createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
  req.on('error', (err) => (failure ||= `request error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  req.on('end', () => {
    completed++;
    res.end('ok');
  });
  req.resume();
});
server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
  failure ||= err.code ?? err.message;
  socket.destroy();
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function llhttp(raw: string): Promise<LlhttpVerdict> {
  completed = 0;
  failure = '';
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.resume();
  const closed = new Promise<string>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, 2000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve('closed');
    });
    socket.on('error', () => undefined);
  });
  socket.end(Buffer.from(raw, 'latin1'));
  const how = await closed;
  await new Promise((resolve) => setImmediate(resolve));
  if (failure !== '') return { accepted: false, detail: failure };
  if (how === 'timeout') return { accepted: false, detail: 'timeout' };
  return { accepted: completed > 0, detail: `${completed} request(s)` };
}

test('the harness sees llhttp accept and reject', async () => {
  assert.equal((await llhttp('GET / HTTP/1.1\r\nHost: a\r\n\r\n')).accepted, true);
  assert.equal((await llhttp('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab')).accepted, false);
  assert.equal((await llhttp('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc\r\n0\r\n\r\n')).accepted, false);
});

test('Stickler never accepts a request llhttp rejects', async () => {
  const stricter: string[] = [];
  const violations: string[] = [];
  for (const c of requestCases) {
    const theirs = await llhttp(c.raw);
    const ours = readAll([Buffer.from(c.raw, 'latin1')]);
    if (ours.outcome === 'accept' && !theirs.accepted) violations.push(`${c.name}: llhttp ${theirs.detail}`);
    if (ours.outcome !== 'accept' && theirs.accepted) stricter.push(`| ${c.name} | ${ours.outcome} ${ours.code} | ${theirs.detail} |`);
  }
  console.log(`Stickler rejects, llhttp accepts (${stricter.length} of ${requestCases.length}):\n| case | Stickler | llhttp |\n|---|---|---|\n${stricter.join('\n')}`);
  assert.deepEqual(violations, []);
});
