// Drain until empty: which draining members the decider stops, and when.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BalancerState, sessionSeconds } from '../../src/balancer/state.ts';
import { Status } from '../../src/balancer/status.ts';
import type { EditTarget } from '../../src/manager/edits.ts';
import { drainingMembers, IDLE_STOP_ACTOR, IdleWatch, idleStopEdit, idleStopMoot, stopVerdict, type DrainingMember } from '../../src/manager/idle-stop.ts';
import type { MergeActivity } from '../../src/manager/overview.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

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

test('a member another instance last said was active is not stopped, however old the last request heard from it', () => {
  const watch = new IdleWatch();
  watch.due([member({ lastRequestAt: 0, activeElsewhere: true })], 0);
  assert.deepEqual(watch.due([member({ lastRequestAt: 0, activeElsewhere: true })], 10 ** 6), []);
  assert.equal(watch.due([member({ lastRequestAt: 0 })], 10 ** 6).length, 1, 'stopped once that instance says it has been idle');
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

function twoMembers() {
  const config = balancerConfig([memberConfig({ url: 'http://a:1', route: 'a' }), memberConfig({ url: 'http://b:1', route: 'b' })], { name: 'app' });
  const state = BalancerState.create(config.members, { growth: 1 });
  return { state, targets: new Map<string, EditTarget>([['app', { config, state }]]) };
}

test('read again before the stop: a member whose drain an operator ended since the tick, or stopped, is left alone', () => {
  const { state, targets } = twoMembers();
  state.setStatusBits(0, Status.DRAIN);
  assert.equal(stopVerdict(targets, { balancer: 'app', url: 'http://a:1' }), 'stop');
  state.clearStatusBits(0, Status.DRAIN);
  assert.equal(stopVerdict(targets, { balancer: 'app', url: 'http://a:1' }), 'moot', 'drain ended: the operator had the last word');
  state.setStatusBits(0, Status.DRAIN | Status.STOPPED);
  assert.equal(stopVerdict(targets, { balancer: 'app', url: 'http://a:1' }), 'moot');
  assert.equal(stopVerdict(targets, { balancer: 'app', url: 'http://gone:1' }), 'moot');
  assert.equal(stopVerdict(targets, { balancer: 'other', url: 'http://a:1' }), 'moot');
});

test('the last member able to take new sessions is kept draining, with why, while the others are out or in error', () => {
  const { state, targets } = twoMembers();
  state.setStatusBits(0, Status.DRAIN);
  for (const bit of [Status.DRAIN, Status.DISABLED, Status.STOPPED, Status.IN_ERROR]) {
    state.setStatusBits(1, bit);
    const verdict = stopVerdict(targets, { balancer: 'app', url: 'http://a:1' });
    assert.ok(typeof verdict === 'object' && /no other member of the balancer takes new sessions/.test(verdict.keep), `other member ${bit.toString(16)}`);
    state.clearStatusBits(1, bit);
  }
  assert.equal(stopVerdict(targets, { balancer: 'app', url: 'http://a:1' }), 'stop');
});

test('a stop-when-idle journal entry that another decider or the operator made moot is refused where it is applied; others pass', () => {
  const { state, targets } = twoMembers();
  const stop = idleStopEdit({ balancer: 'app', url: 'http://a:1' });
  state.setStatusBits(0, Status.DRAIN);
  assert.equal(idleStopMoot(targets, stop, IDLE_STOP_ACTOR), undefined, 'draining and not stopped: the first stop applies');
  state.setStatusBits(0, Status.STOPPED);
  assert.deepEqual(idleStopMoot(targets, stop, IDLE_STOP_ACTOR), { ok: false, status: 409, reason: 'already stopped or no longer draining' }, 'a second decider\'s stop');
  assert.equal(idleStopMoot(targets, stop, { user: 'alice', ip: '10.0.0.9' }), undefined, 'the same edit by an operator is theirs to make');
  state.clearStatusBits(0, Status.STOPPED | Status.DRAIN);
  assert.equal(idleStopMoot(targets, stop, IDLE_STOP_ACTOR)?.status, 409, 'drain ended by the operator meanwhile');
  state.setStatusBits(0, Status.DRAIN);
  state.setStatusBits(1, Status.DISABLED);
  assert.match(idleStopMoot(targets, stop, IDLE_STOP_ACTOR)?.reason ?? '', /no other member of the balancer takes new sessions/);
});

test('a draining member\'s last request is the group\'s newest when activity is merged, this instance\'s own without', () => {
  const { state, targets } = twoMembers();
  state.setStatusBits(0, Status.DRAIN);
  assert.deepEqual(drainingMembers(targets).map((m) => m.lastRequestAt), [null], 'no session here');
  const merged: MergeActivity = (balancer, url, local) => {
    assert.deepEqual([balancer, url], ['app', 'http://a:1']);
    return { active: local.active + 1, lastRequestAt: 1_700_000_050_000 };
  };
  assert.deepEqual(drainingMembers(targets, merged).map((m) => [m.lastRequestAt, m.activeElsewhere]), [[1_700_000_050_000, true]], 'busy through another instance');
  assert.equal(drainingMembers(targets)[0]!.activeElsewhere, undefined);
  state.touchSession(0, 'JSESSIONID-1', sessionSeconds(1_700_000_000_000));
  const local = drainingMembers(targets)[0]!.lastRequestAt!;
  assert.ok(Math.abs(local - 1_700_000_000_000) < 1_000, 'this instance\'s own session');
  const seen: Array<number | null> = [];
  drainingMembers(targets, (_b, _m, l) => (seen.push(l.lastRequestAt), l));
  assert.deepEqual(seen, [local], 'the merge starts from this instance\'s own');
});
