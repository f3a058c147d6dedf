import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HeaderRule } from '../../src/config/model.ts';
import type { HeaderList } from '../../src/http/head.ts';
import type { AccessEntry } from '../../src/log/entry.ts';
import { applyHeaderRules, compileHeaderRules, compileRule, compileValue, hasToken, responseFields, type RuleContext, type RulePlace } from '../../src/proxy/header-rules.ts';

const entry: AccessEntry = {
  clientIp: '192.0.2.10',
  time: new Date('2000-10-10T13:55:36.250Z'),
  method: 'GET',
  target: '/app/x',
  protocol: 'HTTP/1.1',
  status: 0,
  bytesSent: 0,
  totalMs: 0,
  requestHeaders: [['Host', 'shop.example'], ['X-Trace', 'abc'], ['X-Trace-Id', '7'], ['Accept', '*/*']],
  connection: { localIp: '127.0.0.1', remotePort: 1, tls: () => ({ protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', sni: 'shop.example' }) },
  scheme: 'https',
};
const facts = { BALANCER_NAME: 'balancer://app', BALANCER_WORKER_NAME: 'http://10.0.0.1:8080', BALANCER_WORKER_ROUTE: 'node1', BALANCER_ROUTE_CHANGED: '1' as const };
const ctx: RuleContext = { entry, facts, elapsedUs: 1234.7 };
const place = { path: '/app/x', balancer: 'app' };

function rule(action: HeaderRule['action'], header: string, more: Partial<HeaderRule> = {}): HeaderRule {
  return { source: { file: 'h.conf', line: 1 }, direction: 'response', condition: 'onsuccess', action, header, ...more };
}

function run(rules: HeaderRule[], headers: HeaderList, c: RuleContext = ctx, where: RulePlace = place): HeaderList {
  const compiled = compileHeaderRules(rules)!;
  return applyHeaderRules([...compiled.request, ...compiled.onsuccess, ...compiled.always], headers, where, c);
}

const base = (): HeaderList => [['Set-Cookie', 'a=1'], ['X-A', 'one'], ['set-cookie', 'b=2'], ['Cache-Control', 'no-cache, "x, y" ']];

test('set replaces the first field in place and drops the others; adds when absent', () => {
  assert.deepEqual(run([rule('set', 'set-cookie', { value: 'c=3' })], base()), [['Set-Cookie', 'c=3'], ['X-A', 'one'], ['Cache-Control', 'no-cache, "x, y" ']]);
  assert.deepEqual(run([rule('set', 'X-New', { value: 'v' })], [['A', '1']]), [['A', '1'], ['X-New', 'v']]);
});

test('add always adds a field; append joins the first one with ", "', () => {
  assert.deepEqual(run([rule('add', 'X-A', { value: 'two' })], [['X-A', 'one']]), [['X-A', 'one'], ['X-A', 'two']]);
  assert.deepEqual(run([rule('append', 'set-cookie', { value: 'c' })], base()).slice(0, 3), [['Set-Cookie', 'a=1, c'], ['X-A', 'one'], ['set-cookie', 'b=2']]);
  assert.deepEqual(run([rule('append', 'X-B', { value: 'v' })], []), [['X-B', 'v']]);
});

test('merge appends only a token not already there, compared exactly, quotes kept whole', () => {
  const cc = (v: string) => run([rule('merge', 'Cache-Control', { value: v })], [['Cache-Control', 'no-cache, private']])[0]![1];
  assert.equal(cc('private'), 'no-cache, private');
  assert.equal(cc('no-store'), 'no-cache, private, no-store');
  assert.equal(cc('Private'), 'no-cache, private, Private');
  assert.equal(hasToken('no-cache, "x, y" ', '"x, y" '), true);
  assert.equal(hasToken('no-cache, "x, y" ', 'y"'), false);
  assert.deepEqual(run([rule('merge', 'Vary', { value: 'Origin' })], []), [['Vary', 'Origin']]);
});

test('unset removes every field of the name; setifempty sets only where there is none, an empty one counting', () => {
  assert.deepEqual(run([rule('unset', 'SET-COOKIE')], base()), [['X-A', 'one'], ['Cache-Control', 'no-cache, "x, y" ']]);
  assert.deepEqual(run([rule('setifempty', 'X-A', { value: 'two' })], [['X-A', '']]), [['X-A', '']]);
  assert.deepEqual(run([rule('setifempty', 'X-B', { value: 'two' })], [['X-A', '']]), [['X-A', ''], ['X-B', 'two']]);
});

test('edit replaces the first match of each field, edit* every match; edited fields move last', () => {
  const headers = (): HeaderList => [['Location', 'http://in:8080/a/a'], ['X', '1'], ['location', 'http://in:8080/b']];
  assert.deepEqual(run([rule('edit', 'Location', { pattern: '^http://in:8080/', value: 'https://out/' })], headers()),
    [['X', '1'], ['Location', 'https://out/a/a'], ['location', 'https://out/b']]);
  assert.deepEqual(run([rule('edit', 'Location', { pattern: 'a', value: 'Z' })], headers())[1], ['Location', 'http://in:8080/Z/a']);
  assert.deepEqual(run([rule('edit*', 'Location', { pattern: 'a', value: 'Z' })], headers())[1], ['Location', 'http://in:8080/Z/Z']);
  // As httpd: edit* matches what follows a match on its own, so ^ matches there again.
  assert.deepEqual(run([rule('edit*', 'X', { pattern: '^a', value: 'b' })], [['X', 'aaa']]), [['X', 'bbb']]);
  assert.deepEqual(run([rule('edit*', 'X', { pattern: 'x*', value: '-' })], [['X', 'ab']]), [['X', '-a-b']]);
  assert.deepEqual(run([rule('edit', 'Absent', { pattern: 'a', value: 'b' })], [['X', 'a']]), [['X', 'a']]);
});

test('edit substitutions: $n groups, & the whole match, \\ quoting, unmatched groups empty', () => {
  const one = (pattern: string, value: string, input: string) => run([rule('edit', 'X', { pattern, value })], [['X', input]])[0]![1];
  assert.equal(one('(\\w+)=(\\w+)', '$2=$1', 'k=v; p'), 'v=k; p');
  assert.equal(one('v', '[&]', 'k=v'), 'k=[v]');
  assert.equal(one('v', '\\&\\$1', 'k=v'), 'k=&$1');
  assert.equal(one('(a)|(b)', '<$2>', 'a'), '<>');
  assert.equal(one('v', '%{BALANCER_WORKER_ROUTE}e', 'k=v'), 'k=node1');
});

test('echo copies the request fields whose names match, as received', () => {
  assert.deepEqual(run([rule('echo', '^X-Trace')], []), [['X-Trace', 'abc'], ['X-Trace-Id', '7']]);
  assert.deepEqual(run([rule('echo', '^X-Trace$')], []), [['X-Trace', 'abc']]);
  // The client's own framing and hop-by-hop fields are never echoed into the response.
  const framed = { ...ctx, entry: { ...ctx.entry, requestHeaders: [['Transfer-Encoding', 'chunked'], ['Connection', 'close'], ['X-Trace', 'abc']] as HeaderList } };
  assert.deepEqual(run([rule('echo', '.*')], [], framed), [['X-Trace', 'abc']]);
});

test('env=VAR and env=!VAR test whether the variable is set, names without regard to case', () => {
  const changed = [rule('add', 'Set-Cookie', { value: 'ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/', env: { variable: 'BALANCER_ROUTE_CHANGED', negate: false } })];
  assert.deepEqual(run(changed, []), [['Set-Cookie', 'ROUTEID=.node1; path=/']]);
  const kept = { ...ctx, facts: { ...facts, BALANCER_ROUTE_CHANGED: undefined } };
  assert.deepEqual(run(changed, [], kept), []);
  const not = [rule('add', 'X', { value: 'v', env: { variable: 'balancer_route_changed', negate: true } })];
  assert.deepEqual(run(not, []), []);
  assert.deepEqual(run(not, [], kept), [['X', 'v']]);
  assert.deepEqual(run([rule('add', 'X', { value: 'v', env: { variable: 'HTTPS', negate: false } })], [], { ...ctx, entry: { ...entry, scheme: 'http' } }), []);
});

test('formats: %% %t %D %{VAR}e %{VAR}s, (null) for an unset variable, literal escapes', () => {
  const value = (v: string, c: RuleContext = ctx) => run([rule('set', 'X', { value: v })], [], c)[0]![1];
  assert.equal(value('100%% %'), '100% %');
  assert.equal(value('%t %D'), `t=${Date.parse('2000-10-10T13:55:36.250Z') * 1000} D=1234`);
  assert.equal(value('%{BALANCER_NAME}e|%{HTTPS}e|%{NOPE}e'), 'balancer://app|on|(null)');
  assert.equal(value('%{BALANCER_NAME}e', { ...ctx, facts: undefined }), '(null)');
  assert.equal(value('%{SSL_PROTOCOL}s %{SSL_CIPHER}s %{SSL_TLS_SNI}s %{HTTPS}s %{SSL_CLIENT_S_DN}s'), 'TLSv1.3 TLS_AES_128_GCM_SHA256 shop.example on (null)');
  assert.equal(value('a\\tb\\\\c\\d'), 'a\tb\\c\\d');
  // The configuration's UTF-8 text goes out as its bytes, as httpd sends them (heads are latin1 strings here).
  assert.equal(Buffer.from(value('café'), 'latin1').toString('hex'), Buffer.from('café', 'utf8').toString('hex'));
  const newline = { ...ctx, facts: { ...facts, BALANCER_WORKER_ROUTE: 'a\r\nb' } };
  assert.equal(value('%{BALANCER_WORKER_ROUTE}e', newline), 'a  b');
});

test('formats Stickler cannot evaluate, CR and LF and unknown tags are refused with the reason', () => {
  assert.match(compileValue('a\\nb') as string, /split the head/);
  assert.match(compileValue('a\\rb') as string, /split the head/);
  assert.match(compileValue('%l') as string, /load average.*expected %%, %t/);
  assert.match(compileValue('%{Accept}i') as string, /idle percentage/);
  assert.match(compileValue('%b') as string, /busy percentage/);
  assert.match(compileValue('%q') as string, /unknown format tag "%q"/);
  assert.match(compileValue('%{X') as string, /never closed/);
  assert.match(compileValue('expr=%{REQUEST_URI}') as string, /expr= value/);
  assert.match(compileRule(rule('edit', 'X', { pattern: '(a)\\1', value: '' })) as string, /backreference/);
  assert.match(compileRule(rule('edit', 'X', { pattern: '(', value: '' })) as string, /not a valid regular expression/);
});

test('<Location> rules cover their path only; <Proxy> rules proxied requests to their balancer only', () => {
  const rules = [rule('add', 'L', { value: '1', location: '/app' }), rule('add', 'P', { value: '1', proxy: 'app' }), rule('add', 'S', { value: '1', proxy: '*' })];
  assert.deepEqual(run(rules, []).map(([n]) => n), ['L', 'P', 'S']);
  assert.deepEqual(run(rules, [], ctx, { path: '/application', balancer: 'other' }).map(([n]) => n), ['S']);
  assert.deepEqual(run(rules, [], ctx, { path: '/app/', balancer: undefined }).map(([n]) => n), ['L']);
});

test('a <Proxy> rule with a path covers the requests whose proxied path starts with it, as a string prefix', () => {
  const rules = [rule('add', 'P', { value: '1', proxy: 'app', proxyPath: '/app' })];
  const covered = (backendPath: string | undefined) => run(rules, [], ctx, { path: '/x', balancer: 'app', backendPath }).length === 1;
  assert.deepEqual(['/app', '/app/x?q=1', '/application', '/ap', '/x/app', '', undefined].map(covered), [true, true, true, false, false, false, false]);
  assert.equal(run(rules, [], ctx, { path: '/x', balancer: 'other', backendPath: '/app/x' }).length, 0);
});

test('rules are split by the table they edit; no rules is nothing to apply', () => {
  assert.equal(compileHeaderRules([]), undefined);
  assert.equal(compileHeaderRules(undefined), undefined);
  const split = compileHeaderRules([rule('set', 'A', { value: '1', direction: 'request' }), rule('set', 'B', { value: '1' }), rule('set', 'C', { value: '1', condition: 'always' })])!;
  assert.deepEqual([split.request, split.onsuccess, split.always].map((l) => l.map((r) => r.rule.header)), [['A'], ['B'], ['C']]);
});

test('onsuccess rules edit a member\'s answer and Stickler\'s own successes, never its error answers; always rules every one', () => {
  const rules = compileHeaderRules([rule('set', 'X-Ok', { value: '1' }), rule('set', 'X-All', { value: '1', condition: 'always' })])!;
  const names = (status: number, fromMember: boolean) => responseFields(rules, [['Content-Type', 'text/html']], status, fromMember, place, ctx).map(([n]) => n);
  assert.deepEqual(names(503, true), ['X-All', 'Content-Type', 'X-Ok']);
  assert.deepEqual(names(200, false), ['X-All', 'Content-Type', 'X-Ok']);
  assert.deepEqual(names(302, false), ['X-All', 'Content-Type', 'X-Ok']);
  assert.deepEqual(names(404, false), ['X-All', 'Content-Type']);
  assert.deepEqual(names(503, false), ['X-All', 'Content-Type']);
});

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,8}$/);
const fieldValue = fc.stringMatching(/^[ -~]{0,12}$/).map((v) => v.replace(/[%\\]/g, ''));
const fields = fc.array(fc.tuple(token, fieldValue), { maxLength: 8 });

test('property: after unset no field of the name is left, after set exactly one holds the value', () => {
  fc.assert(fc.property(fields, token, fieldValue, (headers, name, value) => {
    const set = run([rule('set', name, { value })], headers.map(([n, v]) => [n, v]));
    const mine = set.filter(([n]) => n.toLowerCase() === name.toLowerCase());
    assert.deepEqual(mine.map(([, v]) => v), [value]);
    const unset = run([rule('set', name, { value }), rule('unset', name)], headers.map(([n, v]) => [n, v]));
    assert.equal(unset.some(([n]) => n.toLowerCase() === name.toLowerCase()), false);
    assert.deepEqual(unset, headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase()));
  }));
});

test('property: a value whose text holds \\r or \\n is refused; no compiled value yields CR or LF', () => {
  fc.assert(fc.property(fc.string({ maxLength: 20 }), fc.constantFrom('\\r', '\\n'), fc.string({ maxLength: 20 }), (a, bad, b) => {
    const text = `${a.replace(/\\/g, '')}${bad}${b}`;
    assert.equal(typeof compileValue(text), 'string');
  }));
  fc.assert(fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 10 }), (text, route) => {
    const part = compileValue(text);
    if (typeof part === 'string') return;
    const out = part({ ...ctx, facts: { ...facts, BALANCER_WORKER_ROUTE: route } });
    if (!/[\r\n]/.test(text)) assert.equal(/[\r\n]/.test(out), false);
  }));
});
