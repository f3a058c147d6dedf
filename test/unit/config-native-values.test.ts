// The native format's value syntaxes, called directly: each bound is pinned by the values just inside and just
// outside it, and each refusal by its message, so a widened range or a lost check fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describe, formatDuration, formatHostMatch, formatReadTimeout, formatRequire, formatSeparator, formatSize,
  formatStatus, parseChoice, parseDuration, parseHostMatch, parseNumber, parseReadTimeout, parseRequire, parseSeparator,
  parseSize, parseStatus, parseSticky, parseSwitch, parseText,
} from '../../src/config/native/values.ts';
import { formatSticky } from '../../src/config/model.ts';

const fail = (message: string) => ({ ok: false, message });
const ok = <T>(value: T) => ({ ok: true, value });

test('describe names a YAML value as messages show it', () => {
  assert.deepEqual([undefined, null, [1], { a: 1 }, 'x', 3, true].map(describe), ['nothing', 'an empty value', 'a list', 'a mapping', '"x"', '3', 'true']);
});

test('parseDuration: units, plain seconds, whole milliseconds, and the minimum as a bound', () => {
  assert.deepEqual(parseDuration('60s', 1), ok(60_000));
  assert.deepEqual(parseDuration(' 500 ms ', 1), ok(500));
  assert.deepEqual(parseDuration('2m', 1), ok(120_000));
  assert.deepEqual(parseDuration('1h', 1), ok(3_600_000));
  assert.deepEqual(parseDuration('1.5', 1), ok(1500));
  assert.deepEqual(parseDuration(2, 1), ok(2000));
  assert.deepEqual(parseDuration(0, 0), ok(0));
  assert.deepEqual(parseDuration('0.001', 1), ok(1));
  assert.deepEqual(parseDuration('1ms', 1), ok(1));
  assert.deepEqual(parseDuration('0ms', 1), fail('must be at least 1ms, got "0ms"'));
  assert.deepEqual(parseDuration('999ms', 1000), fail('must be at least 1s, got "999ms"'));
  assert.deepEqual(parseDuration('0.0005', 0), fail('"0.0005" is not a whole number of milliseconds'));
  const expected = 'expected a duration such as 60s, 500ms or 2m, or a number of seconds';
  for (const bad of [-1, Infinity, NaN, '1d', '-1s', 's', '', '1.s', null, [1]]) {
    assert.deepEqual(parseDuration(bad, 0), fail(`${expected}, got ${describe(bad)}`), String(bad));
  }
  assert.deepEqual([1, 999, 1000, 61_000, 120_000].map(formatDuration), ['1ms', '999ms', '1s', '61s', '120s']);
});

test('parseSize: bytes, k, m and g as binary multiples, and the minimum as a bound', () => {
  assert.deepEqual(parseSize(8190, 1), ok(8190));
  assert.deepEqual(parseSize('64k', 1), ok(65_536));
  assert.deepEqual(parseSize(' 1M ', 1), ok(1_048_576));
  assert.deepEqual(parseSize('1g', 1), ok(1_073_741_824));
  assert.deepEqual(parseSize('100', 100), ok(100));
  assert.deepEqual(parseSize(99, 100), fail('must be at least 100 bytes, got 99'));
  const expected = 'expected a size in bytes such as 8190, 64k, 1m or 1g';
  for (const bad of ['1t', '1.5k', '-1', 1.5, 2 ** 53, true, '']) {
    assert.deepEqual(parseSize(bad, 0), fail(`${expected}, got ${describe(bad)}`), String(bad));
  }
  assert.deepEqual([1023, 1024, 1536, 1_048_576, 3 * 1024 ** 3, 0].map(formatSize), [1023, '1k', 1536, '1m', '3g', 0]);
});

