// `stickler reload`, `stop` and `status` against a real running process, through its control socket: the verdict of
// a reload (served, refused by the file, refused by the start), a stop that waits for the exit whatever clients are
// connected (an HTTP/2 event stream opened and closed, idle HTTP/1.1 keep-alive and HTTP/2 connections), status,
// --version, and a control socket that hostile input cannot wedge. With one thread and with two worker threads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CONTROL_REQUEST_LIMIT } from '../../src/cli/control-protocol.ts';
import { CONTROL_READ_MS } from '../../src/cli/control-server.ts';
import { keepAliveAgent, request } from '../support/client.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { CLI, startStickler, type SticklerProcess } from '../support/stickler.ts';
import { loadedBound, withTimeout } from '../support/wait.ts';

const GRACE_S = 10;

let backend: RecordingBackend;
before(async () => {
  backend = await RecordingBackend.start(2);
});
after(() => backend.close());

async function cli(args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], { timeout: timeoutMs });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

interface Running {
  stickler: SticklerProcess;
  file: string;
  pidFile: string;
  port: number;
  managerPort: number;
}

/** A configuration sending `/` to the backend's port `member`, with the manager over TLS (so HTTP/2) on its own port. */
function configFor(port: number, managerPort: number, member: number, extra = ''): string {
  const { certFile, keyFile } = localCertificate();
  const top = `graceful-shutdown-timeout: ${GRACE_S}s\nmanager:\n  port: ${managerPort}\n  tls: { certificate-file: ${certFile}, key-file: ${keyFile} }${extra}`;
  return yamlConfig(port, [{ url: `https://127.0.0.1:${backend.ports[member]}`, route: `m${member}` }], { top });
}

async function run(workers: number): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-control-'));
  const file = join(dir, 'stickler.yaml');
  const pidFile = join(dir, 'stickler.pid');
  const port = await freePort();
  const managerPort = await freePort();
  writeFileSync(file, configFor(port, managerPort, 0));
  const stickler = await startStickler(file, { args: ['--pid-file', pidFile, '--workers', String(workers)] });
  return { stickler, file, pidFile, port, managerPort };
}

/** Which backend port the next request to Stickler reaches. */
async function servedBy(port: number): Promise<number> {
  const before = backend.connections.length;
  const r = await request(`https://127.0.0.1:${port}/`);
  assert.equal(r.status, 200);
  return backend.connections[before]!.port;
}

/** `stickler stop` and how long the process took to exit, checked against the configuration's bound. */
async function stopWithin(r: Running, boundMs: number): Promise<void> {
  const started = Date.now();
  const stop = await cli(['stop', '--pid-file', r.pidFile]);
  const took = Date.now() - started;
  assert.equal(stop.code, 0, stop.stdout + stop.stderr);
  assert.match(stop.stdout, /^stopped$/m);
  assert.ok(r.stickler.stdout().includes('stopped'), 'the balancer says it stopped');
  const status = await withTimeout(r.stickler.exited, 5_000, 'the exit after `stop` returned');
  assert.equal(status.code, 0, r.stickler.output());
  assert.ok(took < boundMs, `the stop took ${took} ms (bound ${boundMs} ms)`);
  assert.ok(!existsSync(r.pidFile), 'the pid file is removed');
  assert.ok(!existsSync(`${r.pidFile}.sock`), 'the control socket is removed');
}

/** Sends raw bytes to the control socket; resolves with what came back once the server closed the connection. */
function raw(path: string, bytes: Buffer | string, opts: { end?: boolean } = {}): Promise<string> {
  return withTimeout(new Promise<string>((resolve) => {
    const s = net.connect(path);
    let text = '';
    s.setEncoding('utf8');
    s.on('data', (d: string) => (text += d));
    s.on('error', () => {});
    s.on('close', () => resolve(text));
    s.once('connect', () => (opts.end === false ? s.write(bytes) : s.end(bytes)));
  }), loadedBound(CONTROL_READ_MS), 'the control socket to answer and close');
}

test('--version prints the version of package.json', async () => {
  const r = await cli(['--version']);
  assert.equal(r.code, 0);
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  assert.equal(r.stdout, `stickler ${version}\n`);
});

test('reload, stop and status without a running balancer exit 3 and say so', async () => {
  const pidFile = join(mkdtempSync(join(tmpdir(), 'stickler-control-')), 'none.pid');
  for (const command of ['reload', 'stop', 'status']) {
    const r = await cli([command, '--pid-file', pidFile]);
    assert.equal(r.code, 3, command);
    assert.match(r.stderr, /cannot read .*none\.pid: ENOENT/);
  }
});

