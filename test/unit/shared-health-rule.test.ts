// The group's health rule: which instances' verdicts count, and how many it takes to take a member out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { memberDown, parseHealthRule, type Verdict } from '../../src/shared/health-rule.ts';

const TTL = 3_000;
const NOW = 100_000;
const live = (down: boolean, instance = 'lb'): Verdict => ({ instance, down, heartbeat: NOW - 1_000 });
const stale = (down: boolean): Verdict => ({ instance: 'gone', down, heartbeat: NOW - TTL - 1 });

test('local: this instance\'s verdict alone, whatever the others say', () => {
  assert.equal(memberDown('local', false, [live(true), live(true)], NOW, TTL), false);
  assert.equal(memberDown('local', true, [live(false)], NOW, TTL), true);
});

test('any: down when this instance or one live other sees it down; a stale verdict does not count', () => {
  assert.equal(memberDown('any', false, [live(false), live(true)], NOW, TTL), true);
  assert.equal(memberDown('any', true, [], NOW, TTL), true);
  assert.equal(memberDown('any', false, [live(false), stale(true)], NOW, TTL), false);
  assert.equal(memberDown('any', false, [{ instance: 'edge', down: true, heartbeat: NOW - TTL }], NOW, TTL), true, 'a heartbeat exactly ttl old is live');
});

test('quorum: more than half of the live instances, this one included', () => {
  assert.equal(memberDown('quorum', true, [live(false)], NOW, TTL), false, '1 of 2 is not more than half');
  assert.equal(memberDown('quorum', true, [live(true), live(false)], NOW, TTL), true, '2 of 3');
  assert.equal(memberDown('quorum', false, [live(true), live(false)], NOW, TTL), false, '1 of 3');
  assert.equal(memberDown('quorum', true, [stale(false), stale(false)], NOW, TTL), true, 'alone, its own verdict decides');
  assert.equal(memberDown('quorum', false, [live(true), live(true)], NOW, TTL), true, '2 of 3 without this one');
});

test('parseHealthRule names the rules and refuses anything else', () => {
  assert.equal(parseHealthRule('quorum'), 'quorum');
  assert.deepEqual(parseHealthRule('majority'), { error: '"majority" is not a health rule; expected local, any or quorum' });
});

const verdicts = fc.array(fc.record({ instance: fc.string(), down: fc.boolean(), heartbeat: fc.integer({ min: NOW - 3 * TTL, max: NOW }) }), { maxLength: 12 });

test('property: stale verdicts never change the outcome, and quorum lies between local-of-all and any', () => {
  fc.assert(fc.property(fc.boolean(), verdicts, (local, others) => {
    const fresh = others.filter((v) => NOW - v.heartbeat <= TTL);
    for (const rule of ['local', 'any', 'quorum'] as const) {
      assert.equal(memberDown(rule, local, others, NOW, TTL), memberDown(rule, local, fresh, NOW, TTL));
    }
    const all = [local, ...fresh.map((v) => v.down)];
    assert.equal(memberDown('any', local, others, NOW, TTL), all.some(Boolean));
    assert.equal(memberDown('quorum', local, others, NOW, TTL), all.filter(Boolean).length * 2 > all.length);
    if (all.every(Boolean)) assert.equal(memberDown('quorum', local, others, NOW, TTL), true, 'unanimous down is a quorum');
    if (memberDown('quorum', local, others, NOW, TTL)) assert.equal(memberDown('any', local, others, NOW, TTL), true, 'a quorum implies any');
  }));
});

test('property: with no live other, every rule is this instance\'s verdict', () => {
  fc.assert(fc.property(fc.boolean(), verdicts, (local, others) => {
    const gone = others.map((v) => ({ ...v, heartbeat: NOW - TTL - 1 - (NOW - v.heartbeat) }));
    for (const rule of ['local', 'any', 'quorum'] as const) assert.equal(memberDown(rule, local, gone, NOW, TTL), local);
  }));
});
