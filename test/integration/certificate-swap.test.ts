// Stickler.swapCertificate and WorkerGroup.swapCertificate, what an ACME renewal calls: the next handshakes get the
// new certificate on every thread, what the handshakes offer stays as configured (a TLS 1.3-only virtual host does
// not start offering TLS 1.2), and a file that cannot be used is refused with its name while the old one serves on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { once } from 'node:events';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { testCa, type IssuedCertificate, type TestCa } from '../support/certs.ts';
import { engineConfig, member } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { Stickler } from '../../src/server/server.ts';
import { WorkerGroup } from '../../src/server/workers.ts';
import { formatDiagnostic, type TlsFiles } from '../../src/config/model.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { Renewer, prepareStore } from '../../src/acme/renewer.ts';
import type { Issued } from '../../src/acme/order.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';
import { pollUntil } from '../support/wait.ts';

let dir: string;
let ca: TestCa;
let backend: http.Server;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stickler-cert-swap-'));
  ca = await testCa(dir);
  backend = http.createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
  await once(backend, 'listening');
});

after(() => {
  backend.close();
  rmSync(dir, { recursive: true, force: true });
});

const source = { file: 'test', line: 1 };
const files = (c: IssuedCertificate): TlsFiles => ({ source, certificateFile: c.certFile, keyFile: c.keyFile });

/** The serial a new TLS connection is served, or the handshake's error code. */
async function handshake(port: number, version: tls.SecureVersion = 'TLSv1.3', servername = 'localhost'): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, minVersion: version, maxVersion: version });
  socket.setTimeout(10_000, () => socket.destroy(new Error('handshake timed out')));
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerCertificate().serialNumber;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  } finally {
    socket.destroy();
  }
}

/** The serials of `n` new connections, each a full handshake (spread over the worker threads by the kernel). */
async function serials(port: number, n: number): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) seen.add(await handshake(port));
  return seen;
}