for (const workers of [1, 2]) {
  describe(`control with ${workers} worker${workers > 1 ? ' threads' : ''}`, () => {
    test('reload: a good file serves (exit 0); a broken one and one whose port is taken are refused with the reason while the old one serves', async () => {
      const r = await run(workers);
      const blocker = net.createServer();
      try {
        assert.equal(await servedBy(r.port), backend.ports[0]);
        writeFileSync(r.file, configFor(r.port, r.managerPort, 1));
        const good = await cli(['reload', '--pid-file', r.pidFile]);
        assert.equal(good.code, 0, good.stderr);
        assert.match(good.stdout, /^reloaded: process \d+ serves the new configuration$/m);
        assert.equal(await servedBy(r.port), backend.ports[1], 'the new configuration serves once reload has returned');

        writeFileSync(r.file, configFor(r.port, r.managerPort, 0).replace('balancers:', 'balancers: [oops'));
        const broken = await cli(['reload', '--pid-file', r.pidFile]);
        assert.equal(broken.code, 1);
        assert.match(broken.stderr, new RegExp(`${r.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+`));
        assert.match(broken.stderr, /reload refused; the running configuration keeps serving/);
        assert.equal(await servedBy(r.port), backend.ports[1], 'the refused file changed nothing');

        await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
        const taken = (blocker.address() as net.AddressInfo).port;
        writeFileSync(r.file, configFor(r.port, r.managerPort, 0).replace('listeners:\n', `listeners:\n  - host: 127.0.0.1\n    port: ${taken}\n`));
        const busy = await cli(['reload', '--pid-file', r.pidFile]);
        assert.equal(busy.code, 1);
        assert.match(busy.stderr, new RegExp(`Listen: cannot listen on 127\\.0\\.0\\.1:${taken}: EADDRINUSE`));
        assert.equal(await servedBy(r.port), backend.ports[1], 'the refused start changed nothing');

        const status = await cli(['status', '--pid-file', r.pidFile]);
        assert.equal(status.code, 0, status.stderr);
        assert.match(status.stdout, /^stickler \d+\.\d+\.\d+, pid \d+/);
        assert.ok(status.stdout.includes(`configuration: ${r.file}`));
        assert.match(status.stdout, /^started: \d{4}-\d\d-\d\dT/m);
        assert.match(status.stdout, /^last reload: \S+ refused\n {2}.*EADDRINUSE/m);
        assert.ok(status.stdout.includes(`listening on https://127.0.0.1:${r.port}\n`));
        assert.ok(status.stdout.includes(`listening on https://127.0.0.1:${r.managerPort}\n`));
        assert.match(status.stdout, new RegExp(`^balancer://cluster lbmethod=byrequests\\n {2}https://127\\.0\\.0\\.1:${backend.ports[1]} route=m1 Init Ok busy=0 requests=3$`, 'm'));
        if (workers > 1) assert.match(status.stdout, /2 worker threads/);

        await stopWithin(r, GRACE_S * 1000);
      } finally {
        blocker.close();
        await r.stickler.stop();
      }
    });

    test('stop after an HTTP/2 client opened and closed the console\'s event stream, with idle HTTP/1.1 and HTTP/2 clients connected: the process exits well within graceful-shutdown-timeout, its files gone', async () => {
      const r = await run(workers);
      const agent = keepAliveAgent();
      const idle = http2.connect(`https://127.0.0.1:${r.port}`, { rejectUnauthorized: false, servername: 'localhost' });
      const console = http2.connect(`https://127.0.0.1:${r.managerPort}`, { rejectUnauthorized: false, servername: 'localhost' });
      for (const s of [idle, console]) s.on('error', () => {});
      try {
        assert.equal(statSync(`${r.pidFile}.sock`).mode & 0o777, 0o600, 'only the owner may connect');
        assert.equal((await request(`https://127.0.0.1:${r.port}/`, { agent })).status, 200);
        await new Promise<void>((resolve, reject) => {
          const req = idle.request({ ':path': '/' });
          req.resume();
          req.on('end', resolve);
          req.on('error', reject);
        });
        const events = console.request({ ':path': '/balancer-manager/api/v1/events' });
        await withTimeout(new Promise((resolve) => events.once('data', resolve)), 10_000, 'the first event');
        events.close();
        await new Promise((resolve) => events.once('close', resolve));
        await stopWithin(r, GRACE_S * 1000);
      } finally {
        idle.destroy();
        console.destroy();
        agent.destroy();
        await r.stickler.stop();
      }
    });

    test('the control socket shrugs off malformed, huge, half-sent and piled-up requests', async () => {
      const r = await run(workers);
      const socket = `${r.pidFile}.sock`;
      try {
        assert.match(await raw(socket, 'not json\n'), /"ok":false.*JSON object/);
        assert.match(await raw(socket, '{"command":"format-disk"}\n'), /expected \\"command\\" to be one of reload, status, stop/);
        assert.match(await raw(socket, '[]\n'), /"ok":false/);
        assert.match(await raw(socket, Buffer.alloc(CONTROL_REQUEST_LIMIT * 64, 'x')), /at most 1024 bytes/);
        // Half a request, the connection left open: closed at the read deadline, unanswered.
        const started = Date.now();
        assert.equal(await raw(socket, '{"comm', { end: false }), '');
        assert.ok(Date.now() - started >= CONTROL_READ_MS - 100);
        // Many at once, most of them idle: the process still answers afterwards.
        const pile = Array.from({ length: 40 }, () => net.connect(socket).on('error', () => {}));
        await new Promise((resolve) => setTimeout(resolve, 200));
        for (const s of pile) s.destroy();
        const status = await cli(['status', '--pid-file', r.pidFile]);
        assert.equal(status.code, 0, status.stderr);
        assert.equal(await servedBy(r.port), backend.ports[0]);
      } finally {
        await r.stickler.stop();
      }
    });
  });
}

