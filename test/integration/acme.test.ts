// Automatic certificates against Debian's pebble, which really validates the challenges against Stickler on
// loopback: issuance by HTTP-01 (native YAML, the plain port proxying everything to a member that is down, so only
// an answer given before proxying passes), by TLS-ALPN-01 with no plain port at all (Apache's mod_md directives,
// two worker threads), and a renewal forced by pebble's short lifetime while a client keeps connecting.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { accountKeyFile } from '../../src/acme/store.ts';
import { domainFiles } from '../../src/config/model.ts';
import { startPebble, type Pebble } from '../support/pebble.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { pollUntil } from '../support/wait.ts';
import { RedisServer } from '../support/redis.ts';

const NAME = 'acme.stickler.test';
/** Pebble validates at once (PEBBLE_VA_NOSLEEP); an order is a handful of round trips on loopback. */
const ISSUE_MS = 60_000;

/** The certificate the TLS port serves for NAME, and the answer to one request over it. */
function handshake(port: number): Promise<{ certificate: X509Certificate; status: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: NAME, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const certificate = new X509Certificate(socket.getPeerCertificate().raw);
      socket.write(`GET / HTTP/1.1\r\nHost: ${NAME}\r\nConnection: close\r\n\r\n`);
      let answer = '';
      socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
      socket.on('end', () => resolve({ certificate, status: answer.split('\r\n')[0] ?? '' }));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('error', reject);
  });
}

const fromPebble = (c: X509Certificate) => c.issuer.includes('Pebble');

/** `said`: what Stickler printed, shown when no certificate comes. */
async function servedByPebble(port: number, said: () => string): Promise<X509Certificate> {
  let served: X509Certificate | undefined;
  await pollUntil(async () => {
    served = (await handshake(port).catch(() => undefined))?.certificate;
    return served !== undefined && fromPebble(served);
  }, { timeoutMs: ISSUE_MS, intervalMs: 200, what: `a certificate issued by pebble served for ${NAME}`, diagnostics: said });
  return served!;
}

