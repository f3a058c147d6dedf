import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';
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
});
