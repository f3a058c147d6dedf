import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RouteConfig } from '../../src/config/model.ts';
import { prefixLength } from '../../src/config/path-prefix.ts';
import { mapRequest, memberRequestTarget } from '../../src/proxy/mapping.ts';
import { parseTarget } from '../../src/proxy/target.ts';

let line = 0;
function proxy(path: string, balancer: string, targetPath = ''): RouteConfig {
  return { source: { file: 'test.conf', line: ++line }, path, target: { kind: 'balancer', balancer, path: targetPath } };
}
function exclude(path: string): RouteConfig {
  return { source: { file: 'test.conf', line: ++line }, path, target: { kind: 'exclude' } };
}
function backendPath(routes: RouteConfig[], target: string): string | undefined {
  const m = mapRequest(routes, parseTarget(target));
  return m?.kind === 'proxy' ? m.backendPath : undefined;
}

test('prefix matching stops at segment boundaries', () => {
  assert.equal(prefixLength('/foo', '/foo'), 4);
  assert.equal(prefixLength('/foo/', '/foo'), 4);
  assert.equal(prefixLength('/foo/x', '/foo'), 4);
  assert.equal(prefixLength('/foobar', '/foo'), 0);
  assert.equal(prefixLength('/foo', '/foo/'), 0);
  assert.equal(prefixLength('/foo/x', '/foo/'), 5);
  assert.equal(prefixLength('/', '/'), 1);
  assert.equal(prefixLength('/anything', '/'), 1);
  assert.equal(prefixLength('/fo', '/foo'), 0);
  assert.equal(prefixLength('/x', ''), 0);
});

test('prefix matching is case-sensitive', () => {
  assert.equal(prefixLength('/APP/x', '/app/'), 0);
  assert.equal(prefixLength('/app/x', '/App/'), 0);
});

test('a run of slashes in the pattern matches a run of slashes in the path', () => {
  assert.equal(prefixLength('/a/b', '//a//'), 3);
  assert.equal(prefixLength('//foo//x', '/foo/'), 7);
  assert.equal(prefixLength('a/b', '/a'), 0);
});

test('path parameters are part of the matched segment, as in Apache', () => {
  assert.equal(prefixLength('/app;jsessionid=1/x', '/app'), 0);
  assert.equal(prefixLength('/app/x;jsessionid=1', '/app/'), 5);
});

test('the first matching route wins', () => {
  const routes = [proxy('/app/', 'a', '/app/'), proxy('/', 'b', '/')];
  const m = mapRequest(routes, parseTarget('/app/x'));
  assert.equal(m?.kind, 'proxy');
  assert.equal(m?.route, routes[0]);
  assert.deepEqual(m?.kind === 'proxy' && [m.balancer, m.backendPath], ['a', '/app/x']);
  assert.equal(mapRequest(routes, parseTarget('/other'))?.route, routes[1]);
});

test('an exclusion stops the walk only when listed first', () => {
  const before = [exclude('/static'), proxy('/', 'b', '/')];
  assert.equal(mapRequest(before, parseTarget('/static/x.css'))?.kind, 'exclude');
  assert.equal(mapRequest(before, parseTarget('/staticx'))?.kind, 'proxy');
  const after = [proxy('/', 'b', '/'), exclude('/static')];
  assert.equal(mapRequest(after, parseTarget('/static/x.css'))?.kind, 'proxy');
});

test('no matching route means no mapping', () => {
  assert.equal(mapRequest([proxy('/app/', 'a')], parseTarget('/other')), undefined);
  assert.equal(mapRequest([], parseTarget('/')), undefined);
});

test('backendPath is the target path plus the raw rest plus the query', () => {
  const routes = [proxy('/carbon/', 'wso2', '/carbon/'), proxy('/', 'wso2', '/')];
  assert.equal(backendPath(routes, '/carbon/admin/login.jsp?x=%2F'), '/carbon/admin/login.jsp?x=%2F');
  assert.equal(backendPath(routes, '/oauth2/token'), '/oauth2/token');
  assert.equal(backendPath(routes, '/'), '/');
  // `ProxyPass / balancer://b` (no slash on either side of the rest): glued as is; memberRequestTarget adds the `/`.
  assert.equal(backendPath([proxy('/', 'b', '')], '/x?y'), 'x?y');
});

test(';jsessionid= parameters are kept in backendPath', () => {
  const routes = [proxy('/app/', 'b', '/app/')];
  assert.equal(backendPath(routes, '/app/page.jsp;jsessionid=ABC.node1?a=1'), '/app/page.jsp;jsessionid=ABC.node1?a=1');
});

test('raw encoding is forwarded, never the decoded form', () => {
  const routes = [proxy('/app/', 'b', '/backend/')];
  assert.equal(backendPath(routes, '/app/a%20b/%3B/%C3%A9'), '/backend/a%20b/%3B/%C3%A9');
  // An encoded prefix matches like the plain one and is cut at the same segment edge.
  assert.equal(backendPath(routes, '/%61pp/x%2e'), '/backend/x%2e');
});

test('what is forwarded is the matched path: dot segments resolved, slashes merged', () => {
  const routes = [exclude('/admin'), proxy('/app/', 'b', '/app/')];
  assert.equal(mapRequest(routes, parseTarget('/app/../admin/x'))?.kind, 'exclude');
  assert.equal(mapRequest(routes, parseTarget('//admin'))?.kind, 'exclude');
  assert.equal(backendPath(routes, '/app//x/./y'), '/app/x/y');
  assert.equal(backendPath(routes, '/app/%2e%2e/app/z'), '/app/z');
});

test('a prefix without trailing slash and a target with one gives Apache\'s double slash', () => {
  assert.equal(backendPath([proxy('/app', 'b', '/')], '/app/x'), '//x');
  assert.equal(backendPath([proxy('/app', 'b', '/')], '/app'), '/');
  assert.equal(backendPath([proxy('/app/', 'b', '')], '/app/x'), 'x');
});

test('the matched prefix is measured on the decoded path but cut from the raw one', () => {
  const routes = [proxy('/caf\u00e9/', 'b', '/c/')];
  assert.equal(backendPath(routes, '/caf%C3%A9/menu%20du%20jour'), '/c/menu%20du%20jour');
  assert.equal(backendPath([proxy('/a b', 'b', '/x')], '/a%20b/c'), '/x/c');
});

test('memberRequestTarget prefixes the member path', () => {
  assert.equal(memberRequestTarget('https://h:9443/app', '/x?y'), '/app/x?y');
  assert.equal(memberRequestTarget('https://h:9443', '/x?y'), '/x?y');
  assert.equal(memberRequestTarget('https://h:9443/', '/x'), '//x');
  assert.equal(memberRequestTarget('http://h', '?y'), '/?y');
  assert.equal(memberRequestTarget('http://h', ''), '/');
  assert.equal(memberRequestTarget('http://h/app?ignored=1', '/x'), '/app/x');
  assert.equal(memberRequestTarget('http://[::1]:8080/app', '/x'), '/app/x');
  assert.throws(() => memberRequestTarget('not a url', '/x'), /invalid member URL "not a url"/);
});

test('hostile long paths map quickly', () => {
  const routes = [exclude('/a/b/c/d'), proxy('/', 'b', '/')];
  const target = parseTarget('/' + 'x/'.repeat(100_000));
  const started = performance.now();
  assert.equal(backendPath(routes, '/' + 'x/'.repeat(100_000)), target.normalizedPath);
  assert.ok(performance.now() - started < 2000);
});
