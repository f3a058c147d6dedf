// The watch on members' session routes: counted in the shared state (every thread's view), folded past a few
// distinct routes, warned about once per member per 10 minutes whatever the thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer } from '../../src/balancer/balancer.ts';
import { SEEN_SLOTS } from '../../src/balancer/issued-routes.ts';
import { watchIssuedRoute, WARN_EVERY_S } from '../../src/balancer/route-watch.ts';
import { BalancerState } from '../../src/balancer/state.ts';
import type { BalancerConfig } from '../../src/config/model.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');

function config(over: Partial<BalancerConfig> = {}): BalancerConfig {
  return balancerConfig([
    memberConfig({ url: 'http://a:8080', route: 'node1' }),
    memberConfig({ url: 'http://b:8080', route: 'node2' }),
    memberConfig({ url: 'http://c:8080', route: '' }),
  ], { name: 'cluster', sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' }, ...over });
}

/** Two Balancers over one shared buffer, as two worker threads see it. */
function threads(over: Partial<BalancerConfig> = {}): [Balancer, Balancer] {
  const c = config(over);
  const first = BalancerState.create(c.members, { shared: true });
  return [new Balancer(c, first), new Balancer(c, BalancerState.attach(first.buffer))];
}

const cookie = (value: string): Array<[string, string]> => [['Content-Type', 'text/html'], ['Set-Cookie', `JSESSIONID=${value}; Path=/; HttpOnly`]];

test('a wrong route is counted once per response and warned about once, naming the balancer, member, routes and fix', () => {
  const [one, two] = threads();
  const lines: string[] = [];
  const log = (line: string) => lines.push(line);
  watchIssuedRoute(one, 0, cookie('S1.node9'), NOW, log);
  watchIssuedRoute(two, 0, cookie('S2.node9'), NOW + 1000, log);
  assert.equal(lines.length, 1, 'the second thread does not warn again');
  for (const part of ['balancer://cluster', 'http://a:8080', 'route node9', 'route=node1', 'jvmRoute="node1"', '<Engine>', 'deployment.toml', 'Keycloak']) {
    assert.ok(lines[0]!.includes(part), `${part} in ${lines[0]}`);
  }
  const seen = two.state.routeSightings(0);
  assert.deepEqual(seen.counts, [{ seen: 'node9', count: 2 }]);
  assert.equal(seen.lastSeen, 'node9');
  assert.ok(seen.lastMismatch > seen.lastMatch);
  assert.deepEqual(one.state.routeSightings(1).counts, [], 'another member is untouched');
});

test('the warning comes back once 10 minutes have passed, not before', () => {
  const [one] = threads();
  const lines: string[] = [];
  watchIssuedRoute(one, 0, cookie('S.node9'), NOW, (l) => lines.push(l));
  watchIssuedRoute(one, 0, cookie('S.node9'), NOW + (WARN_EVERY_S - 1) * 1000, (l) => lines.push(l));
  assert.equal(lines.length, 1);
  watchIssuedRoute(one, 0, cookie('S.node9'), NOW + WARN_EVERY_S * 1000, (l) => lines.push(l));
  assert.equal(lines.length, 2);
});

test('a session without a route is a mismatch with none seen', () => {
  const [one] = threads();
  const lines: string[] = [];
  watchIssuedRoute(one, 1, cookie('ABCDEF'), NOW, (l) => lines.push(l));
  assert.match(lines[0]!, /issues sessions without a route but is configured with route=node2/);
  assert.deepEqual(one.state.routeSightings(1).counts, [{ seen: null, count: 1 }]);
});

const BALANCER_COOKIE: Partial<BalancerConfig> = { cookie: { name: 'ROUTEID', path: '/', httpOnly: true, sameSite: 'Lax' } };

test('behind a balancer cookie, a session without a route is not a mismatch: not counted, flagged or told', () => {
  const [one] = threads(BALANCER_COOKIE);
  const lines: string[] = [];
  watchIssuedRoute(one, 1, cookie('S.node9'), NOW, (l) => lines.push(l));
  watchIssuedRoute(one, 1, cookie('ABCDEF'), NOW + 1000, (l) => lines.push(l));
  watchIssuedRoute(one, 1, cookie('ABCDEF.'), NOW + 1000, (l) => lines.push(l));
  assert.equal(lines.length, 1, 'only the wrong route is told');
  assert.match(lines[0]!, /issues sessions with route node9/);
  const seen = one.state.routeSightings(1);
  assert.deepEqual(seen.counts, [{ seen: 'node9', count: 1 }], 'the sessions without a route are not counted');
  assert.ok(seen.lastMatch > seen.lastMismatch, 'they are sessions that stick: the member is no longer flagged');
  watchIssuedRoute(one, 0, cookie('ABCDEF'), NOW + 2000, (l) => lines.push(l));
  assert.equal(lines.length, 1);
  assert.equal(one.state.routeSightings(0).lastMismatch, 0);
});

test('the right route, no session cookie, a member without route= or a balancer without stickysession: nothing counted or told', () => {
  const [one] = threads();
  const [plain] = threads({ sticky: undefined });
  const lines: string[] = [];
  watchIssuedRoute(one, 0, cookie('S.node1'), NOW, (l) => lines.push(l));
  watchIssuedRoute(one, 0, [['Set-Cookie', 'theme=dark.node9']], NOW, (l) => lines.push(l));
  watchIssuedRoute(one, 0, [], NOW, (l) => lines.push(l));
  watchIssuedRoute(one, 2, cookie('S.node9'), NOW, (l) => lines.push(l));
  watchIssuedRoute(plain, 0, cookie('S.node9'), NOW, (l) => lines.push(l));
  assert.deepEqual(lines, []);
  const seen = one.state.routeSightings(0);
  assert.deepEqual([seen.counts, seen.lastMismatch], [[], 0]);
  assert.ok(seen.lastMatch > 0, 'the good session is remembered, so a fixed member is no longer flagged');
  assert.deepEqual(plain.state.routeSightings(0).counts, []);
});

test(`past ${SEEN_SLOTS} distinct routes, or a route too long for a slot, sightings fold into "other"`, () => {
  const [one, two] = threads();
  const quiet = () => {};
  for (let i = 0; i < SEEN_SLOTS + 3; i++) watchIssuedRoute(i % 2 ? one : two, 0, cookie(`S.r${i}`), NOW, quiet);
  watchIssuedRoute(one, 0, cookie(`S.${'x'.repeat(65)}`), NOW, quiet);
  watchIssuedRoute(two, 0, cookie('S.r0'), NOW, quiet);
  const seen = one.state.routeSightings(0);
  assert.deepEqual(seen.counts.map((c) => c.seen), Array.from({ length: SEEN_SLOTS }, (_, i) => `r${i}`));
  assert.equal(seen.counts[0]!.count, 2);
  assert.equal(seen.other, 4);
  assert.equal(seen.lastSeen, 'r0');
  watchIssuedRoute(one, 0, cookie('S.r9'), NOW, quiet);
  assert.equal(one.state.routeSightings(0).lastSeen, undefined, 'the latest was folded');
});
