// The entry points are plain JavaScript and turn the compile cache on before any TypeScript loads, so that a warm
// start never loads Node's TypeScript stripper (about 17 MB of every process and worker thread).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

test('a warm start of the stickler command does not load the TypeScript stripper; a cold one does', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stickler-cli-entry-'));
  try {
    const probe = join(dir, 'probe.cjs');
    await writeFile(probe, "process.on('exit', () => process.stderr.write('STRIPPER=' + process.moduleLoadList.some((m) => m.includes('amaro')) + '\\n'));\n");
    const run = () => {
      const r = spawnSync(process.execPath, ['--require', probe, CLI, '--version'], { env: { ...process.env, NODE_COMPILE_CACHE: join(dir, 'cache') }, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return /STRIPPER=(true|false)/.exec(r.stderr)?.[1];
    };
    // The cold start shows the probe can see the stripper at all.
    assert.equal(run(), 'true');
    assert.equal(run(), 'false');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
