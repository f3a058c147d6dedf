// Health checks in both configuration formats: mod_proxy_hcheck's parameters and ProxyHCExpr, the native
// `health-check:` mapping, their errors with file:line, and the conversion from one to the other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { healthHost } from '../../src/config/health-check.ts';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { formatDiagnostic, type LoadResult } from '../../src/config/model.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';

function apache(lines: string[]): LoadResult {
  return loadApacheConfigText(lines.join('\n') + '\n', 't.conf');
}

/** Listen, then `before` (line 2 on), then a balancer whose members are `members`, then its ProxyPass. */
function withMembers(members: string[], before: string[] = []): LoadResult {
  return apache(['Listen 80', ...before, '<Proxy balancer://b>', ...members.map((m) => `BalancerMember ${m}`), '</Proxy>', 'ProxyPass / balancer://b/']);
}

function messages(result: LoadResult, severity: 'error' | 'warning'): string[] {
  return result.diagnostics.filter((d) => d.severity === severity).map(formatDiagnostic);
}

test('hc* parameters and a ProxyHCExpr become the member\'s health check', () => {
  const { config, diagnostics } = withMembers([
    'http://10.0.0.1:8080 hcmethod=GET hcuri=health?deep=1 hcinterval=5 hcpasses=2 hcfails=3 hcexpr=OK234',
    'http://10.0.0.2:8080 hcexpr=ok234 hcmethod=head11 hcinterval=500ms',
    'http://10.0.0.3:8080 hcmethod=TCP hcmethod=NONE',
    'http://10.0.0.4:8080 hcfails=0',
  ], ["ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/ && hc('body') !~ /Under  maintenance/}"]);
  assert.deepEqual(diagnostics.map(formatDiagnostic), [
    "t.conf:7: BalancerMember: ignored: hc* parameters without hcmethod do nothing (httpd's default method is NONE); expected hcmethod=GET, HEAD, OPTIONS or TCP to check http://10.0.0.4:8080",
  ]);
  const expr = { name: 'ok234', text: "%{REQUEST_STATUS} =~ /^[234]/ && hc('body') !~ /Under  maintenance/", source: { file: 't.conf', line: 2 } };
  assert.deepEqual(config?.balancers[0]?.members.map((m) => m.healthCheck), [
    { method: 'GET', uri: '/health?deep=1', interval: 5000, passes: 2, fails: 3, expr },
    { method: 'HEAD', uri: '/', interval: 500, passes: 1, fails: 1, expr },
    undefined,
    undefined,
  ]);
});

test('ProxyHCExpr takes {braces}, quotes or one word, and a later definition of a name wins for every member', () => {
  const { config, diagnostics } = withMembers(['http://10.0.0.1:8080 hcmethod=GET hcexpr=up'], [
    'ProxyHCExpr up "%{REQUEST_STATUS} == \'200\'"',
    'ProxyHCExpr up {hc(\'body\') =~ /{"status":"UP"}/}',
  ]);
  assert.deepEqual(diagnostics.map(formatDiagnostic), [
    "t.conf:3: ProxyHCExpr: replaces the ProxyHCExpr up at line 2: httpd keeps the last definition of a name, for every member that uses it",
  ]);
  assert.equal(config?.balancers[0]?.members[0]?.healthCheck?.expr?.text, 'hc(\'body\') =~ /{"status":"UP"}/');
});

test('ProxyHCExpr errors: what is supported, the arguments, and where it may appear', () => {
  const result = apache([
    'Listen 80',
    'ProxyHCExpr bad {%{REQUEST_URI} =~ /^\\/health/}',
    'ProxyHCExpr alone',
    'ProxyHCExpr two {true} {false}',
    'ProxyHCExpr open {true',
    'ProxyHCExpr a-name-of-sixteen {true}',
    '<Proxy balancer://b>',
    'ProxyHCExpr inproxy {true}',
    'BalancerMember http://10.0.0.1:8080',
    '</Proxy>',
    'ProxyPass / balancer://b/',
  ]);
  assert.equal(result.config, undefined);
  assert.deepEqual(messages(result, 'error'), [
    't.conf:2: ProxyHCExpr: bad: %{REQUEST_URI} at column 1 is not available to a health check; expected %{REQUEST_STATUS} or %{HC_BODY}',
    't.conf:3: ProxyHCExpr: missing argument; expected a name and an expression, such as ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^[23]/}',
    't.conf:4: ProxyHCExpr: too many arguments (3); expected a name and an expression, such as ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^[23]/}',
    't.conf:5: ProxyHCExpr: unterminated brace: { opened at column 6 is never closed; expected a matching }',
    't.conf:6: ProxyHCExpr: name "a-name-of-sixteen" is too long (17 characters); expected at most 15',
    't.conf:8: ProxyHCExpr: not allowed inside a <Proxy> section; expected it in the main server or a <VirtualHost>',
  ]);
});

