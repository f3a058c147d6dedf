import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpError } from '../../src/http/errors.ts';
import { parseTarget } from '../../src/proxy/target.ts';

function refused(target: string, status: number, code: string): void {
  assert.throws(
    () => parseTarget(target),
    (err: unknown) => err instanceof HttpError && err.status === status && err.code === code,
    `${JSON.stringify(target)} should give ${status} ${code}`,
  );
}

test('origin-form splits path and query and keeps the raw bytes', () => {
  const t = parseTarget('/app/a%20b;jsessionid=ABC.node1?x=1&y=%2F');
  assert.equal(t.path, '/app/a%20b;jsessionid=ABC.node1');
  assert.equal(t.query, '?x=1&y=%2F');
  assert.equal(t.decodedPath, '/app/a b;jsessionid=ABC.node1');
  assert.equal(t.normalizedPath, '/app/a%20b;jsessionid=ABC.node1');
  assert.equal(t.authority, undefined);
});

test('an empty query keeps its question mark', () => {
  assert.equal(parseTarget('/a?').query, '?');
});

test('dot segments are resolved in both the decoded and the forwarded path', () => {
  const t = parseTarget('/a/./b/../c/');
  assert.equal(t.decodedPath, '/a/c/');
  assert.equal(t.normalizedPath, '/a/c/');
  assert.equal(parseTarget('/a/b/..').decodedPath, '/a/');
  assert.equal(parseTarget('/a/.').normalizedPath, '/a/');
  assert.equal(parseTarget('/a/..').normalizedPath, '/');
});

test('encoded dots are dot segments too', () => {
  const t = parseTarget('/app/%2e%2E/admin');
  assert.equal(t.decodedPath, '/admin');
  assert.equal(t.normalizedPath, '/admin');
  assert.equal(parseTarget('/a/%2e/b').normalizedPath, '/a/b');
});

test('runs of slashes are merged, as Apache with MergeSlashes On', () => {
  const t = parseTarget('//a///b//');
  assert.equal(t.decodedPath, '/a/b/');
  assert.equal(t.normalizedPath, '/a/b/');
  assert.equal(t.path, '//a///b//');
  assert.equal(parseTarget('/').decodedPath, '/');
  assert.equal(parseTarget('//').normalizedPath, '/');
});

test('.. above the root is refused', () => {
  refused('/..', 400, 'STK_HTTP_PATH_ABOVE_ROOT');
  refused('/../etc/passwd', 400, 'STK_HTTP_PATH_ABOVE_ROOT');
  refused('/a/../..', 400, 'STK_HTTP_PATH_ABOVE_ROOT');
  refused('/a/%2e%2e/%2e%2e/x', 400, 'STK_HTTP_PATH_ABOVE_ROOT');
});

test('dot segments with ;params are refused (Tomcat would climb)', () => {
  refused('/app/..;/manager/html', 400, 'STK_HTTP_DOT_SEGMENT_PARAMS');
  refused('/app/%2e%2e;x=1/manager', 400, 'STK_HTTP_DOT_SEGMENT_PARAMS');
  refused('/app/.;x/y', 400, 'STK_HTTP_DOT_SEGMENT_PARAMS');
  assert.equal(parseTarget('/app/...;x').decodedPath, '/app/...;x');
  assert.equal(parseTarget('/app/..a').decodedPath, '/app/..a');
});

test('bad percent-encoding is refused', () => {
  for (const bad of ['/a%', '/a%2', '/a%zz', '/a%%41', '/%g0']) refused(bad, 400, 'STK_HTTP_BAD_PERCENT');
});

test('encoded NUL is refused with 400, encoded slash with 404', () => {
  refused('/a%00b', 400, 'STK_HTTP_ENCODED_NUL');
  refused('/a%2fb', 404, 'STK_HTTP_ENCODED_SLASH');
  refused('/a%2Fb', 404, 'STK_HTTP_ENCODED_SLASH');
  refused('/..%2f..%2fetc', 404, 'STK_HTTP_ENCODED_SLASH');
});

test('encoded CR LF stay encoded in what is forwarded', () => {
  const t = parseTarget('/a%0d%0aHost:%20x%0d%0a%0d%0aGET%20/admin');
  assert.equal(t.normalizedPath, '/a%0d%0aHost:%20x%0d%0a%0d%0aGET%20/admin');
  assert.equal(t.decodedPath, '/a\r\nHost: x\r\n\r\nGET /admin');
});

test('percent-encoded UTF-8 is decoded; invalid and overlong sequences become U+FFFD', () => {
  assert.equal(parseTarget('/caf%C3%A9').decodedPath, '/café');
  assert.equal(parseTarget('/%C0%AE%C0%AE/x').decodedPath, '/\uFFFD\uFFFD\uFFFD\uFFFD/x');
  assert.equal(parseTarget('/%EF%BB%BFa').decodedPath, '/\uFEFFa');
});

test('fragments, controls, spaces and non-ASCII are refused', () => {
  for (const bad of ['/#frag', '/a#', '/a b', '/\x01', '/a\x7f', '/caf\u00e9', '/\u2028']) {
    refused(bad, 400, 'STK_HTTP_BAD_TARGET');
  }
});

test('asterisk-form, authority-form and relative targets are refused', () => {
  for (const bad of ['*', 'host:80', '@localhost/x', 'a/b', '', 'ftp://h/x']) refused(bad, 400, 'STK_HTTP_BAD_TARGET');
});

test('absolute-form keeps only path and query and returns the authority', () => {
  const t = parseTarget('HTTPS://Public.Example:8443/app/x?q=1');
  assert.equal(t.authority, 'Public.Example:8443');
  assert.equal(t.path, '/app/x');
  assert.equal(t.query, '?q=1');
  assert.equal(parseTarget('http://h').path, '/');
  const q = parseTarget('http://h?x');
  assert.equal(q.path, '/');
  assert.equal(q.query, '?x');
  assert.equal(parseTarget('http://[::1]:80/').authority, '[::1]:80');
});

test('absolute-form authorities with userinfo or junk are refused', () => {
  for (const bad of ['http://user@h/x', 'http:///x', 'http://h:8x/', 'http://a b/', 'http://h#/x', 'http://[::1/']) {
    refused(bad, 400, 'STK_HTTP_BAD_TARGET');
  }
});

test('very long paths are handled in linear time', () => {
  const long = '/a'.repeat(200_000) + '/..'.repeat(100_000);
  const started = performance.now();
  const t = parseTarget(long);
  assert.equal(t.decodedPath, '/a'.repeat(100_000) + '/');
  assert.ok(performance.now() - started < 2000);
  refused('/..'.repeat(100_000), 400, 'STK_HTTP_PATH_ABOVE_ROOT');
});

test('a path with nothing to decode, resolve or merge is its own normal form', () => {
  for (const path of ['/', '/a', '/a/', '/app/login.jsp', '/a.b/c;jsessionid=x.n1/', '/a/b./c..', '/~u/x-y_z']) {
    const t = parseTarget(`${path}?q=1`);
    assert.deepEqual([t.path, t.query, t.decodedPath, t.normalizedPath], [path, '?q=1', path, path]);
  }
});
