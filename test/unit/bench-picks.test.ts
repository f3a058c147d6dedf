// The pure parts of `npm run bench:picks`: its arguments, the figures of a run from the threads' counts, and
// the table.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PICK_OPTIONS, formatPickTable, MAX_SECONDS, MAX_THREADS, parsePickArgs, pickRow } from '../../bench/picks-report.ts';

function ok<T>(value: T | Error): T {
  if (value instanceof Error) assert.fail(value.message);
  return value;
}

test('bench:picks arguments: defaults are 2 s and 1, 2, 4, 8, 16 threads', () => {
  assert.deepEqual(ok(parsePickArgs([])), { seconds: 2, threads: [1, 2, 4, 8, 16] });
  assert.deepEqual(DEFAULT_PICK_OPTIONS.threads, [1, 2, 4, 8, 16]);
});

test('bench:picks arguments: a short smoke run and chosen thread counts', () => {
  assert.deepEqual(ok(parsePickArgs(['--seconds', '0.25', '--threads', '1, 3,16'])), { seconds: 0.25, threads: [1, 3, 16] });
  assert.deepEqual(ok(parsePickArgs(['--threads=2', `--seconds=${MAX_SECONDS}`])), { seconds: MAX_SECONDS, threads: [2] });
  assert.deepEqual(ok(parsePickArgs(['--threads', String(MAX_THREADS)])).threads, [MAX_THREADS]);
});

test('bench:picks arguments: a bad duration names the option and what was given', () => {
  for (const bad of ['0', '-1', 'abc', '', String(MAX_SECONDS + 1), 'Infinity']) {
    const err = parsePickArgs([`--seconds=${bad}`]);
    assert.ok(err instanceof Error, bad);
    assert.match(err.message, new RegExp(`^--seconds must be .* not ${JSON.stringify(JSON.stringify(bad)).slice(1, -1)}$`));
  }
});

test('bench:picks arguments: bad thread counts, unknown options and stray words are errors', () => {
  for (const bad of ['0', '1,,2', '1.5', 'x', String(MAX_THREADS + 1), '2,-4', '']) {
    const err = parsePickArgs([`--threads=${bad}`]);
    assert.ok(err instanceof Error, bad);
    assert.match(err.message, /^--threads must be thread counts from 1 to 256 separated by commas/);
  }
  assert.match((parsePickArgs(['--thread', '2']) as Error).message, /Unknown option '--thread'/);
  assert.ok(parsePickArgs(['16']) instanceof Error);
  assert.ok(parsePickArgs(['--seconds']) instanceof Error);
});

test('a run: total over the longest thread, per-thread means of rate and wall and CPU time per pick', () => {
  const row = pickRow('sticky', [
    { picks: 1_000_000, wallNs: 1e9, cpuNs: 0.5e9 },
    { picks: 500_000, wallNs: 2e9, cpuNs: 1e9 },
  ]);
  assert.equal(row.mode, 'sticky');
  assert.equal(row.threads, 2);
  assert.equal(row.totalPerSec, 750_000);
  assert.equal(row.perThreadPerSec, 625_000);
  assert.equal(row.wallNsPerPick, 2500);
  assert.equal(row.cpuNsPerPick, 1250);
});

test('the table: one row per run, thousands separated, total over the same mode\'s one-thread total', () => {
  const one = pickRow('balanced', [{ picks: 2_000_000, wallNs: 1e9, cpuNs: 1e9 }]);
  const two = pickRow('balanced', [
    { picks: 1_500_000, wallNs: 1e9, cpuNs: 1e9 },
    { picks: 1_500_000, wallNs: 1e9, cpuNs: 1e9 },
  ]);
  const stickyAlone = pickRow('sticky', [{ picks: 10, wallNs: 1e9, cpuNs: 1e9 }, { picks: 10, wallNs: 1e9, cpuNs: 1e9 }]);
  const table = formatPickTable([one, two, stickyAlone]).split('\n');
  assert.match(table[0]!, /^picks\s+threads\s+picks\/s total\s+picks\/s per thread\s+ns\/pick wall\s+ns\/pick CPU\s+total x 1 thread$/);
  assert.match(table[1]!, /^balanced\s+1\s+2,000,000\s+2,000,000\s+500\s+500\s+1\.00x$/);
  assert.match(table[2]!, /^balanced\s+2\s+3,000,000\s+1,500,000\s+667\s+667\s+1\.50x$/);
  // No one-thread sticky run to compare with.
  assert.match(table[3]!, /^sticky\s+2\s+20\s+10\s+100000000\s+100000000\s+-$/);
});