test('ProxyHCTemplate: a member takes its hc* values with hctemplate=, its own later ones win, earlier ones are replaced', () => {
  const { config, diagnostics } = withMembers([
    'http://10.0.0.1:8080 hctemplate=Ready',
    'http://10.0.0.2:8080 hctemplate=ready hcinterval=2 hcuri=/alive',
    'http://10.0.0.3:8080 hcinterval=2 hcfails=4 hctemplate=ready',
    'http://10.0.0.4:8080 hctemplate=tcp5',
    'http://10.0.0.5:8080 hcmethod=GET hctemplate=off',
    'http://10.0.0.6:8080 hctemplate=deep',
  ], [
    "ProxyHCExpr up {hc('body') =~ /UP/}",
    'ProxyHCTemplate ready hcmethod=GET hcuri=/health/ready hcinterval=5 hcpasses=2 hcexpr=up',
    'ProxyHCTemplate tcp5 hcinterval=5',
    'ProxyHCTemplate off hcmethod=NONE hcuri=/x',
    'ProxyHCTemplate deep hctemplate=ready hcfails=3',
  ]);
  assert.deepEqual(diagnostics.map(formatDiagnostic), []);
  const expr = { name: 'up', text: "hc('body') =~ /UP/", source: { file: 't.conf', line: 2 } };
  const ready = { method: 'GET', uri: '/health/ready', interval: 5000, passes: 2, fails: 1, expr };
  assert.deepEqual(config?.balancers[0]?.members.map((m) => m.healthCheck), [
    ready,
    { ...ready, interval: 2000, uri: '/alive' },
    ready,
    { method: 'TCP', uri: '/', interval: 5000, passes: 1, fails: 1 },
    undefined,
    { ...ready, fails: 3 },
  ]);
  const set = apache(['Listen 80', 'ProxyHCTemplate t hcmethod=HEAD', 'ProxyPass / http://10.0.0.1:8080/ hctemplate=t', 'ProxySet http://10.0.0.1:8080 hcinterval=3']);
  assert.deepEqual(set.diagnostics, []);
  assert.deepEqual(set.config?.balancers[0]?.members[0]?.healthCheck, { method: 'HEAD', uri: '/', interval: 3000, passes: 1, fails: 1 },
    'ProxyPass to a URL takes a template, and a later ProxySet overrides it');
});

