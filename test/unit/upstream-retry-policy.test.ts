// The retry policy called directly: one row per failure the resilience tests provoke end to end (and the limits
// around them), then properties that hold whatever the failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { blamesMember, isIdempotent, retryDecision, type Decision, type Failure } from '../../src/upstream/retry-policy.ts';

/** A GET on a fresh connection, first attempt, one failover allowed, well within the server's Timeout. */
const base: Failure = {
  kind: 'closed',
  code: 'STK_UPSTREAM_CLOSED',
  method: 'GET',
  bodyKept: true,
  answered: false,
  responseStarted: false,
  reused: false,
  attempts: 0,
  maxAttempts: 1,
  elapsedMs: 10,
  timeoutMs: 60_000,
  failOnTimeout: false,
};

const giveUp = (status: 502 | 503 | 504, code: string, more: { abort?: boolean; retryAfter?: 'member' | 'second' } = {}): Decision =>
  ({ action: 'give-up', status, abort: more.abort ?? false, code, ...(more.retryAfter && { retryAfter: more.retryAfter }) });

const rows: Array<{ name: string; failure: Partial<Failure>; decision: Decision; blame: boolean }> = [
  // kill -9 of a Tomcat node under load
  { name: 'kill -9: a GET on a kept-alive connection the dead node closed goes out again on a fresh connection', failure: { reused: true }, decision: { action: 'fresh' }, blame: false },
  { name: 'kill -9: the fresh connection is refused, so the GET goes to the other node', failure: { kind: 'reconnect', code: 'STK_UPSTREAM_CONNECT' }, decision: { action: 'failover' }, blame: true },
  { name: 'kill -9: a GET closed on a fresh connection before any answer goes to the other node', failure: {}, decision: { action: 'failover' }, blame: true },
  { name: 'kill -9: a HEAD closed before any answer goes to the other node', failure: { method: 'HEAD' }, decision: { action: 'failover' }, blame: true },
  { name: 'kill -9: a POST closed before any answer is not sent again (the node may have run it): 502', failure: { method: 'POST', bodyKept: false, reused: true }, decision: giveUp(502, 'STK_UPSTREAM_CLOSED'), blame: true },
  { name: 'kill -9: a POST whose connect is refused goes to the other node, nothing having reached the dead one', failure: { kind: 'connect', code: 'STK_UPSTREAM_CONNECT', method: 'POST', bodyKept: false }, decision: { action: 'failover' }, blame: true },
  { name: 'kill -9: a POST refused with maxattempts spent gets 503 with Retry-After', failure: { kind: 'connect', code: 'STK_UPSTREAM_CONNECT', method: 'POST', bodyKept: false, attempts: 1 }, decision: giveUp(503, 'STK_UPSTREAM_CONNECT', { retryAfter: 'member' }), blame: true },
  // members that hang, answer garbage or break mid-body
  { name: 'hung member: 504 after its timeout, in error with failontimeout', failure: { kind: 'timeout', code: 'STK_UPSTREAM_TIMEOUT', failOnTimeout: true }, decision: giveUp(504, 'STK_UPSTREAM_TIMEOUT'), blame: true },
  { name: 'hung member without failontimeout: 504, the member stays in the pick', failure: { kind: 'timeout', code: 'STK_UPSTREAM_TIMEOUT' }, decision: giveUp(504, 'STK_UPSTREAM_TIMEOUT'), blame: false },
  { name: 'timeout after part of the answer: not blamed even with failontimeout, the response cut off', failure: { kind: 'timeout', code: 'STK_UPSTREAM_TIMEOUT', failOnTimeout: true, answered: true, responseStarted: true }, decision: giveUp(504, 'STK_UPSTREAM_TIMEOUT', { abort: true }), blame: false },
  { name: 'mute port: the connectiontimeout runs out, the request is served elsewhere', failure: { kind: 'connect', code: 'STK_UPSTREAM_CONNECT_TIMEOUT' }, decision: { action: 'failover' }, blame: true },
  { name: 'garbage answer: 502, never retried', failure: { kind: 'bad-response', code: 'STK_HTTP_BAD_STATUS_LINE', answered: true }, decision: giveUp(502, 'STK_HTTP_BAD_STATUS_LINE'), blame: false },
  { name: 'closes mid-body: the client sees an aborted response', failure: { answered: true, responseStarted: true, code: 'STK_HTTP_INCOMPLETE_MESSAGE' }, decision: giveUp(502, 'STK_HTTP_INCOMPLETE_MESSAGE', { abort: true }), blame: false },
  { name: 'closes after part of a head: 502, never retried', failure: { answered: true }, decision: giveUp(502, 'STK_UPSTREAM_CLOSED'), blame: false },
  // every member down
  { name: 'every member down: the last refused connect gets 503 with the members\' Retry-After', failure: { kind: 'connect', code: 'STK_UPSTREAM_CONNECT', attempts: 1, maxAttempts: 1 }, decision: giveUp(503, 'STK_UPSTREAM_CONNECT', { retryAfter: 'member' }), blame: true },
  { name: 'a single member (maxattempts 0): a refused connect gets 503 at once', failure: { kind: 'connect', code: 'STK_UPSTREAM_CONNECT', maxAttempts: 0 }, decision: giveUp(503, 'STK_UPSTREAM_CONNECT', { retryAfter: 'member' }), blame: true },
  // this process out of resources
  { name: 'out of descriptors here: 503 in a second, the member not blamed', failure: { kind: 'local', code: 'STK_LOCAL_EMFILE' }, decision: giveUp(503, 'STK_LOCAL_EMFILE', { retryAfter: 'second' }), blame: false },
  // the limits of the failover after a close
  { name: 'a PUT whose body went past retrybodylimit: 502, not sent again', failure: { method: 'PUT', bodyKept: false }, decision: giveUp(502, 'STK_UPSTREAM_CLOSED'), blame: true },
  { name: 'a stale keep-alive PUT past retrybodylimit: no fresh connection, 502', failure: { method: 'PUT', bodyKept: false, reused: true }, decision: giveUp(502, 'STK_UPSTREAM_CLOSED'), blame: true },
  { name: 'a GET closed with maxattempts spent: 502', failure: { attempts: 1 }, decision: giveUp(502, 'STK_UPSTREAM_CLOSED'), blame: true },
  { name: 'a GET closed past the server\'s Timeout: 502', failure: { elapsedMs: 60_000 }, decision: giveUp(502, 'STK_UPSTREAM_CLOSED'), blame: true },
  { name: 'the fresh connection refused with maxattempts spent: 502 (the request may have reached the member)', failure: { kind: 'reconnect', code: 'STK_UPSTREAM_CONNECT', maxAttempts: 0 }, decision: giveUp(502, 'STK_UPSTREAM_CONNECT'), blame: true },
  { name: 'a stale keep-alive is retried fresh even with maxattempts spent: the same member, not another attempt', failure: { reused: true, attempts: 1 }, decision: { action: 'fresh' }, blame: false },
];

