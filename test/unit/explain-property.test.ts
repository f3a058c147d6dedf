// Explain against the real path, for random balancers, states and requests: the dry run (Balancer.dryRun, as
// `stickler explain` and the manager's explain run it) records the same decision, member included, as the request's
// own pick records on an identical state (the JSON access log's), the live state is byte for byte what it was, and
// every reason given agrees with the state the pick left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Balancer } from '../../src/balancer/balancer.ts';
import { newDecision, recordChoice, type RoutingDecision } from '../../src/balancer/decision.ts';
import { isUsable, Status } from '../../src/balancer/status.ts';
import type { LbMethod, MemberConfig, StatusFlag } from '../../src/config/model.ts';
import { requestRoute } from '../../src/sticky/route.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

const ROUTES = ['n0', 'n1', 'n2', 'n3', 'n4'];
const FLAGS: StatusFlag[] = ['D', 'S', 'E', 'H', 'R', 'N', 'I', 'C'];
const LBMETHODS: LbMethod[] = ['byrequests', 'bybusyness', 'bytraffic'];

const memberArb = (i: number): fc.Arbitrary<MemberConfig> =>
  fc.record({
    redirect: fc.constantFrom('', ...ROUTES),
    loadfactor: fc.integer({ min: 1, max: 4 }),
    lbset: fc.integer({ min: 0, max: 2 }),
    status: fc.subarray(FLAGS, { maxLength: 2 }),
    retry: fc.constantFrom(0, 1_000, 60_000),
  }).map((m) => memberConfig({ ...m, url: `http://${ROUTES[i]}:8080`, route: ROUTES[i]! }));

/** What happened to the balancer before the request: picks, releases and failures, at times in [0, 120 s]. */
type Event = { kind: 'choose'; route: number; at: number } | { kind: 'release'; member: number; bytes: number } | { kind: 'fail'; member: number; at: number };
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constant('choose' as const), route: fc.integer({ min: -1, max: ROUTES.length }), at: fc.integer({ min: 0, max: 120_000 }) }),
  fc.record({ kind: fc.constant('release' as const), member: fc.nat(), bytes: fc.nat(10_000) }),
  fc.record({ kind: fc.constant('fail' as const), member: fc.nat(), at: fc.integer({ min: 0, max: 120_000 }) }),
);

const caseArb = fc.integer({ min: 1, max: 5 }).chain((n) =>
  fc.record({
    members: fc.tuple(...Array.from({ length: n }, (_, i) => memberArb(i))),
    lbmethod: fc.constantFrom(...LBMETHODS),
    nofailover: fc.boolean(),
    forceRecovery: fc.boolean(),
    slowStart: fc.constantFrom(undefined, 30_000),
    events: fc.array(eventArb, { maxLength: 20 }),
    /** The request's route: a member's, one no member has, an empty one, or none. */
    route: fc.constantFrom(undefined, '', 'zzz', ...ROUTES),
    now: fc.integer({ min: 0, max: 200_000 }),
  }),
);

const T0 = 1_700_000_000_000;
const cookiesOf = (route: string | undefined): string[] => (route === undefined ? [] : [`JSESSIONID=s.${route}`]);

function decide(b: Balancer, cookies: string[], now: number): { decision: RoutingDecision; member: number } {
  const found = requestRoute(b.config, '/', cookies);
  const decision = newDecision(b.config.name, found);
  const choice = b.choose(found.session, now);
  recordChoice(decision, b, choice, now);
  return { decision, member: choice.ok ? choice.member : -1 };
}

test('the dry run decides as the real pick on the same state, and leaves the live state byte for byte as it was', () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const config = balancerConfig(c.members, {
        lbmethod: c.lbmethod, nofailover: c.nofailover, forceRecovery: c.forceRecovery,
        sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' }, ...(c.slowStart !== undefined && { slowStart: c.slowStart }),
      });
      const live = new Balancer(config);
      const n = c.members.length;
      for (const e of c.events) {
        if (e.kind === 'choose') live.choose(requestRoute(config, '/', cookiesOf(ROUTES[e.route])).session, T0 + e.at);
        else if (e.kind === 'release') live.release(e.member % n, e.bytes, e.bytes, undefined, T0);
        else live.markError(e.member % n, T0 + e.at);
      }
      const now = T0 + c.now;
      const before = new Uint8Array(live.state.buffer).slice();
      const cookies = cookiesOf(c.route);

      const dry = decide(live.dryRun(), cookies, now);
      assert.deepEqual(new Uint8Array(live.state.buffer), before, 'the dry run changed the live state');

      // The real pick, on the live state itself: the decision the JSON access log records.
      const real = decide(live, cookies, now);
      assert.equal(dry.member, real.member);
      assert.deepEqual(dry.decision, real.decision);

      const [attempt] = real.decision.attempts;
      const { state } = live;
      const chosen = real.member;
      for (const s of attempt!.skipped) {
        const m = c.members.findIndex((x) => x.url === s.member);
        const bits = state.status(m);
        if (s.reason === 'counters') {
          // In the running: usable, not draining, in the chosen member's lbset.
          assert.ok(chosen >= 0 && isUsable(bits) && !(bits & Status.DRAIN), `${s.member} cannot have lost on counters`);
          assert.equal(state.lbset(m), state.lbset(chosen), `${s.member} lost on counters from another lbset`);
        }
        if (s.reason === 'lbset') assert.ok(state.lbset(m) > state.lbset(chosen));
        if (s.reason === 'other-route') assert.notEqual(attempt!.how, 'balanced');
        if (s.reason === 'error') assert.ok(bits & Status.IN_ERROR);
      }
      // Balanced although the request named a route: no member answering to it is usable now.
      const route = real.decision.route.route;
      if (attempt!.how === 'balanced' && route) {
        for (let m = 0; m < n; m++) if (c.members[m]!.route === route) assert.ok(!isUsable(state.status(m)), `${c.members[m]!.url} has the route and is usable`);
      }
    }),
    { numRuns: 2_000 },
  );
});
