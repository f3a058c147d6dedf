// Why an edit the journal could not take is refused: a lost connection, or Redis reached but not vouching for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnacknowledgedWrite } from '../../src/shared/connection.ts';
import { DISCONNECTED, writeRefusal } from '../../src/shared/shared-edits.ts';

test('a write Redis took but no replica acknowledged, or that met a failover, is refused for that reason, not as unreachable', () => {
  for (const reason of ['no Redis replica acknowledged the edit within 2 s', 'the Redis primary changed while the edit was written']) {
    const said = writeRefusal(new UnacknowledgedWrite(reason));
    assert.equal(said, reason);
    assert.doesNotMatch(said, /unreachable/);
  }
});

test('any other write error is a lost connection, and says what the client said', () => {
  assert.equal(writeRefusal(new Error('Socket closed unexpectedly')), `${DISCONNECTED} (Socket closed unexpectedly)`);
});
