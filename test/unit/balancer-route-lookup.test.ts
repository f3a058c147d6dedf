// The manager's session search, called directly: the route taken from a pasted session id as a request's is, the
// member it reaches now, every outcome's sentence, and the query's refusals. Looking changes no state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lookUpRoute } from '../../src/balancer/route-lookup.ts';
import { BalancerState } from '../../src/balancer/state.ts';
import { Status } from '../../src/balancer/status.ts';
import { readRouteQuery, SESSION_TEXT_LIMIT } from '../../src/manager/route-query.ts';
import { routeOf } from '../../src/sticky/route.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

function cluster(over: Parameters<typeof balancerConfig>[1] = {}) {
  const config = balancerConfig([
    memberConfig({ url: 'http://a:8080', route: 'node1', retry: 1000 }),
    memberConfig({ url: 'http://b:8080', route: 'node2', retry: 1000, redirect: 'node1' }),
    memberConfig({ url: 'http://c:8080', route: 'node3', retry: 1000 }),
  ], { name: 'app', sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' }, stickySeparator: '.', ...over });
  return { config, state: BalancerState.create(config.members, { now: 0 }) };
}

test('routeOf: after the first separator, empty for a trailing one, none without it; the whole value with separator Off', () => {
  assert.deepEqual(['ABC.node2', 'A.B.node2', 'ABC.', 'ABC'].map((v) => routeOf(v, '.')), ['node2', 'B.node2', '', undefined]);
  assert.equal(routeOf('ABC.node2', null), 'ABC.node2');
});

test('a session id, or a bare route, finds the member whose route it is while it is usable', () => {
  const { config, state } = cluster();
  for (const text of ['6F1C2B.node2', 'node2']) {
    assert.deepEqual(lookUpRoute(config, state, text, 5000), {
      route: 'node2', outcome: 'route', owner: 1, member: 1, explanation: 'http://b:8080 (route node2, Init Ok) takes it',
    }, text);
  }
  assert.deepEqual(lookUpRoute(config, state, 'X.node9', 5000), {
    route: 'node9', outcome: 'unknown-route', owner: -1, member: -1,
    explanation: 'no member has the route "node9": a request with it is balanced by byrequests as a new session',
  });
  assert.equal(lookUpRoute(config, state, 'X.', 5000).outcome, 'unknown-route', 'an empty route is never looked up');
});

test('a member in error: its redirect takes its sessions until its retry time passes; looking never takes it out of error', () => {
  const { config, state } = cluster();
  state.setStatusBits(1, Status.IN_ERROR);
  state.setErrorTime(1, 4000);
  assert.deepEqual(lookUpRoute(config, state, 'S.node2', 5000), {
    route: 'node2', outcome: 'elsewhere', owner: 1, member: 0,
    explanation: 'http://b:8080 (route node2, Init Err) cannot take it now; http://a:8080 (route node1, Init Ok) does',
  });
  assert.equal(lookUpRoute(config, state, 'S.node2', 5001).outcome, 'route', 'due back: a request would retry it and take it');
  assert.notEqual(state.status(1) & Status.IN_ERROR, 0, 'still in error: only a request takes it out');
  assert.deepEqual([state.retries(1), state.changes(1).recovered], [0, 0]);
});

test('no usable member for the route: balanced anew, or refused with nofailover; a balancer without stickysession never looks', () => {
  const { config, state } = cluster();
  state.setStatusBits(2, Status.DISABLED);
  assert.deepEqual(lookUpRoute(config, state, 'S.node3', 0), {
    route: 'node3', outcome: 'rebalanced', owner: 2, member: -1,
    explanation: 'http://c:8080 (route node3, Init Dis) cannot take it now: the request is balanced by byrequests to another member, which does not know the session',
  });
  config.nofailover = true;
  assert.equal(lookUpRoute(config, state, 'S.node3', 0).explanation, 'http://c:8080 (route node3, Init Dis) cannot take it now, and with nofailover the request is refused (503)');
  delete config.sticky;
  assert.deepEqual(lookUpRoute(config, state, 'S.node1', 0), {
    route: 'node1', outcome: 'not-sticky', owner: 0, member: -1,
    explanation: 'balancer://app is not sticky: every request is balanced by byrequests, session ids are not looked at',
  });
});

test('stickysessionsep Off: the whole value is the route', () => {
  const { config, state } = cluster({ stickySeparator: null });
  assert.equal(lookUpRoute(config, state, 'node3', 0).member, 2);
  assert.equal(lookUpRoute(config, state, 'S.node3', 0).outcome, 'unknown-route');
});

test('the query: a JSON object with one balancer and one session, a cookie value of bounded length, each refusal saying what is wrong', () => {
  assert.deepEqual(readRouteQuery({ balancer: 'app', session: '6F1C2B.node2' }), { ok: true, balancer: 'app', session: '6F1C2B.node2' });
  assert.deepEqual(readRouteQuery({ balancer: 'a b', session: ' X.n1 ' }), { ok: true, balancer: 'a b', session: 'X.n1' }, 'pasted spaces trimmed');
  const refused = (body: unknown) => {
    const read = readRouteQuery(body);
    assert.equal(read.ok, false, JSON.stringify(body));
    return read.ok ? '' : read.reason;
  };
  for (const body of [null, [], 'balancer=app&session=X', 3]) assert.match(refused(body), /^the body is not a JSON object; expected \{"balancer": NAME, "session": ID\}/);
  assert.match(refused({ session: 'X.n1' }), /^balancer and session must both be strings/);
  assert.match(refused({ balancer: 'app', session: ['X'] }), /^balancer and session must both be strings/);
  assert.match(refused({ balancer: 'app', session: 'X', route: 'n1' }), /^unknown field "route"/);
  assert.match(refused({ balancer: 'app', session: ' ' }), /^the session is empty/);
  assert.equal(refused({ balancer: 'app', session: 'x'.repeat(SESSION_TEXT_LIMIT + 1) }), `the session is ${SESSION_TEXT_LIMIT + 1} characters long; expected at most ${SESSION_TEXT_LIMIT}`);
  assert.match(refused({ balancer: 'b'.repeat(SESSION_TEXT_LIMIT + 1), session: 'X' }), /^the balancer name is 257 characters long/);
  for (const bad of ['a;b', 'a,b', 'a"b', 'a\\b', 'a\0b', 'a\x7fb', 'a b', '\u00e9']) {
    assert.match(refused({ balancer: 'app', session: bad }), /holds a character no session cookie can/, bad);
  }
  assert.equal(readRouteQuery({ balancer: 'app', session: 'x'.repeat(SESSION_TEXT_LIMIT) }).ok, true);
});

test('property: any query is read or refused with a reason, never thrown; what is read fits the limits', () => {
  fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.record({ balancer: fc.string({ maxLength: 300 }), session: fc.string({ maxLength: 300 }) })), (body) => {
    const read = readRouteQuery(body);
    if (!read.ok) return read.reason.length > 0;
    return read.session.length > 0 && read.session.length <= SESSION_TEXT_LIMIT && /^[\x21-\x7e]+$/.test(read.session);
  }));
});
