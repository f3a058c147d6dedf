// The journal protocol (src/shared/journal.ts): what Redis hands back is outside input, written by any instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { catchUpFrom, compareIds, entryFields, readRange, readSnapshot, readXRead, trimBefore, type JournalEntry } from '../../src/shared/journal.ts';
import { checkRedisUrl } from '../../src/config/shared-state-url.ts';

const entry: JournalEntry = {
  instance: 'lb1',
  actor: { user: 'ops', ip: '10.0.0.9' },
  edit: { kind: 'member', balancer: 'cluster', member: 'https://10.0.0.5:9443', change: { status: { drain: true }, loadfactor: 3 } },
  seen: '1700000000000-2',
};

test('an entry written is read back as it was', () => {
  const reply = [['stickler:journal', [['1700000000001-0', entryFields(entry)]]]];
  assert.deepEqual(readXRead(reply), [{ id: '1700000000001-0', entry }]);
  assert.deepEqual(readXRead(null), []);
  assert.deepEqual(readXRead({ 'stickler:journal': [['1700000000001-0', entryFields(entry)]] }), [{ id: '1700000000001-0', entry }]);
});

test('an entry that is not an edit is reported with its id, the others still read', () => {
  const bad = entryFields(entry).map((v, i, all) => (all[i - 1] === 'edit' ? '{"kind":"explode"}' : v));
  const read = readRange([['1-0', bad], ['2-0', entryFields(entry)], ['3-0', ['instance']]]);
  assert.ok(Array.isArray(read));
  assert.match((read[0] as { problem: string }).problem, /^edit: /);
  assert.deepEqual(read[1], { id: '2-0', entry });
  assert.match((read[2] as { problem: string }).problem, /pairs/);
});

test('property: any reply is read without throwing, and every entry read is a well-formed edit', () => {
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, fc.string(), fc.constant(null), fc.integer(), fc.array(tie('v'), { maxLength: 4 })),
  })).v;
  fc.assert(fc.property(fc.oneof(value, fc.array(fc.tuple(fc.string(), fc.array(fc.string(), { maxLength: 12 })), { maxLength: 5 })), (reply) => {
    for (const read of [readXRead(reply), readRange(reply)]) {
      if (!Array.isArray(read)) continue;
      for (const r of read) if ('entry' in r) assert.equal(typeof r.entry.edit.balancer, 'string');
    }
    readSnapshot(reply);
  }));
});

test('property: an entry of any instance, user and address round-trips', () => {
  fc.assert(fc.property(fc.string(), fc.string(), fc.string(), (instance, user, ip) => {
    const e = { ...entry, instance, actor: { user, ip } };
    assert.deepEqual(readRange([['5-1', entryFields(e)]]), [{ id: '5-1', entry: e }]);
  }));
});

test('stream ids compare as numbers, not text', () => {
  assert.equal(compareIds('9-0', '10-0'), -1);
  assert.equal(compareIds('10-2', '10-10'), -1);
  assert.equal(compareIds('10-2', '10-2'), 0);
  assert.equal(compareIds('1700000000000-0', '999-99'), 1);
});

test('catch-up: from the journal when it reaches back far enough, else from the snapshot', () => {
  assert.equal(catchUpFrom(undefined, undefined, undefined), 'journal', 'nothing shared yet');
  assert.equal(catchUpFrom(undefined, '5-0', '1-0'), 'snapshot', 'a new instance starts from the snapshot');
  assert.equal(catchUpFrom('7-0', '5-0', '6-0'), 'journal', 'at or past the snapshot');
  assert.equal(catchUpFrom('3-0', '5-0', '2-0'), 'journal', 'the journal still holds what came after 3-0');
  assert.equal(catchUpFrom('3-0', '5-0', '4-0'), 'snapshot', 'entries after 3-0 may have been trimmed');
  assert.equal(catchUpFrom('3-0', '5-0', undefined), 'snapshot', 'the journal is empty');
});

test('trimming keeps entries newer than the snapshot minus the window', () => {
  assert.equal(trimBefore('1700000600000-3', 600_000), '1700000000000-0');
  assert.equal(trimBefore('5-0', 600_000), '0-0');
});

test('a snapshot is read back, or said to be foreign', () => {
  assert.deepEqual(readSnapshot(['id', '4-0', 'overlay', '{"version":1,"balancers":{}}']), { id: '4-0', overlay: { version: 1, balancers: {} } });
  assert.equal(readSnapshot([]), undefined);
  // @redis/client 6's reply to HGETALL on a plain client, seen against Debian's redis-server.
  assert.deepEqual(readSnapshot({ id: '4-0', overlay: '{"version":1,"balancers":{}}' }), { id: '4-0', overlay: { version: 1, balancers: {} } });
  assert.equal(readSnapshot({}), undefined);
  assert.match((readSnapshot(['id', '4-0', 'overlay', '{"version":2}']) as { problem: string }).problem, /overlay: version/);
});

test('Redis URLs: what is refused says what is expected', () => {
  assert.equal(checkRedisUrl('redis://127.0.0.1:6379/0'), 'redis://127.0.0.1:6379/0');
  assert.equal(checkRedisUrl('rediss://u@redis.example:6380'), 'rediss://u@redis.example:6380');
  for (const bad of ['http://x:1', 'redis://x:1/16', 'redis://x:1/0?db=2', 'localhost:6379']) {
    const r = checkRedisUrl(bad);
    assert.ok(typeof r === 'object' && /expected redis:\/\//.test(r.error), bad);
  }
});
