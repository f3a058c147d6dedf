// The renewer's lifecycle with the CA replaced by a function: a temporary certificate at start, an order at once,
// the certificate stored and swapped into every virtual host of the domain; failed orders retried with backoff, and
// a warning once renewal keeps failing. Timers are node:test's mock timers.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Renewer, prepareStore, type DomainStatus } from '../../src/acme/renewer.ts';
import { orderCertificate } from '../../src/acme/order.ts';
import { BACKOFF_BASE_MS } from '../../src/acme/renewal.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { domainFiles, formatDiagnostic } from '../../src/config/model.ts';
import { managedHosts } from '../../src/config/managed-domains.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';

/** `more`: keys added to the acme section, after a comma. */
function configWithStore(more = '') {
  const store = mkdtempSync(join(tmpdir(), 'stickler-renewer-'));
  const r = loadNativeConfigText(`listeners:
  - { port: 80 }
  - { port: 443, tls: true }
acme: { agreement-accepted: true, store-dir: ${store}, ca-url: https://ca.example/dir${more} }
virtual-hosts:
  - { port: 80, server-name: www.example.org }
  - { port: 443, server-name: www.example.org, acme: true }
`, '/etc/stickler/t.yaml');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return { config: r.config, store };
}

function fakeTarget() {
  const swaps: string[] = [];
  const renewals: DomainStatus[][] = [];
  return { swaps, renewals, target: { setChallenges: () => {}, setRenewals: (r: readonly DomainStatus[]) => void renewals.push([...r]), swapManagedCertificate: (domain: string) => (swaps.push(domain), 1) } };
}

/** Lets the renewer's awaits run between timer ticks. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

test('a domain without a certificate gets a temporary one, is ordered at once, and the issued one is stored and swapped in', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) });
  const { config, store } = configWithStore();
  assert.deepEqual(prepareStore(config), []);
  const files = domainFiles(store, { names: ['www.example.org'] });
  const temporary = readFileSync(files.certificateFile, 'utf8');
  const issued = createSelfSigned({ commonName: 'www.example.org', altNames: { dns: ['www.example.org'] }, days: 90 });
  const { swaps, target } = fakeTarget();
  const lines: string[] = [];
  const order = mock.fn<typeof orderCertificate>(async () => ({ certificate: issued.cert, key: issued.key }));
  const renewer = new Renewer(target, (l) => lines.push(l), { order });
  renewer.configure(config);
  t.mock.timers.tick(0);
  await settle();
  assert.equal(order.mock.callCount(), 1);
  assert.deepEqual(order.mock.calls[0]!.arguments[1], ['http-01', 'tls-alpn-01'], 'both challenges reach the listeners on 80 and 443');
  assert.notEqual(readFileSync(files.certificateFile, 'utf8'), temporary);
  assert.deepEqual(swaps.flatMap((s) => managedHosts(config, s)).map((h) => [h.vhost, h.files.certificateFile, h.files.keyFile]), [[1, files.certificateFile, files.keyFile]]);
  assert.ok(lines.some((l) => l.includes('new certificate served')), lines.join('\n'));
  renewer.stop();
});

test('failed orders are retried after 5-10 s, then 10-20 s; the third failure in a row warns', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.UTC(2026, 0, 1) });
  const { config } = configWithStore();
  prepareStore(config);
  const { renewals, target } = fakeTarget();
  const lines: string[] = [];
  const order = mock.fn<typeof orderCertificate>(async () => {
    // A CA's detail as acme-client passes it on: only line feeds are stripped.
    throw new Error('CA unreachable\r\u001b[2J\u202e');
  });
  const renewer = new Renewer(target, (l) => lines.push(l), { order, random: () => 0 });
  renewer.configure(config);
  t.mock.timers.tick(0);
  await settle();
  assert.equal(order.mock.callCount(), 1);
  // random 0: the lower edge of each step, half of it.
  for (const [wait, calls] of [[BACKOFF_BASE_MS / 2, 2], [BACKOFF_BASE_MS, 3]] as const) {
    t.mock.timers.tick(wait - 1);
    await settle();
    assert.equal(order.mock.callCount(), calls - 1, `not before ${wait} ms`);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(order.mock.callCount(), calls);
  }
  const last = renewals.at(-1)![0]!;
  assert.equal(last.failures, 3);
  assert.equal(last.failing, true);
  assert.equal(last.lastError, 'CA unreachable??[2J?', 'no control or bidi character of the CA reaches the log or console');
  assert.ok(lines.every((l) => !/[\r\u001b\u202e]/.test(l)), lines.join('\n'));
  assert.equal(lines.filter((l) => l.includes('renewal keeps failing')).length, 1, lines.join('\n'));
  renewer.stop();
});

test('the console and /metrics know a managed domain from the start, before any order, and forget one a reload drops', async () => {
  // manual: no order ever, so only configure can have said so.
  const { config } = configWithStore(', renew-mode: manual');
  prepareStore(config);
  const { renewals, target } = fakeTarget();
  const renewer = new Renewer(target, () => {}, { order: async () => assert.fail('manual mode never orders') });
  renewer.configure(config);
  assert.deepEqual(renewals.at(-1)?.map((r) => [r.names, r.temporary, r.failures, r.failing]), [[['www.example.org'], true, 0, false]]);
  renewer.configure({ ...config, managedDomains: [] });
  assert.deepEqual(renewals.at(-1), [], 'a dropped domain is no longer reported');
  renewer.stop();
});
