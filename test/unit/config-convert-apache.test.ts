import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { formatDiagnostic, type SticklerConfig } from '../../src/config/model.ts';
import { comparable } from '../support/fixtures.ts';

/** The WSO2 Identity Server guide's virtual host, with the closing tags the blog post dropped. */
const SEED = `Listen 443
<IfModule mod_proxy.c>
<VirtualHost *:443>
 ServerAdmin techops@wso2.com
 ServerName localhost
 ServerAlias localhost
 ProxyRequests Off
 SSLEngine On
 SSLProxyEngine On
 SSLCertificateFile /home/asela/security/server.crt
 SSLCertificateKeyFile /home/asela/security/server.key
<Proxy *>
 Order deny,allow
 Allow from all
</Proxy>
ProxyPass /balancer-manager !
 ProxyPass / balancer://wso2.identity.domain/ lbmethod=byrequests stickysession=JSESSIONID
 ProxyPassReverse / https://localhost:9443/
 ProxyPassReverse / https://localhost:9444/
<Proxy balancer://wso2.identity.domain>
 BalancerMember https://localhost:9443 route=isNode1 loadfactor=1
 BalancerMember https://localhost:9444 route=isNode2 loadfactor=1
</Proxy>
</VirtualHost>
</IfModule>
`;

test('the WSO2 seed configuration converts to native YAML that loads to the same model', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-convert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'httpd.conf');
  writeFileSync(file, SEED);
  const apache = loadConfig(file);
  assert.ok(apache.config, apache.diagnostics.map(formatDiagnostic).join('\n'));
  const yaml = toYaml(apache.config);
  assert.match(yaml, /verify: none # Apache's default \(SSLProxyVerify none\)/);
  const native = loadNativeConfigText(yaml, join(dir, 'stickler.yaml'));
  assert.deepEqual(native.diagnostics.map(formatDiagnostic), []);
  assert.deepEqual(comparable(native.config), comparable(apache.config));
  assert.match(yaml, /stop-when-idle: 1800s # Stickler's default, which httpd lacks/);
});

test('header rules convert to header-rules that load back as the same rules, in order', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-convert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'httpd.conf');
  writeFileSync(file, `Listen 8080
Listen 8081
RequestHeader set X-Forwarded-Proto https
<VirtualHost *:8080>
 Header add Set-Cookie "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/" env=BALANCER_ROUTE_CHANGED
 Header echo ^X-Trace
 ProxyPass / balancer://mycluster/ stickysession=ROUTEID
 <Proxy balancer://mycluster>
  BalancerMember http://127.0.0.1:9001 route=node1
  Header always edit* X-Note "a\\tb" "say \\"\\"" env=!HTTPS
 </Proxy>
 <Proxy balancer://mycluster/app/*>
  Header always set X-App "1"
 </Proxy>
 <Proxy http://127.0.0.1:9002/x/>
  RequestHeader append X-Via ""
 </Proxy>
 <Location /api>
  RequestHeader unset Authorization
 </Location>
</VirtualHost>
<VirtualHost *:8081>
 ProxyPass / balancer://mycluster/
</VirtualHost>
`);
  const apache = loadConfig(file);
  assert.ok(apache.config, apache.diagnostics.map(formatDiagnostic).join('\n'));
  const yaml = toYaml(apache.config);
  assert.match(yaml, /- direction: response\n\s+action: add\n\s+header: Set-Cookie\n\s+value: ROUTEID=\.%\{BALANCER_WORKER_ROUTE\}e; path=\/\n\s+env: BALANCER_ROUTE_CHANGED/);
  const native = loadNativeConfigText(yaml, join(dir, 'stickler.yaml'));
  assert.deepEqual(native.diagnostics.map(formatDiagnostic), []);
  const rules = (config: SticklerConfig | undefined) => config?.virtualHosts.map((v) => (v.headerRules ?? []).map(({ source: _, ...rule }) => rule));
  assert.equal(rules(apache.config)?.[0]?.length, 7);
  assert.deepEqual(rules(native.config), rules(apache.config));
});

test('client certificates to members, of a virtual host, a <Proxy balancer://> and a <Proxy URL>, convert to client-certificate keys that load back the same', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-convert-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'httpd.conf');
  writeFileSync(file, `Listen 8080
SSLProxyEngine on
SSLProxyMachineCertificateFile /etc/ssl/proxy.pem
SSLProxyMachineCertificateChainFile /etc/ssl/proxy-chain.pem
<VirtualHost *:8080>
 ProxyPass /a balancer://a/
 ProxyPass /b https://127.0.0.1:9002/
 <Proxy balancer://a>
  BalancerMember https://127.0.0.1:9001 route=n1
  SSLProxyMachineCertificateFile /etc/ssl/a.pem
  SSLProxyMachineCertificateChainFile /etc/ssl/a-chain.pem
 </Proxy>
 <Proxy https://127.0.0.1:9002>
  SSLProxyMachineCertificateFile /etc/ssl/member.pem
 </Proxy>
</VirtualHost>
`);
  const apache = loadConfig(file);
  assert.ok(apache.config, apache.diagnostics.map(formatDiagnostic).join('\n'));
  const vhost = apache.config.virtualHosts[0]!;
  assert.deepEqual([vhost.backendTls.clientCertificate?.certificateFile, vhost.backendTls.clientCertificate?.keyFile, vhost.backendTls.clientCertificate?.chainFile],
    ['/etc/ssl/proxy.pem', '/etc/ssl/proxy.pem', '/etc/ssl/proxy-chain.pem'], 'the main server\'s is inherited, certificate and key in one file');
  const a = apache.config.balancers.find((b) => b.name === 'a')!;
  assert.deepEqual([a.clientCertificate?.certificateFile, a.clientCertificate?.chainFile, a.clientCertificate?.source.line], ['/etc/ssl/a.pem', '/etc/ssl/a-chain.pem', 10]);
  const member = apache.config.balancers.flatMap((b) => b.members).find((m) => m.url.includes('9002'))!;
  assert.equal(member.clientCertificate?.certificateFile, '/etc/ssl/member.pem');
  // A plain-URL worker has no native form (its balancer is named by its URL): the rest converts.
  const balancers = apache.config.balancers.filter((b) => b.name === 'a');
  const convertible = { ...apache.config, balancers, virtualHosts: [{ ...vhost, routes: vhost.routes.filter((r) => r.path === '/a') }] };
  const yaml = toYaml(convertible);
  assert.match(yaml, /client-certificate:\n\s+certificate-file: \/etc\/ssl\/a\.pem\n\s+key-file: \/etc\/ssl\/a\.pem\n\s+chain-file: \/etc\/ssl\/a-chain\.pem/);
  const native = loadNativeConfigText(yaml, join(dir, 'stickler.yaml'));
  assert.deepEqual(native.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), []);
  assert.deepEqual(comparable(native.config), comparable(convertible));
});
