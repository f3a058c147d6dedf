// The hash the instances publish their verdicts and activity in: read back by member, this instance and strays left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { memberKey, readReports, reportField } from '../../src/shared/report-hash.ts';

test('reports are grouped by member, with each instance\'s heartbeat; this instance\'s own are left out', () => {
  const reply = ['5000', [
    reportField('lb1', 'b', 'http://m1'), '4000 {"down":true}',
    reportField('lb2', 'b', 'http://m1'), '4500 {"down":false}',
    reportField('lb2', 'b', 'http://m2'), '4500 {"down":true}',
  ]];
  const read = readReports(reply, 'lb1');
  assert.ok(!('problem' in read));
  assert.equal(read.now, 5000);
  assert.deepEqual(read.byMember.get(memberKey('b', 'http://m1')), [{ instance: 'lb2', heartbeat: 4500, value: { down: false } }]);
  assert.deepEqual(read.byMember.get(memberKey('b', 'http://m2')), [{ instance: 'lb2', heartbeat: 4500, value: { down: true } }]);
});

test('fields and values Stickler did not write are skipped; a reply of another shape is a problem', () => {
  const read = readReports(['1', ['junk', '1 {}', reportField('x', 'b', 'm'), 'no time', reportField('y', 'b', 'm'), '1 {not json']], 'lb1');
  assert.deepEqual('problem' in read ? read : [...read.byMember], []);
  assert.ok('problem' in readReports('OK', 'lb1'));
  assert.ok('problem' in readReports(['soon', []], 'lb1'));
});

test('whatever Redis answers, reading it does not throw', () => {
  fc.assert(fc.property(fc.anything(), fc.array(fc.string()), (time, flat) => {
    readReports([time, flat], 'lb1');
    readReports(time, 'lb1');
  }));
});
