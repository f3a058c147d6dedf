// Which client certificate a member presents, read from either format: its own, else its balancer's, else the
// virtual host's; and virtual hosts that would share a member's connections with different certificates refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { clientCertificateOf, formatDiagnostic, type Diagnostic, type SticklerConfig } from '../../src/config/model.ts';
import { backendTlsOf } from '../../src/config/member-tls.ts';
import { memberCredentialProblems, memberPool } from '../../src/server/runtime.ts';
import { fromContents } from '../../src/tls/credentials.ts';
import { MemberPool, tlsRefusal } from '../../src/upstream/pool.ts';
import { createSelfSigned } from '../../src/tls/selfsigned.ts';

/** Each member's URL and the certificate file it presents, as the runtime picks it. */
function presented(config: SticklerConfig): Record<string, string | undefined> {
  return Object.fromEntries(config.balancers.flatMap((b) => b.members.map((m) => [m.url, clientCertificateOf(m, b, backendTlsOf(config, b))?.certificateFile])));
}

const errors = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => d.severity === 'error');

test('Apache: a <Proxy URL> member beats its <Proxy balancer://>, which beats the virtual host; a plain ProxyPass takes the virtual host\'s', () => {
  const r = loadApacheConfigText(`Listen 8080
SSLProxyEngine on
<VirtualHost *:8080>
 SSLProxyMachineCertificateFile /etc/ssl/vhost.pem
 ProxyPass /a balancer://a/
 ProxyPass /b balancer://b/
 ProxyPass /c https://127.0.0.1:9003/
 ProxyPass /d https://127.0.0.1:9004/
 <Proxy balancer://a>
  BalancerMember https://127.0.0.1:9001
  SSLProxyMachineCertificateFile /etc/ssl/a.pem
 </Proxy>
 <Proxy balancer://b>
  BalancerMember https://127.0.0.1:9002
 </Proxy>
 <Proxy https://127.0.0.1:9003>
  SSLProxyMachineCertificateFile /etc/ssl/member.pem
 </Proxy>
</VirtualHost>
`, '/etc/t.conf', {});
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(presented(r.config), {
    'https://127.0.0.1:9001': '/etc/ssl/a.pem',
    'https://127.0.0.1:9002': '/etc/ssl/vhost.pem',
    'https://127.0.0.1:9003': '/etc/ssl/member.pem',
    'https://127.0.0.1:9004': '/etc/ssl/vhost.pem',
  });
});

test('native: a member\'s tls beats its balancer\'s, which beats the virtual host\'s backend-tls', () => {
  const r = loadNativeConfigText(`virtual-hosts:
  - port: 8080
    backend-tls:
      enabled: true
      client-certificate: { certificate-file: /v.pem, key-file: /v.key }
    routes:
      - { path: /a, balancer: a }
      - { path: /b, balancer: b }
balancers:
  a:
    tls: { client-certificate: { certificate-file: /a.pem, key-file: /a.key } }
    members:
      - url: https://127.0.0.1:9001
      - url: https://127.0.0.1:9002
        tls: { client-certificate: { certificate-file: /m.pem, key-file: /m.key } }
  b:
    members:
      - url: https://127.0.0.1:9003
`, '/etc/s.yaml');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(presented(r.config), { 'https://127.0.0.1:9001': '/a.pem', 'https://127.0.0.1:9002': '/m.pem', 'https://127.0.0.1:9003': '/v.pem' });
});

test('Apache: two virtual hosts reaching one worker with different client certificates are refused at the second, unless the <Proxy> has its own', () => {
  const text = (proxy: string) => `Listen 8080
Listen 8081
SSLProxyEngine on
<VirtualHost *:8080>
 SSLProxyMachineCertificateFile /etc/ssl/one.pem
 ProxyPass / https://127.0.0.1:9001/
</VirtualHost>
<VirtualHost *:8081>
 SSLProxyMachineCertificateFile /etc/ssl/two.pem
 ProxyPass / https://127.0.0.1:9001/
</VirtualHost>
${proxy}`;
  const r = loadApacheConfigText(text(''), '/etc/t.conf', {});
  assert.deepEqual(errors(r.diagnostics).map(formatDiagnostic), [
    '/etc/t.conf:9: SSLProxyMachineCertificateFile: https://127.0.0.1:9001 is reached from here with the client certificate /etc/ssl/two.pem and from the virtual host at line 4 with the client certificate /etc/ssl/one.pem, which its members would present for both (one connection pool per member); expected the same SSLProxyMachineCertificateFile in both, or one in <Proxy https://127.0.0.1:9001>',
  ]);
  const own = loadApacheConfigText(text('<Proxy https://127.0.0.1:9001>\n SSLProxyMachineCertificateFile /etc/ssl/own.pem\n</Proxy>\n'), '/etc/t.conf', {});
  assert.deepEqual(errors(own.diagnostics).map(formatDiagnostic), []);
});

