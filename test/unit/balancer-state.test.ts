// The status word (docs/apache-semantics.md#status-flags) and the shared-memory layout of BalancerState.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BalancerState, lbfactorOf, SESSION_WINDOW_S } from '../../src/balancer/state.ts';
import { isUsable, Status, statusFromFlags, statusLabel } from '../../src/balancer/status.ts';
import { memberConfig } from '../support/fixtures.ts';

const member = memberConfig;

describe('status flags', () => {
  test('INITIALIZED is always set', () => {
    assert.equal(statusFromFlags([]), Status.INITIALIZED);
    assert.equal(statusFromFlags(['H', 'D']), Status.INITIALIZED | Status.HOT_STANDBY | Status.DISABLED);
  });

  test('usable means none of U D S E C, and drain, standby, spare, ignore-errors do not matter', () => {
    for (const flag of ['N', 'H', 'R', 'I'] as const) assert.equal(isUsable(statusFromFlags([flag])), true, flag);
    for (const flag of ['D', 'S', 'E', 'C'] as const) assert.equal(isUsable(statusFromFlags([flag])), false, flag);
    assert.equal(isUsable(Status.INITIALIZED | Status.IN_SHUTDOWN), false);
    assert.equal(isUsable(0), false);
  });

  test('labels as the manager shows them, in Apache table order', () => {
    assert.equal(statusLabel(statusFromFlags([])), 'Init Ok ');
    assert.equal(statusLabel(statusFromFlags(['N'])), 'Init Drn Ok ');
    assert.equal(statusLabel(statusFromFlags(['H'])), 'Init Stby Ok ');
    assert.equal(statusLabel(statusFromFlags(['D'])), 'Init Dis ');
    assert.equal(statusLabel(statusFromFlags(['E'])), 'Init Err ');
    assert.equal(statusLabel(statusFromFlags(['R', 'C', 'S', 'I'])), 'Init Ign Stop HcFl Spar ');
    assert.equal(statusLabel(0), '??? ');
  });
});

