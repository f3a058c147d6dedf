// Leaving the error state and ramping back up, called directly on a state: the exact retry boundary, which bits
// block recovery, forcerecovery's scan, and slowstart's weight at each point of its ramp.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dueRecovery, forceRecovery, retryMember } from '../../src/balancer/recovery.ts';
import { recoveryLine, type Recovery } from '../../src/balancer/recovery-line.ts';
import { effectiveFactor } from '../../src/balancer/slowstart.ts';
import { BalancerState } from '../../src/balancer/state.ts';
import { Status, isUsable, statusFromFlags, statusLabel } from '../../src/balancer/status.ts';
import type { MemberView } from '../../src/balancer/member-view.ts';
import { memberConfig } from '../support/fixtures.ts';

function view(now: number, over: Partial<MemberView> = {}, retries = [1000, 1000]): MemberView & { told: number[]; why: Recovery[] } {
  const members = retries.map((retry, i) => memberConfig({ url: `http://m${i}:8080`, route: `m${i}`, retry, loadfactor: 2 }));
  const told: number[] = [];
  const why: Recovery[] = [];
  return { members, state: BalancerState.create(members), now, recovered: (m, reason) => void (told.push(m), why.push(reason)), told, why, ...over };
}

function inError(v: MemberView, m: number, at: number, extra = 0): void {
  v.state.setStatusBits(m, Status.IN_ERROR | extra);
  v.state.setErrorTime(m, at);
}

test('retryMember: back strictly after retry ms, counted, timed and told; only E is cleared', () => {
  const at = view(1500);
  inError(at, 0, 500);
  retryMember(at, 0);
  assert.equal(at.state.status(0) & Status.IN_ERROR, Status.IN_ERROR, 'at exactly error time + retry it stays in error');
  assert.deepEqual(at.told, []);
  const after = view(1501);
  inError(after, 0, 500, Status.DISABLED);
  retryMember(after, 0);
  assert.equal(after.state.status(0) & (Status.IN_ERROR | Status.DISABLED), Status.DISABLED);
  assert.equal(after.state.retries(0), 1);
  assert.equal(after.state.recoveredAt(0), 1501);
  assert.equal(after.state.changes(0).recovered, 1);
  assert.deepEqual(after.told, [0]);
  assert.deepEqual(after.why, [{ kind: 'retry', retryMs: 1000 }]);
});

test('retryMember: a stopped member never comes back, one ignoring errors at once, one not in error is untouched', () => {
  const stopped = view(10_000);
  inError(stopped, 0, 0, Status.STOPPED);
  retryMember(stopped, 0);
  assert.notEqual(stopped.state.status(0) & Status.IN_ERROR, 0);
  const ignoring = view(1);
  inError(ignoring, 0, 1, Status.IGNORE_ERRORS);
  retryMember(ignoring, 0);
  assert.equal(ignoring.state.status(0) & Status.IN_ERROR, 0);
  assert.deepEqual(ignoring.why, [{ kind: 'ignore-errors' }]);
  const fine = view(10_000);
  retryMember(fine, 0);
  assert.equal(fine.state.retries(0), 0);
  assert.deepEqual(fine.told, []);
});

test('forceRecovery: only when every member is in error and none can be retried, and only when enabled', () => {
  const all = view(100);
  inError(all, 0, 50);
  inError(all, 1, 50);
  forceRecovery(all, false);
  assert.deepEqual([all.state.status(0) & Status.IN_ERROR, all.state.status(1) & Status.IN_ERROR], [Status.IN_ERROR, Status.IN_ERROR]);
  forceRecovery(all, true);
  assert.deepEqual([all.state.status(0) & Status.IN_ERROR, all.state.status(1) & Status.IN_ERROR], [0, 0]);
  assert.deepEqual(all.told, [0, 1]);
  assert.deepEqual(all.why, [{ kind: 'forced' }, { kind: 'forced' }], 'a forced recovery is not told as a retry');
  const one = view(100);
  inError(one, 0, 50);
  forceRecovery(one, true);
  assert.notEqual(one.state.status(0) & Status.IN_ERROR, 0, 'a member free of error blocks the recovery');
  const retried = view(5000, {}, [1000, 100_000]);
  inError(retried, 0, 50);
  inError(retried, 1, 50);
  forceRecovery(retried, true);
  assert.equal(retried.state.status(0) & Status.IN_ERROR, 0);
  assert.notEqual(retried.state.status(1) & Status.IN_ERROR, 0, 'the first retried member ends the scan');
  assert.deepEqual(retried.told, [0]);
  assert.deepEqual(retried.why, [{ kind: 'retry', retryMs: 1000 }], 'retried by the scan, not forced');
});

