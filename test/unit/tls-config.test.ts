// The TLS profile, HSTS, OCSP stapling and trusted proxies as both front ends read them, and as `convert` writes them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { formatDiagnostic, type LoadResult } from '../../src/config/model.ts';
import { comparable } from '../support/fixtures.ts';

function vhost(port: number, lines: string[], tls = true): string[] {
  const files = tls ? ['SSLEngine on', 'SSLCertificateFile /etc/c.pem', 'SSLCertificateKeyFile /etc/k.pem'] : [];
  return [`<VirtualHost *:${port}>`, ...files, ...lines, 'ProxyPass / balancer://b/', '</VirtualHost>'];
}

function apache(lines: string[]): LoadResult {
  // The balancer comes last so that the line numbers in the expectations are those of `lines`.
  return loadApacheConfigText([...lines, '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080', '</Proxy>'].join('\n') + '\n', 't.conf');
}

function messages(r: LoadResult, severity: 'error' | 'warning'): string[] {
  return r.diagnostics.filter((d) => d.severity === severity).map(formatDiagnostic);
}

test('Apache: SSLProtocol, SSLCipherSuite, SSLHonorCipherOrder and HSTS, from the main server or the virtual host', () => {
  const r = apache([
    'Listen 443', 'Listen 80', 'Listen 8443',
    'SSLProtocol -all +TLSv1.2 +TLSv1.3',
    'SSLCipherSuite ECDHE+AESGCM',
    'SSLHonorCipherOrder on',
    'Header always set Strict-Transport-Security "max-age=63072000; includeSubDomains"',
    ...vhost(443, ['ServerName a.example']),
    ...vhost(8443, ['SSLProtocol TLSv1.3', 'SSLCipherSuite TLSv1.3 TLS_AES_256_GCM_SHA384', 'SSLHonorCipherOrder off', 'Header set Strict-Transport-Security max-age=300']),
    ...vhost(80, [], false),
  ]);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  const [a, b, plain] = r.config!.virtualHosts;
  assert.deepEqual(a?.tls?.policy, { source: { file: 't.conf', line: 4 }, profile: 'intermediate', ciphers: 'ECDHE+AESGCM', honorCipherOrder: true });
  assert.deepEqual(a?.tls?.hsts, { source: { file: 't.conf', line: 7 }, maxAge: 63072000, includeSubDomains: true, preload: false });
  assert.deepEqual(b?.tls?.policy, {
    source: { file: 't.conf', line: 19 }, profile: 'intermediate', protocols: ['TLSv1.3'], ciphers: 'ECDHE+AESGCM', cipherSuites: 'TLS_AES_256_GCM_SHA384', honorCipherOrder: false,
  });
  assert.deepEqual(b?.tls?.hsts, { source: { file: 't.conf', line: 22 }, maxAge: 300, includeSubDomains: false, preload: false });
  assert.equal(plain?.tls, undefined);
});

test('Apache: protocols Stickler never offers are named; a setting that leaves nothing is an error', () => {
  const debian = apache(['Listen 443', 'SSLProtocol all -SSLv3', 'SSLCipherSuite HIGH:!aNULL', ...vhost(443, [])]);
  assert.deepEqual(messages(debian, 'warning'), [
    't.conf:2: SSLProtocol: TLSv1 and TLSv1.1 are never offered: Stickler offers TLSv1.2 and TLSv1.3 only',
    't.conf:3: SSLCipherSuite: "HIGH:!aNULL" also selects ciphers outside Mozilla\'s intermediate profile; those are never offered',
  ]);
  assert.deepEqual(debian.config?.virtualHosts[0]?.tls?.policy, { source: { file: 't.conf', line: 2 }, profile: 'intermediate', ciphers: 'HIGH:!aNULL', honorCipherOrder: false });
  const r = apache([
    'Listen 443',
    'SSLProtocol TLSv1 +TLSv1.1',
    'SSLProtocol +TLSv1.4',
    'SSLCipherSuite AES128-SHA:DES-CBC3-SHA',
    'SSLCipherSuite TLSv1.3 TLS_AES_128_CCM_SHA256',
    'SSLCipherSuite tlsv1.3 TLS_AES_128_GCM_SHA256',
    'SSLHonorCipherOrder maybe',
    '<Location /x>', 'SSLCipherSuite ECDHE+AESGCM', '</Location>',
    ...vhost(443, []),
  ]);
  assert.deepEqual(messages(r, 'error'), [
    't.conf:2: SSLProtocol: "TLSv1 +TLSv1.1" enables none of the protocols Stickler offers; expected TLSv1.2 or TLSv1.3 among them',
    't.conf:3: SSLProtocol: unknown protocol "+TLSv1.4"; expected all, TLSv1.2 or TLSv1.3, each with an optional + or - before it',
    't.conf:4: SSLCipherSuite: "AES128-SHA:DES-CBC3-SHA" selects none of Mozilla\'s intermediate ciphers (ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305); Stickler never offers others',
    't.conf:5: SSLCipherSuite: "TLS_AES_128_CCM_SHA256" names none of Mozilla\'s TLS 1.3 suites; expected some of TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
    't.conf:6: SSLCipherSuite: protocol "tlsv1.3" is not SSL or TLSv1.3; expected SSLCipherSuite [SSL|TLSv1.3] cipher-spec',
    't.conf:7: SSLHonorCipherOrder: "maybe" is not On or Off; expected On or Off',
    't.conf:9: SSLCipherSuite: not allowed inside a <Location> section; expected it in the main server or a <VirtualHost>',
  ]);
});