test('ProxyHCTemplate errors: an unknown template, a bad parameter, the arguments, and where it may appear', () => {
  const result = apache([
    'Listen 80',
    'ProxyHCTemplate',
    'ProxyHCTemplate a hcmethod',
    'ProxyHCTemplate b route=n1',
    'ProxyHCTemplate c hcmetod=GET',
    'ProxyHCTemplate d hcinterval=10ms',
    'ProxyHCTemplate e hcexpr=missing',
    'ProxyHCTemplate f hctemplate=later',
    'ProxyHCTemplate later hcmethod=GET',
    'ProxyHCTemplate LATER hcmethod=HEAD',
    '<Proxy balancer://b>',
    'ProxyHCTemplate inproxy hcmethod=GET',
    'BalancerMember http://10.0.0.1:8080 hctemplate=nothere',
    'BalancerMember http://10.0.0.2:8080 hctemplate=d',
    'BalancerMember http://10.0.0.3:8080 hctemplate=defined-below',
    'BalancerMember http://10.0.0.4:8080 hctemplate=later',
    '</Proxy>',
    'ProxyHCTemplate defined-below hcmethod=GET',
    'ProxyPass / balancer://b/',
  ]);
  assert.equal(result.config, undefined);
  assert.deepEqual(messages(result, 'error'), [
    't.conf:2: ProxyHCTemplate: missing argument; expected a name and hc* parameters, such as ProxyHCTemplate ready hcmethod=GET hcuri=/health/ready hcinterval=5',
    't.conf:3: ProxyHCTemplate: a: parameter "hcmethod" is not in key=value form; expected a name and hc* parameters, such as ProxyHCTemplate ready hcmethod=GET hcuri=/health/ready hcinterval=5',
    't.conf:4: ProxyHCTemplate: b: unknown parameter "route"; expected hc* parameters only: hcmethod, hcuri, hcinterval, hcpasses, hcfails, hcexpr, hctemplate',
    't.conf:5: ProxyHCTemplate: c: unknown parameter "hcmetod" (did you mean "hcmethod"?); expected hc* parameters only: hcmethod, hcuri, hcinterval, hcpasses, hcfails, hcexpr, hctemplate',
    't.conf:6: ProxyHCTemplate: d: hcinterval "10ms" is not a valid time; expected at least 100ms (seconds by default)',
    't.conf:7: ProxyHCTemplate: e: hcexpr "missing" names no ProxyHCExpr defined before this line; expected ProxyHCExpr missing {expression} above it',
    't.conf:8: ProxyHCTemplate: f: hctemplate "later" names no ProxyHCTemplate defined before this line; expected ProxyHCTemplate later hcmethod=... above it',
    't.conf:12: ProxyHCTemplate: not allowed inside a <Proxy> section; expected it in the main server or a <VirtualHost>',
    't.conf:13: BalancerMember: hctemplate "nothere" names no ProxyHCTemplate defined before this line; expected ProxyHCTemplate nothere hcmethod=... above it',
    't.conf:14: BalancerMember: hctemplate "d" names no ProxyHCTemplate defined before this line; expected ProxyHCTemplate d hcmethod=... above it',
    't.conf:15: BalancerMember: hctemplate "defined-below" names no ProxyHCTemplate defined before this line; expected ProxyHCTemplate defined-below hcmethod=... above it',
  ]);
  assert.deepEqual(messages(result, 'warning'), [
    "t.conf:10: ProxyHCTemplate: ignored: the ProxyHCTemplate later at line 9 has this name already, and httpd's hctemplate= uses the first definition of a name; expected another name",
  ]);
});

test('ProxyHCTemplate and ProxyHCExpr names are per server, as in httpd; another server\'s is used with a warning', () => {
  const result = apache([
    'Listen 80',
    'ProxyHCExpr up {%{REQUEST_STATUS} == 200}',
    'ProxyHCTemplate ready hcmethod=GET hcuri=/main',
    '<VirtualHost *:80>',
    'ServerName a.example',
    'ProxyHCTemplate ready hcmethod=HEAD hcuri=/a',
    'ProxyHCExpr UP {%{REQUEST_STATUS} == 204}',
    'ProxyPass / http://10.0.0.1:8080/ hctemplate=ready hcexpr=up',
    '</VirtualHost>',
    '<VirtualHost *:80>',
    'ServerName b.example',
    'ProxyHCTemplate mine hcmethod=GET hcexpr=up',
    'ProxyPass / http://10.0.0.2:8080/ hctemplate=ready',
    '</VirtualHost>',
    'ProxyPass /m http://10.0.0.3:8080/ hctemplate=ready hcexpr=up',
    'ProxyPass /n http://10.0.0.4:8080/ hctemplate=mine',
  ]);
  assert.deepEqual(messages(result, 'error'), []);
  assert.deepEqual(messages(result, 'warning'), [
    't.conf:12: ProxyHCTemplate: mine: ProxyHCExpr up is defined in the main server (t.conf:2), and httpd keeps these names per server, so it would refuse to start on this line; Stickler uses it; expected a ProxyHCExpr up in this <VirtualHost>',
    't.conf:13: ProxyPass: ProxyHCTemplate ready is defined in the main server (t.conf:3), and httpd keeps these names per server, so it would refuse to start on this line; Stickler uses it; expected a ProxyHCTemplate ready in this <VirtualHost>',
    't.conf:16: ProxyPass: ProxyHCTemplate mine is defined in another <VirtualHost> (t.conf:12), and httpd keeps these names per server, so it would refuse to start on this line; Stickler uses it; expected a ProxyHCTemplate mine in the main server',
  ]);
  const checks = new Map(result.config?.balancers.map((b) => [b.members[0]?.url, b.members[0]?.healthCheck]));
  assert.deepEqual(checks.get('http://10.0.0.1:8080')?.uri, '/a', 'a virtual host\'s own template, not the main server\'s of that name');
  assert.equal(checks.get('http://10.0.0.1:8080')?.expr?.text, '%{REQUEST_STATUS} == 204');
  assert.equal(checks.get('http://10.0.0.2:8080')?.uri, '/main');
  assert.equal(checks.get('http://10.0.0.3:8080')?.uri, '/main', 'a virtual host\'s template does not replace the main server\'s');
  assert.equal(checks.get('http://10.0.0.3:8080')?.expr?.text, '%{REQUEST_STATUS} == 200');
});

