// Balancer.choose against docs/apache-semantics.md (the methods, finding the route's member, the decision for each request, checked live). Sequences are exact: each one is
// Apache's algorithm run by hand in the comments, so any drift in the arithmetic or the loop order fails here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer } from '../../src/balancer/balancer.ts';
import { BalancerState } from '../../src/balancer/state.ts';
import type { BalancerConfig, MemberConfig, StatusFlag } from '../../src/config/model.ts';
import { findSessionRoute, type SessionRoute } from '../../src/sticky/route.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

/** Member `x` is http://x:8080 with route x, loadfactor 1, lbset 0, retry 60 s, unless overridden. */
function member(name: string, over: Partial<MemberConfig> = {}): MemberConfig {
  return memberConfig({ url: `http://${name}:8080`, route: name, ...over });
}

function balancer(members: MemberConfig[], over: Partial<BalancerConfig> = {}): Balancer {
  return new Balancer(balancerConfig(members, over));
}

const STICKY = { sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' } };

function session(route: string): SessionRoute {
  return { name: 'JSESSIONID', route, session: `s.${route}` };
}

/** The route of the member chosen, or `503`. */
function pick(b: Balancer, now = 0, s?: SessionRoute): string {
  const choice = b.choose(s, now);
  if (!choice.ok) return '503';
  return b.config.members[choice.member]?.route ?? '?';
}

function picks(b: Balancer, count: number, now = 0): string {
  return Array.from({ length: count }, () => pick(b, now)).join(' ');
}

function lbstatus(b: Balancer): number[] {
  return b.snapshot(0).map((m) => m.lbstatus);
}

const withStatus = (name: string, ...status: StatusFlag[]) => member(name, { status });

describe('byrequests weights (docs/apache-semantics.md#byrequests)', () => {
  test('1:1 alternates, first in order wins the tie', () => {
    // a=100 b=100 → a (tie, strict >), a=-100 b=100; then a=0 b=200 → b, back to 0 0.
    assert.equal(picks(balancer([member('a'), member('b')]), 20), 'a b a b a b a b a b a b a b a b a b a b');
  });

  test('1:2 is B A B B A B … (LIVE)', () => {
    // a=100 b=200 → b: b=-100 | a=200 b=100 → a: a=-100 | a=0 b=300 → b: b=0 | a=100 b=200 → b: b=-100 …
    const b = balancer([member('a'), member('b', { loadfactor: 2 })]);
    assert.equal(picks(b, 20), 'b a b b a b b a b b a b b a b b a b b a');
  });

  test('3:1', () => {
    // total 400. a=300 b=100 → a: a=-100 | a=200 b=200 → a (tie): a=-200 | a=100 b=300 → b: b=-100 |
    // a=400 b=0 → a: a=0 b=0, period 4.
    const b = balancer([member('a', { loadfactor: 3 }), member('b')]);
    assert.equal(picks(b, 20), 'a a b a a a b a a a b a a a b a a a b a');
  });

  test('5:3:2, twenty picks (also checked LIVE on 2.4.71)', () => {
    // lbstatus after crediting → pick → after paying back 1000:
    //  1  500  300  200 → a → -500  300  200      6    0  800  200 → b →    0 -200  200
    //  2    0  600  400 → b →    0 -400  400      7  500  100  400 → a → -500  100  400
    //  3  500 -100  600 → c →  500 -100 -400      8    0  400  600 → c →    0  400 -400
    //  4 1000  200 -200 → a →    0  200 -200      9  500  700 -200 → b →  500 -300 -200
    //  5  500  500    0 → a (tie) → -500 500 0   10 1000    0    0 → a →    0    0    0   (period 10)
    const b = balancer([member('a', { loadfactor: 5 }), member('b', { loadfactor: 3 }), member('c', { loadfactor: 2 })]);
    assert.equal(picks(b, 20), 'a b c a a b a c b a a b c a a b a c b a');
    assert.deepEqual(lbstatus(b), [0, 0, 0]);
  });

  test('decimal loadfactors are truncated ×100 like Apache', () => {
    const b = balancer([member('a', { loadfactor: 1.5 }), member('b')]);
    assert.deepEqual(b.snapshot(0).map((m) => m.loadfactor), [1.5, 1]);
    // a=150 b=100 → a: a=-100 | a=50 b=200 → b: b=-50 | a=200 b=50 → a: a=-50 | a=100 b=150 → b: b=-100 |
    // a=250 b=0 → a: a=0 b=0.
    assert.equal(picks(b, 5), 'a b a b a');
  });
});

describe('tiers, standbys, spares, drain (docs/apache-semantics.md#the-selection-loop)', () => {
  test('lbset 1 is used only when lbset 0 has no usable member, and is not credited before', () => {
    const b = balancer([member('a'), withStatus('b', 'D'), member('c', { lbset: 1 })]);
    assert.equal(picks(b, 3), 'a a a');
    assert.deepEqual(lbstatus(b), [0, 0, 0]);
    b.markError(0, 0);
    assert.equal(picks(b, 2, 10), 'c c');
  });

  test('a hot standby is used only when no normal member of its set is usable, before the next set', () => {
    const b = balancer([member('a'), member('b'), withStatus('h', 'H'), member('n', { lbset: 1 })]);
    assert.equal(picks(b, 4), 'a b a b');
    assert.deepEqual(lbstatus(b), [0, 0, 0, 0]);
    b.markError(0, 0);
    b.markError(1, 0);
    assert.equal(picks(b, 2, 10), 'h h');
  });

  test('a hot spare fills the hole of an unusable member, and only as many spares as holes', () => {
    // Set: a (E), b, r1 (+R), r2 (+R). One hole, so only r1 joins b.
    // b=100 → best; r1=100 not > 100; total 200: b=-100 | b=0 r1=200 → r1: r1=0 | repeat.
    const b = balancer([withStatus('a', 'E'), member('b'), withStatus('r1', 'R'), withStatus('r2', 'R')]);
    assert.equal(picks(b, 6, 1), 'b r1 b r1 b r1');
    assert.equal(lbstatus(b)[3], 0);
  });

  test('spares stay idle while every member is usable', () => {
    const b = balancer([member('a'), member('b'), withStatus('r', 'R')]);
    assert.equal(picks(b, 4), 'a b a b');
  });

  test('a draining member is never balanced to, counts as a hole for spares, but keeps its sessions', () => {
    const b = balancer([withStatus('a', 'N'), member('b'), withStatus('r', 'R')], STICKY);
    assert.equal(picks(b, 4), 'b r b r');
    assert.equal(pick(b, 0, session('a')), 'a');
    assert.equal(b.usable(0), true);
    assert.equal(b.snapshot(0)[0]?.status, 'Init Drn Ok ');
  });

  test('a disabled member is skipped', () => {
    const b = balancer([withStatus('a', 'D'), member('b')]);
    assert.equal(picks(b, 3), 'b b b');
    assert.equal(b.usable(0), false);
    assert.equal(b.snapshot(0)[0]?.status, 'Init Dis ');
  });
});

describe('error state and retry (docs/apache-semantics.md#error-state-retry-and-forcerecovery)', () => {
  test('a member in error is skipped until now > error_time + retry, then counted as retried', () => {
    const b = balancer([member('a', { retry: 1000 }), member('b', { retry: 1000 })]);
    assert.equal(pick(b, 0), 'a'); //                   a=-100 b=100
    b.markError(0, 100);
    assert.equal(b.snapshot(500)[0]?.status, 'Init Err ');
    assert.equal(b.snapshot(500)[0]?.retryIn, 600);
    assert.equal(pick(b, 500), 'b'); //                 b=200 alone → b=100
    assert.equal(pick(b, 1100), 'b'); //                strict >: 1100 is not past 1100; b=100
    assert.equal(pick(b, 1101), 'b'); //                a back: a=0 b=200 → b=0
    assert.equal(pick(b, 1102), 'a'); //                a=100 b=100 → a
    assert.equal(b.snapshot(1102)[0]?.retries, 1);
    b.markConnected(0);
    assert.equal(b.snapshot(1102)[0]?.retries, 0);
  });

  test('retry=0 brings the member back on the next millisecond', () => {
    const b = balancer([member('a', { retry: 0 }), member('b', { retry: 0 })]);
    b.markError(0, 50);
    assert.equal(pick(b, 50), 'b');
    assert.equal(pick(b, 51), 'a');
  });

  test('+I members never enter the error state', () => {
    const b = balancer([withStatus('a', 'I'), member('b')]);
    b.markError(0, 0);
    assert.equal(b.usable(0), true);
    assert.equal(b.snapshot(0)[0]?.status, 'Init Ign Ok ');
  });

  test('forcerecovery clears E on all members when every member is in error', () => {
    const b = balancer([member('a'), member('b')]);
    b.markError(0, 0);
    b.markError(1, 0);
    assert.equal(picks(b, 2, 10), 'a b');
    assert.deepEqual(b.snapshot(10).map((m) => m.retries), [1, 1]);
  });

  test('forcerecovery Off answers 503 while every member is in error', () => {
    const b = balancer([member('a'), member('b')], { forceRecovery: false });
    b.markError(0, 0);
    b.markError(1, 0);
    const choice = b.choose(undefined, 10);
    assert.deepEqual(choice, {
      ok: false, status: 503, reason: 'balancer://cluster: All workers are in error state',
      facts: { BALANCER_NAME: 'balancer://cluster' }, routed: false,
    });
  });

  test('a disabled member that is not in error blocks forcerecovery', () => {
    const b = balancer([withStatus('a', 'D'), member('b')]);
    b.markError(1, 0);
    assert.equal(pick(b, 10), '503');
  });

  test('no members at all', () => {
    const choice = balancer([]).choose(undefined, 0);
    assert.equal(choice.ok, false);
    assert.equal(!choice.ok && choice.reason, 'balancer://cluster: No workers in balancer');
  });
});

describe('sticky sessions', () => {
  test('sticky picks move lbstatus of every usable member, so balanced picks shift (LIVE 2.4.71)', () => {
    // 1:1. none: a=100 b=100 → a: a=-100 b=100. sticky b: a=0 b=200, b pays 200 → b=0.
    // none: a=100 b=100 → a again. Without the sticky credit the balanced picks would alternate a b a.
    const b = balancer([member('a'), member('b')], STICKY);
    const seq = [undefined, 'b', undefined, 'b', undefined, 'b'].map((r) => pick(b, 0, r === undefined ? undefined : session(r)));
    assert.deepEqual(seq, ['a', 'b', 'a', 'b', 'a', 'b']);
    assert.deepEqual(lbstatus(b), [0, 0]);
    assert.deepEqual(b.snapshot(0).map((m) => m.elected), [3, 3]);
  });

  test('sticky credit reaches every usable member, other lbsets and standbys included', () => {
    // Usable: a, s (+H), n (lbset 1); d is disabled. Sticky to a: a,s,n credited 100 each, a pays 300.
    const b = balancer([member('a'), withStatus('s', 'H'), member('n', { lbset: 1 }), withStatus('d', 'D')], STICKY);
    assert.equal(pick(b, 0, session('a')), 'a');
    assert.deepEqual(lbstatus(b), [-200, 100, 100, 0]);
  });

  test('a route reaches a hot standby even while the primaries are healthy (LIVE s11)', () => {
    const b = balancer([member('node1'), member('node2'), withStatus('node3', 'H')], STICKY);
    assert.equal(pick(b, 0, session('node3')), 'node3');
  });

  test('the non-standby member with the route comes first, the standby with the same route after it', () => {
    const b = balancer([withStatus('x', 'H'), member('x', { url: 'http://x2:8080' })], STICKY);
    const primary = b.choose(session('x'), 0);
    assert.equal(primary.ok && primary.member, 1);
    b.markError(1, 0);
    const standby = b.choose(session('x'), 1);
    assert.equal(standby.ok && standby.member, 0);
  });

  test('an unusable route member gives a balanced pick with ROUTE_CHANGED', () => {
    const b = balancer([withStatus('a', 'D'), member('b')], STICKY);
    assert.deepEqual(b.choose(session('a'), 0), {
      ok: true, member: 1, facts: {
        BALANCER_NAME: 'balancer://cluster', BALANCER_WORKER_NAME: 'http://b:8080', BALANCER_WORKER_ROUTE: 'b',
        BALANCER_SESSION_STICKY: 'JSESSIONID', BALANCER_SESSION_ROUTE: 'a', BALANCER_ROUTE_CHANGED: '1',
      },
      routed: false,
    });
  });

  test('nofailover: a known route whose member is unusable is a 503 with no facts beyond the name', () => {
    const b = balancer([withStatus('a', 'D'), member('b')], { ...STICKY, nofailover: true });
    assert.deepEqual(b.choose(session('a'), 0), {
      ok: false, status: 503, reason: 'balancer://cluster: All workers are in error state for route (a)',
      facts: { BALANCER_NAME: 'balancer://cluster' }, routed: true,
    });
    b.markError(1, 0);
    assert.equal(pick(b, 1, session('b')), '503');
  });

  test('nofailover: an unknown route is balanced with ROUTE_CHANGED', () => {
    const b = balancer([member('a'), member('b')], { ...STICKY, nofailover: true });
    const choice = b.choose(session('zzz'), 0);
    assert.equal(choice.ok && choice.facts.BALANCER_ROUTE_CHANGED, '1');
    assert.equal(choice.facts.BALANCER_SESSION_ROUTE, 'zzz');
  });

  test('an empty route is reported but balanced', () => {
    const b = balancer([member('a'), member('b')], { ...STICKY, nofailover: true });
    const choice = b.choose(session(''), 0);
    assert.equal(choice.ok, true);
    assert.equal(choice.facts.BALANCER_SESSION_ROUTE, '');
    assert.equal(choice.facts.BALANCER_ROUTE_CHANGED, '1');
  });

  test('redirect chains a → b → c while a and b are unusable; the session route is reported as sent', () => {
    const b = balancer([
      member('a', { status: ['D'], redirect: 'b' }), member('b', { status: ['D'], redirect: 'c' }), member('c'),
    ], STICKY);
    assert.deepEqual(b.choose(session('a'), 0), {
      ok: true, member: 2, facts: {
        BALANCER_NAME: 'balancer://cluster', BALANCER_WORKER_NAME: 'http://c:8080', BALANCER_WORKER_ROUTE: 'c',
        BALANCER_SESSION_STICKY: 'JSESSIONID', BALANCER_SESSION_ROUTE: 'a', BALANCER_ROUTE_CHANGED: '1',
      },
      // Found through the route's redirects, not balanced.
      routed: true,
    });
  });

  test('redirect is not used while the route member is usable', () => {
    const b = balancer([member('a', { redirect: 'b' }), member('b')], STICKY);
    const choice = b.choose(session('a'), 0);
    assert.equal(choice.ok && choice.member, 0);
    assert.equal(choice.facts.BALANCER_ROUTE_CHANGED, undefined);
  });

  test('a redirect cycle stops and falls back to balancing', () => {
    const b = balancer([
      member('a', { status: ['D'], redirect: 'b' }), member('b', { status: ['D'], redirect: 'a' }), member('c'),
    ], STICKY);
    assert.equal(pick(b, 0, session('a')), 'c');
  });

  test('a balancer without stickysession ignores sessions and never sets ROUTE_CHANGED', () => {
    const b = balancer([member('a'), member('b')]);
    const choice = b.choose(session('b'), 0);
    assert.deepEqual(choice, {
      ok: true, member: 0,
      facts: { BALANCER_NAME: 'balancer://cluster', BALANCER_WORKER_NAME: 'http://a:8080', BALANCER_WORKER_ROUTE: 'a' },
      routed: false,
    });
  });

  test('LIVE matrix: worker and ROUTE_CHANGED for each input', () => {
    // stickysession=JSESSIONID|jsessionid scolonpathdelim=On; node1, node2, node3 +H.
    const config = { ...STICKY, scolonPathDelim: true };
    const rows: Array<[url: string, cookie: string | undefined, worker: string, route: string | undefined, changed: boolean]> = [
      ['/s', 'JSESSIONID=abc.node1', 'node1', 'node1', false],
      ['/s', 'JSESSIONID="abc.node1"', 'balanced', 'node1"', true],
      ['/s', 'JSESSIONID=abc.NODE1', 'balanced', 'NODE1', true],
      ['/s', 'JSESSIONID=abc.node9', 'balanced', 'node9', true],
      ['/s', 'JSESSIONID=abc.node3', 'node3', 'node3', false],
      ['/s;jsessionid=x.node2', 'JSESSIONID=abc.node1', 'node2', 'node2', false],
      ['/s?JSESSIONID=x.node1', undefined, 'balanced', undefined, true],
      ['/s;jsessionid=x.node1;foo=bar', undefined, 'node1', 'node1', false],
      ['/s', undefined, 'balanced', undefined, true],
    ];
    for (const [url, cookieHeader, worker, route, changed] of rows) {
      const b = balancer([member('node1'), member('node2'), withStatus('node3', 'H')], config);
      const s = findSessionRoute(STICKY.sticky, '.', true, url, cookieHeader === undefined ? [] : [cookieHeader]);
      const choice = b.choose(s, 0);
      assert.ok(choice.ok, url);
      // A fresh byrequests balancer's first balanced pick is node1 (tie, first in order).
      const expected = worker === 'balanced' ? 'node1' : worker;
      assert.equal(choice.facts.BALANCER_WORKER_ROUTE, expected, `${url} ${cookieHeader}`);
      assert.equal(choice.facts.BALANCER_SESSION_ROUTE, route, `${url} ${cookieHeader}`);
      assert.equal(choice.facts.BALANCER_ROUTE_CHANGED, changed ? '1' : undefined, `${url} ${cookieHeader}`);
    }
  });
});

describe('bybusyness (docs/apache-semantics.md#bybusyness)', () => {
  test('fewest in flight wins; on a tie the byrequests credit decides', () => {
    const b = balancer([member('a'), member('b')], { lbmethod: 'bybusyness' });
    // busy 0 0, a=100 b=100 → a (tie): a=-100 b=100                              busy 1 0
    // a=0 b=200 → b (fewer busy): b=0                                            busy 1 1
    // a=100 b=100 → a (busy tie, lbstatus tie): a=-100 b=100                     busy 2 1
    assert.equal(picks(b, 3), 'a b a');
    b.release(0, 0, 0);
    b.release(0, 0, 0);
    // busy 0 1: a=0 b=200 → a although b has more credit: a=-200 b=200          busy 1 1
    // a=-100 b=300 → b (busy tie, more credit): b=100                             busy 1 2
    assert.equal(picks(b, 2), 'a b');
    assert.deepEqual(lbstatus(b), [-100, 100]);
  });

  test('sticky picks count as busy too', () => {
    // 3:1. Sticky a: a=300 b=100, a pays 400 → a=-100, busy a=1. Balanced: a=200 b=200; on busy alone
    // b wins, whereas with busy ignored the lbstatus tie would keep a.
    const b = balancer([member('a', { loadfactor: 3 }), member('b')], { lbmethod: 'bybusyness', ...STICKY });
    assert.equal(pick(b, 0, session('a')), 'a');
    assert.equal(picks(b, 1), 'b');
  });
});

describe('bytraffic (docs/apache-semantics.md#bytraffic)', () => {
  test('lowest traffic per lbfactor wins, first in order on ties', () => {
    const b = balancer([member('a'), member('b', { loadfactor: 2 })], { lbmethod: 'bytraffic' });
    assert.equal(pick(b), 'a'); //        0 vs 0: first
    b.release(0, 100, 300); //            a: 100/100 + 300/100 = 4
    assert.equal(pick(b), 'b'); //        b: 0
    b.release(1, 500, 300); //            b: 500/200 + 300/200 = 2 + 1 = 3
    assert.equal(pick(b), 'b'); //        3 < 4
    b.release(1, 0, 200); //              b: 500/200 + 500/200 = 2 + 2 = 4
    assert.equal(pick(b), 'a'); //        4 vs 4: first
    assert.deepEqual(lbstatus(b), [0, 0]);
  });

  test('each direction is divided on its own, as C integer division does', () => {
    const b = balancer([member('a'), member('b')], { lbmethod: 'bytraffic' });
    b.choose(undefined, 0);
    b.release(0, 300, 0); //              a: 3 + 0 = 3
    b.choose(undefined, 0);
    b.release(1, 199, 199); //            b: 1 + 1 = 2 (one division of 398 would give 3, a tie won by a)
    assert.equal(pick(b), 'b');
  });

  test('tiers and errors apply as for every method', () => {
    const b = balancer([member('a'), member('b', { lbset: 1 })], { lbmethod: 'bytraffic' });
    b.markError(0, 0);
    assert.equal(pick(b, 1), 'b');
  });
});

describe('bookkeeping', () => {
  test('maxAttempts defaults to members - 1, 0 for one member, else as configured', () => {
    assert.equal(balancer([member('a'), member('b'), member('c')]).maxAttempts, 2);
    assert.equal(balancer([member('a')]).maxAttempts, 0);
    assert.equal(balancer([member('a'), member('b')], { maxAttempts: 5 }).maxAttempts, 5);
  });

  test('busy goes up per choice and down per release, never below zero; traffic is counted', () => {
    const b = balancer([member('a')]);
    b.choose(undefined, 0);
    b.choose(undefined, 0);
    assert.equal(b.snapshot(0)[0]?.busy, 2);
    b.release(0, 100, 2000);
    b.release(0, 10, 20);
    b.release(0, 0, 0);
    const [a] = b.snapshot(0);
    assert.deepEqual([a?.busy, a?.transferred, a?.read, a?.elected], [0, 110, 2020, 2]);
  });

  test('snapshot shows the manager columns', () => {
    const b = balancer([member('a', { loadfactor: 2, lbset: 1, redirect: 'b' })]);
    assert.deepEqual(b.snapshot(0), [{
      url: 'http://a:8080', route: 'a', redirect: 'b', loadfactor: 2, lbset: 1, status: 'Init Ok ', elected: 0, busy: 0,
      lbstatus: 0, transferred: 0, read: 0, retries: 0, errorTime: 0, retryIn: 0,
      requests: 0, failures: 0, lastFailure: 0, latency: { sumMs: 0, buckets: Array(12).fill(0) }, removed: false,
      changes: { error: 0, recovered: 0, healthCheckFailed: 0, healthCheckPassed: 0 },
    }]);
  });

  test('requests and their latency, and failures with their time, are counted per member', () => {
    const b = balancer([member('a')]);
    b.choose(undefined, 0);
    b.release(0, 1, 1, 7);
    b.choose(undefined, 0);
    b.markError(0, 5000);
    b.release(0, 1, 0);
    const [a] = b.snapshot(5000);
    assert.deepEqual([a?.requests, a?.failures, a?.lastFailure, a?.latency.sumMs, a?.latency.buckets[1]], [2, 1, 5000, 7, 1]);
  });

  test('two balancers over one shared state behave as one (worker threads later)', () => {
    const members = [member('a'), member('b', { loadfactor: 2 })];
    const first = balancer(members);
    const shared = BalancerState.create(members, { shared: true });
    const one = new Balancer(first.config, shared);
    const two = new Balancer(first.config, BalancerState.attach(shared.buffer));
    const seq = [one, two, one, two, two, one].map((b) => pick(b));
    assert.deepEqual(seq, ['b', 'a', 'b', 'b', 'a', 'b']);
    assert.throws(() => new Balancer({ ...first.config, members: [member('a')] }, shared), /has 1 members but the state given holds 2/);
  });

  test('a member index that does not exist is a RangeError, not a corrupt state', () => {
    const b = balancer([member('a')]);
    assert.throws(() => b.release(1, 0, 0), RangeError);
    assert.throws(() => b.markError(-1, 0), RangeError);
  });
});
