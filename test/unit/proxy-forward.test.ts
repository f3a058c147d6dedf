import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderList } from '../../src/http/head.ts';
import { forwardRequestHeaders } from '../../src/proxy/forward.ts';
import { forwardContext as ctx } from '../support/fixtures.ts';


function hostFor(memberUrl: string): string | undefined {
  return forwardRequestHeaders([], { ...ctx, memberUrl }).find(([n]) => n === 'Host')?.[1];
}

test('the full picture: Host first, client headers in order, X-Forwarded-* appended', () => {
  const headers: HeaderList = [
    ['Host', 'login.example.com'],
    ['User-Agent', 'curl'],
    ['Accept', '*/*'],
    ['Cookie', 'JSESSIONID=abc.node1'],
  ];
  assert.deepEqual(forwardRequestHeaders(headers, ctx), [
    ['Host', 'node1.internal:9443'],
    ['User-Agent', 'curl'],
    ['Accept', '*/*'],
    ['Cookie', 'JSESSIONID=abc.node1'],
    ['X-Forwarded-For', '203.0.113.7'],
    ['X-Forwarded-Host', 'login.example.com'],
    ['X-Forwarded-Server', 'proxy.example.com'],
    ['X-Forwarded-Proto', 'https'],
  ]);
});

test('hop-by-hop and framing headers are dropped', () => {
  const headers: HeaderList = [
    ['Connection', 'keep-alive'],
    ['Keep-Alive', 'timeout=5'],
    ['Proxy-Connection', 'keep-alive'],
    ['TE', 'trailers'],
    ['Trailer', 'X-Checksum'],
    ['Transfer-Encoding', 'chunked'],
    ['Upgrade', 'websocket'],
    ['Content-Length', '10'],
    ['Expect', '100-continue'],
    ['Content-Type', 'text/plain'],
  ];
  const out = forwardRequestHeaders(headers, { ...ctx, addForwardedHeaders: false });
  assert.deepEqual(out, [['Host', 'node1.internal:9443'], ['Content-Type', 'text/plain']]);
});

test('headers named in Connection are dropped, case-insensitively, across several Connection lines', () => {
  const headers: HeaderList = [
    ['connection', 'close, X-Secret , ,x-other'],
    ['CONNECTION', 'Authorization'],
    ['x-secret', '1'],
    ['X-Other', '2'],
    ['Authorization', 'Basic x'],
    ['X-Kept', '3'],
  ];
  const out = forwardRequestHeaders(headers, { ...ctx, addForwardedHeaders: false });
  assert.deepEqual(out, [['Host', 'node1.internal:9443'], ['X-Kept', '3']]);
});

test('Connection naming X-Forwarded-For cannot suppress ours (CVE-2022-31813)', () => {
  const headers: HeaderList = [['Connection', 'X-Forwarded-For, X-Forwarded-Host'], ['X-Forwarded-For', '10.0.0.1']];
  const out = forwardRequestHeaders(headers, ctx);
  assert.deepEqual(out.filter(([n]) => n.startsWith('X-Forwarded-For')), [['X-Forwarded-For', '203.0.113.7']]);
  assert.ok(out.some(([n, v]) => n === 'X-Forwarded-Host' && v === 'login.example.com'));
});

test('a trusted proxy\'s X-Forwarded-* values are merged Apache-style, in place, all occurrences folded', () => {
  const headers: HeaderList = [
    ['x-forwarded-for', '198.51.100.1'],
    ['Accept', '*/*'],
    ['X-Forwarded-For', '198.51.100.2, 198.51.100.3'],
    ['X-Forwarded-Host', 'edge.example'],
    ['X-Forwarded-Server', ''],
  ];
  assert.deepEqual(forwardRequestHeaders(headers, { ...ctx, hostHeader: 'h:8443', trustedPeer: true }), [
    ['Host', 'node1.internal:9443'],
    ['x-forwarded-for', '198.51.100.1, 198.51.100.2, 198.51.100.3, 203.0.113.7'],
    ['Accept', '*/*'],
    ['X-Forwarded-Host', 'edge.example, h:8443'],
    ['X-Forwarded-Server', 'proxy.example.com'],
    ['X-Forwarded-Proto', 'https'],
  ]);
});

