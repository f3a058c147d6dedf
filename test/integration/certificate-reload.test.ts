// Certificate files replaced under a running balancer (what reload.test.ts does for the configuration, done here
// for the PEM files it names): clients make new TLS connections all the time, each a full handshake (no session
// resumption), over HTTP/1.1 and HTTP/2, while the files are replaced and `stickler reload` runs. No handshake or
// request may fail, and the new certificate (its serial) is served after the reload; then a truncated file is
// refused with its name and line and the certificate in force goes on. With one thread and with two workers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { testCa, type IssuedCertificate, type TestCa } from '../support/certs.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { wsMember, type WebSocketMember } from '../support/websocket.ts';
import { runCli, startStickler } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';

let dir: string;
let ca: TestCa;
let member: WebSocketMember;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickler-cert-reload-'));
  ca = await testCa(dir);
  member = await wsMember('a');
});

after(async () => {
  member?.server.close();
  rmSync(dir, { recursive: true, force: true });
});

const issue = () => ca.issue('localhost', { extensions: { altNames: 'DNS:localhost,IP:127.0.0.1' } });

/** One request on a new TLS connection, a full handshake: the serial of the certificate it was served. */
function http1Once(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, servername: 'localhost', path: '/', agent: false, rejectUnauthorized: false, timeout: 10_000 }, (res) => {
      const serial = (res.socket as TLSSocket).getPeerCertificate().serialNumber;
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(serial) : reject(new Error(`HTTP/1.1 status ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error('HTTP/1.1 request timed out')));
    req.on('error', reject);
  });
}

function h2Once(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { servername: 'localhost', rejectUnauthorized: false });
    session.on('error', reject);
    session.setTimeout(10_000, () => session.destroy(new Error('HTTP/2 request timed out')));
    const req = session.request({ ':path': '/' });
    req.on('response', (headers) => {
      const serial = (session.socket as TLSSocket).getPeerCertificate().serialNumber;
      req.resume();
      req.on('end', () => {
        session.close();
        if (headers[':status'] === 200) resolve(serial);
        else reject(new Error(`HTTP/2 status ${headers[':status']}`));
      });
    });
    req.on('error', reject);
  });
}

/**
 * Both protocols in a loop until stopped: every serial served, when its connection began and when the answer came,
 * and every failure. Three loops overlap, so an answer that comes after the swap may be from a handshake before it.
 */
function clientLoop(port: number) {
  const served: Array<{ began: number; at: number; serial: string }> = [];
  const failures: string[] = [];
  let refused = 0;
  let running = true;
  const loop = async (once: (port: number) => Promise<string>) => {
    while (running) {
      const began = performance.now();
      try {
        const serial = await once(port);
        served.push({ began, at: performance.now(), serial });
      } catch (err) {
        // A stream opened as a reload's GOAWAY was on its way: never processed, which RFC 9113 (8.7) lets a client
        // retry, as browsers and curl do; counted, not a failure.
        if ((err as { code?: string }).code === 'ERR_HTTP2_STREAM_ERROR' && /NGHTTP2_REFUSED_STREAM/.test((err as Error).message)) refused++;
        else failures.push((err as Error).message);
      }
    }
  };
  const done = Promise.all([loop(http1Once), loop(http1Once), loop(h2Once)]);
  return {
    served, failures,
    refused: () => refused,
    /** When `serial` was first served since `from`, once it has been. */
    firstSince: (from: number, serial: string) => served.find((s) => s.at >= from && s.serial === serial)?.at,
    /** What connections begun after `from` were served. */
    begunAfter: (from: number) => served.filter((s) => s.began > from),
    stop: async () => {
      running = false;
      await done;
    },
  };
}

for (const workers of [1, 2]) {
  describe(`certificate files reloaded with ${workers} worker${workers > 1 ? ' threads' : ''}`, () => {
    test('replaced files are served after `stickler reload` with no failed handshake; a truncated one is refused, the old one goes on', async () => {
      const [first, second] = [await issue(), await issue()] as [IssuedCertificate, IssuedCertificate];
      const cert = join(dir, `front-${workers}.pem`);
      const key = join(dir, `front-${workers}.key`);
      copyFileSync(first.certFile, cert);
      copyFileSync(first.keyFile, key);
      const port = await freePort();
      const file = join(dir, `stickler-${workers}.yaml`);
      const pidFile = join(dir, `stickler-${workers}.pid`);
      writeFileSync(file, yamlConfig(port, [{ url: member.url, route: 'a' }], { certificates: { certFile: cert, keyFile: key } }));
      const stickler = await startStickler(file, { args: ['--workers', String(workers), '--pid-file', pidFile] });
      const clients = clientLoop(port);
      try {
        await pollUntil(async () => clients.served.length >= 20, { timeoutMs: loadedBound(10_000), what: 'twenty requests on the first certificate' });
        assert.ok(clients.served.every((s) => s.serial === first.serial), `served ${clients.served.at(-1)?.serial}, expected ${first.serial}`);

        copyFileSync(second.certFile, cert);
        copyFileSync(second.keyFile, key);
        const reloadAt = performance.now();
        const reload = await runCli(['reload', '--pid-file', pidFile, '--config', file]);
        assert.equal(reload.code, 0, reload.output);
        await pollUntil(async () => clients.firstSince(reloadAt, second.serial) !== undefined, { timeoutMs: loadedBound(5_000), what: 'the new certificate served' });
        const took = clients.firstSince(reloadAt, second.serial)! - reloadAt;
        process.stdout.write(`# workers ${workers}: from \`stickler reload\` to the new certificate served: ${took.toFixed(0)} ms\n`);
        const newAt = clients.firstSince(reloadAt, second.serial)!;
        await pollUntil(async () => clients.begunAfter(newAt).length >= 20, { timeoutMs: loadedBound(10_000), what: 'twenty requests after the reload' });
        assert.deepEqual([...new Set(clients.begunAfter(newAt).map((s) => s.serial))], [second.serial], 'only the new certificate for connections begun once it is served');

        // A truncated certificate: refused by the command's check and, by SIGHUP, by the balancer itself.
        writeFileSync(cert, readFileSync(second.certFile).subarray(0, 300));
        const refused = await runCli(['reload', '--pid-file', pidFile, '--config', file]);
        assert.equal(refused.code, 2, refused.output);
        const named = new RegExp(`stickler-${workers}\\.yaml:\\d+: tls\\.certificate-file: .*front-${workers}\\.pem`);
        assert.match(refused.output, named);
        const mark = stickler.output().length;
        process.kill(stickler.pid, 'SIGHUP');
        await pollUntil(async () => /reload refused/.test(stickler.output().slice(mark)), { timeoutMs: loadedBound(5_000), what: 'the balancer refusing the reload' });
        assert.match(stickler.output().slice(mark), named);
        const refusedAt = performance.now();
        await pollUntil(async () => clients.begunAfter(refusedAt).length >= 20, { timeoutMs: loadedBound(10_000), what: 'twenty requests after the refusal' });
        assert.deepEqual([...new Set(clients.begunAfter(refusedAt).map((s) => s.serial))], [second.serial], 'the certificate in force goes on');
      } finally {
        await clients.stop();
        await stickler.stop();
      }
      if (clients.refused() > 0) process.stdout.write(`# workers ${workers}: ${clients.refused()} HTTP/2 stream(s) refused by a reload's GOAWAY, retried\n`);
      assert.deepEqual(clients.failures, [], `${clients.failures.length} of ${clients.served.length + clients.failures.length} requests failed`);
    });
  });
}
