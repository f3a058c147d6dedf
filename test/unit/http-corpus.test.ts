import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestCases } from '../fixtures/http/requests.ts';
import { readAll } from '../fixtures/http/verdict.ts';

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
