// Health-check bookkeeping and scheduling with an injected probe and clock: when a member is taken out and let
// back in, what is logged, and when checks run.
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { BalancerState } from '../../src/balancer/state.ts';
import { Status } from '../../src/balancer/status.ts';
import type { HealthCheckConfig, MemberConfig } from '../../src/config/model.ts';
import { CheckCounter, startHealthChecks, type HealthTarget, type Probe } from '../../src/health/checker.ts';
import type { ProbeOutcome } from '../../src/health/probe.ts';
import type { MemberPool } from '../../src/upstream/pool.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

const PASS: ProbeOutcome = { ok: true };
const FAIL: ProbeOutcome = { ok: false, reason: 'it answered 503' };

function check(over: Partial<HealthCheckConfig> = {}): HealthCheckConfig {
  return { method: 'GET', uri: '/health', interval: 10_000, passes: 1, fails: 1, ...over };
}

function target(members: MemberConfig[], slowStart?: number): HealthTarget {
  const balancer = balancerConfig(members, { name: 'b', ...(slowStart && { slowStart }) });
  // The injected probes never touch a pool; each member only needs one to be checked.
  return { balancer, state: BalancerState.create(members), pools: members.map(() => ({}) as MemberPool) };
}

describe('counting', () => {
  const hc = check({ fails: 3, passes: 2 });
  const run = (t: HealthTarget, counter: CheckCounter, outcomes: ProbeOutcome[], now = 0) =>
    outcomes.map((o) => counter.record(t, 0, hc, o, now)).filter((line) => line !== undefined);

  test('a check this process could not make (out of descriptors) counts neither way', () => {
    const t = target([memberConfig({ url: 'https://n1:9443', healthCheck: hc })]);
    const counter = new CheckCounter();
    const local: ProbeOutcome = { ok: false, reason: 'connect to https://n1:9443 failed here: EMFILE', local: true };
    assert.deepEqual(run(t, counter, [FAIL, FAIL, local, local, local, local]), []);
    assert.equal(t.state.status(0) & Status.HC_FAIL, 0, 'local failures do not take the member out');
    assert.match(run(t, counter, [FAIL])[0]!, /taken out after 3 failures/, 'nor do they break a run of real failures');
  });

  test('fails consecutive failures take a member out, logged once', () => {
    const t = target([memberConfig({ url: 'https://n1:9443', healthCheck: hc })]);
    const counter = new CheckCounter();
    assert.deepEqual(run(t, counter, [FAIL, FAIL, PASS, FAIL, FAIL]), [], 'a pass starts the count again');
    assert.equal(t.state.status(0) & Status.HC_FAIL, 0);
    assert.deepEqual(run(t, counter, [FAIL, FAIL, FAIL]), [
      'health: balancer://b member https://n1:9443 failed its health check (it answered 503); taken out after 3 failures',
    ]);
    assert.equal(t.state.status(0) & Status.HC_FAIL, Status.HC_FAIL);
  });

  test('passes consecutive passes bring it back, with its slow start beginning now', () => {
    const t = target([memberConfig({ url: 'https://n1:9443', healthCheck: hc, status: ['C'] })], 30_000);
    const counter = new CheckCounter();
    assert.deepEqual(run(t, counter, [PASS, FAIL, PASS, FAIL], 5000), []);
    assert.deepEqual(run(t, counter, [PASS, PASS], 7000), [
      'health: balancer://b member https://n1:9443 passed its health check; back in after 2 passes; its share ramps up over 30 s',
    ]);
    assert.equal(t.state.status(0), Status.INITIALIZED);
    assert.equal(t.state.recoveredAt(0), 7000);
    assert.deepEqual(run(t, counter, [PASS, PASS, PASS]), [], 'nothing is logged while nothing changes');
  });

  test('a member a request put in error comes back after passes, as with httpd', () => {
    const t = target([memberConfig({ healthCheck: hc, status: ['E'] })]);
    const counter = new CheckCounter();
    assert.deepEqual(run(t, counter, [FAIL, FAIL, FAIL, PASS]), [], 'failures count only against a usable member');
    assert.deepEqual(run(t, counter, [PASS], 9), ['health: balancer://b member http://a:8080 passed its health check; back in after 2 passes']);
    assert.equal(t.state.status(0) & Status.IN_ERROR, 0);
    assert.equal(t.state.recoveredAt(0), 9);
  });

  test('disabled and stopped members are checked, but only the operator lets them in again', () => {
    const t = target([memberConfig({ healthCheck: check(), status: ['D'] }), memberConfig({ url: 'http://s:8080', healthCheck: check(), status: ['S'] })]);
    const counters = [new CheckCounter(), new CheckCounter()];
    assert.match(counters[0]!.record(t, 0, check(), FAIL, 0)!, /failed its health check/);
    assert.equal(counters[0]!.record(t, 0, check(), PASS, 0),
      'health: balancer://b member http://a:8080 passed its health check; back in after 1 pass; it stays disabled, as the operator set it');
    assert.equal(t.state.status(0), Status.INITIALIZED | Status.DISABLED);
    counters[1]!.record(t, 1, check(), FAIL, 0);
    assert.match(counters[1]!.record(t, 1, check(), PASS, 0)!, /back in after 1 pass; it stays stopped, as the operator set it$/);
    assert.equal(t.state.status(1), Status.INITIALIZED | Status.STOPPED);
  });

  test('a state changed by someone else (a request, its retry time) starts the count again', () => {
    const t = target([memberConfig({ healthCheck: hc })]);
    const counter = new CheckCounter();
    run(t, counter, [FAIL, FAIL]);
    t.state.setStatusBits(0, Status.IN_ERROR);
    assert.deepEqual(run(t, counter, [PASS]), []);
    t.state.clearStatusBits(0, Status.IN_ERROR);
    assert.deepEqual(run(t, counter, [FAIL, FAIL]), [], 'the two failures before the error ended do not count');
    assert.equal(run(t, counter, [FAIL]).length, 1);
  });
});

