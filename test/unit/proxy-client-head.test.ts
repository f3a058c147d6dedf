import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Framing, HeaderList, ResponseHead } from '../../src/http/head.ts';
import { clientResponseHead, switchedResponseHeaders } from '../../src/proxy/client-head.ts';
import type { ReverseContext } from '../../src/proxy/reverse.ts';
import { TEST_SOURCE as source } from '../support/fixtures.ts';

const reverse: ReverseContext = {
  rules: [{ source, path: '/shop/', url: 'https://node1:9443/' }],
  balancers: [],
  cookiePaths: [],
  cookieDomains: [],
  scheme: 'https',
  hostHeader: 'public.example',
};

function response(status: number, headers: HeaderList, framing: Framing): ResponseHead {
  return { minor: 1, status, reason: '', headers, framing, keepAlive: true };
}

test('a body framed by length keeps its length; any other framing streams, the member framing fields gone', () => {
  const length = clientResponseHead(response(200, [['Content-Length', '3'], ['Content-Type', 'text/plain']], { kind: 'length', length: 3 }), 'GET', reverse);
  assert.deepEqual(length, { headers: [['Content-Type', 'text/plain']], body: { kind: 'length', length: 3 } });
  for (const framing of [{ kind: 'chunked' }, { kind: 'close' }] as const) {
    const streamed = clientResponseHead(response(200, [['Transfer-Encoding', 'chunked'], ['Connection', 'close']], framing), 'GET', reverse);
    assert.deepEqual(streamed, { headers: [], body: { kind: 'stream' } });
  }
});

test('HEAD and 304 have no body but keep the length the member announced; 204 has neither', () => {
  const announced: HeaderList = [['Content-Length', '42'], ['ETag', '"x"']];
  assert.deepEqual(clientResponseHead(response(200, announced, { kind: 'none' }), 'HEAD', reverse), {
    headers: [['ETag', '"x"'], ['Content-Length', '42']],
    body: { kind: 'none' },
  });
  assert.deepEqual(clientResponseHead(response(304, announced, { kind: 'none' }), 'GET', reverse).body, { kind: 'none' });
  assert.deepEqual(clientResponseHead(response(304, announced, { kind: 'none' }), 'GET', reverse).headers, [['ETag', '"x"'], ['Content-Length', '42']]);
  assert.deepEqual(clientResponseHead(response(204, announced, { kind: 'none' }), 'GET', reverse), { headers: [['ETag', '"x"']], body: { kind: 'none' } });
  assert.deepEqual(clientResponseHead(response(200, [], { kind: 'none' }), 'HEAD', reverse).headers, []);
});

test('ProxyPassReverse applies to the response head', () => {
  const moved = clientResponseHead(response(302, [['Location', 'https://node1:9443/login']], { kind: 'length', length: 0 }), 'GET', reverse);
  assert.deepEqual(moved.headers, [['Location', 'https://public.example/shop/login']]);
});

test('a 101 carries the Upgrade the member switched to, else the one forwarded, after the rewritten headers', () => {
  const switched = response(101, [['Upgrade', 'WebSocket'], ['Connection', 'upgrade'], ['Sec-WebSocket-Accept', 'a'], ['Location', 'https://node1:9443/ws']], { kind: 'none' });
  assert.deepEqual(switchedResponseHeaders(switched, reverse, 'websocket'), [
    ['Sec-WebSocket-Accept', 'a'],
    ['Location', 'https://public.example/shop/ws'],
    ['Connection', 'Upgrade'],
    ['Upgrade', 'WebSocket'],
  ]);
  assert.deepEqual(switchedResponseHeaders(response(101, [], { kind: 'none' }), reverse, 'websocket'), [['Connection', 'Upgrade'], ['Upgrade', 'websocket']]);
});
