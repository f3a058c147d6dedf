// Real httpd configuration as distributions ship it: Debian's stock /etc/apache2 tree with the WSO2 blog's site
// enabled (a2enmod ssl proxy proxy_http proxy_balancer lbmethod_byrequests; a2ensite), and the rule that every
// directive httpd knows loads (ignored with one warning) while a name httpd does not know is an error.
// `apache2 -t -d test/fixtures/apache/debian -f stickler.conf` says Syntax OK for the same tree (with the ${...}
// directories and certificate paths pointed at existing files).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadApacheConfig, loadApacheConfigText } from '../../src/config/apache/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';

const debian = (name: string) => fileURLToPath(new URL(`../fixtures/apache/debian/${name}`, import.meta.url));

test('Debian\'s stock apache2.conf tree with the seed site loads, with one warning per ignored line', () => {
  const r = loadApacheConfig(debian('stickler.conf'));
  const all = r.diagnostics.map(formatDiagnostic);
  assert.ok(r.config, all.join('\n'));
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  const lines = r.diagnostics.map((d) => `${d.file}:${d.line}`);
  assert.equal(new Set(lines).size, lines.length, 'no line is reported twice');
  const expected = [
    `${debian('apache2.conf')}:87: PidFile: ignored: PidFile has no meaning for Stickler`,
    `${debian('mods-enabled/mpm_event.conf')}:8: StartServers: ignored: StartServers has no meaning for Stickler`,
    `${debian('mods-enabled/ssl.conf')}:41: SSLSessionCache: ignored: SSLSessionCache has no meaning for Stickler`,
    `${debian('mods-enabled/ssl.conf')}:57: SSLCipherSuite: "HIGH:!aNULL" also selects ciphers outside Mozilla's intermediate profile; those are never offered`,
    `${debian('mods-enabled/ssl.conf')}:71: SSLProtocol: TLSv1 and TLSv1.1 are never offered: Stickler offers TLSv1.2 and TLSv1.3 only`,
    `${debian('conf-enabled/security.conf')}:12: ServerTokens: ignored: ServerTokens has no meaning for Stickler`,
    `${debian('sites-enabled/000-default.conf')}:12: DocumentRoot: ignored: DocumentRoot has no meaning for Stickler`,
  ];
  for (const line of expected) assert.ok(all.includes(line), `missing: ${line}`);
  // ports.conf opens 443 for ssl_module and again for mod_gnutls.c; only ssl_module is loaded (mods-enabled/ssl.load).
  assert.deepEqual(r.config.listeners.map((l) => `${l.source.line} ${l.host}:${l.port}`), ['5 0.0.0.0:80', '8 0.0.0.0:443']);
  const other = all.filter((d) => !/: ignored: /.test(d));
  assert.deepEqual(other.map((d) => d.replace(/^.*\/debian\//, '').replace(/: .*$/, '')), [
    'mods-enabled/ssl.conf:57', // SSLCipherSuite HIGH:!aNULL: its CBC and static-RSA ciphers stay off
    'mods-enabled/ssl.conf:71', // SSLProtocol all -SSLv3: TLSv1 and TLSv1.1 stay off
    'sites-enabled/wso2-identity.conf:20', // stickysession=JSESSIONID misses ;jsessionid=
    'sites-enabled/wso2-identity.conf:10', // backend verification is off
  ]);

  const c = r.config;
  assert.deepEqual(c.listeners.map((l) => [l.host, l.port, l.tls]), [['0.0.0.0', 80, false], ['0.0.0.0', 443, true]]);
  assert.equal(c.timeout, 300_000, 'Timeout 300 from apache2.conf');
  assert.deepEqual(c.log.logs?.map((l) => [l.destination, l.format.kind === 'apache' && l.format.text]), [
    ['/var/log/apache2/other_vhosts_access.log', '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"'],
  ], 'other-vhosts-access-log.conf, in the vhost_combined format of apache2.conf');
  assert.equal(c.log.access, undefined);
  assert.deepEqual(c.virtualHosts.map((v) => v.logs?.map((l) => [l.destination, l.format.kind === 'apache' && l.format.text])), [
    [['/var/log/apache2/access.log', '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"']],
    undefined,
  ], '000-default.conf has its own CustomLog (combined); the seed site logs to the server\'s');
  assert.deepEqual(c.virtualHosts.map((v) => [v.port, v.serverName, v.tls?.certificateFile]), [
    [80, undefined, undefined],
    [443, 'localhost', '/etc/ssl/certs/ssl-cert-snakeoil.pem'],
  ]);
  const site = c.virtualHosts[1];
  assert.deepEqual(site?.routes.map((route) => [route.path, route.target.kind]), [['/balancer-manager', 'exclude'], ['/', 'balancer']]);
  assert.deepEqual(c.balancers.map((b) => [b.name, b.members.map((m) => m.route)]), [['wso2.identity.domain', ['isNode1', 'isNode2']]]);
});

function load(lines: string[]) {
  return loadApacheConfigText(['Listen 80', ...lines].join('\n') + '\n', 't.conf').diagnostics.map(formatDiagnostic);
}

test('a real httpd directive Stickler does not list is ignored with one warning naming its module', () => {
  assert.deepEqual(load(['CacheRoot /var/cache/apache2/mod_cache_disk', 'cachedirlevels 2', 'ProxyHTMLLinks a href']), [
    't.conf:2: CacheRoot: ignored: CacheRoot has no meaning for Stickler (it does not implement mod_cache_disk)',
    't.conf:3: CacheDirLevels: ignored: CacheDirLevels has no meaning for Stickler (it does not implement mod_cache_disk)',
    't.conf:4: ProxyHTMLLinks: ignored: ProxyHTMLLinks has no meaning for Stickler (it does not implement mod_proxy_html)',
  ]);
});

test('a real httpd section Stickler does not list is ignored as a whole', () => {
  assert.deepEqual(load(['<MDomain example.org>', 'MDMember www.example.org', '</MDomain>']), [
    't.conf:2: <MDomain>: ignored: <MDomain example.org> and everything inside it has no meaning for Stickler',
  ]);
});

test('a name httpd does not know is still an error, with the nearest real name', () => {
  assert.deepEqual(load(['CacheRooot /x']), [
    't.conf:2: CacheRooot: unknown directive (did you mean "CacheRoot"?); expected an Apache httpd 2.4 directive',
  ]);
});

test('backend CA and client certificate directories are refused, not ignored; a client chain needs its certificate', () => {
  assert.deepEqual(load(['SSLProxyCACertificatePath /etc/ssl/certs', 'SSLProxyMachineCertificatePath /etc/ssl/client', 'SSLProxyMachineCertificateChainFile /x.pem']), [
    't.conf:2: SSLProxyCACertificatePath: a CA certificate directory is not supported by Stickler; expected SSLProxyCACertificateFile with the CA certificates in one PEM file',
    't.conf:3: SSLProxyMachineCertificatePath: a client certificate directory is not supported by Stickler; expected SSLProxyMachineCertificateFile naming one PEM file with the certificate and its key',
    't.conf:4: SSLProxyMachineCertificateChainFile: a chain with no certificate to complete; expected SSLProxyMachineCertificateFile in this virtual host or the main server',
  ]);
});

test('<IfVersion> is answered for httpd 2.4.71, as apache2 2.4.71 answers it', () => {
  // Each case was checked with `apache2 -t` on a config whose <IfVersion> body holds an invalid line.
  const cases: Array<[string, boolean]> = [
    ['>= 2.4', true], ['2.4', false], ['< 2.4.72', true], ['> 2.4.71', false], ['!~ ^2\\.2', true],
    ['/^2\\.4/', true], ['= /^2\\.4/', true], ['== 2', false], ['<= 2.4.70', false], ['!= 2.4', true],
    ['!< 2.4', true], ['!>= 2.4', false], ['2.4.71', true], ['> 2', true], ['< 3', true],
  ];
  for (const [condition, applies] of cases) {
    const r = loadApacheConfigText(`Listen 80\n<IfVersion ${condition}>\nListen 81\n</IfVersion>\n`, 't.conf');
    assert.equal(r.config?.listeners.length, applies ? 2 : 1, `<IfVersion ${condition}>`);
  }
});

test('a portable 2.2/2.4 access block keeps the 2.4 branch', () => {
  const r = loadApacheConfigText([
    'Listen 80', '<Location /balancer-manager>', 'SetHandler balancer-manager',
    '<IfVersion < 2.4>', 'Order deny,allow', 'Deny from all', '</IfVersion>',
    '<IfVersion >= 2.4>', 'Require local', '</IfVersion>', '</Location>',
  ].join('\n'), 't.conf');
  assert.deepEqual(r.config?.virtualHosts[0]?.locations[0]?.access.map((a) => a.kind === 'require' && a.match), ['local']);
});

test('a malformed <IfVersion> is an error', () => {
  assert.deepEqual(load(['<IfVersion >> 2.4>', 'Listen 81', '</IfVersion>', '<IfVersion >= two>', '</IfVersion>']), [
    't.conf:2: <IfVersion>: unknown operator ">>"; expected <IfVersion [[!]operator] version> such as <IfVersion >= 2.4> or <IfVersion ~ ^2\\.4>',
    't.conf:5: <IfVersion>: "two" is not a version; expected <IfVersion [[!]operator] version> such as <IfVersion >= 2.4> or <IfVersion ~ ^2\\.4>',
  ]);
});
