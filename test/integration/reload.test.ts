// Reloads and stops without a failed request. SIGHUP or `stickler reload`: keep-alive clients keep going, a long
// download and a WebSocket opened before the reload go on with the old configuration, an HTTP/2 connection is
// told to go away (GOAWAY) and reconnects, an invalid file is refused while the old configuration serves, and
// new requests follow the new file. SIGTERM or `stickler stop`: listeners close, work in progress finishes,
// what outlives graceful-shutdown-timeout is closed. Run with one thread and with two worker threads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepAliveAgent, request } from '../support/client.ts';
import { yamlConfig, type YamlOptions } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { runCli, startStickler } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';
import { connectWebSocket, wsMember, type WebSocketMember } from '../support/websocket.ts';

const download = Buffer.alloc(4 * 1024 * 1024);
// Printable bytes in a pattern that does not repeat per chunk: the test client hands bodies over as text.
for (let i = 0; i < download.length; i++) download[i] = 0x21 + ((i * 7919) % 94);
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const members: Record<string, WebSocketMember> = {};

before(async () => {
  for (const name of ['a', 'b', 'c']) {
    members[name] = await wsMember(name, (req, res) => {
      if (req.url === '/download') {
        // Slowly, so the download spans the reloads.
        res.writeHead(200, { 'Content-Length': String(download.length) });
        let sent = 0;
        const step = () => {
          if (sent >= download.length) return void res.end();
          const piece = download.subarray(sent, sent + 256 * 1024);
          sent += piece.length;
          res.write(piece);
          setTimeout(step, 60);
        };
        return step();
      }
      res.end(name);
    });
  }
});

after(() => {
  for (const m of Object.values(members)) m.server.close();
});

const config = (port: number, names: string[], opts: YamlOptions = {}) =>
  yamlConfig(port, names.map((n) => ({ url: members[n]!.url, route: n })), { upgrade: 'websocket', ...opts });

/** GET / over HTTP/2 on `session`; resolves with the body. */
function h2Get(session: http2.ClientHttp2Session): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': '/' });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
    req.setTimeout(5_000, () => req.close());
  });
}

const count = (text: string, line: (l: string) => boolean) => text.split('\n').filter(line).length;