test('parseReadTimeout: a duration, or timeout with min-rate and a max longer than it', () => {
  assert.deepEqual(parseReadTimeout('20s'), ok({ timeout: 20_000, minRate: 0, max: 0 }));
  assert.deepEqual(parseReadTimeout({ timeout: '20s', 'min-rate': 500, max: '40s' }), ok({ timeout: 20_000, minRate: 500, max: 40_000 }));
  assert.deepEqual(parseReadTimeout({ timeout: 20, 'min-rate': 1 }), ok({ timeout: 20_000, minRate: 1, max: 0 }));
  assert.deepEqual(parseReadTimeout({ timeout: 20, 'min-rate': 1, max: '20001ms' }), ok({ timeout: 20_000, minRate: 1, max: 20_001 }));
  assert.deepEqual(parseReadTimeout('0s'), fail('must be at least 1ms, got "0s"'));
  assert.deepEqual(parseReadTimeout({ timeout: 20, rate: 1 }), fail('unknown key "rate"; expected timeout, min-rate, max'));
  assert.deepEqual(parseReadTimeout({}), fail('timeout: expected a duration such as 60s, 500ms or 2m, or a number of seconds, got nothing'));
  assert.deepEqual(parseReadTimeout({ timeout: 20, 'min-rate': 0 }), fail('min-rate: expected a whole number >= 1, got 0 (bytes per second)'));
  assert.deepEqual(parseReadTimeout({ timeout: 20, 'min-rate': 1, max: 0 }), fail('max: must be at least 1ms, got 0'));
  assert.deepEqual(parseReadTimeout({ timeout: 20, max: 40 }), fail('max needs min-rate: without a rate the timeout never grows'));
  assert.deepEqual(parseReadTimeout({ timeout: 20, 'min-rate': 1, max: 20 }), fail('max (20s) must be longer than timeout (20s)'));
  assert.deepEqual(parseReadTimeout([1]), fail('expected a duration such as 60s, 500ms or 2m, or a number of seconds, got a list'));
  assert.equal(formatReadTimeout({ timeout: 20_000, minRate: 0, max: 0 }), '20s');
  assert.deepEqual(formatReadTimeout({ timeout: 20_000, minRate: 500, max: 0 }), { timeout: '20s', 'min-rate': 500 });
  assert.deepEqual(formatReadTimeout({ timeout: 20_000, minRate: 500, max: 40_500 }), { timeout: '20s', 'min-rate': 500, max: '40500ms' });
});

test('parseNumber: both bounds inclusive, whole numbers when asked; loadfactor 1-100 and lbset 0-99 as the schema asks', () => {
  const loadfactor = (n: unknown) => parseNumber(n, 1, 100, false);
  const lbset = (n: unknown) => parseNumber(n, 0, 99, true);
  assert.deepEqual([1, 1.5, 100].map(loadfactor), [ok(1), ok(1.5), ok(100)]);
  for (const bad of [0.99, 100.01, '5', NaN, Infinity]) {
    assert.deepEqual(loadfactor(bad), fail(`expected a number from 1 to 100, got ${describe(bad)}`));
  }
  assert.deepEqual([0, 99].map(lbset), [ok(0), ok(99)]);
  for (const bad of [-1, 100, 1.5]) assert.deepEqual(lbset(bad), fail(`expected a whole number from 0 to 99, got ${bad}`));
  assert.deepEqual(parseNumber(0, 1, Infinity, true), fail('expected a whole number >= 1, got 0'));
  assert.deepEqual(parseNumber(2 ** 40, 1, Infinity, true), ok(2 ** 40));
});

test('parseSwitch, parseText, parseChoice', () => {
  assert.deepEqual([true, false, 'On', 'off', 'OFF'].map(parseSwitch), [ok(true), ok(false), ok(true), ok(false), ok(false)]);
  assert.deepEqual(parseSwitch('yes'), fail('expected true or false, got "yes"'));
  assert.deepEqual(parseSwitch('onx'), fail('expected true or false, got "onx"'));
  assert.deepEqual(parseText(' a ', 'a name'), ok(' a '));
  assert.deepEqual(parseText('  ', 'a name'), fail('expected a name, got "  "'));
  assert.deepEqual(parseText(1, 'a name'), fail('expected a name, got 1'));
  assert.deepEqual(parseChoice('b', ['a', 'b']), ok('b'));
  assert.deepEqual(parseChoice('B', ['a', 'b']), fail('expected one of a, b, got "B"'));
});

test('parseStatus: a list of flags or Apache\'s +/- string, case-insensitive, without duplicates', () => {
  assert.deepEqual(parseStatus(['h', 'D', 'H']), ok(['H', 'D']));
  assert.deepEqual(parseStatus('+H-E'), ok(['H']));
  assert.deepEqual(parseStatus('DSd-D+e'), ok(['S', 'E']));
  assert.deepEqual(parseStatus('-H'), ok([]));
  assert.deepEqual(parseStatus(''), ok([]));
  const listExpected = 'expected a list of flags from I, N, D, S, E, H, R, C, such as [H, D]';
  assert.deepEqual(parseStatus(['HD']), fail(`"HD" is not a flag; ${listExpected}`));
  assert.deepEqual(parseStatus([1]), fail(`1 is not a flag; ${listExpected}`));
  assert.deepEqual(parseStatus(['X']), fail(`"X" is not a flag; ${listExpected}`));
  const expected = 'expected flags from I, N, D, S, E, H, R, C, each optionally after + or -';
  assert.deepEqual(parseStatus('+X'), fail(`"+X" has unknown flag "X"; ${expected}`));
  assert.deepEqual(parseStatus(3), fail(`3 is not a status; ${expected}`));
  assert.equal(formatStatus(['H', 'D']), '+HD');
});

