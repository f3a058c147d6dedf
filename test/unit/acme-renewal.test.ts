// The renewal arithmetic: when the window opens, the jitter inside it, the backoff between failed orders and when
// failing is worth a warning; properties over any certificate lifetime, window and random draw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BACKOFF_BASE_MS, BACKOFF_MAX_MS, FAILURES_BEFORE_WARNING, JITTER_SHARE, MAX_JITTER_MS, failing, renewalTime, retryDelay, windowLength,
} from '../../src/acme/renewal.ts';
import { parseRenewWindow, type RenewWindow } from '../../src/config/model.ts';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

test("Let's Encrypt's 90 days with mod_md's 33% renew 29.7 days before the end, within an hour's jitter", () => {
  const validity = { notBefore: T0, notAfter: T0 + 90 * DAY };
  const window: RenewWindow = { kind: 'percent', percent: 33 };
  assert.equal(windowLength(validity, window), 29.7 * DAY);
  assert.equal(renewalTime(validity, window, 0), T0 + 60.3 * DAY);
  assert.equal(renewalTime(validity, window, 0.999999), T0 + 60.3 * DAY + Math.floor(MAX_JITTER_MS * 0.999999));
});

test('a duration window longer than the lifetime opens at once; a 20 s certificate at 50% renews after 10 s to 11 s', () => {
  const short = { notBefore: T0, notAfter: T0 + 20_000 };
  assert.equal(windowLength(short, { kind: 'duration', ms: 30 * DAY }), 20_000);
  assert.equal(renewalTime(short, { kind: 'percent', percent: 50 }, 0), T0 + 10_000);
  assert.equal(renewalTime(short, { kind: 'percent', percent: 50 }, 0.5), T0 + 10_500);
});

const validities = fc.record({ notBefore: fc.integer({ min: T0, max: T0 + 365 * DAY }), lifetime: fc.integer({ min: 0, max: 400 * DAY }) })
  .map(({ notBefore, lifetime }) => ({ notBefore, notAfter: notBefore + lifetime }));
const windows: fc.Arbitrary<RenewWindow> = fc.oneof(
  fc.double({ min: 0.01, max: 99.99, noNaN: true }).map((percent) => ({ kind: 'percent' as const, percent })),
  fc.integer({ min: 1, max: 500 * DAY }).map((ms) => ({ kind: 'duration' as const, ms })),
);
const unit = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

test('property: the renewal falls inside the window, no later than a tenth of it (at most an hour) after it opens, and before the end', () => {
  fc.assert(fc.property(validities, windows, unit, (validity, window, random) => {
    const length = windowLength(validity, window);
    const opens = validity.notAfter - length;
    const at = renewalTime(validity, window, random);
    assert.ok(at >= opens, `${at} before the window opens at ${opens}`);
    assert.ok(at <= opens + Math.min(length * JITTER_SHARE, MAX_JITTER_MS));
    if (length > 0) assert.ok(at < validity.notAfter);
    else assert.equal(at, validity.notAfter);
  }));
});

test('property: more jitter never renews earlier', () => {
  fc.assert(fc.property(validities, windows, unit, unit, (validity, window, a, b) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    assert.ok(renewalTime(validity, window, lo) <= renewalTime(validity, window, hi));
  }));
});

test('retries back off from 10 s, doubling, to 6 hours, each spread over the upper half of its step', () => {
  assert.equal(retryDelay(1, 0), BACKOFF_BASE_MS / 2);
  assert.equal(retryDelay(1, 0.999999), Math.floor(BACKOFF_BASE_MS / 2 + (BACKOFF_BASE_MS / 2) * 0.999999));
  assert.equal(retryDelay(4, 0), (BACKOFF_BASE_MS * 8) / 2);
  assert.equal(retryDelay(100, 0), BACKOFF_MAX_MS / 2);
});

test('property: a retry waits between half and all of its capped exponential step, never longer than the step after it allows, and sooner when the certificate is about to end', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), unit, fc.option(fc.integer({ min: 0, max: 100 * DAY }), { nil: undefined }), (failures, random, untilExpiry) => {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(30, failures - 1));
    const delay = retryDelay(failures, random, untilExpiry);
    assert.ok(delay <= BACKOFF_MAX_MS);
    if (untilExpiry === undefined || untilExpiry <= BACKOFF_BASE_MS) {
      assert.ok(delay >= ceiling / 2 - 1 && delay <= ceiling, `${delay} outside [${ceiling / 2}, ${ceiling}]`);
    } else {
      assert.ok(delay >= BACKOFF_BASE_MS && delay <= Math.max(BACKOFF_BASE_MS, untilExpiry / 2));
    }
    assert.ok(retryDelay(failures, 0, untilExpiry) <= retryDelay(failures + 1, 0, untilExpiry));
  }));
});

test(`renewal is failing after ${FAILURES_BEFORE_WARNING} attempts in a row, or after any once less than half the window is left`, () => {
  const validity = { notBefore: T0, notAfter: T0 + 90 * DAY };
  const window: RenewWindow = { kind: 'percent', percent: 33 };
  assert.equal(failing(0, T0 + 89 * DAY, validity, window), false);
  assert.equal(failing(1, T0 + 61 * DAY, validity, window), false);
  assert.equal(failing(1, T0 + 80 * DAY, validity, window), true);
  assert.equal(failing(FAILURES_BEFORE_WARNING, T0 + 61 * DAY, validity, window), true);
  assert.equal(failing(2, T0, undefined, window), false);
});

test('renew windows as mod_md writes them: a percentage, or days by default, or d, h, mi, s', () => {
  assert.deepEqual(parseRenewWindow('33%'), { kind: 'percent', percent: 33 });
  assert.deepEqual(parseRenewWindow('30'), { kind: 'duration', ms: 30 * DAY });
  assert.deepEqual(parseRenewWindow('12h'), { kind: 'duration', ms: 12 * 3_600_000 });
  assert.deepEqual(parseRenewWindow('90mi'), { kind: 'duration', ms: 90 * 60_000 });
  assert.match(parseRenewWindow('0%') as string, /between 0 and 100/);
  assert.match(parseRenewWindow('a week') as string, /expected a percentage such as 33%/);
});