test('Apache: a server\'s `Header [always] set Strict-Transport-Security` is HSTS, sent only by TLS virtual hosts; other Header lines are rules', () => {
  const r = apache([
    'Listen 443', 'Listen 80',
    'Header set X-Frame-Options DENY',
    'Header append Strict-Transport-Security "max-age=1"',
    '<Location /app>', 'Header always set Strict-Transport-Security "max-age=1"', '</Location>',
    ...vhost(443, ['Header always set Strict-Transport-Security "max-age=10; preload; includesubdomains"']),
    ...vhost(80, ['Header always set Strict-Transport-Security "max-age=10"'], false),
  ]);
  assert.deepEqual(messages(r, 'warning'), [
    't.conf:16: Header: ignored: Strict-Transport-Security is sent only by TLS virtual hosts (browsers ignore it over plain HTTP, RFC 6797 section 8.1)',
  ]);
  assert.deepEqual(r.config?.virtualHosts[0]?.headerRules?.map((h) => [h.source.line, h.action, h.header, h.location]), [
    [3, 'set', 'X-Frame-Options', undefined], [4, 'append', 'Strict-Transport-Security', undefined], [6, 'set', 'Strict-Transport-Security', '/app'],
  ]);
  assert.deepEqual(r.config?.virtualHosts[0]?.tls?.hsts, { source: { file: 't.conf', line: 12 }, maxAge: 10, includeSubDomains: true, preload: true });

  const bad = (value: string) => messages(apache(['Listen 443', ...vhost(443, [`Header always set Strict-Transport-Security "${value}"`])]), 'error');
  const expected = 'expected max-age=SECONDS, optionally with includeSubDomains and preload, separated by ";"';
  assert.deepEqual(bad('includeSubDomains'), [`t.conf:6: Header: no max-age in seconds in "includeSubDomains"; ${expected}`]);
  assert.deepEqual(bad('max-age=1y'), [`t.conf:6: Header: no max-age in seconds in "max-age=1y"; ${expected}`]);
  assert.deepEqual(bad('max-age=1; max-age=2'), [`t.conf:6: Header: "max-age" appears twice; ${expected}`]);
  assert.deepEqual(bad('max-age=1; report-uri=x'), [`t.conf:6: Header: unknown directive "report-uri=x"; ${expected}`]);
});

test('Apache: virtual hosts on one TLS port with different settings are refused', () => {
  const r = apache(['Listen 443', ...vhost(443, ['ServerName a']), ...vhost(443, ['ServerName b', 'SSLProtocol TLSv1.3'])]);
  assert.deepEqual(messages(r, 'error'), [
    't.conf:9: <VirtualHost>: its TLS settings (SSLProtocol, SSLCipherSuite, SSLHonorCipherOrder) differ from those of the virtual host at line 2, which every handshake on port 443 uses (Node chooses only the certificate by server name); expected the same settings for every virtual host on the port, such as in the main server',
  ]);
});

test('Apache: RemoteIPTrustedProxy and RemoteIPInternalProxy are the trusted proxies', () => {
  const r = apache([
    'Listen 80', 'RemoteIPTrustedProxy 10.0.0.0/8 192.168.1.5', 'RemoteIPInternalProxy 2001:db8::/32',
    ...vhost(80, ['RemoteIPTrustedProxy 172.16.0.1'], false),
  ]);
  assert.deepEqual(r.config?.trustedProxies, ['10.0.0.0/8', '192.168.1.5', '2001:db8::/32']);
  assert.deepEqual(messages(r, 'warning'), [
    't.conf:5: RemoteIPTrustedProxy: ignored: Stickler has one list of trusted proxies for all virtual hosts; expected it in the main server',
  ]);
  assert.deepEqual(messages(apache(['Listen 80', 'RemoteIPTrustedProxy lb.example.com', ...vhost(80, [], false)]), 'error'), [
    't.conf:2: RemoteIPTrustedProxy: "lb.example.com" is not an address or range; expected addresses such as 10.0.0.5 or 10.0.0.0/8 (Stickler resolves no host names)',
  ]);
  assert.equal(apache(['Listen 80', ...vhost(80, [], false)]).config?.trustedProxies, undefined);
});

const NATIVE = (tls: string, top = '') => `${top}virtual-hosts:
  - port: 443
    tls:
      certificate-file: /etc/c.pem
      key-file: /etc/k.pem
${tls.split('\n').map((l) => `      ${l}`).join('\n')}
    routes: [{ path: /, balancer: b }]
balancers:
  b: { members: [{ url: http://10.0.0.1:8080 }] }
`;

