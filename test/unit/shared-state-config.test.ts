// The shared-state configuration as a reload sees it: what changed is said, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedStateReloadWarning, type SharedStateConfig } from '../../src/config/model-shared.ts';

const running: SharedStateConfig = { source: { file: 'a.yaml', line: 3 }, url: 'redis://10.0.0.7:6379/0', keyPrefix: 'stickler:', instance: 'lb1' };

test('a reload that keeps the shared state, its line moved, says nothing', () => {
  assert.equal(sharedStateReloadWarning(running, { ...running, source: { file: 'a.yaml', line: 9 } }), undefined);
  assert.equal(sharedStateReloadWarning(undefined, undefined), undefined);
});

test('a reload that changes, adds or removes the shared state says it takes effect at the next start', () => {
  for (const next of [{ ...running, url: 'redis://10.0.0.8:6379/0' }, { ...running, keyPrefix: 'idp:' }, { ...running, instance: 'lb9' }, undefined]) {
    assert.equal(
      sharedStateReloadWarning(running, next),
      'shared-state changes take effect at the next start; this instance stays on redis://10.0.0.7:6379/0 (key prefix stickler:)',
    );
  }
  assert.equal(sharedStateReloadWarning(undefined, running), 'shared-state changes take effect at the next start; this instance goes on without shared state');
});