test('native: a balancer routed to from a virtual host with a client certificate and one without is refused at the second', () => {
  const r = loadNativeConfigText(`virtual-hosts:
  - port: 8080
    backend-tls:
      enabled: true
      client-certificate: { certificate-file: /v.pem, key-file: /v.key }
    routes: [{ path: /, balancer: a }]
  - port: 8081
    backend-tls: { enabled: true }
    routes: [{ path: /, balancer: a }]
balancers:
  a:
    members: [{ url: https://127.0.0.1:9001 }]
`, '/etc/s.yaml');
  assert.deepEqual(errors(r.diagnostics).map(formatDiagnostic), [
    '/etc/s.yaml:7: virtual-hosts[1]: balancer a is reached from here with no client certificate and from the virtual host at line 2 with the client certificate /v.pem, which its members would present for both (one connection pool per member); expected the same backend-tls.client-certificate in both, or tls.client-certificate on the balancer',
  ]);
});

test('worker threads build their pools from the client certificate files the main thread read, not from the disk', () => {
  const { cert, key } = createSelfSigned({ commonName: 'proxy', altNames: { dns: ['proxy'] } });
  const r = loadNativeConfigText(`virtual-hosts:
  - port: 8080
    backend-tls: { enabled: true }
    routes: [{ path: /, balancer: a }]
balancers:
  a:
    tls: { client-certificate: { certificate-file: /nowhere/proxy.pem, key-file: /nowhere/proxy.key } }
    members: [{ url: https://127.0.0.1:9001 }]
`, '/etc/s.yaml');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const config = structuredClone(r.config);
  const read = fromContents(new Map([['/nowhere/proxy.pem', Buffer.from(cert)], ['/nowhere/proxy.key', Buffer.from(key)]]));
  assert.deepEqual(memberCredentialProblems(config, read), []);
  const pool = memberPool(config, config.balancers[0]!, config.balancers[0]!.members[0]!);
  pool.close();
});

test('a CA file is read with the configuration: a health check to another port of the member verifies with it after the file is gone', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-member-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = createSelfSigned({ commonName: 'localhost', altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, cert);
  const server = tls.createServer({ cert, key }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const r = loadNativeConfigText(`virtual-hosts:
  - port: 8080
    backend-tls: { enabled: true, verify: require, ca-file: ${caFile} }
    routes: [{ path: /, balancer: a }]
balancers:
  a:
    members: [{ url: https://127.0.0.1:9 }]
`, '/etc/s.yaml');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const pool = memberPool(r.config, r.config.balancers[0]!, r.config.balancers[0]!.members[0]!);
  t.after(() => pool.close());
  rmSync(caFile);
  const conn = await pool.connectFresh({ secure: true, host: '127.0.0.1', port: (server.address() as AddressInfo).port });
  conn.socket.destroy();
});

test('a member\'s refusal says whether it wanted a certificate or did not accept the one presented', async (t) => {
  const own = createSelfSigned({ commonName: 'localhost', altNames: { ip: ['127.0.0.1'] } });
  const server = tls.createServer({ cert: own.cert, key: own.key, ca: own.cert, requestCert: true, rejectUnauthorized: true }, (socket) => socket.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const member = { source: { file: 't', line: 1 }, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, route: '', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 0 };
  const pool = new MemberPool({ member, backendTls: { enabled: true, verify: 'none', checkPeerName: false }, connectTimeout: 10_000, ioTimeout: 10_000 });
  t.after(() => pool.close());
  const conn = await pool.connectFresh();
  // Not events.once, which rejects on the 'error' the alert raises.
  if (!conn.socket.destroyed) await new Promise((resolve) => conn.socket.on('close', resolve));
  assert.match(conn.refusal ?? '', /\(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED\); it requires a client certificate it trusts: expected one in client-certificate \(SSLProxyMachineCertificateFile\)$/);
  // OpenSSL members (Tomcat, httpd) answer a certificate they do not trust with unknown_ca; Node's only close.
  const alert = (code: string) => Object.assign(new Error(code), { code });
  assert.match(tlsRefusal(alert('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'), true) ?? '', /\(ERR_SSL_TLSV1_ALERT_UNKNOWN_CA\); it did not accept the client certificate presented: expected one issued by a CA it trusts/);
  assert.match(tlsRefusal(alert('ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'), true) ?? '', /did not accept the client certificate presented/);
  assert.equal(tlsRefusal(alert('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION'), true), 'ended the TLS connection with an alert (ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION)');
  assert.equal(tlsRefusal(alert('ECONNRESET'), true), undefined);
});
