// A RHEL/Fedora tree as it is (/etc/httpd: conf/httpd.conf with ServerRoot "/etc/httpd", conf.modules.d, conf.d),
// copied to a temporary directory with the paths moved there, as an operator tries a copy: it passes what --check
// runs, relative paths resolve against ServerRoot, and <IfModule> follows the LoadModule lines of conf.modules.d.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.ts';
import { diagnosticLines, sitesOf } from '../../src/config/diagnostics.ts';
import { formatDiagnostic } from '../../src/config/model.ts';
import { diskFiles, verified, type VerifyFiles } from '../../src/check/verify.ts';
import { testCertificate } from '../support/certs.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/apache/rhel', import.meta.url));

/** The fixture under `root`, with /etc/httpd and /etc/pki/tls moved there and the machine's certificate made. */
async function rhelTree(t: { after(fn: () => void): void }): Promise<{ root: string; main: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-rhel-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'httpd');
  cpSync(FIXTURE, root, { recursive: true });
  const pki = join(dir, 'pki');
  mkdirSync(join(pki, 'certs'), { recursive: true });
  mkdirSync(join(pki, 'private'));
  const { certFile, keyFile } = await testCertificate(dir);
  cpSync(certFile, join(pki, 'certs', 'localhost.crt'));
  cpSync(keyFile, join(pki, 'private', 'localhost.key'));
  mkdirSync(join(root, 'logs'));
  for (const sub of ['conf', 'conf.d']) {
    for (const name of readdirSync(join(root, sub))) {
      const file = join(root, sub, name);
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll('/etc/httpd', root).replaceAll('/etc/pki/tls', pki));
    }
  }
  return { root, main: join(root, 'conf', 'httpd.conf') };
}

// RHEL's `User apache` and `Group apache`, an account this Debian machine lacks; without owners and modes the
// files it would write are not checked for it (test/integration/privileges.test.ts does that).
const { mode: _modes, ...noModes } = diskFiles;
const rhelFiles: VerifyFiles = { ...noModes, accounts: { user: () => ({ name: 'apache', uid: 48, gid: 48 }), group: () => ({ name: 'apache', gid: 48 }) } };

test('a RHEL tree passes the verification --check runs, with few warnings, the site\'s first', async (t) => {
  const { root, main } = await rhelTree(t);
  const result = verified(loadConfig(main), rhelFiles);
  assert.ok(result.config, result.diagnostics.map(formatDiagnostic).join('\n'));
  const lines = diagnosticLines(result.diagnostics, { sites: sitesOf(result) }).map((line) => /^(?:warning: )?\S+?(?::\d+: \S+|: ignored \d+)/.exec(line)?.[0].replaceAll(root, '.'));
  // Both files of conf.d hold a virtual host: the operator's sites. The rest is summed up in one line.
  assert.deepEqual(lines, [
    'warning: ./conf.d/ssl.conf:15: SSLCipherSuite:',
    'warning: ./conf.d/wso2-identity.conf:16: ProxyPass:',
    'warning: .: ignored 34',
  ]);
});

test('on a RHEL tree, relative paths resolve against ServerRoot and <IfModule> follows conf.modules.d', async (t) => {
  const { root, main } = await rhelTree(t);
  const config = verified(loadConfig(main), rhelFiles).config!;
  // conf/httpd.conf's `Include conf.modules.d/*.conf` and `IncludeOptional conf.d/*.conf` are ServerRoot's.
  assert.deepEqual(config.listeners.map((l) => `${l.host} ${l.port}${l.tls ? ' tls' : ''}`), ['0.0.0.0 80', '0.0.0.0 443 tls', '0.0.0.0 9443 tls']);
  assert.deepEqual(config.balancers.map((b) => `${b.name} ${b.members.map((m) => m.route).join(',')}`), ['wso2.identity.domain node1,node2']);
  // `CustomLog "logs/access_log"` in the main server, `logs/wso2_access_log` in the site: under ServerRoot.
  const destinations = [...(config.log.logs ?? []), ...config.virtualHosts.flatMap((vh) => vh.logs ?? [])].map((l) => l.destination);
  assert.ok(destinations.includes(join(root, 'logs', 'access_log')), destinations.join('\n'));
  assert.ok(destinations.includes(join(root, 'logs', 'wso2_access_log')), destinations.join('\n'));
  assert.ok(destinations.every((d) => d === undefined || d.startsWith(root)), destinations.join('\n'));
  assert.equal(config.environment, undefined, 'RHEL has no envvars');
});
