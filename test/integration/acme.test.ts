// Automatic certificates against Debian's pebble, which really validates the challenges against Stickler on
// loopback: issuance by HTTP-01 (native YAML, the plain port proxying everything to a member that is down, so only
// an answer given before proxying passes), by TLS-ALPN-01 with no plain port at all (Apache's mod_md directives,
// two worker threads), a renewal forced by pebble's short lifetime while a client keeps connecting, and a renewal
// that keeps failing (a CA refusing with a hostile reason) seen in the log, /metrics, the API and the console in
// Chromium until pebble is back.
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import https from 'node:https';
import type net from 'node:net';
import tls from 'node:tls';
import { after, describe, it } from 'node:test';
import { BACKOFF_BASE_MS } from '../../src/acme/renewal.ts';
import { accountKeyFile } from '../../src/acme/store.ts';
import { domainFiles } from '../../src/config/model.ts';
import type { ManagerOverview } from '../../src/manager/model.ts';
import { browserSkip, launchBrowser, watchPage } from '../support/browser.ts';
import { issueCertificate } from '../support/certs.ts';
import { startPebble, type Pebble } from '../support/pebble.ts';
import { freePort } from '../support/ports.ts';
import { startStickler, type SticklerProcess } from '../support/stickler.ts';
import { loadedBound, pollUntil } from '../support/wait.ts';
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
async function servedByPebble(port: number, said: () => string, timeoutMs = ISSUE_MS): Promise<X509Certificate> {
  let served: X509Certificate | undefined;
  await pollUntil(async () => {
    served = (await handshake(port).catch(() => undefined))?.certificate;
    return served !== undefined && fromPebble(served);
  }, { timeoutMs, intervalMs: 200, what: `a certificate issued by pebble served for ${NAME}`, diagnostics: said });
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

/** What a refusing CA gives as its reason: markup, which the console must show as text. */
const HOSTILE_REASON = `<img src=x onerror=alert(1)> account refused by "CA" & <b>co</b>`;

/**
 * A stand-in for pebble on its port, with its certificate: a directory and nonces as RFC 8555 has them, and every
 * other request refused with 403 and HOSTILE_REASON as the problem's detail (a 4xx, which acme-client does not
 * retry: each order fails at once).
 */
async function refusingCa(pebble: Pebble): Promise<{ stop(): Promise<void> }> {
  const nonce = () => randomBytes(16).toString('base64url');
  const server = https.createServer({ cert: readFileSync(pebble.caFile), key: readFileSync(pebble.keyFile) }, (req, res) => {
    const base = `https://${req.headers.host}`;
    if (req.url === '/dir') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(Object.fromEntries(['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange'].map((k) => [k, `${base}/${k}`]))));
    }
    if (req.url === '/newNonce') {
      res.writeHead(200, { 'Replay-Nonce': nonce(), 'Cache-Control': 'no-store' });
      return res.end();
    }
    res.writeHead(403, { 'Content-Type': 'application/problem+json', 'Replay-Nonce': nonce() });
    res.end(JSON.stringify({ type: 'urn:ietf:params:acme:error:unauthorized', detail: HOSTILE_REASON, status: 403 }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(new URL(pebble.directory).port), '127.0.0.1', resolve);
  });
  return { stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

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
    // Both threads serve it: a run of ten connections in a row, whichever thread the kernel gives each to. The swap
    // commits on each thread as its message arrives, so the first thread may serve it a moment before the other.
    let run = 0;
    await pollUntil(async () => (run = fromPebble((await handshake(secure)).certificate) ? run + 1 : 0) >= 10, { timeoutMs: 10_000, intervalMs: 0, what: 'ten connections in a row with the issued certificate' });
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

  it('a renewal that keeps failing is warned about in the log, /metrics, the API and the console, the CA\'s reason as text; the warning goes once a renewal succeeds', { skip: browserSkip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stickler-acme-failing-'));
    const [plain, secure, managerPort] = [await freePort(), await freePort(), await freePort()];
    const pebble = await startPebble({ httpPort: plain, tlsPort: secure });
    running.push(pebble);
    await pebble.pause();
    const refusing = await refusingCa(pebble);
    running.push(refusing);
    // A certificate 90 minutes into its 100, from another CA: inside the default renew window (33%) with less than
    // half of it left, so the order at start is a renewal and its first failure is already worth a warning.
    const store = join(dir, 'md');
    const { certificateFile, keyFile } = domainFiles(store, { names: [NAME] });
    const ca = issueCertificate(dir, 'earlier-ca', { subject: '/CN=Earlier CA', ca: true });
    const now = Date.now();
    const earlier = issueCertificate(dir, 'earlier', { subject: `/CN=${NAME}`, altNames: `DNS:${NAME}`, issuer: ca, validity: { notBefore: new Date(now - 90 * 60_000), notAfter: new Date(now + 10 * 60_000) } });
    const earlierLeaf = new X509Certificate(earlier.pem);
    mkdirSync(dirname(certificateFile), { recursive: true });
    copyFileSync(earlier.certFile, certificateFile);
    copyFileSync(earlier.keyFile, keyFile);
    const file = join(dir, 'stickler.yaml');
    writeFileSync(file, `${acmeYaml(pebble, store, plain, secure, [])}virtual-hosts:
  - port: ${secure}
    server-name: ${NAME}
    acme: true
manager: { host: 127.0.0.1, port: ${managerPort} }
`);
    const stickler = await startStickler(file);
    running.push(stickler);
    const manager = `http://127.0.0.1:${managerPort}`;
    const label = `name="${NAME}"`;
    const metric = async (name: string, labels: string) => {
      const text = await (await fetch(`${manager}/metrics`)).text();
      return new RegExp(`^${name}\\{${labels.replaceAll('.', '\\.')}\\} (\\S+)$`, 'm').exec(text)?.[1];
    };
    const acmeOf = async () => ((await (await fetch(`${manager}/balancer-manager/api/v1/balancers`)).json()) as ManagerOverview).certificates?.find((c) => c.vhost === NAME);
    const attempts = () => [...stickler.stderr().matchAll(/order failed \(attempt (\d+)\)/g)].map((m) => Number(m[1]));

    const warning = `acme: warning: renewal keeps failing: ${NAME}: order failed (attempt 1): ${HOSTILE_REASON}; next attempt in `;
    await pollUntil(async () => stickler.stderr().includes(warning), { timeoutMs: ISSUE_MS, what: 'the warning of a failed renewal in the log', diagnostics: () => stickler.stderr() });
    const served = (await handshake(secure)).certificate;
    assert.equal(served.serialNumber, earlierLeaf.serialNumber, 'the certificate in the store is still served');
    const logged = Math.max(...attempts());
    assert.ok(Number(await metric('stickler_certificate_renewal_failures', label)) >= logged, `the failures metric counts the ${logged} failures logged`);
    assert.equal(await metric('stickler_certificate_expiry_timestamp_seconds', `vhost="${NAME}",port="${secure}"`), String(Date.parse(earlierLeaf.validTo) / 1000), 'the expiry metric is the served certificate\'s');
    const overview = await acmeOf();
    assert.equal(overview?.notAfter, Date.parse(earlierLeaf.validTo));
    assert.equal(overview?.acme?.failing, true, `the API says the renewal is failing: ${JSON.stringify(overview)}`);
    assert.equal(overview.acme.lastError, HOSTILE_REASON);
    assert.ok(overview.acme.failures >= logged);

    const browser = await launchBrowser();
    try {
      const page = await (await browser.newContext()).newPage();
      const problems = watchPage(page);
      await page.goto(`${manager}/balancer-manager/console`, { timeout: 10_000 });
      const alert = page.locator('#certificates');
      // A pushed snapshot at most every EVENT_INTERVAL_MS (1 s) renders it; the first comes with the page.
      await alert.filter({ hasText: `Certificate renewal keeps failing for ${NAME} (` }).waitFor({ timeout: 5_000 });
      assert.equal(await alert.getAttribute('role'), 'alert');
      const shown = (await alert.textContent())!;
      assert.ok(shown.includes(`: ${HOSTILE_REASON})`), `the reason shown as text: ${shown}`);
      assert.match(shown, /\((1 failed attempt|\d+ failed attempts in a row): /);
      assert.equal(await page.locator('img, b, #certificates *').count(), 0, 'no element was made from the reason');
      assert.deepEqual(problems, [], 'no dialog, script error or console error on the page');

      // The CA is back: the next attempt (at most the backoff after the failures so far) gets a certificate.
      await refusing.stop();
      await pebble.resume();
      const backoff = BACKOFF_BASE_MS * 2 ** Math.max(...attempts());
      const renewed = await servedByPebble(secure, () => stickler.stderr(), loadedBound(backoff) + ISSUE_MS);
      await alert.waitFor({ state: 'hidden', timeout: 5_000 });
      assert.equal(await metric('stickler_certificate_renewal_failures', label), '0');
      assert.equal(await metric('stickler_certificate_expiry_timestamp_seconds', `vhost="${NAME}",port="${secure}"`), String(Date.parse(renewed.validTo) / 1000));
      const after = await acmeOf();
      assert.equal(after?.acme?.failing, false);
      assert.equal(after.acme.lastError, undefined);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    for (const line of stickler.stderr().split('\n').filter((l) => l.includes('acme:'))) process.stdout.write(`#   ${line}\n`);
    await stickler.stop();
  });
});
