// The manager's explain query (manager/explain-query.ts): what it accepts, and a clear 400 for every input it
// bounds or cannot use, before any decision runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer } from '../../src/balancer/balancer.ts';
import type { VirtualHostConfig } from '../../src/config/model.ts';
import { EXPLAIN_COOKIE_LIMIT, EXPLAIN_URL_LIMIT, explainAnswer } from '../../src/manager/explain-query.ts';
import { balancerConfig, memberConfig, vhostDefaults } from '../support/fixtures.ts';

const source = { file: 'site.conf', line: 3 };
const hosts: VirtualHostConfig[] = [{
  ...vhostDefaults(), source, host: '*', port: 443, serverName: 'app.example',
  routes: [{ source, path: '/', target: { kind: 'balancer', balancer: 'cluster', path: '/' } }],
}];
const config = balancerConfig([memberConfig({ url: 'http://n1:8080', route: 'n1' }), memberConfig({ url: 'http://n2:8080', route: 'n2' })], {
  sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' },
});
const balancers = new Map([['cluster', { balancer: new Balancer(config) }]]);
const ask = (query: string) => explainAnswer(query, hosts, balancers, 1_000_000);
const refusal = (query: string): { status: number; reason: string } => {
  const a = ask(query);
  assert.ok(!a.ok, query);
  return { status: a.status, reason: a.reason };
};

test('explains a URL with its cookies', () => {
  const a = ask(`url=/app&cookie=${encodeURIComponent('JSESSIONID=x.n2')}&cookie=other%3D1`);
  assert.ok(a.ok);
  assert.equal(a.value.decision.attempts[0]!.route, 'n2');
});

test('refuses with 400 what it bounds or cannot use, saying what', () => {
  const many = Array.from({ length: EXPLAIN_COOKIE_LIMIT + 1 }, (_, i) => `cookie=c${i}%3D1`).join('&');
  assert.deepEqual(refusal(`url=/app&${many}`).status, 400);
  assert.match(refusal(`url=/app&${many}`).reason, /33 cookie parameters; expected .* at most 32 cookie/);
  assert.deepEqual(refusal('url=/app&cookie=JSESSIONID').status, 400);
  assert.match(refusal('url=/app&cookie=JSESSIONID').reason, /cookie="JSESSIONID" has no '='/);
  assert.equal(refusal(`url=/app&host=${'h'.repeat(EXPLAIN_URL_LIMIT + 1)}`).status, 400);
  assert.equal(refusal(`url=/${'a'.repeat(EXPLAIN_URL_LIMIT)}`).status, 400);
  const noScheme = refusal('url=app.example/app');
  assert.equal(noScheme.status, 400);
  assert.match(noScheme.reason, /must be origin-form/);
  assert.equal(refusal('url=/app&url=/b').status, 400);
});

test('a URL no virtual host serves is not found, not a bad request', () => {
  const other = refusal(`url=${encodeURIComponent('https://app.example:9999/app')}`);
  assert.equal(other.status, 404);
  assert.match(other.reason, /no virtual host serves/);
});