test('native: tls profile, protocols, ciphers, cipher-suites, honor-cipher-order, hsts, ocsp-response-file; trusted-proxies', () => {
  const r = loadNativeConfigText(NATIVE([
    'profile: modern',
    'cipher-suites: TLS_AES_256_GCM_SHA384',
    'honor-cipher-order: true',
    'ocsp-response-file: ocsp.der',
    'hsts: { include-subdomains: true }',
  ].join('\n'), 'trusted-proxies: [10.0.0.0/8, "::1"]\n'), '/etc/stickler/s.yaml');
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), []);
  const tls = r.config!.virtualHosts[0]!.tls!;
  assert.deepEqual(comparable(tls), {
    certificateFile: '/etc/c.pem', keyFile: '/etc/k.pem', ocspResponseFile: '/etc/stickler/ocsp.der',
    policy: { profile: 'modern', cipherSuites: 'TLS_AES_256_GCM_SHA384', honorCipherOrder: true },
    hsts: { maxAge: 63072000, includeSubDomains: true, preload: false },
  });
  assert.deepEqual(r.config!.trustedProxies, ['10.0.0.0/8', '::1']);

  const problems = (tls: string, top = '') => loadNativeConfigText(NATIVE(tls, top), 's.yaml').diagnostics.map(formatDiagnostic);
  assert.deepEqual(problems('protocols: [TLSv1.1, TLSv1.2]'), [
    's.yaml:6: virtual-hosts[0].tls.protocols: expected TLSv1.2 and/or TLSv1.3 (one, or a list): Stickler never offers older protocols, got a list',
  ]);
  assert.deepEqual(problems('profile: modern\nprotocols: TLSv1.2'), [
    's.yaml:7: virtual-hosts[0].tls.protocols: the modern profile offers TLSv1.3; expected protocols among them, got TLSv1.2',
  ]);
  assert.deepEqual(problems('profile: modern\nciphers: ECDHE+AESGCM'), [
    's.yaml:7: virtual-hosts[0].tls.ciphers: TLS 1.2 ciphers have no effect with the modern profile, which offers TLS 1.3 only',
  ]);
  assert.deepEqual(problems('ciphers: RC4'), [
    's.yaml:6: virtual-hosts[0].tls.ciphers: OpenSSL finds no cipher in "RC4"; expected an OpenSSL cipher list selecting some of Mozilla\'s intermediate ciphers (ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305)',
  ]);
  assert.deepEqual(problems('profile: old'), ['s.yaml:6: virtual-hosts[0].tls.profile: expected one of intermediate, modern, got "old"']);
  assert.deepEqual(problems('hsts: { max-age: -1 }'), ['s.yaml:6: virtual-hosts[0].tls.hsts.max-age: expected a whole number from 0 to 4294967295, got -1']);
  assert.deepEqual(problems('', 'trusted-proxies: [lb.example.com]\n'), [
    's.yaml:1: trusted-proxies[0]: expected an address or range such as 10.0.0.5 or 10.0.0.0/8, got "lb.example.com"',
  ]);
});

test('native: two virtual hosts on one port must agree on the handshake settings', () => {
  const yaml = `virtual-hosts:
  - port: 443
    tls: { certificate-file: /etc/c.pem, key-file: /etc/k.pem, profile: modern }
    routes: [{ path: /, balancer: b }]
  - port: 443
    server-name: other
    tls: { certificate-file: /etc/c.pem, key-file: /etc/k.pem }
balancers:
  b: { members: [{ url: http://10.0.0.1:8080 }] }
`;
  assert.deepEqual(loadNativeConfigText(yaml, 's.yaml').diagnostics.map(formatDiagnostic), [
    's.yaml:7: virtual-hosts[1].tls: its profile, protocols, ciphers, cipher-suites or honor-cipher-order differ from those of the virtual host at line 2, which every handshake on port 443 uses (Node chooses only the certificate by server name); expected the same settings for every virtual host on the port',
  ]);
});

test('convert writes every TLS setting of an Apache file, and the YAML loads to the same model', () => {
  const r = apache([
    'Listen 443', 'RemoteIPTrustedProxy 10.1.2.3',
    ...vhost(443, [
      'SSLProtocol -all +TLSv1.2', 'SSLCipherSuite ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384', 'SSLHonorCipherOrder On',
      'Header always set Strict-Transport-Security "max-age=31536000; includeSubDomains; preload"',
    ]),
  ]);
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const yaml = toYaml(r.config);
  assert.match(yaml, /^trusted-proxies: \[10\.1\.2\.3\]$/m);
  assert.match(yaml, /^ {6}protocols: \[TLSv1\.2\]$/m);
  assert.match(yaml, /^ {6}ciphers: ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384$/m);
  assert.match(yaml, /^ {6}honor-cipher-order: true$/m);
  assert.match(yaml, /^ {6}hsts:\n {8}max-age: 31536000\n {8}include-subdomains: true\n {8}preload: true$/m);
  const native = loadNativeConfigText(yaml, 's.yaml');
  assert.deepEqual(native.diagnostics.map(formatDiagnostic), []);
  assert.deepEqual(comparable(native.config), comparable(r.config));
});
