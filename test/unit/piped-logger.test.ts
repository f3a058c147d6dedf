// The piped logger's child end to end with real processes: what waits for it is bounded, and what a dead child
// had not taken reaches the next one in the order it was written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_GRACE_MS, MAX_QUEUED_BYTES, pipedSink } from '../../src/log/piped.ts';
import { loadedBound, pollUntil, withTimeout } from '../support/wait.ts';

const MiB = 1024 * 1024;

test('a child that reads nothing: every write is answered at once, those past the cap with an error; the stop ends', async () => {
  const sink = pipedSink('|$exec sleep 600');
  const results: Array<Error | null | undefined> = [];
  for (let i = 0; i < 40; i++) sink.write(Buffer.alloc(MiB, 'x'), (err) => results.push(err));
  await pollUntil(async () => results.length === 40, { timeoutMs: 5_000, intervalMs: 20, what: 'an answer to each of 40 writes' });
  const accepted = results.filter((r) => !r).length;
  assert.equal(accepted, MAX_QUEUED_BYTES / MiB, 'what waits in the queue and in the child\'s input counts against one cap');
  assert.match(String(results.at(-1)), /is not keeping up and 16777216 bytes wait for it; lines dropped/);
  await withTimeout(sink.close(), loadedBound(EXIT_GRACE_MS), 'stopping a child that reads nothing');
});

test('a child killed with writes in progress: the next child gets what it had not taken, in order', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-piped-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pids = join(dir, 'pids');
  const out = join(dir, 'out');
  // Each child waits before reading, so the writes pile up in its input; sleep does not hold that input.
  const sink = pipedSink(`|$echo $$ >> ${pids}; sleep 1 </dev/null; exec cat >> ${out}`);
  const batch = (from: number): Buffer => Buffer.from(Array.from({ length: 10_000 }, (_, i) => `${String(from + i).padStart(8, '0')} ${'y'.repeat(40)}\n`).join(''));
  await pollUntil(async () => readFileSync(pids, 'utf8').trim() !== '', { timeoutMs: 10_000, intervalMs: 20, what: 'the first child' });
  // 10 batches of about 500 KB: far more than the kernel holds for a child that is not reading.
  for (let b = 0; b < 10; b++) sink.write(batch(b * 10_000), () => {});
  process.kill(Number(readFileSync(pids, 'utf8').trim()), 'SIGKILL');
  await pollUntil(async () => readFileSync(pids, 'utf8').trim().split('\n').length === 2, { timeoutMs: 10_000, intervalMs: 20, what: 'a second child' });
  sink.write(batch(100_000), () => {});
  await withTimeout(sink.close(), loadedBound(EXIT_GRACE_MS), 'the stop');
  const numbers = readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => Number(l.slice(0, 8)));
  for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i]! > numbers[i - 1]!, `line ${numbers[i]} after ${numbers[i - 1]}: out of order or twice`);
  // What the dead child's input still held is lost with it, as with httpd; what Stickler still held is not.
  assert.ok(numbers.length > 50_000, `${numbers.length} lines reached the second child`);
  assert.deepEqual(numbers.slice(-10_000), Array.from({ length: 10_000 }, (_, i) => 100_000 + i));
});

test('the child gets what envvars exports (APACHE_LOG_DIR...) on top of Stickler\'s own environment, as under apache2ctl', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-piped-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sink = pipedSink(`|$exec cat > "$APACHE_LOG_DIR/access.log"`, { APACHE_LOG_DIR: dir });
  await new Promise<void>((resolve, reject) => sink.write(Buffer.from('one line\n'), (err) => (err ? reject(err) : resolve())));
  await withTimeout(sink.close(), loadedBound(EXIT_GRACE_MS), 'the stop');
  assert.equal(readFileSync(join(dir, 'access.log'), 'utf8'), 'one line\n');
});
