// Debian's real /etc/apache2 (installed by scripts/setup-debian.sh), copied and used as an operator would: the
// modules the site needs enabled, ports.conf and envvars edited, the seed's site in sites-enabled. --check passes
// with a handful of warnings and the start serves the site; each file kind broken is refused by --check at its
// file:line, and the start refuses with the same words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testCertificate } from '../support/certs.ts';
import { request } from '../support/client.ts';
import { localCertificate } from '../support/engine.ts';
import { freePort } from '../support/ports.ts';
import { RecordingBackend } from '../support/recording-backend.ts';
import { CLI, startStickler } from '../support/stickler.ts';

const MODULES = ['ssl.load', 'ssl.conf', 'socache_shmcb.load', 'proxy.load', 'proxy.conf', 'proxy_http.load', 'proxy_balancer.load', 'proxy_balancer.conf', 'lbmethod_byrequests.load'];

interface Tree {
  root: string;
  conf: string;
  site: string;
  /** The site as the configuration reads it: through its sites-enabled link. */
  enabled: string;
  port: number;
  certFile: string;
  keyFile: string;
  members: number[];
  /** The site's lines 1-based, with `extra` after SSLCertificateKeyFile (line 7). */
  writeSite(files?: { cert?: string; key?: string; ca?: string }, extra?: string[]): void;
}

async function debianTree(dir: string, members: number[]): Promise<Tree> {
  const root = join(dir, 'apache2');
  cpSync('/etc/apache2', root, { recursive: true, verbatimSymlinks: true });
  for (const name of MODULES) symlinkSync(`../mods-available/${name}`, join(root, 'mods-enabled', name));
  const [httpPort, port] = [await freePort(), await freePort()];
  const ports = readFileSync(join(root, 'ports.conf'), 'utf8');
  writeFileSync(join(root, 'ports.conf'), ports.replace(/^Listen 80$/m, `Listen 127.0.0.1:${httpPort}`).replace(/^(\s*)Listen 443$/gm, `$1Listen 127.0.0.1:${port}`));
  const vhost = join(root, 'sites-available', '000-default.conf');
  writeFileSync(vhost, readFileSync(vhost, 'utf8').replace('<VirtualHost *:80>', `<VirtualHost *:${httpPort}>`));
  for (const d of ['logs', 'run', 'lock']) mkdirSync(join(dir, d));
  const envvars = readFileSync(join(root, 'envvars'), 'utf8')
    .replace(/^export APACHE_LOG_DIR=.*$/m, `export APACHE_LOG_DIR=${join(dir, 'logs')}`)
    .replace(/^export APACHE_RUN_DIR=.*$/m, `export APACHE_RUN_DIR=${join(dir, 'run')}`)
    .replace(/^export APACHE_LOCK_DIR=.*$/m, `export APACHE_LOCK_DIR=${join(dir, 'lock')}`);
  writeFileSync(join(root, 'envvars'), envvars);
  const { certFile, keyFile } = await testCertificate(dir);
  const site = join(root, 'sites-available', 'wso2-identity.conf');
  const enabled = join(root, 'sites-enabled', 'wso2-identity.conf');
  symlinkSync('../sites-available/wso2-identity.conf', enabled);
  const tree: Tree = {
    root, conf: join(root, 'apache2.conf'), site, enabled, port, certFile, keyFile, members,
    writeSite(files = {}, extra = []) {
      writeFileSync(site, [
        `<VirtualHost *:${port}>`,
        ' ServerName localhost',
        ' ProxyRequests Off',
        ' SSLEngine On',
        ' SSLProxyEngine On',
        ` SSLCertificateFile ${files.cert ?? certFile}`,
        ` SSLCertificateKeyFile ${files.key ?? keyFile}`,
        ...extra,
        ' SSLProxyVerify require',
        ` SSLProxyCACertificateFile ${files.ca ?? localCertificate().certFile}`,
        ' ProxyPass /balancer-manager !',
        ' ProxyPass / balancer://wso2.identity.domain/ stickysession=JSESSIONID|jsessionid scolonpathdelim=On',
        ' <Proxy balancer://wso2.identity.domain>',
        ...members.map((p, i) => `  BalancerMember https://127.0.0.1:${p} route=isNode${i + 1}`),
        ' </Proxy>',
        '</VirtualHost>',
      ].join('\n') + '\n');
    },
  };
  tree.writeSite();
  return tree;
}