test('parseSticky: COOKIE or COOKIE|urlparam, names 1 to 63 characters without separators', () => {
  assert.deepEqual(parseSticky('JSESSIONID'), ok({ cookie: 'JSESSIONID', urlParam: 'JSESSIONID' }));
  assert.deepEqual(parseSticky('JSESSIONID|jsessionid'), ok({ cookie: 'JSESSIONID', urlParam: 'jsessionid' }));
  const at = 'S'.repeat(63);
  assert.deepEqual(parseSticky(`${at}|${at}`), ok({ cookie: at, urlParam: at }));
  const reasons: Array<[string, string]> = [
    ['A|', 'has an empty name; expected COOKIE or COOKIE|urlparam'],
    ['|a', 'has an empty name; expected COOKIE or COOKIE|urlparam'],
    ['', 'has an empty name; expected COOKIE or COOKIE|urlparam'],
    ['a|b|c', 'has more than two names; expected COOKIE or COOKIE|urlparam'],
    [`${at}S`, 'has a name of 64 characters; expected names of at most 63'],
    [`a|${at}S`, 'has a name of 64 characters; expected names of at most 63'],
  ];
  for (const [bad, reason] of reasons) assert.deepEqual(parseSticky(bad), fail(`"${bad}" ${reason}`), bad);
  for (const [bad, c] of [['a b', ' '], ['a;b', ';'], ['a,b', ','], ['a=b', '='], ['a|b c', ' ']] as const) {
    assert.deepEqual(parseSticky(bad), fail(`"${bad}" has "${c}" in a name; expected COOKIE or COOKIE|urlparam of letters, digits and !#$%&'*+-.^_\`~`), bad);
  }
  assert.deepEqual(parseSticky(1), fail('1 is not a name; expected COOKIE or COOKIE|urlparam'));
  assert.equal(formatSticky({ cookie: 'A', urlParam: 'A' }), 'A');
  assert.equal(formatSticky({ cookie: 'A', urlParam: 'a' }), 'A|a');
});

test('parseSeparator: one character, or off/false for none', () => {
  assert.deepEqual([false, 'off', 'OFF', '.', 'é'].map(parseSeparator), [ok(null), ok(null), ok(null), ok('.'), ok('é')]);
  assert.deepEqual(parseSeparator('..'), fail('expected a single character or off, got ".."'));
  assert.deepEqual(parseSeparator(true), fail('expected a single character or off, got true'));
  assert.deepEqual(parseSeparator(''), fail('expected a single character or off, got ""'));
  assert.equal(formatSeparator(null), 'off');
  assert.equal(formatSeparator('.'), '.');
});

test('parseHostMatch and parseRequire: one match per entry, negation, and refusals with a hint', () => {
  assert.deepEqual(parseHostMatch(' all '), ok({ kind: 'all' }));
  assert.deepEqual(parseHostMatch('ip 10.0.0.0/8'), ok({ kind: 'ip', cidr: '10.0.0.0/8' }));
  assert.deepEqual(parseHostMatch('host  example.com'), ok({ kind: 'host', name: 'example.com' }));
  assert.deepEqual(parseHostMatch('ip 1.2.3.4 5.6.7.8'), fail('expected all, ip ADDRESS[/BITS] or host NAME (write one address or host per entry), got "ip 1.2.3.4 5.6.7.8"'));
  assert.deepEqual(parseHostMatch('net x'), fail('expected all, ip ADDRESS[/BITS] or host NAME, got "net x"'));
  assert.deepEqual(parseHostMatch('ip'), fail('expected all, ip ADDRESS[/BITS] or host NAME, got "ip"'));
  assert.deepEqual(parseHostMatch(1), fail('expected all, ip ADDRESS[/BITS] or host NAME, got 1'));
  assert.deepEqual(parseRequire('all granted'), ok({ negate: false, match: 'all-granted' }));
  assert.deepEqual(parseRequire(' not  all   denied '), ok({ negate: true, match: 'all-denied' }));
  assert.deepEqual(parseRequire('local'), ok({ negate: false, match: 'local' }));
  assert.deepEqual(parseRequire('not ip 10.1.0.0/16'), ok({ negate: true, match: { kind: 'ip', cidr: '10.1.0.0/16' } }));
  const expected = 'expected [not] all granted, all denied, local, ip ADDRESS[/BITS] or host NAME';
  for (const bad of ['all', 'not all', 'nothing', 'granted']) assert.deepEqual(parseRequire(bad), fail(`${expected}, got "${bad}"`), bad);
  assert.deepEqual(parseRequire(false), fail(`${expected}, got false`));
  assert.equal(formatHostMatch({ kind: 'all' }), 'all');
  assert.equal(formatHostMatch({ kind: 'ip', cidr: '::1' }), 'ip ::1');
  assert.equal(formatHostMatch({ kind: 'host', name: 'a' }), 'host a');
  assert.deepEqual(
    [formatRequire(false, 'all-granted'), formatRequire(true, 'all-denied'), formatRequire(false, 'local'), formatRequire(true, { kind: 'host', name: 'a' })],
    ['all granted', 'not all denied', 'local', 'not host a'],
  );
});
