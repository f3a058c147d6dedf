// Who the client is, as a member hears it: identity headers are replaced unless the peer is a trusted proxy
// (a deliberate departure from Apache, which appends to whatever the client sent).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaderList } from '../../src/http/head.ts';
import { forwardRequestHeaders, isTrustedProxy } from '../../src/proxy/forward.ts';
import { forwardContext as ctx } from '../support/fixtures.ts';


/** What a client claims about itself, in every spelling a member might believe. */
const CLAIMS: HeaderList = [
  ['X-Forwarded-For', '10.0.0.1'],
  ['x-forwarded-host', 'admin.internal'],
  ['X-FORWARDED-SERVER', 'trusted'],
  ['X-Forwarded-Proto', 'http'],
  ['X-Forwarded-Port', '80'],
  ['X-Forwarded-Client-Cert', 'Hash=abc;Subject="CN=admin"'],
  ['Forwarded', 'for=10.0.0.1;proto=https'],
  ['X-Real-IP', '10.0.0.1'],
  ['True-Client-IP', '10.0.0.1'],
  ['X-Client-IP', '10.0.0.1'],
  ['SSL_CLIENT_CERT', '-----BEGIN CERTIFICATE-----'],
  ['ssl_client_s_dn', 'CN=admin'],
  ['SSL-Client-Verify', 'SUCCESS'],
  ['X-SSL-Client-Verify', 'SUCCESS'],
  ['X-SSL-Cert', 'x'],
  ['Client-Cert', ':MIIB:'],
  ['Client-Cert-Chain', ':MIIB:'],
  ['X-Client-Cert', 'x'],
  ['X-Client-Verify', 'SUCCESS'],
  ['X-Client-DN', 'CN=admin'],
];

const OURS: HeaderList = [
  ['X-Forwarded-For', '203.0.113.7'],
  ['X-Forwarded-Host', 'login.example.com'],
  ['X-Forwarded-Server', 'proxy.example.com'],
  ['X-Forwarded-Proto', 'https'],
];

test('from a client that is not a trusted proxy, every identity header is replaced, never appended to', () => {
  const out = forwardRequestHeaders([['Accept', '*/*'], ...CLAIMS, ['User-Agent', 'curl']], ctx);
  assert.deepEqual(out, [['Host', 'node1.internal:9443'], ['Accept', '*/*'], ['User-Agent', 'curl'], ...OURS]);
});

test('without ProxyAddHeaders the claims are still dropped, and nothing is added', () => {
  assert.deepEqual(forwardRequestHeaders(CLAIMS, { ...ctx, addForwardedHeaders: false }), [['Host', 'node1.internal:9443']]);
});

test('names that merely resemble identity headers are kept', () => {
  const lookalikes: HeaderList = [['X-Forwarded', 'a'], ['X-Client', 'b'], ['X-Client-Id', 'c'], ['SSL', 'd'], ['Sslx', 'e'], ['Forwarded-For', 'f'], ['X-Real-IPv6', 'g']];
  assert.deepEqual(forwardRequestHeaders(lookalikes, { ...ctx, addForwardedHeaders: false }), [['Host', 'node1.internal:9443'], ...lookalikes]);
});

test('a trusted proxy\'s claims pass: Stickler appends to X-Forwarded-For/-Host/-Server and keeps its X-Forwarded-Proto', () => {
  const out = forwardRequestHeaders(CLAIMS, { ...ctx, scheme: 'http', trustedPeer: true });
  assert.deepEqual(out, [
    ['Host', 'node1.internal:9443'],
    ['X-Forwarded-For', '10.0.0.1, 203.0.113.7'],
    ['x-forwarded-host', 'admin.internal, login.example.com'],
    ['X-FORWARDED-SERVER', 'trusted, proxy.example.com'],
    ...CLAIMS.slice(3),
  ]);
  const noProto = forwardRequestHeaders([['X-Forwarded-For', '10.0.0.1']], { ...ctx, scheme: 'http', trustedPeer: true });
  assert.deepEqual(noProto.at(-1), ['X-Forwarded-Proto', 'http']);
});

test('trusted proxies: addresses and ranges, IPv4-mapped peers, nothing trusted by default', () => {
  const proxies = ['10.0.0.0/8', '192.168.1.5', '2001:db8::/32'];
  assert.equal(isTrustedProxy('10.20.30.40', proxies), true);
  assert.equal(isTrustedProxy('::ffff:10.1.1.1', proxies), true);
  assert.equal(isTrustedProxy('192.168.1.5', proxies), true);
  assert.equal(isTrustedProxy('192.168.1.6', proxies), false);
  assert.equal(isTrustedProxy('2001:db8::1', proxies), true);
  assert.equal(isTrustedProxy('2001:db9::1', proxies), false);
  assert.equal(isTrustedProxy('11.0.0.1', proxies), false);
  assert.equal(isTrustedProxy('not an address', proxies), false);
  assert.equal(isTrustedProxy('10.0.0.1', undefined), false);
  assert.equal(isTrustedProxy('10.0.0.1', []), false);
});
