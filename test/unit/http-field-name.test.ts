import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FieldNameSet, equalsLowerCase } from '../../src/http/field-name.ts';

test('equalsLowerCase is name.toLowerCase() === lower, for every latin1 character and the odd Unicode ones', () => {
  const lowers = ['connection', 'x-forwarded-for', 'k', 'i', 'ä', 'µ', 'ÿ', ''];
  const names = ['Connection', 'CONNECTION', 'connectioN', 'connectio', 'X-Forwarded-For', 'x_forwarded-for', 'K', '\u212a', 'I', '\u0130', 'Ä', 'ä', 'µ', 'Ÿ', ''];
  for (let code = 0; code < 0x100; code++) names.push(String.fromCharCode(code));
  for (const lower of lowers) {
    for (const name of names) assert.equal(equalsLowerCase(name, lower), name.toLowerCase() === lower, `${name} / ${lower}`);
  }
});

test('FieldNameSet finds names in any case and answers with its lower-case spelling', () => {
  const set = new FieldNameSet(['Connection', 'keep-alive', 'TE', 'te']);
  assert.equal(set.size, 3);
  assert.equal(set.find('CONNECTION'), 'connection');
  assert.equal(set.find('Keep-Alive'), 'keep-alive');
  assert.equal(set.find('Te'), 'te');
  assert.equal(set.find('Upgrade'), undefined);
  assert.equal(set.find('x'.repeat(1000)), undefined);
  assert.equal(set.has('tE'), true);
  assert.equal(new FieldNameSet([]).has(''), false);
});

test('FieldNameSet stays exact when many names share a length', () => {
  const names = Array.from({ length: 1000 }, (_, i) => `n${String(i).padStart(4, '0')}`);
  const set = new FieldNameSet(names);
  assert.equal(set.find('N0999'), 'n0999');
  assert.equal(set.find('N1000'), undefined);
  assert.equal(set.has('n0000'), true);
});
