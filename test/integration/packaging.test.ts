// What packaging/ ships, checked by the tools that will read it: the systemd units (systemd-analyze verify and
// security), the logrotate snippet run for real against a running Stickler, the keepalived example
// (keepalived --config-test), and the npm package installed into a fresh prefix, where `stickler --check` runs
// under the Node it pins. Installed paths are replaced by this checkout's, which exist here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler } from '../support/stickler.ts';
import { fileLines, pollUntil } from '../support/wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/stickler');
const INSTALLED_BIN = '/opt/stickler/node_modules/.bin/stickler';
const packaged = (name: string) => readFile(join(ROOT, 'packaging', name), 'utf8');
const run = promisify(execFile);

async function scratch(name: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `stickler-packaging-${name}-`));
}

/** Runs a tool to its end: its status (or the signal that ended it) and all it printed. */
function tool(command: string, args: string[], timeoutMs = 60_000): { status: number | null; signal: NodeJS.Signals | null; output: string } {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, signal: r.signal, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

for (const unit of ['stickler.service', 'stickler-apache.service']) {
  test(`${unit}: systemd-analyze verify finds nothing, and its security exposure stays low`, { skip: !existsSync('/usr/bin/systemd-analyze') && 'systemd-analyze is not installed' }, async () => {
    const dir = await scratch('unit');
    const file = join(dir, unit);
    // verify checks that every command exists and is executable.
    await writeFile(file, (await packaged(unit)).replaceAll(INSTALLED_BIN, BIN));
    const verified = tool('systemd-analyze', ['verify', '--man=no', file]);
    // Unknown keys and bad values are warnings on the output, with status 0: both must be clean.
    assert.deepEqual([verified.status, verified.output], [0, '']);
    const security = tool('systemd-analyze', ['security', '--offline=true', file]);
    const level = /Overall exposure level for \S+: (\d+\.\d+) (\S+)/.exec(security.output);
    assert.ok(level, security.output);
    // systemd's scale: 0 to 10, "OK" below 5; these units measure 1.6 and 2.2 on systemd 252.
    assert.ok(Number(level[1]) <= 2.5, `exposure ${level[1]} ${level[2]}`);
  });
}

test('logrotate with the packaged snippet: renamed files keep the lines before, SIGUSR1 sends the next ones to new files', { skip: !existsSync('/usr/sbin/logrotate') && 'logrotate is not installed (scripts/setup-debian.sh installs it)' }, async () => {
  const dir = await scratch('logrotate');
  const backend = await RecordingBackend.start(1);
  const port = await freePort();
  const pidFile = join(dir, 'stickler.pid');
  const config = join(dir, 'stickler.yaml');
  await writeFile(config, yamlConfig(port, [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'n1' }], { top: `log:\n  access: ${join(dir, 'access.log')}\n  format: '%U'` }));
  const stickler = await startStickler(config, { args: ['--pid-file', pidFile, '--workers', '2'] });
  try {
    const send = async (prefix: string) => {
      for (let i = 0; i < 10; i++) await request(`https://127.0.0.1:${port}/${prefix}${i}`, { headers: { connection: 'close' } });
    };
    await send('before');
    await fileLines(join(dir, 'access.log'), 10);
    const snippet = (await packaged('logrotate')).replaceAll('/var/log/stickler', dir).replaceAll('/run/stickler/stickler.pid', pidFile);
    await writeFile(join(dir, 'logrotate.conf'), snippet, { mode: 0o644 });
    const rotated = tool('logrotate', ['--force', '--state', join(dir, 'logrotate.state'), join(dir, 'logrotate.conf')]);
    assert.equal(rotated.status, 0, rotated.output);
    await pollUntil(async () => stickler.stdout().includes('logs reopened\n'), { timeoutMs: 15_000, intervalMs: 20, what: 'the postrotate signal taken' });
    await send('after');
    const paths = (prefix: string) => Array.from({ length: 10 }, (_, i) => `/${prefix}${i}`).sort();
    assert.deepEqual((await fileLines(join(dir, 'access.log'), 10)).sort(), paths('after'));
    assert.deepEqual((await fileLines(join(dir, 'access.log.1'), 10)).sort(), paths('before'));
  } finally {
    await stickler.stop();
    await backend.close();
  }
});

test('keepalived --config-test accepts the example for both instances, and refuses a mistake in it', { skip: !existsSync('/usr/sbin/keepalived') && 'keepalived is not installed' }, async () => {
  const dir = await scratch('keepalived');
  // The script's user and program must exist here: nobody, and this checkout's command.
  const first = (await packaged('keepalived.conf')).replace('script_user stickler', 'script_user nobody').replaceAll(INSTALLED_BIN, BIN);
  const second = first.replace('router_id stickler_a', 'router_id stickler_b').replace('priority 100', 'priority 90');
  const check = async (name: string, text: string) => {
    const file = join(dir, name);
    await writeFile(file, text);
    // keepalived 2.2 ends its configuration test with SIGTERM (status 143) whatever it found: what it printed tells.
    const r = tool('/usr/sbin/keepalived', ['--config-test', '-f', file]);
    assert.ok(r.status === 0 || r.signal === 'SIGTERM' || r.status === 143, `${r.status} ${r.signal}: ${r.output}`);
    return r.output.replace(/^Terminated\n?/m, '');
  };
  assert.equal(await check('a.conf', first), '');
  assert.equal(await check('b.conf', second), '');
  assert.match(await check('bad.conf', first.replace('interval 5', 'intervall 5')), /Unknown keyword 'intervall'/);
});

test('npm pack: the package installs into a fresh prefix and `stickler --check` runs there on the Node it pins', { timeout: 300_000 }, async () => {
  const dir = await scratch('npm');
  const npm = { timeout: 240_000, maxBuffer: 16 * 1024 * 1024 };
  const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { ...npm, cwd: ROOT });
  const tarball = join(dir, stdout.trim().split('\n').at(-1)!);
  const listing = (await run('tar', ['tzf', tarball], npm)).stdout.split('\n');
  assert.ok(listing.includes('package/packaging/stickler.service') && listing.includes('package/src/manager/console/index.html'), 'ships packaging/ and the console');
  assert.deepEqual(listing.filter((f) => /^package\/(test|bench|scripts)\//.test(f)), [], 'ships no tests, benchmarks or scripts');
  const prefix = join(dir, 'prefix');
  await run('mkdir', [prefix]);
  // The pinned Node arrives by the `node` package's install script, which the prefix allows (as the repository does).
  await writeFile(join(prefix, 'package.json'), JSON.stringify({ private: true, allowScripts: { node: true } }));
  await run('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', tarball], npm);
  const config = join(dir, 'check.yaml');
  await writeFile(config, yamlConfig(8443, [{ url: 'https://127.0.0.1:9443', route: 'n1' }]));
  // Only the system's directories on PATH: the command must find its Node itself, not the system's (Node 20 here).
  const env = { PATH: '/usr/bin:/bin', HOME: dir };
  const checked = await run(join(prefix, 'node_modules/.bin/stickler'), ['--check', '--config', config], { ...npm, env });
  assert.match(checked.stdout, /balancers:\n {2}cluster:/);
  assert.doesNotMatch(checked.stderr, /warning|error/i);
  const version = await run(join(prefix, 'node_modules/.bin/stickler'), ['--version'], { ...npm, env });
  assert.equal(version.stdout, `stickler ${JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).version}\n`);
  assert.ok((await readdir(join(prefix, 'node_modules'))).includes('node'));
});
