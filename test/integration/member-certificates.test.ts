// A member that requires a client certificate (a Node TLS server with requestCert and its own test CA), in both
// configuration formats: Stickler presents the configured certificate for traffic and for health checks alike,
// the member sees its subject; without one the member refuses it and the client gets Stickler's error page; a
// `stickler reload` after the certificate file changed presents the new one; a key that does not match is refused
// by --check and by the reload with its file and line.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { request } from '../support/client.ts';
import { testCa, testCertificate, type IssuedCertificate } from '../support/certs.ts';
import { yamlConfig } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { runCli, startStickler, type SticklerProcess } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';

const INTERVAL_MS = 200;
/** A health check's verdict shows within a few intervals (one failure takes a member out; Apache's hcinterval is 1 s). */
const VERDICT_MS = loadedBound(5_000);

let dir: string;
let member: https.Server;
let memberPort: number;
let first: IssuedCertificate;
let second: IssuedCertificate;
/** The subject CN of the certificate each request and health check presented, in order. */
const seen: Array<{ path: string; cn: string }> = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickler-member-certs-'));
  const ca = await testCa(dir);
  first = await ca.issue('stickler-first');
  second = await ca.issue('stickler-second');
  const server = await testCertificate(dir);
  member = https.createServer({
    cert: readFileSync(server.certFile), key: readFileSync(server.keyFile),
    ca: readFileSync(ca.caFile), requestCert: true, rejectUnauthorized: true,
  }, (req, res) => {
    const cn = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
    seen.push({ path: req.url ?? '', cn });
    res.end(cn);
  });
  await new Promise<void>((resolve) => member.listen(0, '127.0.0.1', resolve));
  memberPort = (member.address() as AddressInfo).port;
});

