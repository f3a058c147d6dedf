import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsFiles, VirtualHostConfig } from '../../src/config/model.ts';
import { globMatches, misdirected, requestVirtualHost, selectVirtualHost } from '../../src/proxy/vhost.ts';

let line = 0;
function vhost(port: number, serverName: string | undefined, aliases: string[] = [], tls?: Partial<TlsFiles>): VirtualHostConfig {
  const source = { file: 'test.conf', line: ++line };
  return {
    source, host: '*', port, serverName, serverAliases: aliases,
    tls: tls && { source, certificateFile: 'a.crt', keyFile: 'a.key', ...tls },
    backendTls: { enabled: true, verify: 'none', checkPeerName: false },
    preserveHost: false, addForwardedHeaders: true, routes: [], reverse: [], cookiePaths: [], cookieDomains: [],
    locations: [], proxyAccess: [],
  };
}

const first = vhost(443, 'login.example.com', ['sso.example.com']);
const wild = vhost(443, 'api.example.com', ['*.apps.example.com', 'node?.example.com']);
const other = vhost(8443, 'login.example.com');
const anyPort = vhost(0, 'any.example.com');
const vhosts = [first, wild, other, anyPort];

test('ServerName and ServerAlias select the vhost, case-insensitively, port and trailing dot stripped', () => {
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'api.example.com'), wild);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'API.Example.COM:443'), wild);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'api.example.com.'), wild);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'sso.example.com'), first);
});

test('wildcard aliases: * spans dots, ? is one character', () => {
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'x.apps.example.com'), wild);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'a.b.apps.example.com'), wild);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'node1.example.com'), wild);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'node12.example.com'), first);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'apps.example.com'), first);
});

test('no exact substring matching: evil-login.example.com is not login.example.com', () => {
  assert.equal(selectVirtualHost([wild, first], 443, undefined, 'evil-login.example.com'), wild);
});

test('unknown, empty or missing Host falls back to the first vhost for the port', () => {
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'unknown.example'), first);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, ''), first);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, '   '), first);
  assert.equal(selectVirtualHost(vhosts, 443, undefined, undefined), first);
  assert.equal(selectVirtualHost(vhosts, 8443, undefined, 'api.example.com'), other);
});

test('port 0 (<VirtualHost *>) serves every port, in configuration order', () => {
  assert.equal(selectVirtualHost(vhosts, 443, undefined, 'any.example.com'), anyPort);
  assert.equal(selectVirtualHost(vhosts, 9999, undefined, 'whatever'), anyPort);
  assert.equal(selectVirtualHost([other], 9999, undefined, 'login.example.com'), undefined);
  assert.equal(selectVirtualHost([], 443, 'a', 'b'), undefined);
});

test('Host wins over SNI; SNI is used when there is no Host', () => {
  assert.equal(selectVirtualHost(vhosts, 443, 'api.example.com', 'sso.example.com'), first);
  assert.equal(selectVirtualHost(vhosts, 443, 'api.example.com', undefined), wild);
  assert.equal(selectVirtualHost(vhosts, 443, 'api.example.com', ''), wild);
});

test('IPv6 literal hosts and ServerName written as a URL', () => {
  const v6 = vhost(443, '[::1]');
  const url = vhost(443, 'https://Secure.Example.com:443');
  assert.equal(selectVirtualHost([first, v6, url], 443, undefined, '[::1]:443'), v6);
  assert.equal(selectVirtualHost([first, v6, url], 443, undefined, 'secure.example.com'), url);
});

test('misdirected: SNI vhost differs from Host vhost with another TLS setup', () => {
  const a = vhost(443, 'a.example', [], { certificateFile: 'a.crt', keyFile: 'a.key' });
  const b = vhost(443, 'b.example', [], { certificateFile: 'b.crt', keyFile: 'b.key' });
  const sameCert = vhost(443, 'c.example', [], { certificateFile: 'a.crt', keyFile: 'a.key' });
  const chained = vhost(443, 'd.example', [], { certificateFile: 'a.crt', keyFile: 'a.key', chainFile: 'chain.pem' });
  assert.equal(misdirected(a, b), true);
  assert.equal(misdirected(a, a), false);
  assert.equal(misdirected(a, sameCert), false, 'compatible TLS setups may share a connection');
  assert.equal(misdirected(a, chained), true);
  assert.equal(misdirected(undefined, b), false, 'no SNI, nothing to compare');
  assert.equal(misdirected(a, undefined), true);
  assert.equal(misdirected(a, vhost(443, 'plain')), true);
});

test('requestVirtualHost: the absolute-form authority over Host (400 when no vhost serves it), 421 when SNI chose another TLS setup, 404 with no vhost on the port', () => {
  const a = vhost(443, 'a.example', [], { certificateFile: 'a.crt', keyFile: 'a.key' });
  const b = vhost(443, 'b.example', [], { certificateFile: 'b.crt', keyFile: 'b.key' });
  const both = [a, b];
  assert.deepEqual(requestVirtualHost(both, 443, undefined, 'b.example', undefined), { kind: 'vhost', vhost: b, host: 'b.example' });
  assert.deepEqual(requestVirtualHost(both, 443, undefined, 'a.example', 'b.example:443'), { kind: 'vhost', vhost: b, host: 'b.example:443' });
  assert.deepEqual(requestVirtualHost(both, 443, undefined, 'a.example', 'elsewhere.example'), { kind: 'refuse', status: 400, host: 'a.example' });
  assert.deepEqual(requestVirtualHost(both, 443, 'a.example', 'b.example', undefined), { kind: 'refuse', status: 421, host: 'b.example' });
  assert.deepEqual(requestVirtualHost(both, 443, 'b.example', 'b.example', undefined), { kind: 'vhost', vhost: b, host: 'b.example' });
  assert.deepEqual(requestVirtualHost(both, 8080, undefined, 'a.example', undefined), { kind: 'refuse', status: 404, host: 'a.example' });
  // An unknown Host falls back to the port's first vhost, as in Apache; only an absolute-form authority is refused.
  assert.deepEqual(requestVirtualHost(both, 443, undefined, 'elsewhere.example', undefined), { kind: 'vhost', vhost: a, host: 'elsewhere.example' });
});

test('globMatches stays fast on hostile patterns and names', () => {
  const started = performance.now();
  assert.equal(globMatches('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5_000)), false);
  assert.ok(performance.now() - started < 2000);
  assert.equal(globMatches('', ''), true);
  assert.equal(globMatches('*', ''), true);
  assert.equal(globMatches('?', ''), false);
  assert.equal(globMatches('a*', 'a'), true);
  assert.equal(globMatches('*.example.com', '.example.com'), true);
});
