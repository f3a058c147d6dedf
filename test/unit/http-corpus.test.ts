import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestCases } from '../fixtures/http/requests.ts';
import { readAll } from '../fixtures/http/verdict.ts';
import { loadCorpus } from '../fixtures/smuggling/corpus.ts';
import { refusalCode } from '../fixtures/smuggling/refusal.ts';

// The status alone would let a case pass when the rule it is about stops holding and a later one refuses the
// same bytes: each refusal is checked by its code.
for (const c of requestCases) {
  test(`corpus: ${c.name} → ${c.stickler}`, () => {
    const verdict = readAll([Buffer.from(c.raw, 'latin1')]);
    assert.deepEqual(
      { outcome: verdict.outcome, code: verdict.code },
      { outcome: c.stickler, code: c.stickler === 'accept' ? undefined : c.code },
    );
  });
}

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
