// `npm test`: install what the integration tests need from Debian, type-check, check the import graph (no cycle,
// the configuration on its ground floor), then run the unit tests in parallel, the benchmark in its short mode,
// then the integration tests (real Tomcat, Apache) one file at a time so two cores are not oversubscribed.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', env });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function testFiles(dir: string): string[] {
  return readdirSync(`${root}/${dir}`)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${dir}/${f}`);
}

run('bash', ['scripts/setup-debian.sh']);
run(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '--noEmit', '-p', '.']);
run(process.execPath, [`${root}/scripts/import-graph.ts`]);
const only = process.argv.slice(2);
if (only.length > 0) {
  run(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=300000', ...only]);
} else {
  // A per-test timeout, so a unit test that hangs fails with its name instead of stalling the run; generous, as
  // the unit tests share two cores with each other.
  run(process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=60000', ...testFiles('test/unit')]);
  // The benchmark in its few-second mode, so it cannot rot between full runs; before the integration tests so
  // the test runner's summary stays the last thing printed.
  run(process.execPath, [`${root}/bench/run.ts`], { ...process.env, BENCH_SHORT: '1' });
  run(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=300000', ...testFiles('test/integration')]);
}
