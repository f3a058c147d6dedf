// The character classes and small grammars every head is checked against, byte by byte against their RFC
// definitions written as regular expressions: a class one byte wider is a smuggling channel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FIELD_VALUE, HEXDIG, TARGET, TOKEN, isDigits, isValidHostPort, splitList, tokenList } from '../../src/http/syntax.ts';

function each(table: Uint8Array, rule: RegExp, what: string): void {
  assert.equal(table.length, 256);
  for (let b = 0; b < 256; b++) assert.equal(table[b], rule.test(String.fromCharCode(b)) ? 1 : 0, `${what} 0x${b.toString(16)}`);
}

test('byte tables: tchar, field value, request-target, HEXDIG', () => {
  each(TOKEN, /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/, 'token');
  each(FIELD_VALUE, /^[\t\x20-\x7e\x80-\xff]$/, 'field value');
  each(TARGET, /^[\x21-\x22\x24-\x7e]$/, 'target');
  each(HEXDIG, /^[0-9A-Fa-f]$/, 'hexdig');
});

test('isValidHostPort: names of unreserved bytes, bracketed IPv6, and a port of at most 5 digits up to 65535', () => {
  for (let b = 0x21; b < 0x7f; b++) {
    const c = String.fromCharCode(b);
    assert.equal(isValidHostPort(`a${c}b`), /^[A-Za-z0-9._~-]$/.test(c), `name byte ${c}`);
    assert.equal(isValidHostPort(`[1${c}2]`), /^[0-9A-Fa-f:.]$/.test(c), `IPv6 byte ${c}`);
  }
  for (const ok of ['a', 'a:0', 'a:65535', 'a:00080', '[::1]', '[::1]:443', '[a]', 'A-b.c_d~e', '10.0.0.1:8080']) assert.equal(isValidHostPort(ok), true, ok);
  for (const bad of ['', ':80', 'a:', 'a:65536', 'a:000080', 'a:8x', 'a:+80', '[]', '[::1', '[::1]x', '[::1]:', '[::1]:99999', 'a b', 'u@a', 'a:1:2']) {
    assert.equal(isValidHostPort(bad), false, bad);
  }
});

test('splitList trims SP and HTAB around elements and keeps empty ones; tokenList skips them and refuses non-tokens', () => {
  assert.deepEqual(splitList(' a ,\tb\t, ,c'), ['a', 'b', '', 'c']);
  assert.deepEqual(splitList('a'), ['a']);
  assert.deepEqual(splitList(' \t '), ['']);
  assert.deepEqual(tokenList('Close, , Keep-Alive'), ['close', 'keep-alive']);
  assert.deepEqual(tokenList(''), []);
  assert.equal(tokenList('a, b c'), undefined);
  assert.equal(isDigits('0123456789'), true);
  assert.equal(isDigits(''), false);
  assert.equal(isDigits('1a'), false);
  assert.equal(isDigits('/'), false);
  assert.equal(isDigits(':'), false);
});
