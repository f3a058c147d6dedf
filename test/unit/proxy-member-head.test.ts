import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Framing, HeaderList, RequestHead } from '../../src/http/head.ts';
import { HttpError } from '../../src/http/errors.ts';
import { memberRequestHead, type MemberHeadContext } from '../../src/proxy/member-head.ts';
import { forwardContext } from '../support/fixtures.ts';

const ctx: MemberHeadContext = { ...forwardContext, addForwardedHeaders: false, backendPath: '/cart?id=1', upgrade: undefined };

function request(method: string, headers: HeaderList, framing: Framing = { kind: 'none' }): RequestHead {
  return { method, target: '/shop/cart?id=1', minor: 1, headers, framing, keepAlive: true, expectContinue: false };
}

const text = (head: Buffer): string => head.toString('latin1');

test('the member gets the mapped target under its own path, the forwarded headers, no body framing for none', () => {
  const head = memberRequestHead(request('GET', [['Host', 'shop.example'], ['Accept', '*/*']]), { ...ctx, memberUrl: 'https://node1.internal:9443/app' });
  assert.equal(text(head), 'GET /app/cart?id=1 HTTP/1.1\r\nHost: node1.internal:9443\r\nAccept: */*\r\n\r\n');
});

test('the body is re-framed as the reader normalised it: the client framing fields never pass', () => {
  const length = request('POST', [['Content-Length', '012'], ['Expect', '100-continue']], { kind: 'length', length: 12 });
  assert.equal(text(memberRequestHead(length, ctx)), 'POST /cart?id=1 HTTP/1.1\r\nHost: node1.internal:9443\r\nContent-Length: 12\r\n\r\n');
  const chunked = request('PUT', [['Transfer-Encoding', 'gzip, chunked']], { kind: 'chunked' });
  assert.equal(text(memberRequestHead(chunked, ctx)), 'PUT /cart?id=1 HTTP/1.1\r\nHost: node1.internal:9443\r\nTransfer-Encoding: chunked\r\n\r\n');
});

test('an allowed Upgrade is forwarded with its Connection token, before the framing fields; none when not allowed', () => {
  const ws = request('GET', [['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Key', 'k']]);
  assert.equal(
    text(memberRequestHead(ws, { ...ctx, upgrade: 'websocket' })),
    'GET /cart?id=1 HTTP/1.1\r\nHost: node1.internal:9443\r\nSec-WebSocket-Key: k\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
  );
  assert.equal(text(memberRequestHead(ws, ctx)), 'GET /cart?id=1 HTTP/1.1\r\nHost: node1.internal:9443\r\nSec-WebSocket-Key: k\r\n\r\n');
});

test('the forwarding rules apply: X-Forwarded-* for ProxyAddHeaders, the client Host under ProxyPreserveHost', () => {
  const head = memberRequestHead(request('GET', [['Host', 'shop.example']]), { ...ctx, addForwardedHeaders: true, preserveHost: true, hostHeader: 'shop.example' });
  assert.match(text(head), /^GET \/cart\?id=1 HTTP\/1\.1\r\nHost: shop\.example\r\nX-Forwarded-For: 203\.0\.113\.7\r\n/);
});

test('a target that cannot be sent as it is is refused with 500, not written', () => {
  assert.throws(() => memberRequestHead(request('GET', []), { ...ctx, backendPath: '/a b' }), (err: unknown) => err instanceof HttpError && err.status === 500);
});
