// The pure part of `stickler --check --probe`: the verdict on a member's response, its line and the exit code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { probeExitCode, probeLine, probeResult, probeTarget, type ProbeResult, type RouteProbe } from '../../src/check/route-probe.ts';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import type { BalancerConfig } from '../../src/config/model.ts';
import type { HeaderList } from '../../src/http/head.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

const MEMBER = memberConfig({ url: 'http://a:8080', route: 'node1' });
const STICKY: Partial<BalancerConfig> = { name: 'cluster', sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' } };
const PLAIN = balancerConfig([MEMBER], STICKY);
const WITH_COOKIE = balancerConfig([MEMBER], { ...STICKY, cookie: { name: 'ROUTEID', path: '/', httpOnly: true, sameSite: 'Lax' } });

const answer = (...setCookies: string[]) => ({ status: 200, headers: setCookies.map((c): [string, string] => ['Set-Cookie', c]) });
const probe = (result: ProbeResult): RouteProbe => ({ balancer: 'cluster', member: MEMBER, target: '/', result });

test('a session with the configured route is ok; another route, or none without a balancer cookie, is a mismatch: exit 2', () => {
  const right = probeResult(PLAIN, MEMBER, answer('JSESSIONID=S.node1; Path=/'));
  assert.deepEqual(right, { kind: 'issued', matches: true, seen: 'node1' });
  assert.equal(probeExitCode([probe(right)]), 0);
  for (const [value, seen] of [['S.node9', 'node9'], ['S', null]] as const) {
    const wrong = probeResult(PLAIN, MEMBER, answer(`JSESSIONID=${value}; Path=/`));
    assert.deepEqual(wrong, { kind: 'issued', matches: false, seen });
    assert.match(probeLine(probe(wrong)), /MISMATCH/);
    assert.equal(probeExitCode([probe(right), probe(wrong)]), 2);
  }
});

test('behind a balancer cookie a session without a route is ok (exit 0, the line says the cookie carries the route); a wrong route is not', () => {
  const none = probeResult(WITH_COOKIE, MEMBER, answer('JSESSIONID=S; Path=/'));
  assert.deepEqual(none, { kind: 'by-cookie', cookie: 'ROUTEID' });
  assert.equal(probeLine(probe(none)), 'balancer://cluster http://a:8080: route=node1, issues no route: ok, the balancer cookie ROUTEID carries the route');
  assert.equal(probeExitCode([probe(none)]), 0);
  const wrong = probeResult(WITH_COOKIE, MEMBER, answer('JSESSIONID=S.node9; Path=/'));
  assert.deepEqual(wrong, { kind: 'issued', matches: false, seen: 'node9' });
  assert.equal(probeExitCode([probe(none), probe(wrong)]), 2);
  assert.deepEqual(probeResult(WITH_COOKIE, MEMBER, answer('JSESSIONID=S.node1')), { kind: 'issued', matches: true, seen: 'node1' });
});

test('no session cookie is no session, whatever the balancer: exit 0 unless a member could not be probed', () => {
  const headers: HeaderList = [['Content-Type', 'text/html']];
  const none = probeResult(WITH_COOKIE, MEMBER, { status: 302, headers });
  assert.deepEqual(none, { kind: 'no-session', status: 302 });
  assert.deepEqual(probeResult(PLAIN, MEMBER, answer('theme=dark')), { kind: 'no-session', status: 200 });
  assert.equal(probeExitCode([probe(none)]), 0);
  assert.equal(probeExitCode([probe(none), probe({ kind: 'failed', reason: 'refused' })]), 1);
});

test('the probe asks for the mount point by default, or for --probe-path mapped as traffic is; a path not proxied to the balancer is not probed', () => {
  const { config } = loadApacheConfigText([
    'Listen 8443',
    '<VirtualHost *:8443>',
    'ProxyPass /admin !',
    'ProxyPass /app balancer://cluster/ctx stickysession=JSESSIONID',
    'ProxyPass /other balancer://other/',
    '<Proxy balancer://cluster>', 'BalancerMember https://10.0.0.1:9443/base route=n1', '</Proxy>',
    '<Proxy balancer://other>', 'BalancerMember https://10.0.0.2:9443 route=n2', '</Proxy>',
    '</VirtualHost>',
  ].join('\n') + '\n', 't.conf');
  const cluster = config!.balancers.find((b) => b.name === 'cluster')!;
  const member = cluster.members[0]!;
  assert.equal(probeTarget(config!, cluster, member), '/base/ctx');
  assert.equal(probeTarget(config!, cluster, member, '/app/login.do?x=1'), '/base/ctx/login.do?x=1');
  assert.equal(probeTarget(config!, cluster, member, '/other/login'), undefined);
  assert.equal(probeTarget(config!, cluster, member, '/admin/x'), undefined);
  assert.equal(probeTarget(config!, cluster, member, 'login'), undefined, 'not a path a client could send');
});