function check(conf: string): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, '--check', '--config', conf], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr };
}

test("Debian's real tree with the seed's site: --check passes with at most 12 warnings, the start serves the site, broken files are refused first", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-debian-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const backend = await RecordingBackend.start(2);
  t.after(() => backend.close());
  const tree = await debianTree(dir, backend.ports);

  const ok = check(tree.conf);
  assert.equal(ok.code, 0, ok.stderr);
  const warnings = ok.stderr.split('\n').filter((l) => l.startsWith('warning: '));
  assert.ok(warnings.length <= 12, `${warnings.length} warning lines:\n${ok.stderr}`);
  assert.match(ok.stderr, /ignored \d+ directives with no meaning for a load balancer \(.*\); --verbose lists them/);

  const stickler = await startStickler(tree.conf);
  try {
    const res = await request(`https://127.0.0.1:${tree.port}/`, { timeoutMs: 10_000 });
    assert.equal(res.status, 200);
  } finally {
    await stickler.stop();
  }

  const other = join(dir, 'other');
  mkdirSync(other);
  const { keyFile: otherKey } = await testCertificate(other);
  const apr1 = join(dir, 'htpasswd');
  writeFileSync(apr1, 'ops:$apr1$x$y\n');
  const cases: Array<[string, () => void, RegExp]> = [
    ['certificate', () => tree.writeSite({ cert: join(dir, 'absent.crt') }), new RegExp(`^${tree.enabled}:6: SSLCertificateFile: cannot read .*absent\\.crt: no such file`, 'm')],
    ['key', () => tree.writeSite({ key: join(dir, 'absent.key') }), new RegExp(`^${tree.enabled}:7: SSLCertificateKeyFile: cannot read .*absent\\.key: no such file`, 'm')],
    ['key mismatch', () => tree.writeSite({ key: otherKey }), new RegExp(`^${tree.enabled}:7: SSLCertificateKeyFile: the private key in .* does not match the certificate`, 'm')],
    ['CA', () => tree.writeSite({ ca: join(dir, 'absent-ca.pem') }), new RegExp(`^${tree.enabled}:9: SSLProxyCACertificateFile: cannot read .*absent-ca\\.pem`, 'm')],
    ['htpasswd', () => tree.writeSite({}, [' <Location /balancer-manager>', '  SetHandler balancer-manager', '  AuthType Basic', '  AuthName manager', `  AuthUserFile ${apr1}`, '  Require valid-user', ' </Location>']), new RegExp(`^${tree.enabled}:12: AuthUserFile: .*htpasswd:1: user "ops" has an Apache MD5`, 'm')],
    ['log directory', () => {
      tree.writeSite();
      rmSync(join(dir, 'logs'), { recursive: true });
    }, new RegExp(`^${tree.root}/conf-enabled/other-vhosts-access-log.conf:2: CustomLog: cannot create .*: the directory .*logs does not exist`, 'm')],
  ];
  for (const [kind, breakIt, expected] of cases) {
    breakIt();
    const refused = check(tree.conf);
    assert.equal(refused.code, 2, `${kind}: ${refused.stderr}`);
    assert.match(refused.stderr, expected, kind);
  }
  // The start reads through the same verification: same words, and it never listens.
  const start = spawnSync(process.execPath, [CLI, '--config', tree.conf], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(start.status, 2);
  assert.match(start.stderr, cases.at(-1)![2]);
});
