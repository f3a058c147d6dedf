// The routing decision's record (balancer/decision.ts), its text (explain/text.ts) and the dry run that makes it for a
// URL (explain/dry-run.ts): every route source, every reason a member is passed over, a retry, and that a dry run
// changes nothing of the live balancer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer } from '../../src/balancer/balancer.ts';
import { newDecision, recordChoice, recordFailure, type RoutingDecision, type SkippedMember } from '../../src/balancer/decision.ts';
import { Status } from '../../src/balancer/status.ts';
import type { BalancerConfig, BalancerCookieConfig, MemberConfig, VirtualHostConfig } from '../../src/config/model.ts';
import { explainRequest } from '../../src/explain/dry-run.ts';
import { decisionLines, explanationText, routeText } from '../../src/explain/text.ts';
import { cookieValue } from '../../src/sticky/balancer-cookie.ts';
import { requestRoute } from '../../src/sticky/route.ts';
import { balancerConfig, memberConfig, vhostDefaults } from '../support/fixtures.ts';

const STICKY = { sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' }, scolonPathDelim: true };
const member = (name: string, over: Partial<MemberConfig> = {}): MemberConfig => memberConfig({ url: `http://${name}:8080`, route: name, ...over });

/** The decision for one request to `b` with these cookies and this URL. */
function decide(b: Balancer, url = '/', cookies: string[] = [], now = 1_000_000): RoutingDecision {
  const found = requestRoute(b.config, url, cookies);
  const decision = newDecision(b.config.name, found);
  recordChoice(decision, b, b.choose(found.session, now), now);
  return decision;
}

const skipped = (d: RoutingDecision, attempt = 0): Record<string, SkippedMember['reason']> =>
  Object.fromEntries(d.attempts[attempt]!.skipped.map((s) => [s.route, s.reason]));

describe('where the route came from', () => {
  const b = () => new Balancer(balancerConfig([member('n1'), member('n2')], STICKY));

  test('a path parameter, a query parameter, a cookie, none', () => {
    assert.deepEqual(decide(b(), '/a;jsessionid=x.n2').route, { source: 'path', name: 'jsessionid', value: 'x.n2', route: 'n2' });
    assert.deepEqual(decide(b(), '/a?q=1&jsessionid=x.n2').route, { source: 'query', name: 'jsessionid', value: 'x.n2', route: 'n2' });
    // A `;jsessionid=` inside the query is still the query's.
    assert.equal(decide(b(), '/a?q=;jsessionid=x.n2').route.source, 'query');
    assert.deepEqual(decide(b(), '/a', ['JSESSIONID=x.n2']).route, { source: 'cookie', name: 'JSESSIONID', value: 'x.n2', route: 'n2' });
    assert.deepEqual(decide(b(), '/a', ['OTHER=x.n2']).route, { source: 'none' });
  });

  test("the balancer's cookie, and one that does not verify", () => {
    const cookie: BalancerCookieConfig = { name: 'ROUTEID', path: '/', httpOnly: true, sameSite: 'Lax', key: new Uint8Array(32).fill(3) };
    const signed = new Balancer(balancerConfig([member('n1'), member('n2')], { cookie }));
    const value = cookieValue('cluster', cookie, 'n2');
    assert.deepEqual(decide(signed, '/', [`ROUTEID=${value}`]).route, { source: 'balancer-cookie', name: 'ROUTEID', value, route: 'n2' });
    const forged = decide(signed, '/', ['ROUTEID=n2']);
    assert.deepEqual(forged.route, { source: 'none', rejected: true });
    assert.match(routeText(forged.route), /did not verify/);
  });
});

describe('the member chosen and how', () => {
  test('by the route: the others are not the route', () => {
    const d = decide(new Balancer(balancerConfig([member('n1'), member('n2')], STICKY)), '/', ['JSESSIONID=x.n2']);
    assert.equal(d.attempts[0]!.how, 'route');
    assert.equal(d.attempts[0]!.member, 'http://n2:8080');
    assert.deepEqual(skipped(d), { n1: 'other-route' });
  });

  test("by the redirect of the route's unusable member", () => {
    const d = decide(new Balancer(balancerConfig([member('n1'), member('n2', { redirect: 'n1', status: ['D'] })], STICKY)), '/', ['JSESSIONID=x.n2']);
    assert.equal(d.attempts[0]!.how, 'redirect');
    assert.deepEqual(skipped(d), { n2: 'disabled' });
  });

  test('balanced: the counters, as after the pick', () => {
    const d = decide(new Balancer(balancerConfig([member('n1'), member('n2')], STICKY)));
    const [attempt] = d.attempts;
    assert.equal(attempt!.how, 'balanced');
    assert.deepEqual(attempt!.counters, { lbstatus: -100, lbfactor: 100, elected: 1, busy: 1, traffic: 0 });
    assert.deepEqual(attempt!.skipped, [{ member: 'http://n2:8080', route: 'n2', reason: 'counters', status: 'Init Ok ', counters: { lbstatus: 100, lbfactor: 100, elected: 0, busy: 0, traffic: 0 } }]);
  });

  test('refused: no member usable', () => {
    const d = decide(new Balancer(balancerConfig([member('n1', { status: ['D'] })], { forceRecovery: false })));
    assert.match(d.attempts[0]!.refused ?? '', /All workers are in error state/);
    assert.deepEqual(skipped(d), { n1: 'disabled' });
    assert.match(decisionLines(d).join('\n'), /chosen +none: balancer:\/\/cluster: All workers/);
  });
});

describe('every reason a member is passed over', () => {
  test('status: stopped, disabled, in error (until when), health check, shutdown, draining', () => {
    const b = new Balancer(balancerConfig(['ok', 'stop', 'dis', 'err', 'hc', 'shut', 'drn'].map((n) => member(n))));
    const now = 1_000_000;
    b.state.setStatusBits(1, Status.STOPPED);
    b.state.setStatusBits(2, Status.DISABLED);
    b.markError(3, now - 1_000);
    b.state.setStatusBits(4, Status.HC_FAIL);
    b.state.setStatusBits(5, Status.IN_SHUTDOWN);
    b.state.setStatusBits(6, Status.DRAIN);
    const d = decide(b, '/', [], now);
    assert.deepEqual(skipped(d), { stop: 'stopped', dis: 'disabled', err: 'error', hc: 'health-check', shut: 'shutdown', drn: 'draining' });
    const inError = d.attempts[0]!.skipped.find((s) => s.route === 'err')!;
    // retry=60 s from the error, one second ago.
    assert.equal(inError.until, new Date(now + 59_000).toISOString());
    const text = decisionLines(d).join('\n');
    for (const words of ['stopped', 'disabled', `in error until ${inError.until}`, 'failed its health check', 'shutting down', 'draining']) assert.ok(text.includes(words), words);
  });

  test('a removed member is not listed', () => {
    const b = new Balancer(balancerConfig([member('n1'), member('gone')]));
    b.state.setStatusBits(1, Status.FREE);
    assert.deepEqual(decide(b).attempts[0]!.skipped, []);
  });

  test('tiers: hot standby, hot spare, a later lbset', () => {
    const b = new Balancer(balancerConfig([member('n1'), member('sb', { status: ['H'] }), member('sp', { status: ['R'] }), member('later', { lbset: 1 })]));
    const d = decide(b);
    assert.equal(d.attempts[0]!.route, 'n1');
    assert.deepEqual(skipped(d), { sb: 'standby', sp: 'spare', later: 'lbset' });
    assert.match(decisionLines(d).join('\n'), /hot standby.*\n.*hot spare.*\n.*later lbset/);
  });
});

test('a retry: the failure, what followed, and the next attempt with the failed member in error', () => {
  const b = new Balancer(balancerConfig([member('n1'), member('n2')]));
  const now = 1_000_000;
  const d = decide(b, '/', [], now);
  b.markError(0, now, 'connection refused');
  recordFailure(d, { code: 'ECONNREFUSED', reason: 'connection refused', then: 'failover' });
  recordChoice(d, b, b.choose(undefined, now), now);
  assert.equal(d.attempts.length, 2);
  assert.deepEqual(d.attempts[0]!.failed, [{ code: 'ECONNREFUSED', reason: 'connection refused', then: 'failover' }]);
  assert.equal(d.attempts[1]!.route, 'n2');
  assert.deepEqual(skipped(d, 1), { n1: 'error' });
  const text = decisionLines(d).join('\n');
  assert.match(text, /failed +ECONNREFUSED: connection refused; tried another member/);
  assert.match(text, /retry 1 +http:\/\/n2:8080/);
});

describe('the dry run for a URL', () => {
  const source = { file: 'site.conf', line: 3 };
  const vhost = (routes: VirtualHostConfig['routes']): VirtualHostConfig => ({ ...vhostDefaults(), source, host: '*', port: 443, serverName: 'app.example', routes });
  const hosts = [vhost([
    { source: { file: 'site.conf', line: 4 }, path: '/static/', target: { kind: 'exclude' } },
    { source: { file: 'site.conf', line: 5 }, path: '/direct/', target: { kind: 'balancer', balancer: 'http://10.0.0.9:8080', path: '/' } },
    { source: { file: 'site.conf', line: 6 }, path: '/', target: { kind: 'balancer', balancer: 'cluster', path: '/' } },
  ])];
  const live = (config: BalancerConfig = balancerConfig([member('n1'), member('n2')], STICKY)) => new Map([[config.name, { balancer: new Balancer(config) }]]);

  test('explains, and changes no counter of the live balancer', () => {
    const balancers = live();
    const b = balancers.get('cluster')!.balancer;
    b.choose(undefined, 0);
    const before = JSON.stringify(b.snapshot(0));
    const result = explainRequest(hosts, balancers, { url: 'https://app.example/x', cookies: ['JSESSIONID=abc.n2'] }, 'live', 0);
    assert.ok(result.ok);
    assert.equal(JSON.stringify(b.snapshot(0)), before);
    assert.deepEqual(result.explanation.virtualHost, { name: 'app.example', port: 443, at: 'site.conf:3' });
    assert.deepEqual(result.explanation.mapping, { path: '/', target: 'balancer://cluster/', at: 'site.conf:6' });
    const text = explanationText(result.explanation);
    assert.match(text, /^request +https:\/\/app\.example\/x$/m);
    assert.match(text, /^route +n2, from the cookie JSESSIONID \(value abc\.n2\)$/m);
    assert.match(text, /^chosen +http:\/\/n2:8080 \(route n2\): the session's route$/m);
    assert.match(text, /^state +live$/m);
  });

  test('a URL that is not proxied to a balancer, or not a URL, says why', () => {
    const reason = (url: string) => {
      const result = explainRequest(hosts, live(), { url, cookies: [] }, 'live', 0);
      return result.ok ? 'explained' : result.reason;
    };
    assert.match(reason('/static/a.css'), /ProxyPass \/static\/ ! \(site\.conf:4\) excludes it/);
    assert.match(reason('/direct/a'), /names a plain URL, not a balancer/);
    assert.match(reason('https://app.example:8443/x'), /no virtual host serves app\.example:8443 on port 8443/);
    assert.match(reason('x'), /origin-form/);
    assert.match(explainRequest([vhost([])], live(), { url: '/x', cookies: [] }, 'live', 0).ok ? '' : 'refused', /refused/);
  });
});
