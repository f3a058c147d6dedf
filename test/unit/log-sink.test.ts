// A log file opened again by name (SIGUSR1 after logrotate renamed it): a batch being written when it happens ends
// whole in the file it began in, the next ones go to the new file, and a file that cannot be opened again keeps
// its old descriptor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSink, reopenLogFiles } from '../../src/log/sink.ts';

const written = (sink: ReturnType<typeof fileSink>, data: Buffer): Promise<void> =>
  new Promise((resolve, reject) => sink.write(data, (err) => (err ? reject(err) : resolve())));

test('a batch in flight when the file is reopened ends whole in the old file; the next goes to the new one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-sink-'));
  const path = join(dir, 'access.log');
  const sink = fileSink(path);
  // Large enough to be written in several steps (partial writes continue on the descriptor they began on).
  const big = Buffer.alloc(8 * 1024 * 1024, 'a\n');
  const first = written(sink, big);
  renameSync(path, `${path}.1`);
  assert.deepEqual(reopenLogFiles(), []);
  await Promise.all([first, written(sink, Buffer.from('after\n'))]);
  await sink.close();
  assert.equal(readFileSync(`${path}.1`).length, big.length);
  assert.equal(readFileSync(path, 'utf8'), 'after\n');
});

test('a file that cannot be opened again is named in the failures, and its lines still go to the old file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-sink-'));
  const path = join(dir, 'sub', 'access.log');
  mkdirSync(join(dir, 'sub'));
  const sink = fileSink(path);
  renameSync(join(dir, 'sub'), join(dir, 'moved'));
  const failures = reopenLogFiles();
  assert.equal(failures.length, 1);
  assert.match(failures[0]!, /cannot open access log .*sub\/access\.log: ENOENT.*still go to the file it had open/);
  await written(sink, Buffer.from('kept\n'));
  await sink.close();
  assert.equal(readFileSync(join(dir, 'moved', 'access.log'), 'utf8'), 'kept\n');
  assert.deepEqual(reopenLogFiles(), [], 'a closed sink is no longer reopened');
});