test('dueRecovery: says what would bring a member back now, changing nothing', () => {
  const v = view(1501);
  assert.equal(dueRecovery(v, 0), undefined, 'not in error');
  inError(v, 0, 500);
  assert.deepEqual(dueRecovery(v, 0), { kind: 'retry', retryMs: 1000 });
  assert.equal(dueRecovery({ ...v, now: 1500 }, 0), undefined, 'its retry time has not passed');
  inError(v, 1, 1500, Status.IGNORE_ERRORS);
  assert.deepEqual(dueRecovery(v, 1), { kind: 'ignore-errors' });
  v.state.setStatusBits(0, Status.STOPPED);
  assert.equal(dueRecovery(v, 0), undefined, 'a stopped member never comes back by itself');
  assert.notEqual(v.state.status(1) & Status.IN_ERROR, 0);
  assert.deepEqual([v.told, v.state.retries(0), v.state.retries(1)], [[], 0, 0]);
});

test('recoveryLine: names the member and why it is back, with the slow start ramp', () => {
  assert.equal(recoveryLine('b', 'http://m0:8080', { kind: 'retry', retryMs: 60_000 }),
    'balancer://b: member http://m0:8080 is back: its retry time of 60 s passed');
  assert.equal(recoveryLine('b', 'http://m0:8080', { kind: 'forced' }, 30_000),
    'balancer://b: member http://m0:8080 is back: forced recovery, every member was in error (forcerecovery); its share ramps up over 30 s');
  assert.equal(recoveryLine('b', 'http://m0:8080', { kind: 'ignore-errors' }), 'balancer://b: member http://m0:8080 is back: it ignores errors (status +I)');
  assert.equal(recoveryLine('b', 'http://m0:8080', { kind: 'manager', user: 'alice', ip: '10.0.0.9' }),
    'balancer://b: member http://m0:8080 is back: enabled through the manager by alice (10.0.0.9)');
  assert.equal(recoveryLine('b', 'http://m0:8080', { kind: 'manager', user: '-', ip: '127.0.0.1' }),
    'balancer://b: member http://m0:8080 is back: enabled through the manager by an anonymous user (127.0.0.1)');
});

test('effectiveFactor: the configured factor without slowstart or before any recovery, 1 % to 100 % along the ramp', () => {
  const plain = view(1000);
  assert.equal(effectiveFactor(plain, 0), 200);
  const ramp = (now: number, recoveredAt: number) => {
    const v = view(now, { slowStart: 1000 });
    v.state.setRecoveredAt(0, recoveredAt);
    return effectiveFactor(v, 0);
  };
  assert.equal(ramp(5000, 0), 200, 'never recovered');
  assert.equal(ramp(5000, 5000), 2, '1 % at the start');
  assert.equal(ramp(5005, 5000), 2, 'still 1 %');
  assert.equal(ramp(5500, 5000), 100);
  assert.equal(ramp(5999, 5000), 199);
  assert.equal(ramp(6000, 5000), 200);
  const tiny = view(5000, { slowStart: 1000 });
  tiny.state.setLbfactor(0, 50);
  tiny.state.setRecoveredAt(0, 5000);
  assert.equal(effectiveFactor(tiny, 0), 1, 'never below 1');
  assert.equal(effectiveFactor(view(1000, { slowStart: 0 }), 0), 200);
});

test('status words: flags to bits, usability, and the manager label', () => {
  assert.equal(statusFromFlags([]), Status.INITIALIZED);
  assert.equal(statusFromFlags(['I', 'N', 'D', 'S', 'E', 'H', 'R', 'C']), 0x1 | 0x2 | 0x4 | 0x20 | 0x40 | 0x80 | 0x100 | 0x800 | 0x400);
  assert.equal(isUsable(Status.INITIALIZED), true);
  assert.equal(isUsable(Status.INITIALIZED | Status.DRAIN | Status.HOT_STANDBY), true);
  for (const bit of [Status.IN_SHUTDOWN, Status.DISABLED, Status.STOPPED, Status.IN_ERROR, Status.HC_FAIL]) {
    assert.equal(isUsable(Status.INITIALIZED | bit), false);
  }
  assert.equal(isUsable(0), false);
  assert.equal(statusLabel(0), '??? ');
  assert.equal(statusLabel(Status.INITIALIZED), 'Init Ok ');
  assert.equal(statusLabel(0xfff), 'Init Ign Drn Gen Shut Dis Stop Err Stby Free HcFl Spar ');
  assert.equal(statusLabel(Status.INITIALIZED | Status.DRAIN | Status.GENERIC | Status.FREE | Status.HOT_SPARE), 'Init Drn Gen Free Spar Ok ');
});
