// Stickler.swapCertificate and WorkerGroup.swapCertificate, what an ACME renewal calls: the next handshakes get the
// new certificate on every thread, what the handshakes offer stays as configured (a TLS 1.3-only virtual host does
// not start offering TLS 1.2), and a file that cannot be used is refused with its name while the old one serves on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { testCa, type IssuedCertificate, type TestCa } from '../support/certs.ts';
import { engineConfig, member } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { Stickler } from '../../src/server/server.ts';
import { WorkerGroup } from '../../src/server/workers.ts';
import type { TlsFiles } from '../../src/config/model.ts';

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
async function handshake(port: number, version: tls.SecureVersion = 'TLSv1.3'): Promise<string> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, minVersion: version, maxVersion: version });
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
      vhost.tls = { ...files(first), policy: { source, profile: 'intermediate', protocols: ['TLSv1.3'], honorCipherOrder: false } };
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

        await running.swap(files(second));
        assert.deepEqual(await serials(port, 6), new Set([second.serial]), 'every thread serves the new certificate');
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

const issue = () => ca.issue('localhost', { altNames: 'DNS:localhost,IP:127.0.0.1' });