after(() => {
  member?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The files the configuration names, overwritten in place to change the certificate. */
const client = () => ({ cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), combined: join(dir, 'client-combined.pem') });

function present(c: IssuedCertificate): void {
  copyFileSync(c.certFile, client().cert);
  copyFileSync(c.keyFile, client().key);
  copyFileSync(c.combinedFile, client().combined);
}

const formats = {
  native: (port: number, withCertificate: boolean, checked = true) => yamlConfig(port, [{
    url: `https://127.0.0.1:${memberPort}`, route: 'm1',
    lines: checked ? [`health-check: { method: GET, uri: /health, interval: ${INTERVAL_MS}ms }`] : [],
  }], withCertificate ? { balancer: [`tls: { client-certificate: { certificate-file: ${client().cert}, key-file: ${client().key} } }`] } : {}),
  apache: (port: number, withCertificate: boolean, checked = true) => {
    const own = join(dir, 'cert.pem');
    return `Listen 127.0.0.1:${port}
<VirtualHost 127.0.0.1:${port}>
  ServerName localhost
  SSLEngine on
  SSLCertificateFile ${own}
  SSLCertificateKeyFile ${join(dir, 'key.pem')}
  SSLProxyEngine on
${withCertificate ? `  SSLProxyMachineCertificateFile ${client().combined}\n` : ''}  <Proxy balancer://cluster>
    BalancerMember https://127.0.0.1:${memberPort} route=m1${checked ? ' hcmethod=GET hcuri=/health hcinterval=1' : ''}
  </Proxy>
  ProxyPass / balancer://cluster/
</VirtualHost>
`;
  },
};

for (const [format, config] of Object.entries(formats)) {
  describe(`a member that requires a client certificate (${format} configuration)`, () => {
    const file = () => join(dir, format === 'native' ? 'stickler.yaml' : 'stickler.conf');
    let stickler: SticklerProcess | undefined;
    after(async () => stickler?.stop());

    for (const workers of [1, 2]) test(`reached with the configured certificate, by traffic and health checks; a reload presents the changed file (${workers} thread${workers > 1 ? 's' : ''})`, async () => {
      seen.length = 0;
      present(first);
      const port = await freePort();
      writeFileSync(file(), config(port, true));
      const pidFile = join(dir, `${format}.pid`);
      stickler = await startStickler(file(), { args: ['--pid-file', pidFile, '--workers', String(workers)] });
      /** What the member saw on a few requests, which the kernel spreads over the threads. */
      const bodies = async () => new Set(await Promise.all(Array.from({ length: 6 }, async () => (await request(`https://127.0.0.1:${port}/app`)).body)));
      const r = await request(`https://127.0.0.1:${port}/app`);
      assert.equal(r.status, 200, stickler.output());
      assert.deepEqual(await bodies(), new Set(['stickler-first']), 'the member saw the configured certificate');
      await pollUntil(async () => seen.some((s) => s.path === '/health'), { timeoutMs: loadedBound(3_000), what: 'a health check' });
      assert.ok(seen.filter((s) => s.path === '/health').every((s) => s.cn === 'stickler-first'), JSON.stringify(seen));
      assert.doesNotMatch(stickler.output(), /failed its health check/);

      present(second);
      const reload = await runCli(['reload', '--pid-file', pidFile, '--config', file()]);
      assert.equal(reload.code, 0, reload.output);
      assert.deepEqual(await bodies(), new Set(['stickler-second']), 'after the reload the member sees the new certificate');
      const reloaded = seen.length;
      await pollUntil(async () => seen.slice(reloaded).some((s) => s.path === '/health'), { timeoutMs: loadedBound(3_000), what: 'a health check after the reload' });
      assert.ok(seen.slice(reloaded).filter((s) => s.path === '/health').every((s) => s.cn === 'stickler-second'), JSON.stringify(seen));

      // A key that is not the certificate's: refused by --check and by the reload, which keeps the one in force.
      copyFileSync(first.keyFile, client().key);
      writeFileSync(client().combined, Buffer.concat([readFileSync(second.certFile), readFileSync(first.keyFile)]));
      const check = await runCli(['--check', '--config', file()]);
      assert.equal(check.code, 2, check.output);
      const line = format === 'native' ? /stickler\.yaml:\d+: client-certificate\.key-file: the private key in \S+ does not match the certificate/ : /stickler\.conf:8: SSLProxyMachineCertificateFile: the private key in \S+ does not match the certificate/;
      assert.match(check.output, line);
      const refused = await runCli(['reload', '--pid-file', pidFile, '--config', file()]);
      assert.equal(refused.code, 2, refused.output);
      assert.match(refused.output, line);
      // SIGHUP skips the command's own check: the balancer refuses it.
      const mark = stickler.output().length;
      process.kill(stickler.pid, 'SIGHUP');
      await pollUntil(async () => /reload refused/.test(stickler!.output().slice(mark)), { timeoutMs: loadedBound(5_000), what: 'the refused reload' });
      assert.match(stickler.output().slice(mark), line);
      assert.deepEqual(await bodies(), new Set(['stickler-second']), 'the refused reload left the certificate in force');
      await stickler.stop();
      stickler = undefined;
    });

    test('refused without one: the client gets Stickler\'s error page, the log says why, the health check fails', async () => {
      const port = await freePort();
      writeFileSync(file(), config(port, false));
      stickler = await startStickler(file());
      const refusal = /ended the TLS connection with an alert \(ERR_SSL_\w+\); it requires a client certificate it trusts/;
      await pollUntil(async () => /failed its health check/.test(stickler!.output()), { timeoutMs: VERDICT_MS, what: 'the failed health check' });
      assert.match(stickler.output(), new RegExp(`failed its health check \\(${refusal.source}`));
      const r = await request(`https://127.0.0.1:${port}/app`);
      assert.equal(r.status, 503, stickler.output());
      assert.match(r.body, /Service Unavailable/);
      await stickler.stop();

      // Traffic meets the refusal itself when no health check took the member out first.
      writeFileSync(file(), config(port, false, false));
      stickler = await startStickler(file());
      const bad = await request(`https://127.0.0.1:${port}/app`);
      assert.equal(bad.status, 502, stickler.output());
      assert.match(bad.body, /Bad Gateway/);
      assert.match(stickler.output(), new RegExp(`member https://127\\.0\\.0\\.1:${memberPort} in error \\(${refusal.source}`));
      await stickler.stop();
      stickler = undefined;
    });
  });
}
