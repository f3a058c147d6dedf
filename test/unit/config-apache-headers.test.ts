// Header and RequestHeader as the Apache reader takes them into the model, and the lines it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { formatDiagnostic, type LoadResult } from '../../src/config/model.ts';

function apache(lines: string[]): LoadResult {
  const tail = ['<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080 route=n1', '</Proxy>'];
  return loadApacheConfigText(['Listen 80', ...lines, ...tail].join('\n') + '\n', 'h.conf');
}

const errors = (r: LoadResult): string[] => r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);

test('every action, both conditions and env= are read, in httpd\'s merge order: server, <Proxy>, <Location>', () => {
  const r = apache([
    '<Location /app>', 'Header add X-Loc 1', '</Location>',
    'Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED',
    '<Proxy balancer://b>', 'RequestHeader set X-Proxy 1', '</Proxy>',
    '<VirtualHost *:80>',
    'RequestHeader set X-Forwarded-Proto https',
    'RequestHeader unset Authorization',
    'Header always set X-Frame-Options DENY',
    'Header onsuccess merge Vary Origin env=!HTTPS',
    'Header edit* Location ^http://in/ https://out/',
    'Header echo ^X-Trace',
    'Header setifempty X-A: 1',
    'RequestHeader append X-B 2',
    'ProxyPass / balancer://b/',
    '</VirtualHost>',
  ]);
  assert.deepEqual(errors(r), []);
  const rules = r.config!.virtualHosts[0]!.headerRules!;
  assert.deepEqual(rules.map((h) => [h.source.line, h.direction, h.condition, h.action, h.header, h.value, h.pattern, h.env, h.location, h.proxy]), [
    [5, 'response', 'onsuccess', 'add', 'Set-Cookie', 'ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/', undefined, { variable: 'BALANCER_ROUTE_CHANGED', negate: false }, undefined, undefined],
    [10, 'request', 'onsuccess', 'set', 'X-Forwarded-Proto', 'https', undefined, undefined, undefined, undefined],
    [11, 'request', 'onsuccess', 'unset', 'Authorization', undefined, undefined, undefined, undefined, undefined],
    [12, 'response', 'always', 'set', 'X-Frame-Options', 'DENY', undefined, undefined, undefined, undefined],
    [13, 'response', 'onsuccess', 'merge', 'Vary', 'Origin', undefined, { variable: 'HTTPS', negate: true }, undefined, undefined],
    [14, 'response', 'onsuccess', 'edit*', 'Location', 'https://out/', '^http://in/', undefined, undefined, undefined],
    [15, 'response', 'onsuccess', 'echo', '^X-Trace', undefined, undefined, undefined, undefined, undefined],
    [16, 'response', 'onsuccess', 'setifempty', 'X-A', '1', undefined, undefined, undefined, undefined],
    [17, 'request', 'onsuccess', 'append', 'X-B', '2', undefined, undefined, undefined, undefined],
    [7, 'request', 'onsuccess', 'set', 'X-Proxy', '1', undefined, undefined, undefined, 'b'],
    [3, 'response', 'onsuccess', 'add', 'X-Loc', '1', undefined, undefined, '/app', undefined],
  ]);
});

