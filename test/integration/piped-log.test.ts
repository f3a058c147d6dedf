// Piped access logs end to end: Stickler's CLI with worker threads writing to one rotatelogs child, a child that
// is killed and started again without losing the lines, and a virtual host's own log beside the server's.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../support/client.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';

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

async function lines(file: string, count: number): Promise<string[]> {
  let found: string[] = [];
  await pollUntil(async () => {
    found = (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
    return found.length >= count;
  }, { timeoutMs: 15_000, intervalMs: 50, what: `${count} lines in ${file}` });
  return found;
}

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

test('a piped logger that dies is started again and the lines keep coming', async () => {
  const pids = join(dir, 'pids');
  const out = join(dir, 'piped.log');
  const log = `log:\n  access: '|$echo $$ >> ${pids}; exec cat >> ${out}'\n  format: '%>s %U'`;
  const { port, stickler } = await start('restart', log);
  await send(port, 0, 5);
  await lines(out, 5);
  const first = (await lines(pids, 1))[0]!;
  process.kill(Number(first), 'SIGKILL');
  await pollUntil(async () => (await lines(pids, 1)).length === 2, { timeoutMs: 15_000, intervalMs: 50, what: 'a second child' });
  await send(port, 5, 5);
  const got = await lines(out, 10);
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => `200 /r${i}`));
  assert.match(stickler.stderr(), /piped access log .*exited \(SIGKILL\); starting it again/);
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
