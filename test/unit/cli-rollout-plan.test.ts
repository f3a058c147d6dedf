// stickler rollout's decisions: the plan, the command lines, when a drained member is idle, the estimate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { commandFor, drainProblem, estimateMs, execEnv, execScript, isIdle, planProblem, planRollout, progressLine, shellQuote } from '../../src/cli/rollout-plan.ts';
import type { BalancerOverview, MemberOverview } from '../../src/manager/model.ts';

const OFF = { ignoreErrors: false, drain: false, disabled: false, stopped: false, hotStandby: false, hotSpare: false, error: false, healthCheckFailed: false };
const member = (url: string, route: string, status: Partial<typeof OFF> = {}) => ({ url, route, status: { ...OFF, ...status } }) as MemberOverview;
const balancer = (members: MemberOverview[]) => ({ name: 'app', members }) as BalancerOverview;

test('the plan restarts the members in service in the order configured and leaves the operator\'s alone', () => {
  const b = balancer([member('https://a:1', 'n1'), member('https://b:1', 'n2', { drain: true }), member('https://c:1', 'n3'), member('https://d:1', 'n4', { stopped: true })]);
  const plan = planRollout(b, 'restart {route} {url}');
  assert.deepEqual(plan.members.map((m) => m.command), ["restart 'n1' 'https://a:1'", "restart 'n3' 'https://c:1'"]);
  assert.deepEqual(plan.skipped, [{ url: 'https://b:1', why: 'already draining' }, { url: 'https://d:1', why: 'stopped' }]);
  assert.equal(planProblem(b, plan), undefined);
  assert.match(planProblem(balancer([member('https://a:1', 'n1'), member('https://b:1', 'n2', { disabled: true })]), planRollout(balancer([member('https://a:1', 'n1')]), 'x'))!, /one member in service/);
});

test('property: a substituted value reaches the command as one word, whatever it holds', () => {
  fc.assert(fc.property(fc.string({ maxLength: 30 }).filter((s) => !s.includes('\0')), (value) => {
    const out = execFileSync('/bin/sh', ['-c', `printf %s ${shellQuote(value)}`], { encoding: 'utf8' });
    assert.equal(out, value);
  }), { numRuns: 40 });
  assert.equal(commandFor('x {route}{route}', { route: "a'b", url: '' }), `x 'a'\\''b''a'\\''b'`);
});

test('idle: the newest request is idleMs old, or none in the window and the window covers idleMs', () => {
  assert.equal(isIdle(1_000, 0, 5_000, 60_000, 5_999), false);
  assert.equal(isIdle(1_000, 0, 5_000, 60_000, 6_000), true);
  assert.equal(isIdle(null, 0, 5_000, 60_000, 0), true, 'nothing active in a window longer than idle');
  assert.equal(isIdle(null, 0, 90_000, 60_000, 29_999), false, 'idle longer than the window: counted from the drain too');
  assert.equal(isIdle(null, 0, 90_000, 60_000, 30_000), true);
});

test('the estimate is the mean time per member so far times the members left; the line says it', () => {
  assert.equal(estimateMs([], 3), undefined);
  assert.equal(estimateMs([10_000, 20_000], 2), 30_000);
  const m = { url: 'https://a:1', route: 'n1', command: '' };
  const times = { drainMs: 5_000, commandMs: 3_000, backMs: 2_000 };
  assert.equal(progressLine(0, 3, m, times, [10_000]), '[1/3] n1 https://a:1 restarted in 10 s (idle after 5 s, command 3 s, back after 2 s); about 20 s left');
  assert.match(progressLine(2, 3, m, times, [10_000, 10_000, 10_000]), /; done$/);
});

test('a hostile route set through the manager is never read as shell syntax, whatever quotes the template puts around it', () => {
  // No blank: inside the template's double quotes the reference is unquoted, so a blank would split it (harmlessly).
  const route = `$(id)\`id\`'";id|id&&id`;
  const url = 'http://a:1/$(id)';
  for (const template of ['printf %s {route}', 'printf %s "{route}"', "printf %s '{route}'", 'printf %s {url}', 'printf %s "{url}"']) {
    const out = execFileSync('/bin/sh', ['-c', execScript(template)], { encoding: 'utf8', env: { ...process.env, ...execEnv({ route, url }) } });
    // Inside the template's single quotes, the reference stays text: wrong, but nothing runs.
    assert.equal(out, template.includes("'") ? '"$STICKLER_ROUTE"' : template.includes('route') ? route : url, template);
  }
  assert.equal(execScript('restart {route} at {url}'), 'restart "$STICKLER_ROUTE" at "$STICKLER_URL"');
});

test('before each drain: a member taken out meanwhile, a removed or renamed member, or no other member serving stops the rollout', () => {
  const start = balancer([member('https://a:1', 'n1'), member('https://b:1', 'n2'), member('https://c:1', 'n3', { stopped: true })]);
  const plan = planRollout(start, 'x');
  const [a, b] = plan.members as [typeof plan.members[0], typeof plan.members[0]];
  assert.equal(drainProblem(start, plan, a), undefined);
  assert.equal(drainProblem(balancer([member('https://a:1', 'n1'), member('https://b:1', 'n2'), member('https://c:1', 'n3', { stopped: true })]), plan, b), undefined, 'the member restarted before is back');
  assert.match(drainProblem(balancer([member('https://a:1', 'n1'), member('https://b:1', 'n2', { drain: true })]), plan, a)!, /https:\/\/b:1 is already draining since the rollout began \(another rollout/);
  assert.match(drainProblem(balancer([member('https://a:1', 'n1', { disabled: true }), member('https://b:1', 'n2')]), plan, a)!, /https:\/\/a:1 is disabled since/);
  assert.match(drainProblem(balancer([member('https://b:1', 'n2')]), plan, a)!, /no longer a member/);
  assert.match(drainProblem(balancer([member('https://a:1', 'x1'), member('https://b:1', 'n2')]), plan, a)!, /route of https:\/\/a:1 changed from "n1" to "x1"/);
  for (const bad of [{ error: true }, { healthCheckFailed: true }]) {
    assert.match(drainProblem(balancer([member('https://a:1', 'n1'), member('https://b:1', 'n2', bad)]), plan, a)!, /no other member of balancer:\/\/app is serving/);
  }
});
