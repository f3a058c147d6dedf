// The smuggling corpus (test/fixtures/smuggling) without sockets: each case is refused by the rule its code names.
// The integration test (test/integration/smuggling.test.ts) checks the same cases' statuses end to end, where
// the code is not visible; a status alone would let a case pass when its rule stops holding and a later rule
// refuses the same bytes for another reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/http/errors.ts';
import { MessageReader } from '../../src/http/reader.ts';
import { requestCases } from '../fixtures/http/requests.ts';
import { loadCorpus } from '../fixtures/smuggling/corpus.ts';
import { refusalCode } from '../fixtures/smuggling/refusal.ts';

test('smuggling corpus: every case is refused by the rule its code names, and only refused cases have one', () => {
  const cases = loadCorpus();
  assert.ok(cases.length >= 1000, `the corpus has ${cases.length} cases`);
  const wrong = cases
    .map((c) => ({ id: c.id, expected: c.code, actual: refusalCode(c.raw) }))
    .filter((r) => r.actual !== r.expected);
  assert.deepEqual(wrong, []);
  const unexplained = cases.filter((c) => c.expect.at(-1) !== 200 && c.code === '-' && !c.raw.includes('/balancer-manager '));
  assert.deepEqual(unexplained.map((c) => c.id), []);
  const coded = cases.filter((c) => c.expect.at(-1) === 200 && c.code !== '-');
  assert.deepEqual(coded.map((c) => c.id), []);
});

// errors.ts: messages never echo raw peer bytes, so they are safe to log.
test('no refusal message carries a byte a log could be confused by: printable ASCII only', () => {
  const raws = [...requestCases.map((c) => Buffer.from(c.raw, 'latin1')), ...loadCorpus().map((c) => c.raw)];
  let refused = 0;
  for (const raw of raws) {
    try {
      new MessageReader('request').push(raw);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      refused++;
      assert.match(err.message, /^[\x20-\x7e]+$/, JSON.stringify(raw.toString('latin1')));
    }
  }
  assert.ok(refused > 900, `${refused} refusals checked`);
});