test('hc* parameter errors name the parameter and the accepted values', () => {
  const result = withMembers([
    'http://10.0.0.1:8080 hcmethod=CPING',
    'http://10.0.0.2:8080 hcmethod=POST hcexpr=nope',
    'http://10.0.0.3:8080 hcmethod=GET hcinterval=50ms hcpasses=-1 hcuri=/a<b>',
    'http://10.0.0.4:8080 hcmethod=GET hctemplate=basic',
  ], ['ProxyHCExpr later-than-use {true}']);
  assert.deepEqual(messages(result, 'error'), [
    't.conf:4: BalancerMember: hcmethod "CPING" is not supported (it is for AJP members; Stickler speaks HTTP only); expected NONE, TCP, OPTIONS, HEAD or GET',
    't.conf:5: BalancerMember: hcmethod "POST" is not supported; expected NONE, TCP, OPTIONS, HEAD or GET',
    't.conf:5: BalancerMember: hcexpr "nope" names no ProxyHCExpr defined before this line; expected ProxyHCExpr nope {expression} above it',
    't.conf:6: BalancerMember: hcinterval "50ms" is not a valid time; expected at least 100ms (seconds by default)',
    't.conf:6: BalancerMember: hcpasses "-1" is not a whole number; expected 1 or more (0 counts as 1, as in httpd)',
    't.conf:6: BalancerMember: hcuri "/a<b>" is not a URL path; expected a path such as /health, optionally with a ?query',
    't.conf:7: BalancerMember: hctemplate "basic" names no ProxyHCTemplate defined before this line; expected ProxyHCTemplate basic hcmethod=... above it',
  ]);
});

test('settings a method cannot use are accepted with a warning', () => {
  const result = withMembers([
    'http://10.0.0.1:8080 hcmethod=TCP hcexpr=up hcuri=/health',
    'http://10.0.0.2:8080 hcmethod=OPTIONS hcuri=/health',
  ], ['ProxyHCExpr up {%{REQUEST_STATUS} =~ /^2/}']);
  assert.deepEqual(messages(result, 'warning'), [
    't.conf:4: BalancerMember: ignored: hcexpr has no effect on a TCP check, which only connects (and completes the TLS handshake)',
    't.conf:4: BalancerMember: ignored: hcuri has no effect because a TCP check sends no request; expected GET or HEAD to check a path',
    't.conf:5: BalancerMember: ignored: hcuri has no effect because an OPTIONS check asks OPTIONS *, as httpd does; expected GET or HEAD to check a path',
  ]);
});

test('a ProxySet may give the method later, keeping the hc* values given before', () => {
  const { config, diagnostics } = apache(['Listen 80', 'ProxyPass / http://10.0.0.1:8080/app hcuri=/ping hcinterval=2', 'ProxySet http://10.0.0.1:8080 hcmethod=GET']);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(config?.balancers[0]?.members[0]?.healthCheck, { method: 'GET', uri: '/ping', interval: 2000, passes: 1, fails: 1 });
});

const YAML = [
  'virtual-hosts:', //                                     1
  '  - port: 8080', //                                     2
  '    routes:', //                                        3
  '      - path: /', //                                    4
  '        balancer: b', //                                5
  'balancers:', //                                         6
  '  b:', //                                               7
  '    members:', //                                       8
  '      - url: http://10.0.0.1:8080', //                  9
  '        health-check:', //                              10
];

