// Client certificates in both configuration formats: what each Apache directive and YAML key becomes in the model,
// every refusal with its file:line, the agreement a TLS port needs, conversion to YAML, and the CA/CRL files read
// with the credentials (what --check and the start say about them).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { crlCheckProblem, parseVerifyLevel, pemFilesIn, VERIFY_LEVELS } from '../../src/config/client-certificates.ts';
import { formatDiagnostic, type SticklerConfig, type TlsFiles } from '../../src/config/model.ts';
import { loadCredentials } from '../../src/tls/credentials.ts';
import { testCertificate, testClientCa, type ClientCa } from '../support/certs.ts';
import { comparable } from '../support/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'stickler-client-cert-config-'));
let ca: ClientCa;
let server: { certFile: string; keyFile: string };
const file = join(dir, 't.conf');

before(async () => {
  ca = await testClientCa(dir);
  server = await testCertificate(dir);
});

function apache(lines: string[]) {
  return loadApacheConfigText(`${lines.join('\n')}\n`, file);
}

function vhost(port: number, lines: string[]): string[] {
  return [`<VirtualHost *:${port}>`, 'SSLEngine On', `SSLCertificateFile ${server.certFile}`, `SSLCertificateKeyFile ${server.keyFile}`, ...lines, '</VirtualHost>'];
}

function loaded(lines: string[]): SticklerConfig {
  const r = apache(lines);
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.config;
}

function apacheErrors(lines: string[]): string[] {
  const r = apache(lines);
  assert.equal(r.config, undefined, 'a configuration with errors must not load');
  return r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
}

test('the directives of a virtual host become its client certificates, inheriting from the main server one by one', () => {
  const config = loaded([
    'Listen 443', 'Listen 8443',
    `SSLCACertificateFile ${ca.caFile}`, 'SSLVerifyDepth 3', 'SSLOptions +StdEnvVars',
    ...vhost(443, ['SSLVerifyClient require', `SSLCARevocationFile ${ca.crlFile}`, 'SSLCARevocationCheck chain', 'SSLOptions +ExportCertData']),
    ...vhost(8443, ['SSLVerifyClient Optional_No_CA', 'SSLVerifyDepth 0', 'SSLOptions ExportCertData']),
  ]);
  const [a, b] = config.virtualHosts.map((v) => v.tls!);
  assert.deepEqual(comparable(a!.clientCertificates), {
    verify: 'require', depth: 3, caFiles: [ca.caFile], crlFiles: [ca.crlFile], crlCheck: 'chain', forwardRfc9440: false,
  });
  assert.deepEqual(a!.clientCertificates!.source, { file, line: 10 });
  assert.deepEqual(comparable(a!.sslOptions), { exportCertData: true, stdEnvVars: true });
  assert.deepEqual(comparable(b!.clientCertificates), {
    verify: 'optional_no_ca', depth: 0, caFiles: [ca.caFile], crlFiles: [], crlCheck: 'none', forwardRfc9440: false,
  });
  // An option without + or - sets exactly the options named.
  assert.deepEqual(comparable(b!.sslOptions), { exportCertData: true, stdEnvVars: false });
});

test('SSLVerifyClient none, or none at all, asks for nothing', () => {
  const config = loaded(['Listen 443', `SSLCACertificateFile ${ca.caFile}`, ...vhost(443, ['SSLVerifyClient none'])]);
  assert.equal(config.virtualHosts[0]!.tls!.clientCertificates, undefined);
});

test('SSLCACertificatePath takes every certificate of the directory once, hashed links or not; other files are skipped', () => {
  const cas = join(dir, 'cas');
  mkdirSync(cas);
  writeFileSync(join(cas, 'client-ca.pem'), readFileSync(ca.caFile));
  symlinkSync(join(cas, 'client-ca.pem'), join(cas, 'abcdef01.0'));
  writeFileSync(join(cas, 'README'), 'not a certificate\n');
  const config = loaded(['Listen 443', ...vhost(443, ['SSLVerifyClient require', `SSLCACertificatePath ${cas}`])]);
  assert.deepEqual(config.virtualHosts[0]!.tls!.clientCertificates!.caFiles, [join(cas, 'abcdef01.0')]);
  assert.deepEqual(pemFilesIn(cas, 'X509 CRL'), { error: `${cas} holds no PEM file with a X509 CRL block; expected the CRLs as PEM files` });
  // A hashed link left behind by a removed CA is passed over, as OpenSSL does; a file that cannot be read is said.
  symlinkSync(join(cas, 'removed.pem'), join(cas, '12345678.0'));
  assert.deepEqual(pemFilesIn(cas, 'CERTIFICATE'), [join(cas, 'abcdef01.0')]);
  symlinkSync(join(cas, 'loop-b'), join(cas, 'loop-a'));
  symlinkSync(join(cas, 'loop-a'), join(cas, 'loop-b'));
  const errors = apacheErrors(['Listen 443', ...vhost(443, ['SSLVerifyClient require', `SSLCACertificatePath ${cas}`])]);
  assert.match(errors[0]!, new RegExp(`t\\.conf:\\d+: SSLCACertificatePath: cannot read ${cas}/loop-a in ${cas}: a loop of symbolic links; expected it readable, or gone from the directory`));
});

