// The value rules of balancer and member settings (balancer-values.ts): examples of each, and properties over any
// text: a parser gives a value or a reason and never throws, and the Apache reader, the native YAML reader and
// the manager's JSON API give the same verdict, in the same words, for the same text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import {
  because, parseLbMethod, parseLbset, parseLoadfactor, parseManagerMaxAttempts, parseManagerTimeoutMs, parseMaxAttempts, parseRouteName,
  parseStatusFlags, parseStickySession, type Verdict,
} from '../../src/config/balancer-values.ts';
import { newBalancer, newMember, setBalancerParam, setWorkerParam } from '../../src/config/apache/params.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { readEdit } from '../../src/manager/edit-input.ts';

const ok = <T>(value: T) => ({ ok: true, value });
const no = (problem: string, expected: string) => ({ ok: false, reason: { problem, expected } });

test('loadfactor: 1 to 100 with decimals, as text or as a number', () => {
  assert.deepEqual(['1', '100', '1.5', 1, 100, 2.25].map(parseLoadfactor), [ok(1), ok(100), ok(1.5), ok(1), ok(100), ok(2.25)]);
  for (const bad of ['0', '0.99', '100.01', 0, 101]) assert.deepEqual(parseLoadfactor(bad), no('is out of range', 'a number from 1 to 100'), String(bad));
  for (const bad of ['x', '1.', '.5', '-1', '1e2', ' 1', '', NaN, Infinity, null, [1], true]) {
    assert.deepEqual(parseLoadfactor(bad), no('is not a number', 'a number from 1 to 100'), String(bad));
  }
});

test('lbset 0 to 99, maxattempts 0 to a million, and the manager\'s own ranges from httpd\'s form', () => {
  assert.deepEqual(['0', '99', 7].map(parseLbset), [ok(0), ok(99), ok(7)]);
  assert.deepEqual(parseLbset('100'), no('is out of range', 'a whole number from 0 to 99'));
  for (const bad of ['-1', '1.5', 1.5, 'x', '']) assert.deepEqual(parseLbset(bad), no('is not a whole number', 'a whole number from 0 to 99'));
  assert.deepEqual([parseMaxAttempts('1000000'), parseMaxAttempts(1_000_001).ok], [ok(1_000_000), false]);
  assert.deepEqual([parseManagerMaxAttempts(99), parseManagerMaxAttempts(100).ok], [ok(99), false]);
  assert.deepEqual([parseManagerTimeoutMs(7_200_000), parseManagerTimeoutMs(7_200_001).ok, parseManagerTimeoutMs(-1).ok], [ok(7_200_000), false, false]);
});

test('route and redirect names: at most 63 printable characters, empty for none; a YAML number is its text', () => {
  const at = 'r'.repeat(63);
  assert.deepEqual([at, '', 'node 1', 1].map(parseRouteName), [ok(at), ok(''), ok('node 1'), ok('1')]);
  assert.deepEqual(parseRouteName(`${at}x`), no('is too long (64 characters)', 'at most 63'));
  assert.deepEqual(parseRouteName('a\tb'), no('contains a control character', 'at most 63 printable characters'));
  assert.deepEqual(parseRouteName(null), no('is not a name', 'a name of at most 63 characters'));
});

test('status flags: +/- switch setting and clearing, any case, on top of the flags already set', () => {
  assert.deepEqual(parseStatusFlags('+H-E'), ok(['H']));
  assert.deepEqual(parseStatusFlags('DSd-D+e'), ok(['S', 'E']));
  assert.deepEqual(parseStatusFlags('-D+h', ['D', 'S']), ok(['S', 'H']));
  assert.deepEqual(parseStatusFlags(''), ok([]));
  assert.deepEqual(parseStatusFlags('+X'), no('has unknown flag "X"', 'flags from I, N, D, S, E, H, R, C, each optionally after + or -'));
});

test('lbmethod: the three methods in any case; heartbeat is named as unsupported', () => {
  assert.deepEqual(['byrequests', 'ByBusyness', 'BYTRAFFIC'].map(parseLbMethod), [ok('byrequests'), ok('bybusyness'), ok('bytraffic')]);
  assert.deepEqual(parseLbMethod('heartbeat'), no('is not supported by Stickler (it needs mod_heartmonitor)', 'byrequests, bybusyness or bytraffic'));
  assert.deepEqual(parseLbMethod('toString'), no('is not known', 'byrequests, bybusyness or bytraffic'));
});

test('stickysession: one or two token names of at most 63 characters', () => {
  assert.deepEqual(parseStickySession('JSESSIONID'), ok({ cookie: 'JSESSIONID', urlParam: 'JSESSIONID' }));
  assert.deepEqual(parseStickySession('JSESSIONID|jsessionid'), ok({ cookie: 'JSESSIONID', urlParam: 'jsessionid' }));
  assert.deepEqual(parseStickySession('A|'), no('has an empty name', 'COOKIE or COOKIE|urlparam'));
  assert.deepEqual(parseStickySession('a|b|c'), no('has more than two names', 'COOKIE or COOKIE|urlparam'));
  assert.deepEqual(parseStickySession(`a|${'S'.repeat(64)}`), no('has a name of 64 characters', 'names of at most 63'));
  assert.equal(parseStickySession('a;b').ok, false);
  assert.equal(parseStickySession('a\u00e9').ok, false);
});

test('because: the front end names the value, the rule says the rest', () => {
  const verdict = parseLoadfactor('0');
  assert.ok(!verdict.ok);
  assert.equal(because('loadfactor "0"', verdict.reason), 'loadfactor "0" is out of range; expected a number from 1 to 100');
});

