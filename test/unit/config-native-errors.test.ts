import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeConfig, loadNativeConfigText } from '../../src/config/native/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';

const FILE = 'stickler.yaml';

/** A valid file; each test breaks one line of it. Line numbers in the expectations refer to this text. */
const BASE = [
  'listeners:', //                              1
  '  - port: 443', //                           2
  'virtual-hosts:', //                          3
  '  - port: 443', //                           4
  '    backend-tls:', //                        5
  '      enabled: true', //                     6
  '    routes:', //                             7
  '      - path: /balancer-manager', //         8
  '        exclude: true', //                   9
  '      - path: /', //                         10
  '        balancer: wso2', //                  11
  'balancers:', //                              12
  '  wso2:', //                                 13
  '    sticky-session: JSESSIONID', //          14
  '    members:', //                            15
  '      - url: https://localhost:9443', //     16
  '        route: isNode1', //                  17
  '      - url: https://localhost:9444', //     18
  '        route: isNode2', //                  19
  '        loadfactor: 1', //                   20
].join('\n');

function edit(line: number, text: string): string {
  const lines = BASE.split('\n');
  lines.splice(line - 1, 1, ...text.split('\n'));
  return lines.join('\n');
}

function assertErrors(text: string, expected: string[]): void {
  const result = loadNativeConfigText(text, FILE);
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), expected);
  assert.equal(result.config, undefined);
}

test('the base file is valid', () => {
  assert.deepEqual(loadNativeConfigText(BASE, FILE).diagnostics, []);
});

test('YAML syntax errors carry the line of the offending node', () => {
  assertErrors(edit(9, '        exclude: true\n        exclude: true'), [
    'stickler.yaml:10: YAML syntax: map keys must be unique',
  ]);
});

test('an empty file is an error, not an empty configuration', () => {
  assertErrors('# nothing\n', [
    'stickler.yaml:1: (top level): the file is empty; expected a mapping with virtual-hosts and balancers',
  ]);
});

test('a misspelt key is reported with the keys that are allowed there', () => {
  assertErrors(edit(17, '        rout: isNode1'), [
    'stickler.yaml:17: balancers.wso2.members[0].rout: unknown key; expected one of: url, route, redirect, loadfactor, lbset, status, retry, timeout, connection-timeout, health-check, tls',
  ]);
});

test('a scalar where a list belongs names both', () => {
  assertErrors(edit(4, '  - port: 443\n    server-aliases: localhost'), [
    'stickler.yaml:5: virtual-hosts[0].server-aliases: expected a list ("- " entries), got "localhost"',
  ]);
});

test('a missing required key points at the mapping that lacks it', () => {
  assertErrors(edit(4, '  - host: "*"'), ['stickler.yaml:4: virtual-hosts[0].port: is required']);
});

test('loadfactor, lbset and port ranges are Apache\'s', () => {
  assertErrors(edit(20, '        loadfactor: 150'), [
    'stickler.yaml:20: balancers.wso2.members[1].loadfactor: 150 is out of range; expected a number from 1 to 100',
  ]);
  assertErrors(edit(20, '        lbset: 100'), [
    'stickler.yaml:20: balancers.wso2.members[1].lbset: 100 is out of range; expected a whole number from 0 to 99',
  ]);
  assertErrors(edit(2, '  - port: 70000'), [
    'stickler.yaml:2: listeners[0].port: expected a whole number from 1 to 65535, got 70000',
  ]);
});

test('bad durations, status flags and sticky names explain the accepted syntax', () => {
  assertErrors(edit(20, '        retry: 10 seconds'), [
    'stickler.yaml:20: balancers.wso2.members[1].retry: expected a duration such as 60s, 500ms or 2m, or a number of seconds, got "10 seconds"',
  ]);
  assertErrors(edit(20, '        status: +X'), [
    'stickler.yaml:20: balancers.wso2.members[1].status: "+X" has unknown flag "X"; expected flags from I, N, D, S, E, H, R, C, each optionally after + or -',
  ]);
  assertErrors(edit(14, '    sticky-session: JSESSIONID|a|b'), [
    'stickler.yaml:14: balancers.wso2.sticky-session: "JSESSIONID|a|b" has more than two names; expected COOKIE or COOKIE|urlparam',
  ]);
});

