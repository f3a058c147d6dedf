// How a piped log's destination becomes a program and its arguments: httpd's ap_open_piped_log and APR's
// apr_tokenize_to_argv, quirks included (strings/apr_cpystrn.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { pipedCommand, splitArguments } from '../../src/log/piped-command.ts';

test('|, || and |$: without a shell, twice without a shell, through /bin/sh -c', () => {
  assert.deepEqual(pipedCommand('|/usr/bin/rotatelogs /var/log/a.%Y 86400'), { file: '/usr/bin/rotatelogs', args: ['/var/log/a.%Y', '86400'], shell: false });
  assert.deepEqual(pipedCommand('||cat -u'), { file: 'cat', args: ['-u'], shell: false });
  assert.deepEqual(pipedCommand('|$exec cat >> "/tmp/a b"'), { file: '/bin/sh', args: ['-c', 'exec cat >> "/tmp/a b"'], shell: true });
});

test('words as APR splits them', () => {
  const cases: Array<[string, string[]]> = [
    ['  a \t b  ', ['a', 'b']],
    ['"a b" \'c d\'', ['a b', 'c d']],
    ['a"b c"', ['a"b', 'c"'], ],
    ['"ab"cd', ['ab', 'cd']],
    ['""', ['']],
    ['a\\ b', ['a b']],
    ['a\\"b', ['a"b']],
    ['a\\b', ['ab']],
    ['a\\\\b', ['a\\b']],
    ['a\\', ['a']],
    ['"a\\" b"', ['a" b']],
    ['"a " b', ['a " b']],
    ['"a  " b', ['a  ', 'b']],
    ['\'it"s\'', ['it"s']],
    ['"', ['']],
    // The second backslash still shields the blank: APR cannot end a word with a backslash before another word.
    ['a\\\\ b', ['a\\ b']],
  ];
  for (const [text, words] of cases) assert.deepEqual(splitArguments(text), words, text);
});

const plain = fc.string({ unit: fc.constantFrom(...'abc/-._%019xyz'.split('')), minLength: 1, maxLength: 8 });

test('property: text with no quote or backslash splits on runs of blanks', () => {
  fc.assert(fc.property(fc.array(plain, { maxLength: 6 }), fc.array(fc.constantFrom(' ', '\t', '  ', ' \t'), { minLength: 7, maxLength: 7 }), (words, blanks) => {
    const text = blanks[0] + words.map((w, i) => w + blanks[i + 1]).join('');
    assert.deepEqual(splitArguments(text), words);
  }));
});

test('property: a word not ending in a backslash survives a backslash before each blank, quote and backslash', () => {
  const word = fc.string({ unit: fc.constantFrom(...'ab "\'\\\t'.split('')), minLength: 1, maxLength: 10 }).filter((w) => !w.endsWith('\\'));
  const escape = (w: string): string => w.replace(/[ \t"'\\]/g, (c) => `\\${c}`);
  fc.assert(fc.property(fc.array(word, { minLength: 1, maxLength: 5 }), (words) => {
    assert.deepEqual(splitArguments(words.map(escape).join(' ')), words);
  }));
});

test('property: a double-quoted word keeps its blanks when none ends it', () => {
  const inner = fc.string({ unit: fc.constantFrom(...'ab\' x'.split('')), maxLength: 10 }).filter((w) => !/[ \t]$/.test(w));
  fc.assert(fc.property(fc.array(inner, { minLength: 1, maxLength: 4 }), (words) => {
    assert.deepEqual(splitArguments(words.map((w) => `"${w}"`).join(' ')), words);
  }));
});

test('property: never throws, and no word comes from blanks alone', () => {
  fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'a "\'\\\t'.split('')), maxLength: 30 }), (text) => {
    const words = splitArguments(text);
    if (text.trim() === '') assert.deepEqual(words, []);
  }));
});