test('a control socket left by a process that crashed is replaced; one a live balancer answers on is not', async () => {
  const r = await run(1);
  try {
    const second = await cli(['--config', r.file, '--pid-file', r.pidFile], 20_000);
    assert.equal(second.code, 1);
    assert.match(second.stderr, /another Stickler answers on .*stickler\.pid\.sock/);
    assert.ok(existsSync(`${r.pidFile}.sock`), 'the running balancer keeps its socket');
    r.stickler.kill();
    await r.stickler.exited;
    assert.ok(existsSync(`${r.pidFile}.sock`), 'SIGKILL leaves the socket behind');
    const again = await startStickler(r.file, { args: ['--pid-file', r.pidFile] });
    try {
      const status = await cli(['status', '--pid-file', r.pidFile]);
      assert.equal(status.code, 0, status.stderr);
      assert.ok(status.stdout.includes(`pid ${again.pid}`));
    } finally {
      await again.stop();
    }
  } finally {
    await r.stickler.stop();
  }
});

test('a second signal during the drain stops at once, and the pid file and socket still go', async () => {
  const r = await run(1);
  try {
    // A request whose body never comes: in progress until graceful-shutdown-timeout.
    const stuck = tls.connect({ host: '127.0.0.1', port: r.port, servername: 'localhost', rejectUnauthorized: false });
    stuck.on('error', () => {});
    await new Promise((resolve) => stuck.once('secureConnect', resolve));
    stuck.write('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(r.stickler.pid, 'SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(r.stickler.pid, 'SIGTERM');
    const status = await withTimeout(r.stickler.exited, GRACE_S * 1000 / 2, 'the exit at the second signal');
    assert.equal(status.code, 1);
    assert.match(r.stickler.stderr(), /stopped without waiting for the connections in progress/);
    assert.ok(!existsSync(r.pidFile), 'the pid file is removed');
    assert.ok(!existsSync(`${r.pidFile}.sock`), 'the control socket is removed');
    stuck.destroy();
  } finally {
    await r.stickler.stop();
  }
});

test('a reload asked for during the drain is refused, and opens nothing again; the stop then ends as asked', async () => {
  const r = await run(1);
  const stuck = tls.connect({ host: '127.0.0.1', port: r.port, servername: 'localhost', rejectUnauthorized: false });
  try {
    // A request whose body never comes: the drain waits for it.
    stuck.on('error', () => {});
    await new Promise((resolve) => stuck.once('secureConnect', resolve));
    stuck.write('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(r.stickler.pid, 'SIGTERM');
    await withTimeout((async () => {
      while (!r.stickler.stdout().includes('stopping')) await new Promise((resolve) => setTimeout(resolve, 50));
    })(), 10_000, 'the drain to begin');
    const reload = await cli(['reload', '--pid-file', r.pidFile]);
    assert.equal(reload.code, 1, reload.stdout);
    assert.match(reload.stderr, /the balancer is stopping; nothing was reloaded/);
    process.kill(r.stickler.pid, 'SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await acceptsConnections(r.port), false, 'the listeners closed by the stop stay closed');
    stuck.destroy();
    const status = await withTimeout(r.stickler.exited, loadedBound(GRACE_S * 1000), 'the exit once the last request is gone');
    assert.equal(status.code, 0, r.stickler.output());
    assert.match(r.stickler.stdout(), /^stopped$/m);
    assert.ok(!existsSync(r.pidFile), 'the pid file is removed');
  } finally {
    stuck.destroy();
    await r.stickler.stop();
  }
});

/** Whether anything accepts a TCP connection on 127.0.0.1:port. */
function acceptsConnections(port: number): Promise<boolean> {
  return withTimeout(new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  }), 5_000, 'the connection attempt');
}
