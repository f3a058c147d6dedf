// Drain until empty: which draining members the decider stops, and when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IdleWatch, idleStopEdit, type DrainingMember } from '../../src/manager/idle-stop.ts';

const GEN = {};
const member = (fields: Partial<DrainingMember> = {}): DrainingMember =>
  ({ balancer: 'app', url: 'http://10.0.0.1:8080', stopWhenIdleMs: 60_000, lastRequestAt: null, generation: GEN, ...fields });

test('a draining member is stopped once stop-when-idle has passed since it was first seen draining and since its last request', () => {
  const watch = new IdleWatch();
  assert.deepEqual(watch.due([member({ lastRequestAt: 500 })], 1_000), [], 'first seen now');
  assert.deepEqual(watch.due([member({ lastRequestAt: 30_000 })], 60_999), [], 'a request at 30 s keeps it until 90 s');
  assert.deepEqual(watch.due([member({ lastRequestAt: 30_000 })], 89_999), []);
  assert.equal(watch.due([member({ lastRequestAt: 30_000 })], 90_000).length, 1);
});

test('with no session at all, it waits the whole stop-when-idle from when it was first seen draining', () => {
  const watch = new IdleWatch();
  assert.deepEqual(watch.due([member()], 0), []);
  assert.deepEqual(watch.due([member()], 59_999), []);
  assert.equal(watch.due([member()], 60_000).length, 1);
});

test('stop-when-idle 0 never stops it', () => {
  const watch = new IdleWatch();
  watch.due([member({ stopWhenIdleMs: 0 })], 0);
  assert.deepEqual(watch.due([member({ stopWhenIdleMs: 0 })], 10 ** 9), []);
});

test('a member drained again, or whose state a reload replaced, starts its idle time again', () => {
  const watch = new IdleWatch();
  watch.due([member()], 0);
  watch.due([], 30_000);
  assert.deepEqual(watch.due([member()], 60_000), [], 'undrained at 30 s, drained again at 60 s');
  assert.equal(watch.due([member()], 120_000).length, 1);
  const reloaded = new IdleWatch();
  reloaded.due([member()], 0);
  const fresh = {};
  assert.deepEqual(reloaded.due([member({ generation: fresh })], 60_000), [], 'a fresh state knows no session yet');
  assert.equal(reloaded.due([member({ generation: fresh })], 120_000).length, 1);
});

test('the edit stops the member and ends its drain', () => {
  assert.deepEqual(idleStopEdit(member()), { kind: 'member', balancer: 'app', member: 'http://10.0.0.1:8080', change: { status: { stopped: true, drain: false } } });
});