for (const row of rows) {
  test(row.name, () => {
    const failure = { ...base, ...row.failure };
    assert.deepEqual(retryDecision(failure), row.decision);
    assert.equal(blamesMember(failure), row.blame);
  });
}

test('idempotent methods are RFC 9110\'s, case-sensitive', () => {
  for (const m of ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']) assert.equal(isIdempotent(m), true, m);
  for (const m of ['POST', 'PATCH', 'CONNECT', 'get', 'PROPFIND']) assert.equal(isIdempotent(m), false, m);
});

const failures: fc.Arbitrary<Failure> = fc.record({
  kind: fc.constantFrom('local', 'connect', 'reconnect', 'closed', 'timeout', 'bad-response'),
  code: fc.constantFrom('STK_UPSTREAM_CLOSED', 'STK_UPSTREAM_CONNECT'),
  method: fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH'),
  bodyKept: fc.boolean(),
  answered: fc.boolean(),
  responseStarted: fc.boolean(),
  reused: fc.boolean(),
  attempts: fc.nat(5),
  maxAttempts: fc.nat(5),
  elapsedMs: fc.nat(120_000),
  timeoutMs: fc.integer({ min: 1, max: 120_000 }),
  failOnTimeout: fc.boolean(),
});

const retries = (d: Decision) => d.action !== 'give-up';

test('property: never tried again once a byte of the answer arrived or the client has a head', () => {
  fc.assert(fc.property(failures, (f) => !(f.answered || f.responseStarted) || !retries(retryDecision(f))));
});

test('property: a failover never goes past maxattempts', () => {
  fc.assert(fc.property(failures, (f) => retryDecision(f).action !== 'failover' || f.attempts < f.maxAttempts));
});

test('property: a request that may not run twice is never sent again once it went out', () => {
  fc.assert(fc.property(failures, (f) => {
    const wentOut = f.kind !== 'connect' && f.kind !== 'local';
    const mayRunTwice = isIdempotent(f.method) && f.bodyKept;
    return !wentOut || mayRunTwice || !retries(retryDecision(f));
  }));
});

test('property: a request that went out is not sent elsewhere past the server\'s Timeout', () => {
  fc.assert(fc.property(failures, (f) => f.kind === 'connect' || retryDecision(f).action !== 'failover' || f.elapsedMs < f.timeoutMs));
});

test('property: a member is tried fresh only after a kept-alive connection closed, and then not blamed', () => {
  fc.assert(fc.property(failures, (f) => retryDecision(f).action !== 'fresh' || (f.kind === 'closed' && f.reused && !blamesMember(f))));
});

test('property: giving up cuts the response off exactly when the client has its head, and 503 says when to come back', () => {
  fc.assert(fc.property(failures, (f) => {
    const d = retryDecision(f);
    if (d.action !== 'give-up') return true;
    const abortRight = f.kind === 'connect' || f.kind === 'local' ? !d.abort : d.abort === f.responseStarted;
    return abortRight && (d.status === 503) === (d.retryAfter !== undefined) && d.code === f.code;
  }));
});
