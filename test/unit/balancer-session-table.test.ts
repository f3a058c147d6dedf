// The per-member table of recent sessions that drain decisions read: a session counts from the second it was last
// seen, the window's first second included, and per member; the same session seen again is one session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { countSessions, rememberSession, sessionsSeen, sessionTableLength } from '../../src/balancer/session-table.ts';

test('a session seen exactly at the start of the window counts; one second before does not', () => {
  const table = new Int32Array(sessionTableLength(2));
  rememberSession(table, 0, 'A.node1', 100, 0);
  assert.equal(countSessions(table, 0, 100), 1, 'seen at the first second of the window');
  assert.equal(countSessions(table, 0, 101), 0, 'seen before the window');
  assert.equal(countSessions(table, 1, 0), 0, 'another member has its own table');
});

test('seen again, a session moves its time and stays one session', () => {
  const table = new Int32Array(sessionTableLength(1));
  rememberSession(table, 0, 'A.node1', 100, 0);
  rememberSession(table, 0, 'A.node1', 200, 0);
  assert.equal(countSessions(table, 0, 0), 1);
  assert.equal(countSessions(table, 0, 150), 1, 'its last sighting is what counts');
});

test('property: a few distinct sessions of one member are each counted once, and only by that member', () => {
  fc.assert(fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 20 }), (sessions) => {
    const table = new Int32Array(sessionTableLength(2));
    for (const s of sessions) rememberSession(table, 1, s, 50, 0);
    const counted = countSessions(table, 1, 50);
    // Distinct ids may share a 32-bit hash; then they are one entry, which only ever lowers the count.
    assert.ok(counted <= sessions.length);
    if (sessions.length > 0) assert.ok(counted >= 1);
    assert.equal(countSessions(table, 0, 0), 0);
  }));
});

test('sessionsSeen lists a member\'s sessions of the window, newest first, by hash', () => {
  const table = new Int32Array(sessionTableLength(2));
  rememberSession(table, 0, 'A.node1', 100, 0);
  rememberSession(table, 0, 'B.node1', 300, 0);
  rememberSession(table, 0, 'C.node1', 200, 0);
  rememberSession(table, 1, 'D.node2', 400, 0);
  const seen = sessionsSeen(table, 0, 150);
  assert.deepEqual(seen.map((s) => s.lastSeen), [300, 200]);
  assert.ok(seen.every((s) => s.hash > 0));
  assert.equal(new Set(seen.map((s) => s.hash)).size, 2);
});
