import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BalancerConfig, CookieRewrite, ReverseRule } from '../../src/config/model.ts';
import type { HeaderList } from '../../src/http/head.ts';
import { reverseMapUrl, rewriteResponseHeaders, rewriteSetCookie, type ReverseContext } from '../../src/proxy/reverse.ts';
import { balancerConfig, memberConfig, TEST_SOURCE as source } from '../support/fixtures.ts';

function balancer(name: string, ...urls: string[]): BalancerConfig {
  return balancerConfig(urls.map((url) => memberConfig({ url, route: '' })), { name });
}
function rule(path: string, url: string): ReverseRule {
  return { source, path, url };
}
function rewrite(from: string, to: string): CookieRewrite {
  return { source, from, to };
}
function context(rules: ReverseRule[], balancers: BalancerConfig[] = []): ReverseContext {
  return { rules, balancers, cookiePaths: [], cookieDomains: [], scheme: 'https', hostHeader: 'public.example:8443' };
}

test('balancer rule: member URL replaced by the front path, made absolute from scheme and Host', () => {
  const ctx = context([rule('/', 'balancer://wso2/')], [balancer('wso2', 'https://node1:9443', 'https://node2:9443')]);
  assert.equal(reverseMapUrl('https://node2:9443/carbon/admin', ctx), 'https://public.example:8443/carbon/admin');
  assert.equal(reverseMapUrl('HTTPS://NODE1:9443/x', ctx), 'https://public.example:8443/x');
  assert.equal(reverseMapUrl('https://other:9443/x', ctx), 'https://other:9443/x');
});

test('balancer rule: first rule wins across balancers, giving the wrong prefix and // (Apache LIVE)', () => {
  const shared = 'http://127.0.0.1:18102/app';
  const ctx = context(
    [rule('/c2/', 'balancer://c2/'), rule('/', 'balancer://c1/')],
    [balancer('c1', 'http://127.0.0.1:18101/app', shared), balancer('c2', shared)],
  );
  assert.equal(reverseMapUrl('http://127.0.0.1:18102/app/next', ctx), 'https://public.example:8443/c2//next');
  assert.equal(reverseMapUrl('http://127.0.0.1:18101/app/next', ctx), 'https://public.example:8443/next');
});

test('balancer rule: no boundary check after the member URL', () => {
  const ctx = context([rule('/front', 'balancer://b')], [balancer('b', 'http://h:8080')]);
  assert.equal(reverseMapUrl('http://h:80801/x', ctx), 'https://public.example:8443/front1/x');
  assert.equal(reverseMapUrl('http://h:8080/x', ctx), 'https://public.example:8443/front/x');
});

test('balancer rule: front path "/" does not double the slash, other front paths may', () => {
  const b = [balancer('b', 'http://h:8080')];
  assert.equal(reverseMapUrl('http://h:8080/x', context([rule('/', 'balancer://b/')], b)), 'https://public.example:8443/x');
  assert.equal(reverseMapUrl('http://h:8080/x', context([rule('/app/', 'balancer://b/')], b)), 'https://public.example:8443/app//x');
});

test('balancer rule with a path part: member trailing slash dropped, part must follow case-sensitively', () => {
  const ctx = context([rule('/bash', 'balancer://alias/bar')], [balancer('alias', 'http://example.com/foo/')]);
  assert.equal(reverseMapUrl('http://example.com/foo/bar/that', ctx), 'https://public.example:8443/bash/that');
  assert.equal(reverseMapUrl('HTTP://EXAMPLE.COM/FOO/bar/that', ctx), 'https://public.example:8443/bash/that');
  assert.equal(reverseMapUrl('http://example.com/foo/BAR/that', ctx), 'http://example.com/foo/BAR/that');
});

test('balancer rule compares against Apache\'s normalised member name (default port dropped)', () => {
  const ctx = context([rule('/', 'balancer://b/')], [balancer('b', 'HTTPS://Node1:443/')]);
  assert.equal(reverseMapUrl('https://node1/x', ctx), 'https://public.example:8443/x');
  // The default port written out no longer starts with the name's `https://node1/`.
  assert.equal(reverseMapUrl('https://node1:443/x', ctx), 'https://node1:443/x');
});

test('balancer names are case-insensitive; an unknown balancer rule is compared as a plain URL', () => {
  const b = [balancer('Wso2', 'http://h:1')];
  assert.equal(reverseMapUrl('http://h:1/x', context([rule('/', 'BALANCER://wso2/')], b)), 'https://public.example:8443/x');
  assert.equal(reverseMapUrl('http://h:1/x', context([rule('/', 'balancer://nope/')], b)), 'http://h:1/x');
});

test('plain URL rule: case-insensitive prefix, first rule wins', () => {
  const ctx = context([rule('/a/', 'http://node1:8080/'), rule('/b/', 'http://node1:8080/')]);
  assert.equal(reverseMapUrl('http://NODE1:8080/login', ctx), 'https://public.example:8443/a/login');
  assert.equal(reverseMapUrl('http://node1:8081/login', ctx), 'http://node1:8081/login');
});

test('plain path rule compares only the path of an absolute URL, and relative URLs as they are', () => {
  const ctx = context([rule('/public/', '/internal/')]);
  assert.equal(reverseMapUrl('http://anything:1/internal/x', ctx), 'https://public.example:8443/public/x');
  assert.equal(reverseMapUrl('/internal/y?z', ctx), 'https://public.example:8443/public/y?z');
  assert.equal(reverseMapUrl('/other', ctx), '/other');
});