for (const workers of [1, 2]) {
  describe(`reload and stop with ${workers} worker${workers > 1 ? ' threads' : ''}`, () => {
    test('three reloads, one invalid: no failed request; the download, the WebSocket and HTTP/2 go on; new requests follow the new file', async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'stickler-reload-'));
      const file = join(dir, 'stickler.yaml');
      const pidFile = join(dir, 'stickler.pid');
      writeFileSync(file, config(port, ['a', 'b']));
      const stickler = await startStickler(file, { args: ['--workers', String(workers), '--pid-file', pidFile] });
      const agent = keepAliveAgent();
      const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'localhost' });
      session.on('error', () => {});
      let goaway = false;
      session.on('goaway', () => (goaway = true));
      try {
        const ws = await connectWebSocket(port, '/ws', 'JSESSIONID=x.a');
        assert.match(ws.head(), /^HTTP\/1\.1 101 /);
        assert.match(await h2Get(session), /^[ab]$/);
        const longDownload = request(`https://127.0.0.1:${port}/download`, { timeoutMs: 30_000 }).then((r) => {
          assert.equal(r.status, 200);
          return digest(Buffer.from(r.body, 'utf8'));
        });
        let failures = 0;
        let served = 0;
        let running = true;
        const load = (async () => {
          while (running) {
            try {
              const r = await request(`https://127.0.0.1:${port}/`, { agent, timeoutMs: 5_000 });
              if (r.status === 200) served++;
              else failures++;
            } catch {
              failures++;
            }
          }
        })();
        const answered = async (expectReloaded: boolean, before: { reloaded: number; refused: number }) => {
          await pollUntil(
            async () =>
              expectReloaded
                ? count(stickler.stdout(), (l) => l === 'reloaded') > before.reloaded
                : count(stickler.stderr(), (l) => l.includes('reload refused')) > before.refused,
            { timeoutMs: 10_000, what: `the reload's answer; output:\n${stickler.output()}` },
          );
        };
        const seen = () => ({ reloaded: count(stickler.stdout(), (l) => l === 'reloaded'), refused: count(stickler.stderr(), (l) => l.includes('reload refused')) });
        await new Promise((r) => setTimeout(r, 300));

        // 1: `stickler reload`, which validates the file first, as apachectl graceful does.
        writeFileSync(file, config(port, ['c']));
        let before = seen();
        const sent = await runCli(['reload', '--pid-file', pidFile, '--config', file]);
        assert.equal(sent.code, 0, sent.output);
        await answered(true, before);
        await pollUntil(async () => goaway, { timeoutMs: 5_000, what: 'GOAWAY on the HTTP/2 connection opened before the reload' });
        await new Promise((r) => setTimeout(r, 300));

        // 2: an invalid file. `stickler reload` refuses to send for it; a bare SIGHUP is refused by the balancer.
        writeFileSync(file, 'balancers: [this is not valid');
        const refused = await runCli(['reload', '--pid-file', pidFile, '--config', file]);
        assert.equal(refused.code, 2);
        assert.match(refused.output, /stickler\.yaml:1/);
        before = seen();
        process.kill(stickler.pid, 'SIGHUP');
        await answered(false, before);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await request(`https://127.0.0.1:${port}/`)).body, 'c', 'the refused file changed nothing');

        // 3: SIGHUP.
        writeFileSync(file, config(port, ['b']));
        before = seen();
        process.kill(stickler.pid, 'SIGHUP');
        await answered(true, before);
        await new Promise((r) => setTimeout(r, 300));
        running = false;
        await load;
        assert.equal(failures, 0, `${failures} of ${served + failures} requests failed across the reloads`);
        assert.ok(served > 20, `only ${served} requests served`);
        assert.equal(await longDownload, digest(download), 'the download started before the reloads is byte-exact');
        for (let i = 0; i < 4; i++) assert.equal((await request(`https://127.0.0.1:${port}/`)).body, 'b');

        // The WebSocket opened on the first configuration still talks to its member, and closes cleanly.
        assert.ok(!ws.closed(), 'the WebSocket survived three reloads');
        ws.send('still there?');
        await pollUntil(async () => ws.frames.some((f) => f.payload === 'a echo: still there?'), { timeoutMs: 5_000, what: 'the echo after the reloads' });
        ws.close();
        await pollUntil(async () => ws.closed(), { timeoutMs: 5_000, what: 'the WebSocket to close' });

        // A new HTTP/2 connection gets the new configuration.
        const fresh = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername: 'localhost' });
        fresh.on('error', () => {});
        assert.equal(await h2Get(fresh), 'b');
        fresh.close();
        assert.doesNotMatch(stickler.stderr(), /internal error/);
      } finally {
        session.destroy();
        agent.destroy();
        await stickler.stop();
      }
    });

    test('stop: listeners close at once, a download in progress completes, a WebSocket is closed at graceful-shutdown-timeout', async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'stickler-stop-'));
      const file = join(dir, 'stickler.yaml');
      const pidFile = join(dir, 'stickler.pid');
      writeFileSync(file, config(port, ['a', 'b'], { top: 'graceful-shutdown-timeout: 3s' }));
      const stickler = await startStickler(file, { args: ['--workers', String(workers), '--pid-file', pidFile] });
      try {
        assert.ok(existsSync(pidFile));
        const ws = await connectWebSocket(port, '/ws', 'JSESSIONID=x.b');
        const longDownload = request(`https://127.0.0.1:${port}/download`, { timeoutMs: 30_000 }).then((r) => {
          assert.equal(r.status, 200);
          return digest(Buffer.from(r.body, 'utf8'));
        });
        await new Promise((r) => setTimeout(r, 200));
        const started = Date.now();
        // `stickler stop` returns once the process has exited, after the deadline: the checks below run meanwhile.
        const stopped = runCli(['stop', '--pid-file', pidFile]);
        await pollUntil(async () => stickler.stdout().includes('stopping'), { timeoutMs: 5_000, what: '`stopping`' });
        // The listeners close at once (worker threads hear of the stop a moment after the main thread).
        const refused = () =>
          new Promise<boolean>((resolve) => {
            const s = connect({ host: '127.0.0.1', port });
            s.once('connect', () => (s.destroy(), resolve(false)));
            s.once('error', () => resolve(true));
          });
        // Before the 3 s deadline, which the WebSocket still being open below shows.
        await pollUntil(refused, { timeoutMs: 3_000, what: 'new connections to be refused after the stop' });
        assert.equal(await longDownload, digest(download), 'the download in progress at the stop completes byte-exact');
        assert.ok(!ws.closed(), 'the WebSocket stays open until the deadline');
        const sent = await stopped;
        assert.equal(sent.code, 0, sent.output);
        assert.match(sent.output, /^stopped$/m);
        const status = await stickler.exited;
        const took = Date.now() - started;
        assert.equal(status.code, 0, stickler.output());
        assert.ok(ws.closed(), 'the WebSocket was closed at the deadline');
        // From before the `stop` command started, which takes a Node start of its own.
        assert.ok(took >= 2_500 && took < loadedBound(3_000) + 2_000, `the stop took ${took} ms with a 3 s graceful-shutdown-timeout`);
        assert.ok(!existsSync(pidFile), 'the pid file is removed at exit');
      } finally {
        await stickler.stop();
      }
    });
  });
}
