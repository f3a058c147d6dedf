// SIGUSR1 after a rotation, as logrotate does it: the files are renamed, the signal makes Stickler open them again
// by name. Lines before the signal stay in the renamed files, lines after go to the new ones, none lost or split,
// with one and with two worker threads; the manager's audit log follows the rename too.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { fileLines, pollUntil } from '../support/wait.ts';

const TOKEN = 'log-reopen-test-token-0123456789';
let dir: string;
let backend: RecordingBackend;
const running: SticklerProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-log-reopen-'));
  backend = await RecordingBackend.start(1);
  await writeFile(join(dir, 'tokens'), `${TOKEN}\n`, { mode: 0o600 });
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await backend.close();
});

interface Started {
  port: number;
  managerPort: number;
  stickler: SticklerProcess;
  logs: { own: string; main: string; audit: string };
}

async function start(name: string, workers: number): Promise<Started> {
  const logDir = join(dir, name);
  await mkdir(logDir);
  const logs = { own: join(logDir, 'own.log'), main: join(logDir, 'main.log'), audit: join(logDir, 'audit.log') };
  const [port, managerPort] = [await freePort(), await freePort()];
  const top = `log:
  access: ${logs.own}
  format: json
  logs:
    - access: ${logs.main}
      format: '%U'
manager:
  port: ${managerPort}
  token-file: ${join(dir, 'tokens')}
  audit-log: ${logs.audit}`;
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yamlConfig(port, [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'n1' }], { top }));
  const stickler = await startStickler(file, { args: ['--workers', String(workers)] });
  running.push(stickler);
  return { port, managerPort, stickler, logs };
}

/** Fresh connections, so that with two workers both take some. */
const send = async (port: number, prefix: string, n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await request(`https://127.0.0.1:${port}/${prefix}${i}`, { headers: { connection: 'close' } });
};

const paths = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `/${prefix}${i}`);

async function edit(managerPort: number, route: string): Promise<void> {
  const url = `https://127.0.0.1:${backend.ports[0]}`;
  const response = await fetch(`http://127.0.0.1:${managerPort}/balancer-manager/api/v1/edits`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: 'member', balancer: 'cluster', member: url, change: { route } }),
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(response.status, 200, await response.text());
}

/**
 * The paths a log's lines name, sorted, once it has `count` lines: the `%U` log is one path a line, the JSON one an
 * object a line. Stickler's own log takes the manager's requests too: they are left out.
 */
async function loggedPaths(file: string, count: number): Promise<string[]> {
  const lines = await fileLines(file, count);
  return lines.map((l) => (l.startsWith('{') ? (JSON.parse(l) as { target: string }).target : l)).filter((p) => !p.startsWith('/balancer-manager')).sort();
}

async function reopened(stickler: SticklerProcess, times: number): Promise<void> {
  process.kill(stickler.pid, 'SIGUSR1');
  await pollUntil(async () => stickler.stdout().split('\n').filter((l) => l === 'logs reopened').length >= times, { timeoutMs: 15_000, intervalMs: 20, what: '`logs reopened`' });
}

for (const workers of [1, 2]) {
  test(`with ${workers} worker thread${workers > 1 ? 's' : ''}: after a rename and SIGUSR1, old lines stay in the renamed files and new ones go to new files, none lost`, async () => {
    const { port, managerPort, stickler, logs } = await start(`rotate-${workers}`, workers);
    // Each phase waits until its lines are written, so the rename falls between the two.
    const phase = async (prefix: string, route: string, suffix: string) => {
      await send(port, prefix, 20);
      await edit(managerPort, route);
      assert.deepEqual(await loggedPaths(`${logs.own}${suffix}`, 21), paths(prefix, 20).sort(), `${logs.own}${suffix}`);
      assert.deepEqual(await loggedPaths(`${logs.main}${suffix}`, 20), paths(prefix, 20).sort(), `${logs.main}${suffix}`);
    };
    await phase('before', 'r1', '');
    for (const file of Object.values(logs)) await rename(file, `${file}.1`);
    await reopened(stickler, 1);
    await phase('after', 'r2', '');
    // Nothing more came into the renamed files.
    assert.deepEqual(await loggedPaths(`${logs.own}.1`, 21), paths('before', 20).sort());
    assert.equal((await fileLines(`${logs.own}.1`, 21)).length, 21);
    assert.deepEqual(await loggedPaths(`${logs.main}.1`, 20), paths('before', 20).sort());
    const audit = async (file: string) => (await fileLines(file, 1)).map((l) => (JSON.parse(l) as { after: { route: string } }).after.route);
    assert.deepEqual(await audit(`${logs.audit}.1`), ['r1']);
    assert.deepEqual(await audit(logs.audit), ['r2']);
    assert.doesNotMatch(stickler.stderr(), /cannot|failed/);
  });
}

test('a log that cannot be opened again is reported, and its lines keep going to the file it had open', async () => {
  const { port, stickler, logs } = await start('unreachable', 2);
  await send(port, 'before', 5);
  await fileLines(logs.main, 5);
  // The directory is gone from where the configuration names it: the files cannot be opened again there.
  const moved = join(dir, 'unreachable.moved');
  await rename(join(dir, 'unreachable'), moved);
  await reopened(stickler, 1);
  assert.match(stickler.stderr(), /cannot open access log .*main\.log: ENOENT.*; its lines still go to the file it had open/);
  await send(port, 'after', 5);
  assert.deepEqual(await loggedPaths(join(moved, 'main.log'), 10), [...paths('after', 5), ...paths('before', 5)].sort());
  assert.equal((await request(`https://127.0.0.1:${port}/still-serving`)).status, 200);
  assert.equal(await readFile(logs.main, 'utf8').catch((err: NodeJS.ErrnoException) => err.code), 'ENOENT');
});