/** The status of one request on each of `n` new connections presenting `client`, or the error that ended it. */
async function admitted(port: number, client: IssuedCertificate, n: number): Promise<Array<number | string>> {
  const answers: Array<number | string> = [];
  for (let i = 0; i < n; i++) {
    answers.push(await new Promise<number | string>((resolve) => {
      const req = https.get({
        host: '127.0.0.1', port, path: '/', servername: 'localhost', agent: false, rejectUnauthorized: false,
        cert: readFileSync(client.certFile), key: readFileSync(client.keyFile), timeout: 10_000,
      }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
    }));
  }
  return answers;
}

interface Swappable {
  swap(files: TlsFiles, vhost?: number): Promise<void>;
  close(): Promise<void>;
}

for (const workers of [1, 2]) {
  describe(`certificate swapped with ${workers} thread${workers > 1 ? 's' : ''}`, () => {
    test('the next handshakes get the new certificate with the configured protocols; a broken file is refused and the old one goes on', async () => {
      const [first, second] = [await issue(), await issue()] as [IssuedCertificate, IssuedCertificate];
      const port = await freePort();
      const config = engineConfig(port, { members: [member(`http://127.0.0.1:${(backend.address() as AddressInfo).port}`)] });
      const vhost = config.virtualHosts[0]!;
      // Requiring client certificates of the test CA too: a swap changes the certificate only, so a client the CA
      // issued still gets in afterwards, on every thread (each must read the CA file again).
      vhost.tls = {
        ...files(first), policy: { source, profile: 'intermediate', protocols: ['TLSv1.3'], honorCipherOrder: false },
        clientCertificates: { source, verify: 'require', depth: 1, caFiles: [ca.caFile], crlFiles: [], crlCheck: 'none', forwardRfc9440: false },
      };
      const client = await ca.issue(`client-${workers}`);
      // A plain virtual host beside it, where no certificate can be served.
      const plainPort = await freePort();
      config.listeners.push({ source, host: '127.0.0.1', port: plainPort, tls: false });
      config.virtualHosts.push({ ...vhost, source: { file: 'test', line: 2 }, port: plainPort, tls: undefined });
      let running: Swappable;
      if (workers === 1) {
        const stickler = new Stickler(config);
        await stickler.start();
        running = { swap: async (f, vhost = 0) => stickler.swapCertificate(vhost, f), close: () => stickler.close() };
      } else {
        const group = new WorkerGroup(config, workers);
        await group.start();
        running = { swap: (f, vhost = 0) => group.swapCertificate(vhost, f), close: () => group.close() };
      }
      try {
        assert.deepEqual(await serials(port, 6), new Set([first.serial]));
        assert.notEqual(await handshake(port, 'TLSv1.2'), first.serial, 'TLS 1.2 is not offered');

        assert.deepEqual(await admitted(port, client, 6), [200, 200, 200, 200, 200, 200]);

        await running.swap(files(second));
        assert.deepEqual(await serials(port, 6), new Set([second.serial]), 'every thread serves the new certificate');
        assert.deepEqual(await admitted(port, client, 6), [200, 200, 200, 200, 200, 200], 'a client of the configured CA still gets in on every thread');
        assert.notEqual(await handshake(port, 'TLSv1.2'), second.serial, 'TLS 1.2 is still not offered after the swap');

        const truncated = join(dir, `truncated-${workers}.pem`);
        writeFileSync(truncated, '-----BEGIN CERTIFICATE-----\nMIIB\n');
        await assert.rejects(running.swap({ ...files(first), certificateFile: truncated }), new RegExp(`truncated-${workers}\\.pem`));
        assert.deepEqual(await serials(port, 6), new Set([second.serial]), 'the certificate in force goes on everywhere');
        await assert.rejects(running.swap(files(first), 1), /virtual host number 1 \(test:2\) is on no TLS port: a certificate swapped in would never be served/);
      } finally {
        await running.close();
      }
    });
  });
}

const issue = () => ca.issue('localhost', { extensions: { altNames: 'DNS:localhost,IP:127.0.0.1' } });

describe('a renewal swapped in after a reload that moved its virtual host', () => {
  test('the issued certificate goes to the managed host where it is now, and the other host keeps its own', async () => {
    const other = await issue();
    const port = await freePort();
    const store = join(dir, 'md-moved');
    const yaml = (hosts: string[]) => `listeners:
  - { host: 127.0.0.1, port: ${port}, tls: true }
acme: { agreement-accepted: true, store-dir: ${store}, ca-url: https://ca.example/dir, challenges: [tls-alpn-01] }
virtual-hosts:
${hosts.join('\n')}
`;
    const managed = `  - { port: ${port}, server-name: managed.test, acme: true }`;
    const own = `  - { port: ${port}, server-name: own.test, tls: { certificate-file: ${other.certFile}, key-file: ${other.keyFile} } }`;
    const load = (text: string) => {
      const r = loadNativeConfigText(text, '/etc/stickler/t.yaml');
      assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
      return r.config;
    };
    const before = load(yaml([managed, own]));
    const after = load(yaml([own, managed]));
    assert.deepEqual(prepareStore(before), []);
    const stickler = new Stickler(before);
    await stickler.start();
    let deliver!: (issued: Issued) => void;
    const renewer = new Renewer(stickler, () => {}, { order: () => new Promise<Issued>((resolve) => (deliver = resolve)) });
    try {
      renewer.configure(before);
      await pollUntil(async () => deliver !== undefined, { timeoutMs: 10_000, intervalMs: 10, what: 'the order to start' });
      // The reload lands while the order is under way, before the renewer is told of it (command.ts reloads, then configures).
      await stickler.reload(after);
      const issued = createSelfSigned({ commonName: 'managed.test', altNames: { dns: ['managed.test'] }, days: 90 });
      deliver({ certificate: issued.cert, key: issued.key });
      const issuedSerial = new X509Certificate(issued.cert).serialNumber;
      await pollUntil(async () => (await handshake(port, 'TLSv1.3', 'managed.test')) === issuedSerial, { timeoutMs: 10_000, intervalMs: 20, what: 'the issued certificate served for managed.test' });
      assert.equal(await handshake(port, 'TLSv1.3', 'own.test'), other.serial, 'own.test keeps its own certificate');
    } finally {
      renewer.stop();
      await stickler.close();
    }
  });
});
