// mod_md's directives and the native acme keys into the model, their refusals at file:line, and `stickler convert`
// from one to the other keeping every setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { formatDiagnostic, type ManagedDomain } from '../../src/config/model.ts';

const apache = (lines: string[]) => {
  const r = loadApacheConfigText(`${lines.join('\n')}\n`, '/etc/stickler/t.conf');
  return { config: r.config, messages: r.diagnostics.map(formatDiagnostic) };
};

const TLS_HOST = ['<VirtualHost *:443>', '  ServerName www.example.org', '  ServerAlias example.org', '  SSLEngine on', '</VirtualHost>'];

const settingsOf = (d: ManagedDomain | undefined) => d && { names: d.names, ...d.settings };

test('MDomain with the main server\'s settings gives the TLS host its certificate from the store, no SSLCertificateFile needed', () => {
  const { config, messages } = apache([
    'Listen 80', 'Listen 443', 'ServerAdmin webmaster@example.org',
    'MDCertificateAuthority LetsEncrypt-Test', 'MDCertificateAgreement accepted', 'MDStoreDir /var/lib/md',
    'MDRenewWindow 21d', 'MDCAChallenges tls-alpn-01 http-01', 'MDPrivateKeys RSA 3072', 'MDPortMap http:8080 https:8443',
    'MDomain www.example.org', ...TLS_HOST,
  ]);
  assert.ok(config, messages.join('\n'));
  const vh = config.virtualHosts.find((v) => v.port === 443)!;
  assert.deepEqual(settingsOf(vh.acme), {
    names: ['www.example.org', 'example.org'], caUrl: 'https://acme-staging-v02.api.letsencrypt.org/directory', contactEmail: 'webmaster@example.org',
    agreementAccepted: true, storeDir: '/var/lib/md', renewWindow: { kind: 'duration', ms: 21 * 86_400_000 }, challenges: ['tls-alpn-01', 'http-01'],
    keyType: 'rsa3072', renewMode: 'auto', portMap: { http: 8080, https: 8443 },
  });
  assert.equal(vh.tls?.certificateFile, '/var/lib/md/domains/www.example.org/pubcert.pem');
  assert.equal(vh.tls?.keyFile, '/var/lib/md/domains/www.example.org/privkey.pem');
  assert.deepEqual(config.managedDomains, [vh.acme]);
});

test('<MDomainSet> settings are the domain\'s own; MDMembers manual keeps only the listed names; the store defaults to md beside ServerRoot', () => {
  const { config, messages } = apache([
    'Listen 443', 'MDCertificateAgreement accepted', 'MDContactEmail ops@example.org',
    '<MDomainSet www.example.org>', '  MDMembers manual', '  MDMember static.example.org', '  MDRenewMode manual', '  MDRenewWindow 50%', '</MDomainSet>',
    ...TLS_HOST,
  ]);
  assert.ok(config, messages.join('\n'));
  const d = config.managedDomains![0]!;
  assert.deepEqual(d.names, ['www.example.org', 'static.example.org']);
  assert.equal(d.settings.renewMode, 'manual');
  assert.deepEqual(d.settings.renewWindow, { kind: 'percent', percent: 50 });
  assert.equal(d.settings.contactEmail, 'ops@example.org');
  assert.equal(d.settings.storeDir, '/etc/stickler/md');
});

test('mod_md refusals and warnings name the line and say why', () => {
  const cases: Array<[string[], RegExp]> = [
    [['MDomain *.example.org'], /t\.conf:1: MDomain: "\*\.example\.org" is a wildcard, which only DNS-01 can prove/],
    [['MDCAChallenges dns-01'], /t\.conf:1: MDCAChallenges: no challenge type Stickler answers/],
    [['MDRenewWindow soon'], /t\.conf:1: MDRenewWindow: "soon" is not a renew window/],
    [['MDCertificateAuthority http://ca.example/dir'], /t\.conf:1: MDCertificateAuthority: "http:\/\/ca\.example\/dir" is not an https:\/\/ URL/],
    [['MDContactEmail nobody'], /t\.conf:1: MDContactEmail: "nobody" is not an e-mail address/],
    [['MDRequireHttps temporary'], /t\.conf:1: MDRequireHttps: is not implemented by Stickler; expected a plain virtual host that redirects/],
    [['MDChallengeDns01 /usr/bin/dns'], /t\.conf:1: MDChallengeDns01: dns-01 is not supported by Stickler/],
    [['MDPortMap http:99999'], /t\.conf:1: MDPortMap: "http:99999" is not a port mapping/],
    [['MDPrivateKeys DSA'], /t\.conf:1: MDPrivateKeys: "DSA" is not a key type Stickler makes/],
    [['<VirtualHost *:443>', 'MDomain www.example.org', '</VirtualHost>'], /t\.conf:2: MDomain: not allowed inside a <VirtualHost>/],
    [['MDMember www.example.org'], /t\.conf:1: MDMember: not allowed inside the main server/],
  ];
  for (const [lines, expected] of cases) {
    const { messages } = apache(['Listen 443', ...lines].slice(1));
    assert.ok(messages.some((m) => expected.test(m)), `${expected}: ${messages.join('\n')}`);
  }
  // The host is not the domain's, and has no certificate of its own: refused, with the reason the domain does not cover it.
  const { messages } = apache(['Listen 443', 'MDomain other.example.org', 'MDPrivateKeys secp256r1 RSA', ...TLS_HOST]);
  assert.ok(messages.some((m) => /t\.conf:7: SSLEngine: SSLEngine On without a certificate/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /t\.conf:2: MDomain: no TLS virtual host .* has other\.example\.org/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /t\.conf:3: MDPrivateKeys: only the first key type is used/.test(m)), messages.join('\n'));
  assert.ok(messages.some((m) => /MDCertificateAgreement: no certificate can be ordered for other\.example\.org until/.test(m)), messages.join('\n'));
});