describe('BalancerState', () => {
  test('starts from configuration: status, lbfactor ×100 truncated, lbset, zero counters', () => {
    const state = BalancerState.create([member({ status: ['H'], loadfactor: 1.15, lbset: 3 })]);
    assert.equal(state.status(0), Status.INITIALIZED | Status.HOT_STANDBY);
    assert.equal(state.lbfactor(0), 114); // 1.15 * 100 = 114.999…, truncated as C's int conversion does
    assert.equal(state.lbset(0), 3);
    assert.deepEqual([state.lbstatus(0), state.busy(0), state.elected(0), state.errorTime(0)], [0, 0, 0, 0]);
    assert.equal(lbfactorOf(1.5), 150);
  });

  test('layout: whole 64-byte lines, so that threads on different members never share one', () => {
    // A line for the lock, one for the rest of the header, a line of lbstatus per 16 members, two lines per
    // member (read-mostly, busy); then per member 205 doubles padded to 208 = 1664 bytes; then 1024 session
    // pairs = 8192 bytes; then the routes its sessions carried, 5 lines = 320 bytes.
    assert.equal(BalancerState.byteLength(0), 128);
    assert.equal(BalancerState.byteLength(1), 128 + 64 + 128 + 1664 + 8192 + 320);
    assert.equal(BalancerState.byteLength(2), 128 + 64 + 256 + 3328 + 16384 + 640);
    assert.equal(BalancerState.byteLength(17), 128 + 128 + 17 * (128 + 1664 + 8192 + 320));
    for (const capacity of [1, 2, 3, 7, 17]) assert.equal(BalancerState.byteLength(capacity) % 64, 0, `${capacity} members`);
  });

  test('layout: no two fields of any member overlap, past a line of lbstatus too', () => {
    const members = Array.from({ length: 17 }, (_, m) => member({ loadfactor: m + 1, lbset: m }));
    const state = BalancerState.create(members, { growth: 1 });
    for (let m = 0; m < 17; m++) {
      state.addLbstatus(m, -(m + 1000));
      for (let i = 0; i <= m; i++) state.addBusy(m);
      state.addRetry(m);
      state.addElected(m);
    }
    for (let m = 0; m < 17; m++) {
      assert.deepEqual([state.status(m), state.lbfactor(m), state.lbset(m), state.lbstatus(m), state.busy(m), state.retries(m), state.elected(m)],
        [Status.INITIALIZED, (m + 1) * 100, m, -(m + 1000), m + 1, 1, 1], `member ${m}`);
    }
    assert.deepEqual([state.lbstatus(17), state.busy(17), state.count], [0, 0, 17], 'the growth slot untouched');
  });

  test('sessions sticking to a member: each counted once, per member, until the window passes', () => {
    const state = BalancerState.create([member({}), member({})]);
    for (let i = 0; i < 300; i++) state.touchSession(0, `S${i}.a`, 1000);
    for (let i = 0; i < 300; i++) state.touchSession(0, `S${i}.a`, 1100);
    state.touchSession(1, 'X.b', 1000);
    const counted = state.recentSessions(0, 1100);
    assert.ok(counted >= 295 && counted <= 300, `${counted} sessions counted for 300`);
    assert.equal(state.recentSessions(1, 1100), 1);
    assert.equal(state.recentSessions(1, 1000 + SESSION_WINDOW_S + 1), 0, 'forgotten after the window');
  });

  test('growth: added members take the spare slots in order, filled before they are counted; a full state says -1', () => {
    const state = BalancerState.create([member({})], { growth: 2 });
    assert.deepEqual([state.capacity, state.count], [3, 1]);
    assert.equal(state.addMember(member({ status: ['D'], loadfactor: 2, lbset: 1 })), 1);
    assert.deepEqual([state.count, statusLabel(state.status(1)), state.lbfactor(1), state.lbset(1)], [2, 'Init Dis ', 200, 1]);
    assert.equal(state.addMember(member({})), 2);
    assert.equal(state.addMember(member({})), -1);
    assert.equal(state.count, 3);
  });

  test('requests, failures and the latency histogram: buckets by upper bound, the last one for the slowest', () => {
    const state = BalancerState.create([member({})]);
    for (const ms of [1, 5, 5.1, 99, 20_000]) state.addRequest(0, ms, 1000);
    state.addRequest(0, undefined, 1000);
    state.addFailure(0, 4242);
    assert.equal(state.requests(0), 6);
    assert.equal(state.latencySum(0), 1 + 5 + 5.1 + 99 + 20_000);
    assert.deepEqual(state.latencyBuckets(0), [2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual([state.failures(0), state.lastFailure(0)], [1, 4242]);
  });

  test('the last minute: slots of 5 s, the current one and the eleven before it; older slots are reused, not summed', () => {
    const start = 1_767_225_600_000; // a whole minute, so slots start on it
    const state = BalancerState.create([member({}), member({})], { now: start });
    const empty = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert.deepEqual(state.recentTraffic(0, start + 30_000), { fromMs: start, requests: 0, latency: { sumMs: 0, buckets: empty } },
      'a state half a minute old has half a minute');
    state.addRequest(0, 3, start + 1_000);
    state.addRequest(0, 30, start + 4_999);
    state.addRequest(0, undefined, start + 5_000);
    state.addRequest(1, 7, start + 2_000);
    const early = state.recentTraffic(0, start + 10_000);
    assert.deepEqual(early, { fromMs: start, requests: 3, latency: { sumMs: 33, buckets: [1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0] } });
    assert.equal(state.recentTraffic(1, start + 10_000).requests, 1, 'each member its own');
    // At start + 59.999 s the window's oldest slot is the first: everything counts. At 60 s that slot has left it.
    assert.equal(state.recentTraffic(0, start + 59_999).requests, 3);
    assert.deepEqual(state.recentTraffic(0, start + 60_000), { fromMs: start + 5_000, requests: 1, latency: { sumMs: 0, buckets: empty } });
    // A minute later the first slot's place is taken again: emptied, then counted afresh.
    state.addRequest(0, 4, start + 61_000);
    assert.deepEqual(state.recentTraffic(0, start + 62_000), { fromMs: start + 5_000, requests: 2, latency: { sumMs: 4, buckets: [1, ...empty.slice(1)] } });
    assert.equal(state.recentTraffic(0, start + 200_000).requests, 0, 'nothing in the last minute');
    assert.equal(state.requests(0), 4, 'the totals keep everything');
  });

  test('a shared buffer gives a second view of the same numbers', () => {
    const state = BalancerState.create([member({}), member({})], { shared: true });
    assert.ok(state.buffer instanceof SharedArrayBuffer);
    const view = BalancerState.attach(state.buffer);
    state.addLbstatus(1, -250);
    state.addTraffic(1, 10, 20);
    state.setErrorTime(1, 1234.5);
    assert.deepEqual([view.count, view.lbstatus(1), view.transferred(1), view.read(1), view.errorTime(1)],
      [2, -250, 10, 20, 1234.5]);
  });

  test('busy never drops below zero', () => {
    const state = BalancerState.create([member({})]);
    state.addBusy(0);
    state.dropBusy(0);
    state.dropBusy(0);
    assert.equal(state.busy(0), 0);
  });

  test('a buffer of the wrong size is refused with its numbers', () => {
    const buffer = BalancerState.create([member({})]).buffer.slice(0, 200);
    assert.throws(() => BalancerState.attach(buffer), /has 200 bytes; 1 members need 10496/);
    assert.throws(() => BalancerState.attach(new ArrayBuffer(4)), /too small/);
  });

  test('the lock is exclusive; taking it twice on one thread is a bug that throws instead of hanging', () => {
    const state = BalancerState.create([member({})]);
    state.lock();
    assert.throws(() => state.lock(), /taken twice/);
    state.unlock();
    state.lock();
    state.unlock();
    const shared = BalancerState.create([member({})], { shared: true });
    shared.lock();
    assert.throws(() => shared.lock(), /taken twice/, 'on a shared buffer too: waiting for itself would never end');
    shared.unlock();
    shared.withLock(() => undefined);
  });
});

test('a lock left held by a thread that died is freed for it, and only for it', () => {
  const state = BalancerState.create([memberConfig({ url: 'http://a' })], { shared: true });
  const words = new Int32Array(state.buffer);
  // Another thread (id 41) took the lock and died holding it.
  Atomics.store(words, 0, 42);
  state.releaseIfHeldBy(7);
  assert.equal(Atomics.load(words, 0), 42, 'not freed for a thread that does not hold it');
  state.releaseIfHeldBy(41);
  assert.equal(Atomics.load(words, 0), 0);
  state.lock();
  state.unlock();
});

test("a dead thread's ledger gives back the busy it held, and only that; busy and ledgers never go below zero", () => {
  const state = BalancerState.create([memberConfig({ url: 'http://a' }), memberConfig({ url: 'http://b' })], { shared: true, growth: 1 });
  const ledgerA = state.newLedger();
  const ledgerB = state.newLedger();
  assert.equal(ledgerA.byteLength, 3 * 4, 'one count per slot, growth included');
  const a = BalancerState.attach(state.buffer, ledgerA);
  const b = BalancerState.attach(state.buffer, ledgerB);
  a.addBusy(0);
  a.addBusy(0);
  a.addBusy(0);
  a.dropBusy(0);
  a.addBusy(2);
  b.addBusy(0);
  b.addBusy(1);
  assert.deepEqual([state.busy(0), state.busy(1), state.busy(2)], [3, 1, 1]);
  state.releaseLedger(ledgerA);
  assert.deepEqual([state.busy(0), state.busy(1), state.busy(2)], [1, 1, 0], "only A's two and one are given back");
  assert.deepEqual([...new Int32Array(ledgerA)], [0, 0, 0], 'a ledger is emptied as it is released');
  state.releaseLedger(ledgerA);
  assert.deepEqual([state.busy(0), state.busy(1)], [1, 1], 'releasing twice gives nothing more back');
  b.dropBusy(0);
  b.dropBusy(0);
  assert.deepEqual([state.busy(0), new Int32Array(ledgerB)[0]], [0, 0]);
  state.releaseLedger(ledgerB);
  assert.deepEqual([state.busy(0), state.busy(1), state.busy(2)], [0, 0, 0]);
  assert.throws(() => BalancerState.attach(state.buffer, new SharedArrayBuffer(4)), /busy ledger has 4 bytes; 3 members need 12/);
});

describe('copy (explain)', () => {
  test('holds every byte of a shared state, sessions and issued routes included, with its own lock free; changing it changes nothing of the original', () => {
    const state = BalancerState.create([member({ route: 'a' }), member({ url: 'http://b:8080', route: 'b' })], { shared: true, growth: 3 });
    state.addBusy(1);
    state.touchSession(0, 'x.a', 1_000);
    state.countIssuedRoute(1, { matches: false, seen: 'a' }, 1_000);
    state.addTraffic(0, 10, 20);
    const copy = state.withLock(() => new Uint8Array(state.buffer).slice());
    const copied = state.copy();
    assert.ok(!(copied.buffer instanceof SharedArrayBuffer));
    const bytes = new Uint8Array(copied.buffer);
    // The lock word (the first Int32) was held while `copy` above was taken; the copy's is free.
    assert.deepEqual(bytes.subarray(4), copy.subarray(4));
    assert.equal(new Int32Array(copied.buffer)[0], 0);
    assert.equal(copied.recentSessions(0, 1_000), 1);
    assert.deepEqual(copied.routeSightings(1), state.routeSightings(1));

    const before = new Uint8Array(state.buffer).slice();
    copied.withLock(() => copied.addBusy(0));
    copied.touchSession(1, 'y.b', 1_000);
    assert.deepEqual(new Uint8Array(state.buffer), before);
  });
});