test('per-path SSLVerifyClient and SSLVerifyDepth are refused as renegotiation, with the alternative', () => {
  const errors = apacheErrors([
    'Listen 443',
    ...vhost(443, [
      `SSLCACertificateFile ${ca.caFile}`,
      '<Location /admin>', 'SSLVerifyClient require', '</Location>',
      '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080', 'SSLVerifyDepth 2', '</Proxy>',
      '<Directory /var/www>', 'SSLVerifyClient require', '</Directory>',
    ]),
  ]);
  assert.equal(errors.length, 3);
  assert.match(errors[0]!, /^.*t\.conf:8: SSLVerifyClient: SSLVerifyClient inside <Location \/admin> needs a TLS renegotiation once the request's path is known, which Stickler refuses .*expected it on the virtual host: a <VirtualHost> of its own on its own port .*SSLVerifyClient optional on the virtual host/);
  assert.match(errors[1]!, /t\.conf:12: SSLVerifyDepth: SSLVerifyDepth inside <Proxy balancer:\/\/b> needs a TLS renegotiation/);
  assert.match(errors[2]!, /t\.conf:15: SSLVerifyClient: SSLVerifyClient inside <Directory \/var\/www> needs a TLS renegotiation/);
});

test('every wrong client-certificate line is an error at its line saying what was expected', () => {
  const cases: Array<[string[], RegExp]> = [
    [['SSLVerifyClient sometimes'], /t\.conf:6: SSLVerifyClient: "sometimes" is not a verify level; expected none, optional, require or optional_no_ca$/],
    [['SSLVerifyDepth -1'], /t\.conf:6: SSLVerifyDepth: "-1" is not a depth; expected a number from 0 to 100/],
    [['SSLVerifyDepth 101'], /t\.conf:6: SSLVerifyDepth: "101" is not a depth/],
    [['SSLCARevocationCheck leaf'], /t\.conf:6: SSLCARevocationCheck: leaf-only CRL checks are not supported by Stickler .*expected chain, with a CRL from each CA/],
    [['SSLCARevocationCheck chain no_crl_for_cert_ok'], /t\.conf:6: SSLCARevocationCheck: the flags no_crl_for_cert_ok are not supported by Stickler; expected chain alone/],
    [['SSLCARevocationCheck sometimes'], /t\.conf:6: SSLCARevocationCheck: "sometimes" is not a revocation check; expected none, chain or leaf/],
    [['SSLOptions +Bogus'], /t\.conf:6: SSLOptions: "\+Bogus" is not an SSLOptions option; expected StdEnvVars, ExportCertData/],
    [['SSLOptions +FakeBasicAuth'], /t\.conf:6: SSLOptions: FakeBasicAuth is not supported: Stickler does not log clients in by the DN/],
    [['SSLOptions +LegacyDNStringFormat'], /t\.conf:6: SSLOptions: LegacyDNStringFormat is not supported: the DN variables have mod_ssl's default \(RFC 2253\) format/],
    [['SSLVerifyClient require'], /t\.conf:6: SSLVerifyClient: require verifies client certificates against trusted CAs, and none are named; expected SSLCACertificateFile or SSLCACertificatePath/],
    [['SSLVerifyClient optional_no_ca', 'SSLCARevocationCheck chain'], /t\.conf:7: SSLCARevocationCheck: revocation checks need CRLs, and none are named; expected SSLCARevocationFile or SSLCARevocationPath/],
    [['SSLCACertificatePath /no/such/dir'], /t\.conf:6: SSLCACertificatePath: cannot read the directory \/no\/such\/dir: no such directory/],
    [['SSLCARevocationFile'], /t\.conf:6: SSLCARevocationFile: missing argument; expected a PEM file path/],
  ];
  for (const [lines, expected] of cases) {
    const errors = apacheErrors(['Listen 443', ...vhost(443, lines)]);
    assert.equal(errors.length, 1, `${lines.join(' / ')}: ${errors.join('\n')}`);
    assert.match(errors[0]!, expected);
  }
});

test('SSLOptions inside <Location> applies to the whole virtual host, with a warning saying so', () => {
  const r = apache(['Listen 443', ...vhost(443, ['<Location /idp>', 'SSLOptions +ExportCertData', '</Location>'])]);
  assert.ok(r.config);
  assert.deepEqual(comparable(r.config.virtualHosts[0]!.tls!.sslOptions), { exportCertData: true, stdEnvVars: false });
  assert.ok(r.diagnostics.map(formatDiagnostic).some((d) => /t\.conf:7: SSLOptions: applies to the whole virtual host/.test(d)));
});

test('CRLs without a revocation check are a warning (Apache 2.4 does not check them); harmless options are noted', () => {
  const r = apache(['Listen 443', ...vhost(443, [`SSLCACertificateFile ${ca.caFile}`, 'SSLVerifyClient optional', `SSLCARevocationFile ${ca.crlFile}`, 'SSLOptions +StrictRequire'])]);
  assert.ok(r.config);
  const said = r.diagnostics.map(formatDiagnostic);
  assert.ok(said.some((d) => /t\.conf:8: SSLCARevocationFile: ignored: the CRLs are not checked without a revocation check \(as in Apache 2\.4\); expected SSLCARevocationCheck chain/.test(d)), said.join('\n'));
  assert.ok(said.some((d) => /t\.conf:9: SSLOptions: ignored: StrictRequire has no effect/.test(d)), said.join('\n'));
});

test('virtual hosts of one port that differ in client certificates are refused with both lines and the alternative', () => {
  const errors = apacheErrors([
    'Listen 443', `SSLCACertificateFile ${ca.caFile}`,
    ...vhost(443, ['ServerName a.example', 'SSLVerifyClient require']),
    ...vhost(443, ['ServerName b.example']),
  ]);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /t\.conf:10: <VirtualHost>: its client-certificate settings .* differ from those of the virtual host at line 3, which every handshake on port 443 uses .*or the virtual hosts that differ on a port of their own/);
});

function nativeText(clientCertificates: string[], extra: string[] = []): string {
  return [
    'virtual-hosts:', '  - port: 443', '    tls:', `      certificate-file: ${server.certFile}`, `      key-file: ${server.keyFile}`,
    '      client-certificates:', ...clientCertificates.map((l) => `        ${l}`), ...extra,
  ].join('\n') + '\n';
}

test('native client-certificates: every key, CRLs checked for the chain once named, RFC 9440 forwarding', () => {
  const r = loadNativeConfigText(nativeText(['verify: require', `ca-file: [${ca.caFile}]`, `crl-file: ${ca.crlFile}`, 'verify-depth: 2', 'forward: rfc9440'],
    ['      ssl-options:', '        export-cert-data: true']), join(dir, 't.yaml'));
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const tls = r.config.virtualHosts[0]!.tls!;
  assert.deepEqual(comparable(tls.clientCertificates), {
    verify: 'require', depth: 2, caFiles: [ca.caFile], crlFiles: [ca.crlFile], crlCheck: 'chain', forwardRfc9440: true,
  });
  assert.deepEqual(tls.clientCertificates!.source.line, 7);
  assert.deepEqual(comparable(tls.sslOptions), { exportCertData: true, stdEnvVars: false });
});

test('native client-certificates: each wrong key is an error at its line', () => {
  const cases: Array<[string[], RegExp]> = [
    [['verify: sometimes'], /t\.yaml:7: virtual-hosts\[0\]\.tls\.client-certificates\.verify: expected one of none, optional, require, optional_no_ca/],
    [['verify: require'], /t\.yaml:7: virtual-hosts\[0\]\.tls\.client-certificates\.verify: require verifies client certificates against trusted CAs, and none are named; expected ca-file or ca-path/],
    [['verify: optional_no_ca', 'crl-check: leaf'], /t\.yaml:8: .*client-certificates\.crl-check: leaf-only CRL checks are not supported/],
    [['verify: optional_no_ca', 'crl-check: chain'], /t\.yaml:8: .*client-certificates\.crl-check: revocation checks need CRLs, and none are named; expected crl-file or crl-path/],
    [['verify: optional_no_ca', 'verify-depth: 1000'], /t\.yaml:8: .*client-certificates\.verify-depth: /],
    [['verify: optional_no_ca', 'ca-path: /no/such/dir'], /t\.yaml:8: .*client-certificates\.ca-path: cannot read the directory \/no\/such\/dir: no such directory/],
    [['verify: optional_no_ca', 'ca-file: []'], /t\.yaml:8: .*client-certificates\.ca-file: expected a PEM file of CA certificates \(one, or a list\)/],
    [['verify: optional_no_ca', 'forward: xfcc'], /t\.yaml:8: .*client-certificates\.forward: expected one of none, rfc9440/],
    [['verify: optional_no_ca', 'bogus: 1'], /t\.yaml:8: .*client-certificates/],
  ];
  for (const [lines, expected] of cases) {
    const r = loadNativeConfigText(nativeText(lines), join(dir, 't.yaml'));
    const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    assert.equal(r.config, undefined, lines.join(' / '));
    assert.ok(errors.some((e) => expected.test(e)), `${lines.join(' / ')}:\n${errors.join('\n')}`);
  }
});

test('native: virtual hosts of one port that differ in client-certificates are refused at the second one\'s tls', () => {
  const tlsBlock = (name: string, client: string[]) => [
    `  - port: 443`, `    server-name: ${name}`, '    tls:', `      certificate-file: ${server.certFile}`, `      key-file: ${server.keyFile}`, ...client,
  ];
  const text = ['virtual-hosts:', ...tlsBlock('a.example', ['      client-certificates:', '        verify: optional_no_ca']), ...tlsBlock('b.example', [])].join('\n');
  const r = loadNativeConfigText(`${text}\n`, join(dir, 't.yaml'));
  const errors = r.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
  assert.equal(r.config, undefined);
  assert.deepEqual(errors.length, 1, errors.join('\n'));
  assert.match(errors[0]!, /t\.yaml:11: virtual-hosts\[1\]\.tls: its client-certificates differ from those of the virtual host at line 2, which every handshake on port 443 uses .*or the virtual hosts that differ on a port of their own/);
});

test('stickler convert writes an Apache configuration\'s client certificates as YAML that loads to the same model', () => {
  const config = loaded([
    'Listen 443', `SSLCACertificateFile ${ca.caFile}`,
    ...vhost(443, ['SSLVerifyClient optional', 'SSLVerifyDepth 2', `SSLCARevocationFile ${ca.crlFile}`, 'SSLCARevocationCheck chain', 'SSLOptions +ExportCertData', 'ProxyPass / balancer://b/']),
    '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080', '</Proxy>',
  ]);
  const yaml = toYaml(config);
  const back = loadNativeConfigText(yaml, join(dir, 'converted.yaml'));
  assert.ok(back.config, `${yaml}\n${back.diagnostics.map(formatDiagnostic).join('\n')}`);
  const pick = (c: SticklerConfig) => comparable({ c: c.virtualHosts[0]!.tls!.clientCertificates, o: c.virtualHosts[0]!.tls!.sslOptions });
  assert.deepEqual(pick(back.config), pick(config));
});

function tlsFiles(extra: Partial<TlsFiles>): TlsFiles {
  return { source: { file, line: 1 }, certificateFile: server.certFile, keyFile: server.keyFile, ...extra };
}

const settings = (extra: object = {}) => ({
  source: { file, line: 5 }, verify: 'require' as const, depth: 1, caFiles: [ca.caFile], caSource: { file, line: 6 },
  crlFiles: [ca.crlFile], crlCheck: 'chain' as const, crlSource: { file, line: 7 }, forwardRfc9440: false, ...extra,
});

test('the CA and CRL files are read with the credentials: a wrong one is named at its directive\'s line', () => {
  const read = (path: string) => readFileSync(path);
  const cases: Array<[object, RegExp]> = [
    [{ caFiles: ['/no/such/ca.pem'] }, /t\.conf:6: SSLCACertificateFile: cannot read \/no\/such\/ca\.pem: no such file/],
    [{ caFiles: [server.keyFile] }, /t\.conf:6: SSLCACertificateFile: .* holds a PRIVATE KEY block, not a certificate/],
    [{ crlFiles: [ca.caFile] }, /t\.conf:7: SSLCARevocationFile: .*ca\.pem holds a CERTIFICATE block, not a CRL; expected a PEM CRL/],
    [{ crlFiles: [server.keyFile.replace('key.pem', 'nothing.pem')] }, /t\.conf:7: SSLCARevocationFile: cannot read .*: no such file/],
  ];
  for (const [extra, expected] of cases) {
    const result = loadCredentials(tlsFiles({ clientCertificates: settings(extra) }), 'apache', read);
    assert.ok(Array.isArray(result), JSON.stringify(extra));
    assert.match(result.map(formatDiagnostic).join('\n'), expected);
  }
  const damaged = join(dir, 'damaged-crl.pem');
  writeFileSync(damaged, '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n');
  const result = loadCredentials(tlsFiles({ clientCertificates: settings({ crlFiles: [damaged] }) }), 'apache', read);
  assert.ok(Array.isArray(result));
  assert.match(result.map(formatDiagnostic).join('\n'), /t\.conf:7: SSLCARevocationFile: .*damaged-crl\.pem is damaged: OpenSSL cannot read a CRL from it/);
});

test('without CA files the client\'s certificate is verified against none, never against Node\'s public roots', () => {
  const result = loadCredentials(tlsFiles({ clientCertificates: settings({ verify: 'optional_no_ca', caFiles: [], crlFiles: [], crlCheck: 'none' }) }), 'apache', (path) => readFileSync(path));
  assert.ok(!Array.isArray(result));
  assert.deepEqual(result.options.ca, []);
  assert.deepEqual(result.clientCas, []);
});

test('each client-certificate setting, and each CA or CRL content, has a session ID context of its own', () => {
  const read = (path: string) => readFileSync(path);
  const context = (extra: Partial<TlsFiles>, reader = read) => {
    const loadedCredentials = loadCredentials(tlsFiles(extra), 'apache', reader);
    assert.ok(!Array.isArray(loadedCredentials), JSON.stringify(loadedCredentials));
    return loadedCredentials.options.sessionIdContext;
  };
  const none = context({});
  const require = context({ clientCertificates: settings() });
  const optional = context({ clientCertificates: settings({ verify: 'optional' }) });
  const otherCrl = context({ clientCertificates: settings() }, (path) => (path === ca.crlFile ? Buffer.concat([read(path), read(path)]) : read(path)));
  assert.equal(new Set([none, require, optional, otherCrl]).size, 4);
  assert.equal(context({ clientCertificates: settings() }), require, 'the same setting must keep its context, so its sessions resume');
});

test('property: the verify levels are exactly mod_ssl\'s four, in any case; anything else is refused with the list', () => {
  fc.assert(fc.property(fc.string(), (text) => {
    const level = parseVerifyLevel(text);
    const known = VERIFY_LEVELS.find((l) => l === text.toLowerCase());
    if (known) assert.equal(level, known);
    else assert.deepEqual(level, { error: `"${text}" is not a verify level; expected none, optional, require or optional_no_ca` });
  }));
  fc.assert(fc.property(fc.constantFrom(...VERIFY_LEVELS), fc.array(fc.boolean(), { minLength: 14, maxLength: 14 }), (l, upper) => {
    const mixed = [...l].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join('');
    assert.equal(parseVerifyLevel(mixed), l);
  }));
});

test('property: any SSLOptions or SSLCARevocationCheck line gives a model or errors at its line, never a crash', () => {
  const word = fc.oneof(fc.constantFrom('StdEnvVars', 'ExportCertData', 'FakeBasicAuth', 'StrictRequire', 'OptRenegotiate', 'LegacyDNStringFormat', 'none', 'chain', 'leaf'), fc.stringMatching(/^[A-Za-z_]{1,12}$/));
  const arg = fc.tuple(fc.constantFrom('', '+', '-'), word).map(([s, w]) => s + w);
  fc.assert(fc.property(fc.constantFrom('SSLOptions', 'SSLCARevocationCheck'), fc.array(arg, { minLength: 1, maxLength: 5 }), (directive, args) => {
    const r = apache(['Listen 443', ...vhost(443, [`${directive} ${args.join(' ')}`])]);
    for (const d of r.diagnostics.filter((x) => x.severity === 'error')) {
      assert.equal(d.line, 6);
      assert.equal(d.directive, directive);
    }
    if (directive === 'SSLCARevocationCheck') {
      const [mode = '', ...flags] = args;
      assert.equal(r.config === undefined, crlCheckProblem(mode, flags) !== undefined);
    }
  }), { numRuns: 200 });
});