const NATIVE = (vhostAcme: string, extra = '') => `listeners:
  - { port: 443, tls: true }
acme:
  ca-url: https://ca.example/dir
  agreement-accepted: true
  store-dir: /var/lib/acme
  renew-window: 10d
${extra}virtual-hosts:
  - port: 443
    server-name: www.example.org
    server-admin: admin@example.org
${vhostAcme}
`;

test('native: the acme section and a virtual host\'s acme (true, or overrides) make the same model', () => {
  const r = loadNativeConfigText(NATIVE('    acme: true'), '/etc/stickler/s.yaml');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(settingsOf(r.config.virtualHosts[0]!.acme), {
    names: ['www.example.org'], caUrl: 'https://ca.example/dir', contactEmail: 'admin@example.org', agreementAccepted: true, storeDir: '/var/lib/acme',
    renewWindow: { kind: 'duration', ms: 10 * 86_400_000 }, challenges: ['http-01', 'tls-alpn-01'], keyType: 'rsa2048', renewMode: 'auto', portMap: { http: 80, https: 443 },
  });
  const own = loadNativeConfigText(NATIVE('    acme: { names: [a.example.org, b.example.org], renew-window: 20%, challenges: [tls-alpn-01] }'), '/etc/stickler/s.yaml');
  assert.ok(own.config, own.diagnostics.map(formatDiagnostic).join('\n'));
  assert.deepEqual(own.config.managedDomains![0]!.names, ['a.example.org', 'b.example.org']);
  assert.deepEqual(own.config.managedDomains![0]!.settings.renewWindow, { kind: 'percent', percent: 20 });
  assert.deepEqual(own.config.managedDomains![0]!.settings.challenges, ['tls-alpn-01']);
});

test('native: bad acme values and a TLS host with neither files nor acme are errors at their key', () => {
  const cases: Array<[string, RegExp]> = [
    [NATIVE('    acme: { names: ["*.example.org"] }'), /acme\.names\[0\]|names.*wildcard/],
    [NATIVE('    acme: { renew-window: often }'), /renew-window.*"often" is not a renew window/],
    [NATIVE('    acme: { challenges: [dns-01] }'), /challenges/],
    [NATIVE('    acme: true', '  contact-email: nobody\n'), /acme\.contact-email.*not an e-mail address/],
    [NATIVE('    tls: { profile: modern }'), /tls\.certificate-file: is required \(unless the virtual host has acme/],
  ];
  for (const [text, expected] of cases) {
    const messages = loadNativeConfigText(text, '/etc/stickler/s.yaml').diagnostics.map(formatDiagnostic);
    assert.ok(messages.some((m) => /^\/etc\/stickler\/s\.yaml:\d+: /.test(m) && expected.test(m)), `${expected}: ${messages.join('\n')}`);
  }
});

test('stickler convert: mod_md becomes native acme keys that load back to the same domain', () => {
  const { config } = apache([
    'Listen 443', 'MDCertificateAuthority https://ca.example/dir', 'MDCACertificateFile /etc/ssl/ca.pem', 'MDCertificateAgreement accepted',
    'MDContactEmail ops@example.org', 'MDStoreDir /var/lib/md', 'MDRenewWindow 33%', 'MDCAChallenges tls-alpn-01', 'MDPrivateKeys secp384r1',
    'MDRenewMode always', 'MDPortMap https:8443', 'MDomain www.example.org', ...TLS_HOST,
  ]);
  assert.ok(config);
  const yaml = toYaml(config);
  const back = loadNativeConfigText(yaml, '/etc/stickler/converted.yaml');
  assert.ok(back.config, `${yaml}\n${back.diagnostics.map(formatDiagnostic).join('\n')}`);
  assert.deepEqual(settingsOf(back.config.managedDomains?.[0]), settingsOf(config.managedDomains?.[0]));
  assert.doesNotMatch(yaml, /^\s*(certificate|key)-file/m);
  assert.deepEqual(loadNativeConfigText(toYaml(back.config), '/etc/stickler/again.yaml').config?.managedDomains?.map(settingsOf), back.config.managedDomains?.map(settingsOf));
});

test('a name in two managed domains is an error at the later one: their certificates would replace each other in the store', () => {
  const { messages } = apache([
    'Listen 443', 'MDCertificateAgreement accepted', 'MDomain www.example.org example.org', 'MDomain www.example.org shop.example.org',
    ...TLS_HOST,
    '<VirtualHost *:443>', '  ServerName www.example.org', '  ServerAlias shop.example.org', '  SSLEngine on', '</VirtualHost>',
  ]);
  assert.ok(messages.some((m) => /^\/etc\/stickler\/t\.conf:4: MDomain: www\.example\.org is already in the managed domain at line 3/.test(m)), messages.join('\n'));
  const native = loadNativeConfigText(`${NATIVE('    acme: { names: [www.example.org, example.org] }')}  - port: 443
    server-name: www.example.org
    acme: { names: [www.example.org, shop.example.org] }
`, '/etc/stickler/s.yaml').diagnostics.map(formatDiagnostic);
  assert.ok(native.some((m) => /s\.yaml:\d+: virtual-hosts\[1\]\.acme: www\.example\.org is already in another virtual host's acme names/.test(m)), native.join('\n'));
  const same = loadNativeConfigText(`${NATIVE('    acme: true')}  - port: 443
    server-name: www.example.org
    acme: true
`, '/etc/stickler/s.yaml');
  assert.ok(!same.diagnostics.some((m) => /already in/.test(m.message)), 'the same names in the same store are one domain');
});
