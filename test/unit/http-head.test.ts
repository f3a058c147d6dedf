import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startsWithLowerCase } from '../../src/http/field-name.ts';
import { getHeader, getHeaders, type HeaderList } from '../../src/http/head.ts';

const headers: HeaderList = [['Host', 'a'], ['X-Forwarded-For', '1'], ['Cookie', 'c=1'], ['x-forwarded-for', '2'], ['COOKIE', 'd=2']];

test('getHeader: the first field of that name in any case, or undefined', () => {
  assert.equal(getHeader(headers, 'host'), 'a');
  assert.equal(getHeader(headers, 'X-FORWARDED-FOR'), '1');
  assert.equal(getHeader(headers, 'cookie'), 'c=1');
  assert.equal(getHeader(headers, 'Forwarded'), undefined);
  assert.equal(getHeader([], 'host'), undefined);
});

test('getHeaders: every field of that name in arrival order, whatever its case', () => {
  assert.deepEqual(getHeaders(headers, 'x-forwarded-for'), ['1', '2']);
  assert.deepEqual(getHeaders(headers, 'Cookie'), ['c=1', 'd=2']);
  assert.deepEqual(getHeaders(headers, 'Host'), ['a']);
  assert.deepEqual(getHeaders(headers, 'Via'), []);
});

test('startsWithLowerCase: an ASCII lower-case prefix in any ASCII case, and never past the name', () => {
  assert.equal(startsWithLowerCase('X-Forwarded-Proto', 'x-forwarded-'), true);
  assert.equal(startsWithLowerCase('x-forwarded-', 'x-forwarded-'), true);
  assert.equal(startsWithLowerCase('SSL_CLIENT_S_DN', 'ssl_'), true);
  assert.equal(startsWithLowerCase('X-Forwarded', 'x-forwarded-'), false);
  assert.equal(startsWithLowerCase('Y-Forwarded-For', 'x-forwarded-'), false);
  assert.equal(startsWithLowerCase('X-Forwardes-For', 'x-forwarded-'), false);
  assert.equal(startsWithLowerCase('anything', ''), true);
  assert.equal(startsWithLowerCase('', 'a'), false);
  // Only ASCII letters fold: '[' is 0x20 below '{' but not a letter.
  assert.equal(startsWithLowerCase('[', '{'), false);
  assert.equal(startsWithLowerCase('@', '`'), false);
});