test('rewritten results are made absolute: default port dropped, scheme kept, none without Host', () => {
  const rules = [rule('/', 'http://n:1/')];
  assert.equal(reverseMapUrl('http://n:1/x', { ...context(rules), hostHeader: 'Public.Example:443' }), 'https://public.example/x');
  assert.equal(reverseMapUrl('http://n:1/x', { ...context(rules), hostHeader: 'public.example' }), 'https://public.example/x');
  assert.equal(reverseMapUrl('http://n:1/x', { ...context(rules), scheme: 'http', hostHeader: 'h:80' }), 'http://h/x');
  assert.equal(reverseMapUrl('http://n:1/x', { ...context(rules), scheme: 'http', hostHeader: 'h:443' }), 'http://h:443/x');
  assert.equal(reverseMapUrl('http://n:1/x', { ...context(rules), hostHeader: '[::1]:8443' }), 'https://[::1]:8443/x');
  assert.equal(reverseMapUrl('http://n:1/x', { ...context(rules), hostHeader: '' }), '/x');
  // A rewrite that yields an absolute URL is left as it is.
  assert.equal(reverseMapUrl('http://n:1/x', context([rule('https://pub/', 'http://n:1/')])), 'https://pub/x');
});

test('no rules: URLs untouched, relative ones too', () => {
  assert.equal(reverseMapUrl('/x', context([])), '/x');
});

test('rewriteResponseHeaders: URL headers mapped, others untouched, hop-by-hop dropped', () => {
  const ctx = context([rule('/', 'balancer://b/')], [balancer('b', 'http://n:8080')]);
  const headers: HeaderList = [
    ['Location', 'http://n:8080/a'],
    ['content-location', 'http://n:8080/b'],
    ['URI', 'http://n:8080/c'],
    ['Destination', 'http://n:8080/d'],
    ['Refresh', '0; url=http://n:8080/e'],
    ['Connection', 'keep-alive, X-Internal'],
    ['X-Internal', 'secret'],
    ['Keep-Alive', 'timeout=5'],
    ['Proxy-Connection', 'close'],
    ['Transfer-Encoding', 'chunked'],
    ['Content-Length', '12'],
    ['Trailer', 'X-Sum'],
    ['Upgrade', 'h2c'],
    ['Content-Type', 'text/html'],
  ];
  assert.deepEqual(rewriteResponseHeaders(headers, ctx), [
    ['Location', 'https://public.example:8443/a'],
    ['content-location', 'https://public.example:8443/b'],
    ['URI', 'https://public.example:8443/c'],
    ['Destination', 'https://public.example:8443/d'],
    ['Refresh', '0; url=http://n:8080/e'],
    ['Content-Type', 'text/html'],
  ]);
});

test('cookie path: prefix match, the whole path replaced (Apache LIVE)', () => {
  const paths = [rewrite('/app/', '/')];
  assert.equal(rewriteSetCookie('JSESSIONID=abc.node1; Path=/app/sub; HttpOnly', paths, []), 'JSESSIONID=abc.node1; Path=/; HttpOnly');
  assert.equal(rewriteSetCookie('a=b; path=/app/', paths, []), 'a=b; path=/');
  assert.equal(rewriteSetCookie('a=b; Path=/App/', paths, []), 'a=b; Path=/App/');
  assert.equal(rewriteSetCookie('a=b; Path=/other', paths, []), 'a=b; Path=/other');
});

test('cookie path: first matching rule applies', () => {
  const paths = [rewrite('/carbon', '/c'), rewrite('/', '/root')];
  assert.equal(rewriteSetCookie('a=b;Path=/carbon/admin', paths, []), 'a=b;Path=/c');
  assert.equal(rewriteSetCookie('a=b;Path=/x', paths, []), 'a=b;Path=/root');
});

test('cookie domain: case-insensitive prefix, replaced whole; path and domain both rewritten', () => {
  const domains = [rewrite('node1.internal', 'login.example.com')];
  const paths = [rewrite('/is/', '/')];
  assert.equal(
    rewriteSetCookie('s=1; Domain=NODE1.internal.corp; Path=/is/x; Secure', paths, domains),
    's=1; Domain=login.example.com; Path=/; Secure',
  );
  assert.equal(rewriteSetCookie('s=1; domain=other', paths, domains), 's=1; domain=other');
});

test('cookie value is never touched, even when the cookie is named path or domain', () => {
  const paths = [rewrite('/', '/x')];
  const domains = [rewrite('a', 'b')];
  assert.equal(rewriteSetCookie('path=/secret; Path=/', paths, domains), 'path=/secret; Path=/x');
  assert.equal(rewriteSetCookie('JSESSIONID=/app/; domain=a', paths, domains), 'JSESSIONID=/app/; domain=b');
});

test('cookie attributes: spaces before the name kept, "path =" with a space is not an attribute match', () => {
  const paths = [rewrite('/app', '/')];
  assert.equal(rewriteSetCookie('a=b;   Path=/app', paths, []), 'a=b;   Path=/');
  assert.equal(rewriteSetCookie('a=b; Path =/app', paths, []), 'a=b; Path =/app');
  assert.equal(rewriteSetCookie('a=b', paths, []), 'a=b');
  assert.equal(rewriteSetCookie('', paths, []), '');
});

test('Set-Cookie headers go through the cookie rules in rewriteResponseHeaders', () => {
  const ctx = { ...context([]), cookiePaths: [rewrite('/app/', '/')] };
  const out = rewriteResponseHeaders([['Set-Cookie', 'a=1; Path=/app/x'], ['set-cookie', 'b=2; Path=/app/']], ctx);
  assert.deepEqual(out, [['Set-Cookie', 'a=1; Path=/'], ['set-cookie', 'b=2; Path=/']]);
});