test('a client X-Forwarded-Proto is replaced, never merged', () => {
  const headers: HeaderList = [['X-Forwarded-Proto', 'https'], ['x-forwarded-proto', 'gopher']];
  const out = forwardRequestHeaders(headers, { ...ctx, scheme: 'http' });
  assert.deepEqual(out.filter(([n]) => n.toLowerCase() === 'x-forwarded-proto'), [['X-Forwarded-Proto', 'http']]);
});

test('ProxyAddHeaders Off adds nothing: a trusted proxy\'s values pass through, anyone else\'s are dropped', () => {
  const headers: HeaderList = [['X-Forwarded-For', '1.2.3.4'], ['X-Forwarded-Proto', 'https']];
  const off = { ...ctx, addForwardedHeaders: false };
  assert.deepEqual(forwardRequestHeaders(headers, { ...off, trustedPeer: true }), [['Host', 'node1.internal:9443'], ...headers]);
  assert.deepEqual(forwardRequestHeaders(headers, off), [['Host', 'node1.internal:9443']]);
});

test('empty Host and ServerName add no X-Forwarded-Host / -Server', () => {
  const out = forwardRequestHeaders([], { ...ctx, hostHeader: '', serverName: '' });
  assert.deepEqual(out.map(([n]) => n), ['Host', 'X-Forwarded-For', 'X-Forwarded-Proto']);
});

test('ProxyPreserveHost Off: member host, port left out when absent, 80 (any scheme) or the scheme default', () => {
  assert.equal(hostFor('https://node1:9443/app'), 'node1:9443');
  assert.equal(hostFor('http://node1:8080'), 'node1:8080');
  assert.equal(hostFor('http://node1'), 'node1');
  assert.equal(hostFor('http://node1:80'), 'node1');
  assert.equal(hostFor('https://node1:80'), 'node1');
  assert.equal(hostFor('https://node1:443'), 'node1');
  assert.equal(hostFor('http://node1:443'), 'node1:443');
  assert.equal(hostFor('HTTP://Node1.Internal:8080'), 'node1.internal:8080');
  assert.equal(hostFor('http://[::1]:8080'), '[::1]:8080');
  assert.equal(hostFor('http://[::1]:80/'), '[::1]');
  assert.equal(hostFor('http://user:pw@node1:8080'), 'node1:8080');
});

test('the client Host never reaches the member when Host is rebuilt', () => {
  const out = forwardRequestHeaders([['host', 'evil.example'], ['HOST', 'evil2.example']], ctx);
  assert.deepEqual(out.filter(([n]) => n.toLowerCase() === 'host'), [['Host', 'node1.internal:9443']]);
});

test('ProxyPreserveHost On sends the client Host, with its port', () => {
  const out = forwardRequestHeaders([['Host', 'login.example.com:8443']], { ...ctx, preserveHost: true, hostHeader: 'login.example.com:8443' });
  assert.deepEqual(out[0], ['Host', 'login.example.com:8443']);
  assert.equal(out.filter(([n]) => n.toLowerCase() === 'host').length, 1);
});

test('ProxyPreserveHost On without a client Host falls back to the ServerName, then the member', () => {
  assert.deepEqual(forwardRequestHeaders([], { ...ctx, preserveHost: true, hostHeader: '' })[0], ['Host', 'proxy.example.com']);
  const bare = { ...ctx, preserveHost: true, hostHeader: '', serverName: '' };
  assert.deepEqual(forwardRequestHeaders([], bare)[0], ['Host', 'node1.internal:9443']);
});

test('the input list is not modified', () => {
  const headers: HeaderList = [['X-Forwarded-For', '1.1.1.1'], ['Connection', 'close']];
  const copy = structuredClone(headers);
  forwardRequestHeaders(headers, ctx);
  assert.deepEqual(headers, copy);
});

test('header names that look like object keys are ordinary names', () => {
  const headers: HeaderList = [['__proto__', 'x'], ['constructor', 'y'], ['Connection', '__proto__']];
  const out = forwardRequestHeaders(headers, { ...ctx, addForwardedHeaders: false });
  assert.deepEqual(out, [['Host', 'node1.internal:9443'], ['constructor', 'y']]);
});
