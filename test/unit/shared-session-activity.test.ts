// A draining member's sessions across instances: the sum of the live instances' counts, the latest last request.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { groupActivity, type InstanceActivity } from '../../src/shared/session-activity.ts';

const TTL = 3_000;
const NOW = 100_000;

test('the live instances\' active sessions add up and the latest request wins; a stale instance counts for nothing', () => {
  const others: InstanceActivity[] = [
    { instance: 'lb2', active: 3, lastRequestAt: 90_000, heartbeat: NOW - 500 },
    { instance: 'lb3', active: 7, lastRequestAt: 99_000, heartbeat: NOW - TTL - 1 },
    { instance: 'lb4', active: 1, lastRequestAt: 91_000, heartbeat: NOW - TTL },
    { instance: 'lb5', active: 0, lastRequestAt: null, heartbeat: NOW },
  ];
  assert.deepEqual(groupActivity({ active: 1, lastRequestAt: 80_000 }, others, NOW, TTL), { active: 5, lastRequestAt: 91_000 });
  assert.deepEqual(groupActivity({ active: 0, lastRequestAt: null }, others, NOW, TTL), { active: 4, lastRequestAt: 91_000 }, 'idle here, active through lb2 and lb4 (a heartbeat exactly ttl old is live)');
  assert.deepEqual(groupActivity({ active: 2, lastRequestAt: 95_000 }, [], NOW, TTL), { active: 2, lastRequestAt: 95_000 });
});

test('property: the group is never less active than this instance, nor than any live other', () => {
  const activity = fc.record({ active: fc.nat(1_000), lastRequestAt: fc.option(fc.integer({ min: 0, max: NOW })) });
  const others = fc.array(fc.record({ instance: fc.string(), active: fc.nat(1_000), lastRequestAt: fc.option(fc.integer({ min: 0, max: NOW })), heartbeat: fc.integer({ min: NOW - 3 * TTL, max: NOW }) }), { maxLength: 8 });
  fc.assert(fc.property(activity, others, (local, list) => {
    const group = groupActivity(local, list, NOW, TTL);
    const live = list.filter((o) => NOW - o.heartbeat <= TTL);
    assert.equal(group.active, local.active + live.reduce((n, o) => n + o.active, 0));
    const latest = [local, ...live].map((a) => a.lastRequestAt).filter((t): t is number => t !== null);
    assert.equal(group.lastRequestAt, latest.length > 0 ? Math.max(...latest) : null);
  }));
});