/** Text shaped like the values, and anything at all. */
const valueText = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.stringMatching(/^[0-9.+-]{0,6}$/),
  fc.stringMatching(/^[+-]?[a-zA-Z+-]{0,5}$/),
  fc.stringMatching(/^[A-Za-z_|;= ]{0,10}$/),
  fc.constantFrom('byrequests', 'BYTRAFFIC', 'heartbeat', 'JSESSIONID|jsessionid', '1', '100', '100.5', '99', '1000001', 'r'.repeat(64)),
);

test('any text gives a value or a reason, never an exception', () => {
  const parsers: Array<(input: unknown) => Verdict<unknown>> = [
    parseLoadfactor, parseLbset, parseMaxAttempts, parseManagerMaxAttempts, parseManagerTimeoutMs, parseRouteName, parseStatusFlags, parseLbMethod, parseStickySession,
  ];
  fc.assert(fc.property(fc.oneof(valueText, fc.anything()), (input) => {
    for (const parse of parsers) {
      const verdict = parse(input);
      if (!verdict.ok) assert.ok(verdict.reason.problem !== '' && verdict.reason.expected !== '');
    }
  }), { numRuns: 2000 });
});

/** What the Apache reader says of `key=text`: undefined when accepted, else its message after `key "text" `. */
function apacheSays(key: string, text: string, member: boolean): string | undefined {
  const outcome = member
    ? setWorkerParam(newMember('http://a:1', { file: 't.conf', line: 1 }), { key, value: text })
    : setBalancerParam(newBalancer('b', { file: 't.conf', line: 1 }), { key, value: text });
  if (outcome === undefined) return undefined;
  assert.ok('error' in outcome);
  const subject = `${key} "${text}" `;
  assert.ok(outcome.error.startsWith(subject), outcome.error);
  return outcome.error.slice(subject.length);
}

const YAML_BASE = [
  'listeners:', '  - port: 443', 'virtual-hosts:', '  - port: 443', '    routes:', '      - path: /', '        balancer: app',
  'balancers:', '  app:', '    members:', '      - url: http://localhost:9443',
];

/** What the YAML reader says of `key: "text"` (on the balancer or its member): undefined when accepted, else its message after the value. */
function yamlSays(key: string, text: string, member: boolean): string | undefined {
  const line = member ? `        ${key}: ${JSON.stringify(text)}` : `    ${key}: ${JSON.stringify(text)}`;
  const lines = [...YAML_BASE];
  lines.splice(member ? 11 : 9, 0, line);
  const result = loadNativeConfigText(lines.join('\n'), 'stickler.yaml');
  const found = result.diagnostics.filter((d) => d.severity === 'error');
  if (found.length === 0) return undefined;
  assert.equal(found.length, 1, found.map((d) => d.message).join('\n'));
  assert.equal(found[0]!.directive, member ? `balancers.app.members[0].${key}` : `balancers.app.${key}`);
  const subject = `"${text}" `;
  assert.ok(found[0]!.message.startsWith(subject), found[0]!.message);
  return found[0]!.message.slice(subject.length);
}

/** What the manager's JSON API says of the change `{field: text}`: undefined when accepted, else its reason after the value. */
function managerSays(field: string, text: string, member: boolean): string | undefined {
  const body = member
    ? { kind: 'member', balancer: 'app', member: 'http://a:1', change: { [field]: text } }
    : { kind: 'balancer', balancer: 'app', change: { [field]: text } };
  const read = readEdit(body);
  if (read.ok) return undefined;
  const subject = `change.${field}: ${JSON.stringify(text)} `;
  assert.ok(read.reason.startsWith(subject), read.reason);
  return read.reason.slice(subject.length);
}

/** [Apache key, YAML key, manager field or undefined, on a member, the rule]. */
const SETTINGS: Array<[string, string, string | undefined, boolean, (input: unknown) => Verdict<unknown>]> = [
  ['loadfactor', 'loadfactor', 'loadfactor', true, parseLoadfactor],
  ['lbset', 'lbset', 'lbset', true, parseLbset],
  ['route', 'route', 'route', true, parseRouteName],
  ['redirect', 'redirect', 'redirect', true, parseRouteName],
  ['status', 'status', undefined, true, parseStatusFlags],
  ['lbmethod', 'lbmethod', 'lbmethod', false, parseLbMethod],
  ['stickysession', 'sticky-session', 'stickySession', false, parseStickySession],
  ['maxattempts', 'max-attempts', undefined, false, parseMaxAttempts],
];

test('the Apache reader, the YAML reader and the manager give the same verdict in the same words for the same text', () => {
  for (const [apacheKey, yamlKey, field, member, rule] of SETTINGS) {
    fc.assert(fc.property(valueText, (text) => {
      const verdict = rule(text);
      const words = verdict.ok ? undefined : `${verdict.reason.problem}; expected ${verdict.reason.expected}`;
      assert.equal(apacheSays(apacheKey, text, member), words, `Apache ${apacheKey}=${text}`);
      // YAML reads a double-quoted scalar a little differently from JSON in a few escapes; those texts are not this reader's.
      if (parseYaml(JSON.stringify(text)) === text) assert.equal(yamlSays(yamlKey, text, member), words, `YAML ${yamlKey}: ${text}`);
      if (field !== undefined) assert.equal(managerSays(field, text, member), words, `manager ${field}: ${text}`);
    }), { numRuns: 150 });
  }
});
