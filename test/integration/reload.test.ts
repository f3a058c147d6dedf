// SIGHUP reloads without a failed request: keep-alive clients keep going, a long download started before the
// reload completes byte-exact, an invalid file is refused while the old configuration serves, and new requests
// follow the new configuration. Run with one thread and with two worker threads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keepAliveAgent, request } from '../support/client.ts';
import { localCertificate, yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { startStickler } from '../support/stickler.ts';

const download = Buffer.alloc(4 * 1024 * 1024);
// Printable bytes in a pattern that does not repeat per chunk: the test client hands bodies over as text.
for (let i = 0; i < download.length; i++) download[i] = 0x21 + ((i * 7919) % 94);
const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const members: Record<string, { server: https.Server; url: string }> = {};

before(async () => {
  const { certFile, keyFile } = localCertificate();
  for (const name of ['a', 'b', 'c']) {
    const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
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
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    members[name] = { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }
});

after(() => {
  for (const m of Object.values(members)) m.server.close();
});

const config = (port: number, names: string[]) => yamlConfig(port, names.map((n) => ({ url: members[n]!.url, route: n })));

for (const workers of [1, 2]) {
  describe(`reload with ${workers} worker${workers > 1 ? ' threads' : ''}`, () => {
    test('three reloads, one invalid: no failed request, the download completes, new requests follow the new file', async () => {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'stickler-reload-'));
      const file = join(dir, 'stickler.yaml');
      writeFileSync(file, config(port, ['a', 'b']));
      const stickler = await startStickler(file, { args: ['--workers', String(workers)] });
      const agent = keepAliveAgent();
      try {
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
        const reloads = stickler.stdout().split('\n').filter((l) => l === 'reloaded').length;
        const reloadTo = async (text: string, expectReloaded: boolean) => {
          writeFileSync(file, text);
          const before = stickler.stdout().split('\n').filter((l) => l === 'reloaded').length;
          const refusals = stickler.stderr().split('\n').filter((l) => l.includes('reload refused')).length;
          process.kill(stickler.pid, 'SIGHUP');
          const deadline = Date.now() + 10_000;
          for (;;) {
            if (expectReloaded && stickler.stdout().split('\n').filter((l) => l === 'reloaded').length > before) return;
            if (!expectReloaded && stickler.stderr().split('\n').filter((l) => l.includes('reload refused')).length > refusals) return;
            if (Date.now() > deadline) throw new Error(`no reload answer; output:\n${stickler.output()}`);
            await new Promise((r) => setTimeout(r, 50));
          }
        };
        await new Promise((r) => setTimeout(r, 300));
        await reloadTo(config(port, ['c']), true);
        await new Promise((r) => setTimeout(r, 300));
        await reloadTo('balancers: [this is not valid', false);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await request(`https://127.0.0.1:${port}/`)).body, 'c', 'the refused file changed nothing');
        await reloadTo(config(port, ['b']), true);
        await new Promise((r) => setTimeout(r, 300));
        running = false;
        await load;
        assert.equal(reloads, 0);
        assert.equal(failures, 0, `${failures} of ${served + failures} requests failed across the reloads`);
        assert.ok(served > 20, `only ${served} requests served`);
        assert.equal(await longDownload, digest(download), 'the download started before the reloads is byte-exact');
        for (let i = 0; i < 4; i++) assert.equal((await request(`https://127.0.0.1:${port}/`)).body, 'b');
        assert.doesNotMatch(stickler.stderr(), /internal error/);
      } finally {
        agent.destroy();
        await stickler.stop();
      }
    });
  });
}
