// The balancer state's layout (state-layout.ts) as a description: what shares a cache line and what must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CAPACITY, COUNT, CounterField, FLOAT_STRIDE, FloatField, floatOffset, HEADER_INTS, HISTOGRAM, INT_STRIDE, IntField,
  issuedRoutesOffset,
  LATENCY_BUCKETS_MS, LINE_INTS, LOCK, memberInts, RECENT, RECENT_SLOTS, RECENT_STRIDE, sessionOffset, STARTED,
  stateByteLength, WAITERS,
} from '../../src/balancer/state-layout.ts';

const LINE_BYTES = 64;
const line = (int: number): number => Math.floor(int / LINE_INTS);

test('the lock has a line of its own, which the read-mostly header does not share', () => {
  assert.deepEqual([line(LOCK), line(WAITERS)], [0, 0]);
  assert.deepEqual([CAPACITY, COUNT, STARTED].map(line), [1, 1, 1]);
  assert.equal(HEADER_INTS, 2 * LINE_INTS);
});

test('a member\'s busy and retries, written without the lock, are on another line than its read-mostly fields', () => {
  const readMostly = [IntField.STATUS, IntField.LBFACTOR, IntField.LBSET].map(line);
  const written = [IntField.BUSY, IntField.RETRIES].map(line);
  assert.deepEqual(readMostly, [0, 0, 0]);
  assert.deepEqual(written, [1, 1]);
  assert.equal(INT_STRIDE, 2 * LINE_INTS);
});

test('every region starts on a line, after the one before it, for any capacity', () => {
  for (const capacity of [0, 1, 15, 16, 17, 100]) {
    assert.equal(memberInts(capacity) % LINE_INTS, 0, `${capacity}`);
    assert.ok(memberInts(capacity) - HEADER_INTS >= capacity, `${capacity}: room for every lbstatus`);
    assert.equal(floatOffset(capacity) % LINE_BYTES, 0, `${capacity}`);
    assert.equal(sessionOffset(capacity) % LINE_BYTES, 0, `${capacity}`);
    assert.equal(issuedRoutesOffset(capacity) % LINE_BYTES, 0, `${capacity}`);
    assert.equal(stateByteLength(capacity) % LINE_BYTES, 0, `${capacity}`);
    assert.ok(floatOffset(capacity) <= sessionOffset(capacity) && sessionOffset(capacity) <= issuedRoutesOffset(capacity));
    assert.ok(issuedRoutesOffset(capacity) <= stateByteLength(capacity));
  }
});

test('the Float64 fields fill the first line of a member\'s 8-byte part; the counters, histogram and ring fit the stride', () => {
  const lineFloats = LINE_BYTES / Float64Array.BYTES_PER_ELEMENT;
  assert.ok(Math.max(...Object.values(FloatField)) < lineFloats);
  assert.ok(Math.min(...Object.values(CounterField)) >= lineFloats, 'no element seen through both views');
  assert.ok(Math.max(...Object.values(CounterField)) < HISTOGRAM);
  assert.equal(RECENT, HISTOGRAM + LATENCY_BUCKETS_MS.length + 1);
  assert.ok(RECENT + RECENT_SLOTS * RECENT_STRIDE <= FLOAT_STRIDE);
  assert.equal(FLOAT_STRIDE % lineFloats, 0);
});
