import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { threadId } from 'node:worker_threads';
import { compileLogFormat } from '../../src/log/format.ts';
import type { AccessEntry } from '../../src/log/entry.ts';

process.env.TZ = 'UTC';

const entry: AccessEntry = {
  clientIp: '::ffff:192.0.2.10',
  time: new Date('2000-10-10T13:55:36.250Z'),
  method: 'GET',
  target: '/a%20b/%C3%A9?x=1&y="2"',
  protocol: 'HTTP/1.1',
  status: 404,
  bytesSent: 0,
  host: 'Shop.Example:8443',
  totalMs: 1234.5678,
  requestHeaders: [['Host', 'Shop.Example:8443'], ['User-Agent', 'ua "quoted"\t'], ['X-Twice', 'a'], ['x-twice', 'b'], ['Cookie', ' JSESSIONID = abc.node1 ; other=1'], ['Empty', '']],
  responseHeaders: [['Content-Type', 'text/html; charset=UTF-8'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['X-Dup', 'first'], ['X-Dup', 'second']],
  serverName: 'www.example.com',
  localPort: 8080,
  connection: { localIp: '127.0.0.2', remotePort: 54321, tls: () => ({ protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', sni: 'shop.example' }) },
  keepalives: 3,
  handler: 'proxy-server',
  bytesIn: 120,
  bytesOut: 345,
  keepAlive: true,
  scheme: 'http',
  balancer: { BALANCER_NAME: 'balancer://app', BALANCER_WORKER_NAME: 'http://127.0.0.1:8081', BALANCER_WORKER_ROUTE: 'isNode1', BALANCER_SESSION_STICKY: 'JSESSIONID', BALANCER_SESSION_ROUTE: 'isNode2', BALANCER_ROUTE_CHANGED: '1' },
};

function render(format: string, e: AccessEntry = entry): string {
  const compiled = compileLogFormat(format);
  if ('error' in compiled) throw new Error(compiled.error);
  return compiled.render(e);
}

test('every item of mod_log_config, mod_logio and mod_ssl', () => {
  const cases: Array<[string, string]> = [
    ['%%', '%'], ['%a', '192.0.2.10'], ['%{c}a', '192.0.2.10'], ['%A', '127.0.0.2'], ['%B', '0'], ['%b', '-'],
    ['%{jsessionid}C', 'abc.node1'], ['%{other}C', '1'], ['%{none}C', '-'], ['%D', '1234567'], ['%{BALANCER_WORKER_ROUTE}e', 'isNode1'],
    ['%{BALANCER_SESSION_ROUTE}e', 'isNode2'], ['%{BALANCER_ROUTE_CHANGED}e', '1'], ['%{BALANCER_NAME}e', 'balancer://app'],
    ['%{HTTPS}e', '-'], ['%{PATH}e', '-'], ['%f', '-'], ['%h', '192.0.2.10'], ['%H', 'HTTP/1.1'],
    ['%{User-agent}i', 'ua \\"quoted\\"\\t'], ['%{x-twice}i', 'a, b'], ['%{Empty}i', ''], ['%{Absent}i', '-'],
    ['%k', '3'], ['%l', '-'], ['%L', '-'], ['%m', 'GET'], ['%{note}n', '-'],
    ['%{Content-Type}o', 'text/html'], ['%{Set-Cookie}o', 'a=1, b=2'], ['%{x-dup}o', 'first'], ['%{Absent}o', '-'],
    ['%p', '8443'], ['%{canonical}p', '8443'], ['%{local}p', '8080'], ['%{remote}p', '54321'], ['%{bogus}p', 'bogus'],
    ['%P', String(process.pid)], ['%{pid}P', String(process.pid)], ['%{tid}P', String(threadId)], ['%{hextid}P', threadId.toString(16)],
    ['%q', '?x=1&y=\\"2\\"'], ['%r', 'GET /a%20b/%C3%A9?x=1&y=\\"2\\" HTTP/1.1'], ['%R', 'proxy-server'],
    ['%s', '404'], ['%>s', '404'], ['%<s', '404'], ['%t', '[10/Oct/2000:13:55:36 +0000]'],
    ['%{%Y-%m-%d %H:%M:%S %z}t', '2000-10-10 13:55:36 +0000'], ['%{end:%H:%M:%S}t', '13:55:37'],
    ['%{sec}t', '971186136'], ['%{msec}t', '971186136250'], ['%{usec}t', '971186136250000'], ['%{msec_frac}t', '250'],
    ['%{usec_frac}t', '250000'], ['%{end:msec_frac}t', '484'], ['%{begin:sec}t', '971186136'],
    ['%{begin:}t', '[10/Oct/2000:13:55:36 +0000]'], ['%{end:}t', '[10/Oct/2000:13:55:37 +0000]'], ['%{%Z}t', 'UTC'],
    ['%T', '1'], ['%{ms}T', '1234'], ['%{us}T', '1234567'], ['%{s}T', '1'], ['%{min}T', 'min'],
    ['%u', '-'], ['%U', '/a b/\\xc3\\xa9'], ['%v', 'www.example.com'], ['%V', 'shop.example'], ['%X', '+'],
    ['%I', '120'], ['%O', '345'], ['%S', '465'], ['%^ti', '-'], ['%{Foo}^to', '-'], ['%^FB', '-'],
    ['%{SSL_PROTOCOL}x', '-'], ['%{HTTPS}x', 'off'],
  ];
  for (const [format, expected] of cases) assert.equal(render(format), expected, format);
});

test('%x and %{HTTPS}e under TLS', () => {
  const tls = { ...entry, scheme: 'https' as const };
  assert.equal(render('%{SSL_PROTOCOL}x %{SSL_CIPHER}x %{SSL_TLS_SNI}x %{HTTPS}x %{HTTPS}e %{SSL_CLIENT_S_DN}x', tls), 'TLSv1.3 TLS_AES_256_GCM_SHA384 shop.example on on -');
});

test('%X: aborted, closing; %b and %B with a body; %V without Host falls back to the ServerName', () => {
  const other = { ...entry, aborted: true, bytesSent: 12, host: undefined };
  assert.equal(render('%X %b %B %V %p', other), 'X 12 12 www.example.com 80');
  assert.equal(render('%p', { ...other, scheme: 'https' }), '443');
  assert.equal(render('%X', { ...entry, keepAlive: false }), '-');
});

test('status conditions and modifiers', () => {
  assert.equal(render('%404{User-agent}i|%200,304{User-agent}i|%!404{X-twice}i|%!200,304{X-twice}i'), 'ua \\"quoted\\"\\t|-|-|a, b');
  assert.equal(render('%<{X-twice}i %>{X-twice}i %!!404m'), 'a, b a, b GET');
});

test('literal text: \\n \\t \\r \\\\ are characters, other backslashes stay', () => {
  assert.equal(render('a\\tb\\nc\\rd\\\\e\\qf'), 'a\tb\nc\rd\\e\\qf');
});

test('errors name the item, as httpd refuses the format', () => {
  for (const [format, pattern] of [['%Z', /unknown format item %Z/], ['%h %{Foo}', /ends before its letter/], ['%', /ends before its letter/], ['%400', /ends before its letter/], ['%{x}j', /unknown format item %j/]] as const) {
    const compiled = compileLogFormat(format);
    assert.ok('error' in compiled, format);
    assert.match(compiled.error, pattern);
  }
});

test('an entry with nothing but the required fields formats every item without throwing', () => {
  const bare: AccessEntry = { clientIp: '', time: new Date(NaN), method: '-', target: '-', protocol: '-', status: 400, bytesSent: 0, totalMs: 0 };
  const all = '%a %A %B %b %{x}C %D %{x}e %h %H %{x}i %k %m %{x}o %p %{local}p %{remote}p %q %r %R %s %t %{%F}t %{msec}t %T %U %v %V %X %I %O %S %{SSL_PROTOCOL}x';
  assert.equal(render(all, bare), '- - 0 - - 0 - - - - 0 - - 80 0 0  - - - - 400 [-] - - 0 - - - - 0 0 0 -');
});

const arbitraryEntry = fc.record({
  clientIp: fc.string(), time: fc.date(), method: fc.string(), target: fc.string(), protocol: fc.string(),
  status: fc.integer({ min: 0, max: 999 }), bytesSent: fc.nat(), totalMs: fc.double({ min: 0, max: 1e9, noNaN: true }),
  host: fc.option(fc.string(), { nil: undefined }),
  requestHeaders: fc.option(fc.array(fc.tuple(fc.string(), fc.string())), { nil: undefined }),
  responseHeaders: fc.option(fc.array(fc.tuple(fc.string(), fc.string())), { nil: undefined }),
  scheme: fc.constantFrom('http' as const, 'https' as const),
});

test('property: any format compiles or gets an error, and renders any entry without throwing', () => {
  const formatText = fc.array(fc.oneof(fc.string(), fc.constantFrom('%', '{', '}', '!', '<', '>', ',', '200', 'h', 't', 'C', 'i', 'o', 'x', 'e', '^ti', '\\n', 'end:', 'msec')), { maxLength: 12 }).map((p) => p.join(''));
  fc.assert(fc.property(formatText, arbitraryEntry, (format, e) => {
    const compiled = compileLogFormat(format);
    if ('error' in compiled) return typeof compiled.error === 'string' && compiled.error.length > 0;
    return typeof compiled.render(e as AccessEntry) === 'string';
  }), { numRuns: 2000 });
});

test('%{%Z}t is the zone\'s abbreviation as glibc gives it, else tzdata\'s numeric one', (t) => {
  t.after(() => {
    process.env.TZ = 'UTC';
  });
  const summer = { ...entry, time: new Date('2024-07-01T12:00:00Z') };
  for (const [tz, expected] of [['Europe/Berlin', 'CEST'], ['America/Los_Angeles', 'PDT'], ['Asia/Kolkata', 'IST'], ['America/Sao_Paulo', '-03'], ['Europe/London', 'BST']] as const) {
    process.env.TZ = tz;
    const compiled = compileLogFormat('%{%Z}t');
    assert.ok(!('error' in compiled));
    assert.equal(compiled.render(summer), expected, tz);
  }
});