function yaml(lines: string[]): LoadResult {
  return loadNativeConfigText([...YAML, ...lines].join('\n') + '\n', 's.yaml');
}

test('native health-check: defaults are httpd\'s and the condition is written in place', () => {
  const { config, diagnostics } = yaml([
    '          method: get',
    '          uri: health',
    '          interval: 2s',
    '          fails: 2',
    "          expr: \"%{REQUEST_STATUS} =~ /^2/ && hc('body') =~ /UP/\"",
  ]);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(config?.balancers[0]?.members[0]?.healthCheck, {
    method: 'GET', uri: '/health', interval: 2000, passes: 1, fails: 2,
    expr: { name: '', text: "%{REQUEST_STATUS} =~ /^2/ && hc('body') =~ /UP/", source: { file: 's.yaml', line: 15 } },
  });
  assert.deepEqual(yaml(['          method: TCP']).config?.balancers[0]?.members[0]?.healthCheck,
    { method: 'TCP', uri: '/', interval: 30_000, passes: 1, fails: 1 });
});

test('native health-check errors carry the line of the key', () => {
  const result = yaml([
    '          method: PATCH',
    '          uri: /a b',
    '          interval: 10ms',
    '          passes: 0',
    '          expr: "%{REQUEST_STATUS} -in {200}"',
    '          rise: 2',
  ]);
  assert.equal(result.config, undefined);
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
    's.yaml:11: balancers.b.members[0].health-check.method: expected one of TCP, OPTIONS, HEAD, GET, got "PATCH"',
    's.yaml:12: balancers.b.members[0].health-check.uri: "/a b" is not a URL path; expected a path such as /health, optionally with a ?query',
    's.yaml:13: balancers.b.members[0].health-check.interval: must be at least 100ms, got "10ms"',
    's.yaml:14: balancers.b.members[0].health-check.passes: expected a whole number from 1 to 1000000, got 0',
    "s.yaml:15: balancers.b.members[0].health-check.expr: unexpected \"-in\" at column 19; expected an operator: =~, !~, ==, != or -eq, -ne, -lt, -le, -gt, -ge (supported: %{REQUEST_STATUS}, hc('body') or %{HC_BODY} with =~ /regex/, !~ /regex/, == 'text', != 'text', -eq, -ne, -lt, -le, -gt or -ge and a number; true, false; combined with &&, ||, ! and parentheses)",
    's.yaml:16: balancers.b.members[0].health-check.rise: unknown key; expected one of: method, uri, interval, passes, fails, expr, scheme, host, port',
  ]);
  assert.deepEqual(messages(yaml(['          interval: 5s']), 'error'), ['s.yaml:10: balancers.b.members[0].health-check.method: is required']);
  assert.deepEqual(messages(yaml(['          method: TCP', '          expr: "true"']), 'warning'),
    ['s.yaml:10: balancers.b.members[0].health-check: ignored: expr has no effect on a TCP check, which only connects (and completes the TLS handshake)']);
});

test('native health-check may go to another port, scheme and host; each part left out is the member\'s', () => {
  const check = (lines: string[]) => yaml(lines).config?.balancers[0]?.members[0]?.healthCheck;
  assert.deepEqual(check(['          method: GET', '          uri: /health/ready', '          port: 9000']),
    { method: 'GET', uri: '/health/ready', interval: 30_000, passes: 1, fails: 1, port: 9000 });
  assert.deepEqual(check(['          method: TCP', '          scheme: https', '          host: MGMT.example', '          port: 9443']),
    { method: 'TCP', uri: '/', interval: 30_000, passes: 1, fails: 1, scheme: 'https', host: 'mgmt.example', port: 9443 });
  assert.equal(check(['          method: TCP', '          host: "[fd00::5]"'])?.host, '[fd00::5]');
});