/** Loopback listeners on `plain` and `secure`, and the acme section for pebble with `more` keys (YAML lines). */
function acmeYaml(pebble: Pebble, store: string, plain: number, secure: number, more: string[]): string {
  return `listeners:
  - { host: 127.0.0.1, port: ${plain} }
  - { host: 127.0.0.1, port: ${secure}, tls: true }
acme:
  ca-url: ${pebble.directory}
  ca-certificate-file: ${pebble.caFile}
  agreement-accepted: true
  store-dir: ${store}
  challenges: [http-01]
  key-type: secp256r1
  port-map: { http: ${plain}, https: ${secure} }
${more.map((l) => `  ${l}\n`).join('')}`;
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

describe('automatic certificates (pebble)', () => {
  const running: Array<{ stop(): Promise<void> }> = [];
  after(async () => {
    for (const r of running.reverse()) await r.stop();
  });

  it('orders by HTTP-01 on the plain port, ahead of a route that proxies everything, and renews while a client keeps connecting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stickler-acme-http-'));
    const [plain, secure, down, managerPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // Short-lived certificates, renewed at half their life: a renewal comes ~10 s after each issuance.
    const pebble: Pebble = await startPebble({ httpPort: plain, tlsPort: secure, validitySeconds: 20 });
    running.push(pebble);
    const store = join(dir, 'md');
    const file = join(dir, 'stickler.yaml');
    writeFileSync(file, `${acmeYaml(pebble, store, plain, secure, ['contact-email: ops@example.org', 'renew-window: 50%'])}virtual-hosts:
  - port: ${plain}
    server-name: ${NAME}
    routes: [{ path: /, balancer: app }]
  - port: ${secure}
    server-name: ${NAME}
    acme: true
balancers:
  app:
    members: [{ url: http://127.0.0.1:${down}, route: a }]
manager: { host: 127.0.0.1, port: ${managerPort} }
`);
    const stickler: SticklerProcess = await startStickler(file);
    running.push(stickler);
    const first = await servedByPebble(secure, () => stickler.stderr());
    assert.ok(first.checkHost(NAME), `the certificate is for ${NAME}: ${first.subjectAltName}`);
    assert.equal(mode(accountKeyFile(store, pebble.directory)), '600', 'the account key is readable by its owner only');
    assert.equal(mode(domainFiles(store, { names: [NAME] }).keyFile), '600', 'the certificate key is readable by its owner only');
    const metrics = await (await fetch(`http://127.0.0.1:${managerPort}/metrics`)).text();
    assert.match(metrics, new RegExp(`^stickler_certificate_expiry_timestamp_seconds\\{vhost="${NAME.replaceAll('.', '\\.')}",port="${secure}"\\} ${Date.parse(first.validTo) / 1000}$`, 'm'));
    assert.match(metrics, new RegExp(`^stickler_certificate_renewal_failures\\{name="${NAME.replaceAll('.', '\\.')}"\\} 0$`, 'm'));

    // A client connects again and again across the renewal: every handshake and request must succeed. Another
    // keeps one connection open across it: the swap must not close it (it goes on with the old certificate).
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const keptSockets = new Set<net.Socket>();
    const kept = () => new Promise<number>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: secure, path: '/', servername: NAME, rejectUnauthorized: false, headers: { host: NAME }, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('socket', (socket) => keptSockets.add(socket));
      req.setTimeout(10_000, () => req.destroy(new Error('the kept connection got no answer within 10 s')));
      req.on('error', reject);
      req.end();
    });
    const keptStatus = await kept();
    const serials = new Set([first.serialNumber]);
    const errors: string[] = [];
    let renewalSeenAt: number | undefined;
    let newServedAt: number | undefined;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && newServedAt === undefined) {
      if (renewalSeenAt === undefined && stickler.stderr().includes('(renewal)')) renewalSeenAt = Date.now();
      try {
        const { certificate, status } = await handshake(secure);
        if (!/^HTTP\/1\.1 \d{3}/.test(status)) errors.push(`no HTTP answer: ${JSON.stringify(status)}`);
        if (fromPebble(certificate) && !serials.has(certificate.serialNumber)) newServedAt = Date.now();
        serials.add(certificate.serialNumber);
        const again = await kept();
        if (again !== keptStatus) errors.push(`the kept connection answered ${again}, before the renewal ${keptStatus}`);
      } catch (err) {
        errors.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(errors, [], 'no handshake or request failed across the swap');
    assert.equal(keptSockets.size, 1, 'the connection opened before the renewal served every request after it');
    agent.destroy();
    assert.ok(newServedAt !== undefined, `a renewed certificate was served within 60 s; Stickler said:\n${stickler.stderr()}`);
    assert.ok(renewalSeenAt !== undefined && renewalSeenAt <= newServedAt);
    process.stdout.write(`# forced renewal: ${newServedAt - renewalSeenAt} ms from the renewal order starting to the new certificate served\n`);
    for (const line of stickler.stderr().split('\n').filter((l) => l.includes('acme:'))) process.stdout.write(`#   ${line}\n`);
    await stickler.stop();
  });

  it('orders by TLS-ALPN-01 with no plain port, from mod_md directives, on two worker threads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stickler-acme-alpn-'));
    const [secure, closed] = [await freePort(), await freePort()];
    const pebble = await startPebble({ httpPort: closed, tlsPort: secure });
    running.push(pebble);
    const file = join(dir, 'httpd.conf');
    writeFileSync(file, `Listen 127.0.0.1:${secure}
MDCertificateAuthority ${pebble.directory}
MDCACertificateFile ${pebble.caFile}
MDCertificateAgreement accepted
MDContactEmail ops@example.org
MDStoreDir ${join(dir, 'md')}
MDCAChallenges http-01 tls-alpn-01
MDPortMap https:${secure}
MDPrivateKeys secp256r1
MDomain ${NAME}
<VirtualHost 127.0.0.1:${secure}>
  ServerName ${NAME}
  SSLEngine on
</VirtualHost>
`);
    const stickler = await startStickler(file, { args: ['--workers', '2'] });
    running.push(stickler);
    const issued = await servedByPebble(secure, () => stickler.stderr());
    assert.ok(issued.checkHost(NAME));
    // Both threads serve it: every one of a run of connections, whichever thread the kernel gives it to.
    for (let i = 0; i < 10; i++) assert.ok(fromPebble((await handshake(secure)).certificate), `connection ${i} got the issued certificate`);
    assert.match(stickler.stderr(), new RegExp(`${NAME}: answering tls-alpn-01`));
    await stickler.stop();
  });

  it('with shared state, one instance orders and the other answers its HTTP-01 challenge and loads the certificate', async () => {
    const redis = await RedisServer.start();
    running.push(redis);
    const dir = mkdtempSync(join(tmpdir(), 'stickler-acme-group-'));
    const [plainA, secureA, plainB, secureB] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // The CA reaches only B; A orders (B never does: renew-mode manual), so B must answer A's challenge.
    const pebble = await startPebble({ httpPort: plainB, tlsPort: secureB });
    running.push(pebble);
    const write = (name: string, plain: number, secure: number, mode: string) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, `shared-state:
  url: ${redis.url}
  instance: ${name}
${acmeYaml(pebble, join(dir, `${name}-md`), plain, secure, [`renew-mode: ${mode}`])}virtual-hosts:
  - port: ${secure}
    server-name: ${NAME}
    acme: true
`);
      return file;
    };
    const b = await startStickler(write('b', plainB, secureB, 'manual'));
    running.push(b);
    const a = await startStickler(write('a', plainA, secureA, 'auto'));
    running.push(a);
    const said = () => `A:\n${a.stderr()}\nB:\n${b.stderr()}\npebble:\n${pebble.output().slice(-3000)}`;
    const issuedA = await servedByPebble(secureA, said);
    const issuedB = await servedByPebble(secureB, said);
    assert.equal(issuedB.serialNumber, issuedA.serialNumber, 'both instances serve the one certificate issued');
    assert.match(b.stderr(), /answering http-01/, 'B answered the challenge A was given');
    assert.doesNotMatch(b.stderr(), /ordering a certificate/);
    assert.match(b.stderr(), /loaded the certificate another instance was issued/);
    assert.equal(mode(domainFiles(join(dir, 'b-md'), { names: [NAME] }).keyFile), '600');
    await a.stop();
    await b.stop();
  });
});
