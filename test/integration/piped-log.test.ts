// Piped access logs end to end: Stickler's CLI with worker threads writing to one rotatelogs child, a child that
// is killed and started again without losing the lines, and a virtual host's own log beside the server's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepAliveAgent, request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { fileLines, pollUntil } from '../support/wait.ts';

let dir: string;
let backend: RecordingBackend;
const running: SticklerProcess[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stickler-piped-'));
  backend = await RecordingBackend.start(1);
});

after(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await backend.close();
});

async function start(name: string, log: string, args: string[] = []): Promise<{ port: number; stickler: SticklerProcess }> {
  const port = await freePort();
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yamlConfig(port, [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'n1' }], { top: log }));
  const stickler = await startStickler(file, { args });
  running.push(stickler);
  return { port, stickler };
}

const lines = fileLines;

const send = async (port: number, from: number, n: number): Promise<void> => {
  for (let i = from; i < from + n; i++) await request(`https://127.0.0.1:${port}/r${i}`, { headers: { connection: 'close' } });
};

test('with --workers 2, every thread\'s lines reach one rotatelogs child, whole', { skip: !existsSync('/usr/bin/rotatelogs') }, async () => {
  const log = `log:\n  access: "|/usr/bin/rotatelogs ${join(dir, 'rotated.%Y%m%d')} 86400"\n  format: '%h "%r" %>s %{BALANCER_WORKER_ROUTE}e %{tid}P'`;
  const { port, stickler } = await start('rotate', log, ['--workers', '2']);
  await send(port, 0, 40);
  const file = (await readdir(dir)).find((f) => f.startsWith('rotated.'));
  assert.ok(file, 'rotatelogs created its file');
  const got = await lines(join(dir, file), 40);
  assert.equal(got.length, 40);
  for (const line of got) assert.match(line, /^127\.0\.0\.1 "GET \/r\d+ HTTP\/1\.1" 200 n1 \d+$/);
  assert.deepEqual(got.map((l) => Number(/\/r(\d+)/.exec(l)![1])).sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
  const children = execFileSync('ps', ['-o', 'comm=', '--ppid', String(stickler.pid)], { encoding: 'utf8' }).split('\n').filter((c) => c.trim() === 'rotatelogs');
  assert.equal(children.length, 1, 'one child for the process, not one per thread');
});

test('a piped logger that dies is started again, and the lines written while no child runs all reach the next, in order', async () => {
  const pids = join(dir, 'pids');
  const out = join(dir, 'piped.log');
  const wrapper = join(dir, 'logger.sh');
  await writeFile(wrapper, `#!/bin/sh\necho $$ >> ${pids}\nexec cat >> ${out}\n`, { mode: 0o755 });
  const { port, stickler } = await start('restart', `log:\n  access: '|${wrapper}'\n  format: '%>s %U'`);
  await send(port, 0, 5);
  await lines(out, 5);
  // Without its program no child can start: the restarts fail (backing off up to 5 s) until it is back.
  await rename(wrapper, `${wrapper}.away`);
  process.kill(Number((await lines(pids, 1))[0]), 'SIGKILL');
  await pollUntil(async () => /cannot run: .*ENOENT/.test(stickler.stderr()), { timeoutMs: 15_000, intervalMs: 50, what: 'a restart that finds no program' });
  await send(port, 5, 10);
  // Past the log's flush interval (100 ms): the lines have left the log for the logger, which has no child.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal((await readFile(out, 'utf8')).split('\n').filter((l) => l !== '').length, 5, 'nothing written while no child ran');
  await rename(`${wrapper}.away`, wrapper);
  const got = await lines(out, 15);
  assert.deepEqual(got, Array.from({ length: 15 }, (_, i) => `200 /r${i}`));
  assert.match(stickler.stderr(), /piped access log .*exited \(SIGKILL\); starting it again/);
});

test('with --workers, a reload that drops a piped command keeps its logger until the old runtimes have written their last lines', async () => {
  const out = join(dir, 'dropped.log');
  const port = await freePort();
  const file = join(dir, 'reload.yaml');
  const members = [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'n1' }];
  await writeFile(file, yamlConfig(port, members, { top: `log:\n  logs:\n    - access: '|$exec cat >> ${out}'\n      format: '%U'` }));
  const stickler = await startStickler(file, { args: ['--workers', '2'] });
  running.push(stickler);
  const agent = keepAliveAgent();
  try {
    await request(`https://127.0.0.1:${port}/before`, { agent });
    await lines(out, 1);
    await writeFile(file, yamlConfig(port, members));
    process.kill(stickler.pid, 'SIGHUP');
    await pollUntil(async () => /reloaded/.test(stickler.output()), { timeoutMs: 15_000, intervalMs: 50, what: 'the reload' });
    // The connection began before the reload: the retired runtime serves it and logs to the dropped command.
    await request(`https://127.0.0.1:${port}/after`, { agent });
  } finally {
    agent.destroy();
  }
  assert.deepEqual(await lines(out, 2), ['/before', '/after']);
});

test('a virtual host with its own log writes only there; Stickler\'s own log (--access-log) takes every request', async () => {
  const own = join(dir, 'own.log');
  const host = join(dir, 'host.log');
  const server = join(dir, 'server.log');
  const port = await freePort();
  const file = join(dir, 'hosts.yaml');
  const text = yamlConfig(port, [{ url: `https://127.0.0.1:${backend.ports[0]}`, route: 'n1' }], { top: `log:\n  logs:\n    - access: ${server}\n      format: 'server %U'` })
    .replace('    routes:\n', `    logs:\n      - access: ${host}\n        format: '%v %U %{BALANCER_ROUTE_CHANGED}e'\n        when: '!NOT_SET'\n    routes:\n`);
  await writeFile(file, text);
  running.push(await startStickler(file, { args: ['--access-log', own] }));
  await send(port, 0, 2);
  assert.deepEqual(await lines(host, 2), ['localhost /r0 1', 'localhost /r1 1']);
  assert.equal((await lines(own, 2)).length, 2);
  assert.equal(await readFile(server, 'utf8').catch(() => ''), '', 'the host has its own log: the server\'s gets nothing');
});