test('native health-check port, scheme and host errors carry the line of the key and what is expected', () => {
  const result = yaml([
    '          method: GET',
    '          scheme: ajp',
    '          host: kc1:9000',
    '          port: 0',
  ]);
  assert.equal(result.config, undefined);
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
    's.yaml:12: balancers.b.members[0].health-check.scheme: expected one of http, https, got "ajp"',
    's.yaml:13: balancers.b.members[0].health-check.host: "kc1:9000" is not a host; expected a host name or address such as 10.0.0.5, kc1.internal or [fd00::5], without a port',
    's.yaml:14: balancers.b.members[0].health-check.port: expected a whole number from 1 to 65535, got 0',
  ]);
  const more = yaml(['          method: GET', '          scheme: HTTP', '          host: http://kc1', '          port: "9000x"']);
  assert.deepEqual(more.diagnostics.map(formatDiagnostic), [
    's.yaml:12: balancers.b.members[0].health-check.scheme: expected one of http, https, got "HTTP"',
    's.yaml:13: balancers.b.members[0].health-check.host: "http://kc1" is not a host; expected a host name or address such as 10.0.0.5, kc1.internal or [fd00::5], without a port',
    's.yaml:14: balancers.b.members[0].health-check.port: expected a whole number from 1 to 65535, got "9000x"',
  ]);
  assert.deepEqual(messages(yaml(['          method: GET', '          host: ""']), 'error'),
    ['s.yaml:12: balancers.b.members[0].health-check.host: expected a host name or address such as 10.0.0.5, got ""']);
});

test('stickler convert writes the health check natively, leaving out defaults, and it loads back the same', () => {
  const { config } = withMembers([
    'http://10.0.0.1:8080 hcmethod=GET hcuri=/health hcinterval=5 hcfails=3 hcexpr=up',
    'http://10.0.0.2:8080 hcmethod=OPTIONS',
    'http://10.0.0.3:8080 hctemplate=ready hcpasses=2',
  ], ["ProxyHCExpr up {hc('body') =~ /UP/}", 'ProxyHCTemplate ready hcmethod=GET hcuri=/health/ready hcinterval=5 hcexpr=up']);
  const text = toYaml(config!);
  assert.match(text, /health-check:\n {10}method: GET\n {10}uri: \/health\n {10}interval: 5s\n {10}fails: 3\n {10}expr: hc\('body'\) =~ \/UP\/\n/);
  assert.match(text, /health-check:\n {10}method: OPTIONS\n/);
  const back = loadNativeConfigText(text, 'converted.yaml');
  assert.deepEqual(back.diagnostics.filter((d) => d.severity === 'error'), []);
  const checks = back.config?.balancers[0]?.members.map((m) => m.healthCheck && { ...m.healthCheck, expr: m.healthCheck.expr?.text });
  assert.deepEqual(checks, [
    { method: 'GET', uri: '/health', interval: 5000, passes: 1, fails: 3, expr: "hc('body') =~ /UP/" },
    { method: 'OPTIONS', uri: '/', interval: 30_000, passes: 1, fails: 1, expr: undefined },
    { method: 'GET', uri: '/health/ready', interval: 5000, passes: 2, fails: 1, expr: "hc('body') =~ /UP/" },
  ]);
});

test('convert keeps a native health check\'s port, scheme and host, and they load back the same', () => {
  const { config } = yaml(['          method: GET', '          uri: /health/ready', '          scheme: https', '          host: "[fd00::5]"', '          port: 9000']);
  const text = toYaml(config!);
  assert.match(text, /health-check:\n {10}method: GET\n {10}uri: \/health\/ready\n {10}scheme: https\n {10}host: "\[fd00::5\]"\n {10}port: 9000\n/);
  const back = loadNativeConfigText(text, 'converted.yaml');
  assert.deepEqual(back.diagnostics, []);
  assert.deepEqual(back.config?.balancers[0]?.members[0]?.healthCheck, config?.balancers[0]?.members[0]?.healthCheck);
});

test('property: healthHost never throws, and a host it keeps is a URL\'s whole host, to which a port can be added', () => {
  const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('[::1]', '[fd00::5]', 'a.b', '10.0.0.5', 'A', '[::1]:1', 'a@b', 'a%2f', '0x7f.1'));
  fc.assert(fc.property(text, (input) => {
    const host = healthHost(input);
    if (typeof host !== 'string') return;
    const url = new URL(`http://${host}:9000/`);
    assert.equal(url.hostname, host);
    assert.equal(url.port, '9000');
    assert.equal(host, input.toLowerCase());
  }), { numRuns: 2000 });
});
