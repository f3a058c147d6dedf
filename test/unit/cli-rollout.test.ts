// stickler rollout's I/O at its edges: the token file it trusts, and the command it runs and bounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readToken, run } from '../../src/cli/rollout.ts';

test('a token file others can read or write is refused by name; one only its owner reads gives its first token', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rollout-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'token');
  writeFileSync(file, '# the manager\nsecret-token\n');
  chmodSync(file, 0o644);
  assert.throws(() => readToken(file), /--token-file: .*token is readable by every user \(mode 644\).*chmod 600/);
  chmodSync(file, 0o620);
  assert.throws(() => readToken(file), /writable by other users \(mode 620\)/);
  chmodSync(file, 0o600);
  assert.equal(readToken(file), 'secret-token');
});

test('the command gets the member in its environment, and one that runs past --command-timeout is killed, group and all', async () => {
  assert.equal(await run('test "$STICKLER_ROUTE" = "n 1"', { STICKLER_ROUTE: 'n 1' }, 60_000), 0);
  assert.equal(await run('exit 3', {}, 60_000), 3);
  const started = Date.now();
  // A child of sh's that ignores nothing: the group's SIGTERM ends it, so the wait ends well before 600 s.
  assert.equal(await run('sleep 600 & wait', {}, 300), 'timeout');
  assert.ok(Date.now() - started < 60_000);
});