test('a route to an undefined balancer lists the defined ones', () => {
  assertErrors(edit(11, '        balancer: wso3'), [
    'stickler.yaml:11: virtual-hosts[0].routes[1].balancer: balancer "wso3" is not defined; defined balancers: wso2',
  ]);
});

test('a balancer without members is an error', () => {
  assertErrors(BASE.split('\n').slice(0, 14).join('\n'), [
    'stickler.yaml:13: balancers.wso2: balancer "wso2" has no members; expected a members list with at least one url',
  ]);
});

test('duplicate routes and duplicate members point back at the first', () => {
  assertErrors(edit(8, '      - path: /'), [
    'stickler.yaml:10: virtual-hosts[0].routes[1].path: duplicate route for path "/"; the first is at line 8',
  ]);
  assertErrors(edit(18, '      - url: https://localhost:9443'), [
    'stickler.yaml:18: balancers.wso2.members[1].url: duplicate member url "https://localhost:9443"; the first is at line 16',
  ]);
});

test('https members need backend TLS on the virtual host that routes to them', () => {
  assertErrors(edit(6, '      enabled: false'), [
    'stickler.yaml:11: virtual-hosts[0].routes[1].balancer: balancer "wso2" has https:// members (line 16) but backend TLS is off for this virtual host; set backend-tls: { enabled: true }',
  ]);
});

test('a route needs a balancer or exclude, and members need an http(s) URL', () => {
  assertErrors(edit(11, '        backend-path: /'), [
    'stickler.yaml:10: virtual-hosts[0].routes[1]: expected balancer: NAME to proxy this path, or exclude: true to keep it local',
  ]);
  assertErrors(edit(18, '      - url: localhost:9444'), [
    'stickler.yaml:18: balancers.wso2.members[1].url: expected an http:// or https:// URL such as https://10.0.0.5:9443, got "localhost:9444"',
  ]);
});

test('access rules are either require or order/allow/deny', () => {
  const withAccess = (rule: string) => edit(6, `      enabled: true\n    proxy-access:\n${rule}`);
  assertErrors(withAccess('      - { require: all granted, order: "deny,allow" }'), [
    'stickler.yaml:8: virtual-hosts[0].proxy-access[0]: a rule is either require: or order/allow/deny, not both; split it into two entries',
  ]);
  assertErrors(withAccess('      - {}'), [
    'stickler.yaml:8: virtual-hosts[0].proxy-access[0]: expected require: (such as all granted or ip 10.0.0.0/8) or order/allow/deny',
  ]);
  assertErrors(withAccess('      - require: ip 10.0.0.1 10.0.0.2'), [
    'stickler.yaml:8: virtual-hosts[0].proxy-access[0].require: expected [not] all granted, all denied, local, ip ADDRESS[/BITS] or host NAME, got "ip 10.0.0.1 10.0.0.2"',
  ]);
});

test('warnings keep the configuration: shadowed routes and virtual hosts nobody listens for', () => {
  const result = loadNativeConfigText(edit(2, '  - port: 8443').replace('      - path: /balancer-manager\n        exclude: true\n      - path: /\n        balancer: wso2',
    '      - path: /\n        balancer: wso2\n      - path: /balancer-manager\n        exclude: true'), FILE);
  assert.ok(result.config);
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [
    'stickler.yaml:4: virtual-hosts[0].port: no listener has port 443, so this virtual host never receives requests',
    'stickler.yaml:10: virtual-hosts[0].routes[1].path: never used: the route for "/" at line 8 matches first (routes are tried in order)',
  ]);
  assert.ok(result.diagnostics.every((d) => d.severity === 'warning'));
});

test('an unreadable file is a diagnostic, not an exception', () => {
  const result = loadNativeConfig('/nonexistent/stickler.yaml');
  assert.equal(result.config, undefined);
  assert.equal(result.diagnostics.length, 1);
  assert.match(formatDiagnostic(result.diagnostics[0]!),
    /^\/nonexistent\/stickler\.yaml:0: file: cannot read the configuration file: ENOENT/);
});

