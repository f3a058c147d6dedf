// The TLS port's front while a TLS-ALPN-01 challenge is pending, in process: a client that connects and sends
// nothing is a connection like any other (counted against max-connections, ended by a stop), not a free slot
// held outside the limits until the hello deadline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../../src/config/model.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { prepareStore } from '../../src/acme/renewer.ts';
import { Stickler } from '../../src/server/server.ts';
import { freePort } from '../support/ports.ts';

/** Long enough that nothing in the test can be explained by the hello deadline firing. */
const HANDSHAKE_TIMEOUT_S = 60;

test('a silent client at the ALPN front counts against max-connections and is ended by a stop', async () => {
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), 'stickler-acme-front-'));
  const r = loadNativeConfigText(`listeners:
  - { host: 127.0.0.1, port: ${port}, tls: true }
client: { max-connections: 1, handshake-timeout: ${HANDSHAKE_TIMEOUT_S}s }
acme: { agreement-accepted: true, store-dir: ${store}, ca-url: https://ca.example/dir, challenges: [tls-alpn-01] }
virtual-hosts:
  - { port: ${port}, server-name: managed.test, acme: true }
`, '/etc/stickler/t.yaml');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(prepareStore(r.config), []);
  const stickler = new Stickler(r.config);
  await stickler.start();
  stickler.setChallenges([{ type: 'tls-alpn-01', name: 'managed.test', token: 't', keyAuthorization: 't.k' }]);
  const silent = net.connect(port, '127.0.0.1');
  await once(silent, 'connect');
  const silentClosed = once(silent, 'close');
  try {
    // Accepted after the silent one (one listener, in order): over the limit of one.
    const second = tls.connect({ host: '127.0.0.1', port, servername: 'managed.test', rejectUnauthorized: false });
    second.setTimeout(10_000, () => second.destroy(new Error('neither served nor closed within 10 s')));
    const outcome = await new Promise<string>((resolve) => {
      second.once('secureConnect', () => resolve('handshake completed'));
      second.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    second.destroy();
    assert.notEqual(outcome, 'handshake completed', 'the second connection is refused: the silent one holds the only slot');
    assert.notEqual(outcome, 'neither served nor closed within 10 s');
  } finally {
    const started = Date.now();
    await stickler.close();
    await silentClosed;
    assert.ok(Date.now() - started < (HANDSHAKE_TIMEOUT_S * 1000) / 2, `the stop ended the silent connection at once, not at the hello deadline (${Date.now() - started} ms)`);
  }
});
