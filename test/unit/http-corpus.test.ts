import assert from 'node:assert/strict';
import { test } from 'node:test';
import { requestCases } from '../fixtures/http/requests.ts';
import { readAll } from '../fixtures/http/verdict.ts';

for (const c of requestCases) {
  test(`corpus: ${c.name} → ${c.stickler}`, () => {
    const verdict = readAll([Buffer.from(c.raw, 'latin1')]);
    assert.equal(verdict.outcome, c.stickler, verdict.code ?? 'accepted');
  });
}
