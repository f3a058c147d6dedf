// Every change of a member's status bits (member-status.ts), as traffic, health checks and the manager ask for
// it: which bits move, which stay, and the counters that go with each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failHealthCheck, leaveError, passHealthCheck, putInError, removeMember, setSwitches } from '../../src/balancer/member-status.ts';
import { BalancerState } from '../../src/balancer/state.ts';
import { Status, statusLabel } from '../../src/balancer/status.ts';
import type { StatusFlag } from '../../src/config/model.ts';
import { memberConfig } from '../support/fixtures.ts';

const fresh = (status: StatusFlag[] = []) => BalancerState.create([memberConfig({ status })]);

test('putInError: E with error_time, counted once on entering; a second failure only moves the time', () => {
  const state = fresh();
  assert.equal(state.withLock(() => putInError(state, 0, 1000)), true);
  assert.equal(state.withLock(() => putInError(state, 0, 2000)), false);
  assert.equal(statusLabel(state.status(0)), 'Init Err ');
  assert.deepEqual([state.errorTime(0), state.failures(0), state.changes(0).error], [2000, 2, 1]);
});

test('leaveError: only E is cleared; retries, recovery time and count follow', () => {
  const state = fresh(['D']);
  state.withLock(() => putInError(state, 0, 1000));
  state.withLock(() => leaveError(state, 0, 5000));
  assert.equal(state.status(0) & (Status.IN_ERROR | Status.DISABLED), Status.DISABLED);
  assert.deepEqual([state.retries(0), state.changes(0).recovered], [1, 1]);
});

test('health checks: a failure sets C; a pass clears C and E (as httpd does) but never the operator\'s D or S', () => {
  const state = fresh(['S']);
  state.withLock(() => failHealthCheck(state, 0));
  state.withLock(() => putInError(state, 0, 1000));
  assert.equal(state.status(0) & (Status.HC_FAIL | Status.IN_ERROR), Status.HC_FAIL | Status.IN_ERROR);
  state.withLock(() => passHealthCheck(state, 0, 3000));
  assert.equal(state.status(0) & (Status.HC_FAIL | Status.IN_ERROR | Status.STOPPED), Status.STOPPED);
  assert.deepEqual([state.changes(0).healthCheckFailed, state.changes(0).healthCheckPassed], [1, 1]);
});

test('setSwitches: the operator\'s switches become what is asked, error and health-check bits stay', () => {
  const state = fresh(['D', 'H']);
  state.withLock(() => putInError(state, 0, 1000));
  state.withLock(() => failHealthCheck(state, 0));
  state.withLock(() => setSwitches(state, 0, ['I', 'N', 'D', 'S', 'H', 'R'], ['N'], 0));
  assert.equal(state.status(0) & ~Status.INITIALIZED, Status.DRAIN | Status.IN_ERROR | Status.HC_FAIL);
});

test('setSwitches: a member let back in (no longer drained, disabled or stopped) ramps up with slow start from then', () => {
  const state = fresh(['N']);
  state.withLock(() => setSwitches(state, 0, ['N', 'D'], ['N', 'D'], 5000));
  assert.equal(state.recoveredAt(0), 0, 'still held back: no ramp');
  state.withLock(() => setSwitches(state, 0, ['N', 'D'], ['D'], 6000));
  assert.equal(state.recoveredAt(0), 0, 'disabled still');
  state.withLock(() => setSwitches(state, 0, ['N', 'D'], [], 7000));
  assert.equal(state.recoveredAt(0), 7000);
  state.withLock(() => setSwitches(state, 0, ['N', 'D'], [], 8000));
  assert.equal(state.recoveredAt(0), 7000, 'already in service: the ramp is not restarted');
});

test('removeMember: stopped and its slot free', () => {
  const state = fresh();
  state.withLock(() => removeMember(state, 0));
  assert.equal(state.status(0) & (Status.STOPPED | Status.FREE), Status.STOPPED | Status.FREE);
});

test('withLock releases the lock when the change throws', () => {
  const state = fresh();
  assert.throws(() => state.withLock(() => {
    throw new Error('boom');
  }), /boom/);
  assert.equal(state.withLock(() => 1), 1);
});