describe('with a group (shared-state health-rule)', () => {
  const hc = check({ fails: 2, passes: 2 });
  /** The others' say, as the rule would fold it in: `othersDown` under any, a majority of three under quorum. */
  const group = (rule: 'any' | 'quorum', othersDown: () => number) => ({
    memberDown: (_b: string, _m: string, local: boolean) => (rule === 'any' ? local || othersDown() > 0 : 2 * (othersDown() + (local ? 1 : 0)) > 3),
  });

  test('HC_FAIL follows the group, while this instance\'s own verdict stays its own: no flapping', () => {
    const t = target([memberConfig({ healthCheck: hc })]);
    const counter = new CheckCounter();
    let others = 1;
    const g = group('any', () => others);
    assert.match(counter.record(t, 0, hc, PASS, 0, g)!, /seen down by other instances.*taken out$/);
    for (let i = 0; i < 4; i++) assert.equal(counter.record(t, 0, hc, PASS, 0, g), undefined, 'passes here neither clear it nor flip it back and forth');
    assert.equal(t.state.status(0) & Status.HC_FAIL, Status.HC_FAIL);
    assert.equal(counter.down, false);
    others = 0;
    assert.match(counter.record(t, 0, hc, PASS, 3, g)!, /no longer seen down by the group.*back in$/);
    assert.equal(t.state.status(0) & Status.HC_FAIL, 0);
  });

  test('quorum: a member down here alone is kept in, and said so once', () => {
    const t = target([memberConfig({ healthCheck: hc })]);
    const counter = new CheckCounter();
    let others = 0;
    const g = group('quorum', () => others);
    assert.deepEqual([FAIL, FAIL, FAIL].map((o) => counter.record(t, 0, hc, o, 0, g)).filter(Boolean), [
      'health: balancer://b member http://a:8080 failed its health check (it answered 503); by this instance alone, after 2 failures; the group keeps it in (shared-state health-rule)',
    ]);
    assert.equal(t.state.status(0) & Status.HC_FAIL, 0);
    others = 1;
    assert.match(counter.record(t, 0, hc, FAIL, 0, g)!, /taken out/);
    assert.equal(t.state.status(0) & Status.HC_FAIL, Status.HC_FAIL);
  });
});