test('a member that is one of the listeners, the manager\'s included, is refused at its url key', () => {
  const loop = (url: string, listener: string) => `${url} is Stickler's own listener ${listener}: requests would loop back into Stickler, and through the manager's listener arrive from this machine, past "Require local"; expected the address of another server`;
  assertErrors(edit(18, '      - url: https://127.0.0.1:443'), [`${FILE}:18: balancers.wso2.members[1].url: ${loop('https://127.0.0.1:443', '0.0.0.0:443')}`]);
  assertErrors(`${edit(16, '      - url: http://localhost:9090/balancer-manager')}\nmanager:\n  port: 9090`, [
    `${FILE}:16: balancers.wso2.members[0].url: ${loop('http://localhost:9090/balancer-manager', '127.0.0.1:9090')}`,
  ]);
});

test('header-rules: each entry is checked as the Apache reader checks the same line, at its line', () => {
  const rule = (lines: string[]) => edit(11, ['        balancer: wso2', '    header-rules:', ...lines].join('\n'));
  assertErrors(rule(['      - direction: request', '        condition: always', '        action: set', '        header: X-A', '        value: b']), [
    'stickler.yaml:13: virtual-hosts[0].header-rules[0]: condition applies to response rules only (RequestHeader has none); remove it',
  ]);
  assertErrors(rule(['      - direction: response', '        action: edit', '        header: X-A', '        value: b']), [
    'stickler.yaml:13: virtual-hosts[0].header-rules[0]: edit needs pattern: REGEX',
  ]);
  assertErrors(rule(['      - direction: response', '        action: echo', '        header: X-A']), [
    'stickler.yaml:13: virtual-hosts[0].header-rules[0]: echo takes pattern (a regular expression on request header names), not header',
  ]);
  assertErrors(rule(['      - direction: request', '        action: set', '        header: Content-Length', '        value: "1"']), [
    'stickler.yaml:13: virtual-hosts[0].header-rules[0]: Content-Length is framing or hop-by-hop: Stickler writes it itself for each connection, so a rule cannot set it; expected another header name',
  ]);
  assertErrors(rule(['      - direction: response', '        action: set', '        header: X-A', '        value: "%l"']), [
    "stickler.yaml:13: virtual-hosts[0].header-rules[0]: %l is the load average, which Stickler does not have; expected %%, %t, %D, %{VARIABLE}e or %{VARIABLE}s",
  ]);
  assertErrors(rule(['      - direction: response', '        action: sett', '        header: X-A']), [
    'stickler.yaml:14: virtual-hosts[0].header-rules[0].action: expected one of set, append, add, merge, unset, setifempty, edit, edit*, echo, got "sett"',
  ]);
  assertErrors(rule(['      - direction: response', '        action: unset', '        header: X-A', '        env: "!"']), [
    'stickler.yaml:16: virtual-hosts[0].header-rules[0].env: expected VARIABLE or !VARIABLE, such as BALANCER_ROUTE_CHANGED, got "!"',
  ]);
  assertErrors(rule(['      - direction: response', '        action: unset', '        header: X-A', '        proxy: ftp://x/']), [
    'stickler.yaml:13: virtual-hosts[0].header-rules[0]: proxy: scheme ftp:// of "ftp://x/" is not supported by Stickler; expected http://, https:// or balancer://',
  ]);
});

test('stop-when-idle: a duration on a balancer, 0 for never; anything else is refused with file:line', () => {
  const read = (value: string) => loadNativeConfigText(edit(14, `    sticky-session: JSESSIONID\n    stop-when-idle: ${value}`), FILE);
  assert.equal(read('45m').config?.balancers[0]!.stopWhenIdle, 45 * 60_000);
  assert.equal(read('0').config?.balancers[0]!.stopWhenIdle, 0);
  assert.equal(loadNativeConfigText(BASE, FILE).config?.balancers[0]!.stopWhenIdle, undefined, 'unset: the default applies');
  assert.deepEqual(read('soon').diagnostics.map(formatDiagnostic),
    ['stickler.yaml:15: balancers.wso2.stop-when-idle: expected a duration such as 60s, 500ms or 2m, or a number of seconds, got "soon"']);
});