test('malformed lines are refused with file:line, what is wrong and what is expected', () => {
  const refused = (line: string) => errors(apache([line, 'ProxyPass / balancer://b/']));
  assert.deepEqual(refused('Header set X-A 1 early'), ['h.conf:2: Header: early (applied before the request is read further, for testing) is not supported by Stickler; expected no condition or env=[!]VARIABLE']);
  assert.match(refused('RequestHeader set X-A 1 early')[0]!, /^h\.conf:2: RequestHeader: early/);
  assert.match(refused('Header frob X-A 1')[0]!, /^h\.conf:2: Header: unknown action "frob"; expected Header \[always\|onsuccess\] set/);
  assert.match(refused('RequestHeader always set X-A 1')[0]!, /unknown action "always"; expected RequestHeader set/);
  assert.match(refused('RequestHeader echo X-A')[0]!, /echo is valid only on Header/);
  assert.match(refused('Header set X-A')[0]!, /set needs a value; expected Header set NAME VALUE/);
  assert.match(refused('Header edit X-A ^a')[0]!, /edit needs a regular expression and a replacement/);
  assert.match(refused('Header unset X-A b env=C')[0]!, /unset takes a name and an optional condition/);
  assert.match(refused('Header set X-A 1 env=')[0]!, /names no variable/);
  assert.match(refused('Header set X-A 1 nope')[0]!, /unknown condition "nope"; expected env=VARIABLE/);
  assert.match(refused('Header set X-A 1 "expr=-z %{X}"')[0]!, /expr= conditions/);
  assert.match(refused('Header note X-A n')[0]!, /note action/);
  assert.match(refused('Header set X-A 1 env=A extra')[0]!, /too many arguments/);
  assert.match(refused('Header set X-A "a\\nb"')[0]!, /^h\.conf:2: Header: .*split the head/);
  assert.match(refused('Header set X-A %{Accept}i')[0]!, /idle percentage/);
  assert.match(refused('Header edit X-A (a)\\1 b')[0]!, /backreference/);
});

test('a <Proxy> URL Stickler never proxies to gets no rule, with a warning at the line; a balancer URL\'s path is kept', () => {
  const r = apache([
    '<Proxy ajp://10.0.0.9:8009>', 'Header set X-Ajp 1', '</Proxy>',
    '<Proxy "unix:/run/app.sock|http://localhost">', 'RequestHeader set X-Unix 1', '</Proxy>',
    '<Proxy balancer://b/app>', 'Header set X-App 1', '</Proxy>',
    '<Proxy balancer://b/*>', 'Header set X-Star 1', '</Proxy>',
    '<Proxy http://10.0.0.1:8080/api/v*>', 'Header set X-Api 1', '</Proxy>',
    'ProxyPass / balancer://b/',
  ]);
  assert.deepEqual(errors(r), []);
  const warnings = r.diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic);
  assert.ok(warnings.includes('h.conf:3: Header: this rule never applies: it covers requests proxied to <Proxy ajp://10.0.0.9:8009>, and Stickler never proxies there (scheme ajp:// of "ajp://10.0.0.9:8009" is not supported by Stickler; expected http://, https:// or balancer://)'), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.startsWith('h.conf:6: RequestHeader: this rule never applies')), warnings.join('\n'));
  const rules = r.config!.virtualHosts[0]!.headerRules!;
  assert.deepEqual(rules.map((h) => [h.header, h.proxy, h.proxyPath]), [
    ['X-App', 'b', '/app'],
    ['X-Star', 'b', '/'],
    ['X-Api', 'http://10.0.0.1:8080', '/api/v'],
  ]);
});

test('a configuration without Header lines has no rules at all', () => {
  assert.equal(apache(['ProxyPass / balancer://b/']).config!.virtualHosts[0]!.headerRules, undefined);
});

test('a rule may not write a field that is not a token, nor one Stickler frames itself (either direction)', () => {
  const refused = (line: string) => errors(apache([line]));
  assert.match(refused('Header set "X Bad" v')[0] ?? '', /h\.conf:2: Header: "X Bad" is not a field name/);
  for (const name of ['Content-Length', 'transfer-encoding', 'Connection', 'Keep-Alive', 'TE', 'Trailer', 'Upgrade', 'Proxy-Connection']) {
    assert.match(refused(`Header set ${name} 5`)[0] ?? '', new RegExp(`h\\.conf:2: Header: ${name} is framing or hop-by-hop`), name);
    assert.match(refused(`RequestHeader unset ${name}`)[0] ?? '', /framing or hop-by-hop/, name);
  }
  assert.deepEqual(refused('Header echo .*'), []);
});