describe('scheduling', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  /** Lets the timers' async turns run to their next await. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));

  async function advance(ms: number): Promise<void> {
    mock.timers.tick(ms);
    await settle();
  }

  test('the first check comes after a random part of the interval, the next ones after the interval ± 10 %', async () => {
    const calls: string[] = [];
    const probe: Probe = async (member) => {
      calls.push(member.url);
      return PASS;
    };
    const t = target([
      memberConfig({ url: 'http://a:8080', healthCheck: check({ interval: 10_000 }) }),
      memberConfig({ url: 'http://unchecked:8080' }),
    ]);
    const randoms = [0.25, 0, 1];
    const checks = startHealthChecks([t], { log: () => {}, probe, random: () => randoms.shift() ?? 0.5 });
    await advance(2499);
    assert.deepEqual(calls, []);
    await advance(1);
    assert.deepEqual(calls, ['http://a:8080'], 'first check at 0.25 × 10 s; the member without health-check is never probed');
    await advance(8999);
    assert.equal(calls.length, 1);
    await advance(1);
    assert.equal(calls.length, 2, 'then at 0.9 × 10 s');
    await advance(10_999);
    assert.equal(calls.length, 2);
    await advance(1);
    assert.equal(calls.length, 3, 'then at 1.1 × 10 s');
    checks.stop();
    await advance(60_000);
    assert.equal(calls.length, 3, 'nothing after stop()');
  });

  test('a member has one check at a time: the next waits for the one in flight, and stop() aborts it', async () => {
    let signal: AbortSignal | undefined;
    let calls = 0;
    const probe: Probe = (_m, _c, _p, s) => {
      calls++;
      signal = s;
      return new Promise<ProbeOutcome>((resolve) => s.addEventListener('abort', () => resolve(FAIL)));
    };
    const lines: string[] = [];
    const t = target([memberConfig({ healthCheck: check({ interval: 1000 }) })]);
    const checks = startHealthChecks([t], { log: (line) => lines.push(line), probe, random: () => 0 });
    await advance(0);
    await advance(100_000);
    assert.equal(calls, 1);
    checks.stop();
    await settle();
    assert.equal(signal?.aborted, true);
    assert.deepEqual(lines, [], 'a check cut short by stop() counts for nothing');
    assert.equal(t.state.status(0) & Status.HC_FAIL, 0);
  });

  test('results reach the shared state and the log, with the injected clock', async () => {
    const outcomes = [FAIL, FAIL, PASS];
    const probe: Probe = async () => outcomes.shift() ?? PASS;
    const lines: string[] = [];
    const t = target([memberConfig({ url: 'https://n1:9443', healthCheck: check({ interval: 1000, fails: 2 }) })]);
    const checks = startHealthChecks([t], { log: (line) => lines.push(line), probe, random: () => 0.5, now: () => 42_000 });
    await advance(500);
    assert.deepEqual(lines, []);
    await advance(1000);
    assert.equal(t.state.status(0) & Status.HC_FAIL, Status.HC_FAIL);
    await advance(1000);
    assert.equal(t.state.status(0) & Status.HC_FAIL, 0);
    assert.equal(t.state.recoveredAt(0), 42_000);
    assert.deepEqual(lines, [
      'health: balancer://b member https://n1:9443 failed its health check (it answered 503); taken out after 2 failures',
      'health: balancer://b member https://n1:9443 passed its health check; back in after 1 pass',
    ]);
    checks.stop();
  });

  test('conditions are parsed as checks start, not at their first check', async () => {
    let parsed = 0;
    const expr = { name: 'up', source: { file: 't.conf', line: 1 }, get text() {
      parsed++;
      return "hc('body') =~ /UP/";
    } };
    const probe: Probe = async () => PASS;
    const t = target([memberConfig({ healthCheck: check({ expr }) }), memberConfig({ url: 'http://b:8080', healthCheck: check({ expr }) })]);
    const checks = startHealthChecks([t], { log: () => {}, probe, random: () => 0.5 });
    assert.equal(parsed, 1, 'once, for both members that share it, before any timer ran');
    await advance(10_000);
    assert.equal(parsed, 1);
    checks.stop();
  });

  test('a probe that throws counts as a failed check; a member removed through the manager is no longer probed', async () => {
    let calls = 0;
    const probe: Probe = async () => {
      calls++;
      throw new Error('socket exploded');
    };
    const lines: string[] = [];
    const t = target([memberConfig({ healthCheck: check({ interval: 1000 }) })]);
    const checks = startHealthChecks([t], { log: (line) => lines.push(line), probe, random: () => 0 });
    await advance(0);
    assert.deepEqual(lines, ['health: balancer://b member http://a:8080 failed its health check (socket exploded); taken out after 1 failure']);
    t.state.setStatusBits(0, Status.STOPPED | Status.FREE);
    await advance(5000);
    assert.equal(calls, 1);
    checks.stop();
  });
});
