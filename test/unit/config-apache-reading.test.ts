// How httpd reads files (lines, quotes, conditionals, Include, Define) and how its inheritance and ordering rules
// land in the model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApacheConfig, loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadConfig } from '../../src/config/load.ts';
import { readLogicalLines, tokenize } from '../../src/config/apache/lexer.ts';
import { ipMatch } from '../../src/config/apache/access.ts';
import { formatDiagnostic } from '../../src/config/model.ts';

function load(lines: string[]) {
  const r = loadApacheConfigText(lines.join('\n') + '\n', 't.conf');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return { config: r.config, diagnostics: r.diagnostics.map(formatDiagnostic) };
}

const BALANCER = ['<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080 route=n1', '</Proxy>'];

test('continuation lines join before comments are recognised; only leading # is a comment', () => {
  assert.deepEqual(readLogicalLines('# a \\\nstill comment\nServerName \\\n  x\n  # c\nListen 80'), [
    { line: 3, text: 'ServerName   x' },
    { line: 6, text: 'Listen 80' },
  ]);
});

test('quoted words keep spaces and escaped quotes', () => {
  assert.deepEqual(tokenize(`LogFormat "%h \\"%r\\"" 'a b' c`), { ok: true, words: ['LogFormat', '%h "%r"', 'a b', 'c'] });
});

test('IfModule is true unless negated while no LoadModule was read; IfDefine follows Define; ${VAR} is substituted', () => {
  const { config } = load([
    'Define PORT 8080',
    '<IfModule mod_proxy.c>', 'Listen ${PORT}', '</IfModule>',
    '<IfModule !proxy_module>', 'Listen 9999', 'NotEvenADirective', '</IfModule>',
    '<IfDefine PORT>', 'Listen 8081', '</IfDefine>',
    '<IfDefine !PORT>', 'Listen 8082', '</IfDefine>',
  ]);
  assert.deepEqual(config.listeners.map((l) => l.port), [8080, 8081]);
});

test('once a LoadModule is read, IfModule follows what was loaded before it, and the modules compiled into apache2', () => {
  const { config } = load([
    '<IfModule mod_ssl.c>', 'Listen 8001', '</IfModule>',
    'LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so',
    '<IfModule mod_ssl.c>', 'Listen 8002', '</IfModule>',
    '<IfModule ssl_module>', 'Listen 8003', '</IfModule>',
    '<IfModule mod_gnutls.c>', 'Listen 8004', '</IfModule>',
    '<IfModule !mod_gnutls.c>', 'Listen 8005', '</IfModule>',
    '<IfModule mod_proxy.c>', 'Listen 8006', '</IfModule>',
    '<IfModule log_config_module>', 'Listen 8007', '</IfModule>',
    'LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so',
    '<IfModule mod_proxy.c>', 'Listen 8008', '</IfModule>',
  ]);
  assert.deepEqual(config.listeners.map((l) => l.port), [8001, 8002, 8003, 8005, 8007, 8008]);
});

test('an undefined ${VAR} is an error that says where the value could come from', () => {
  const r = loadApacheConfigText('Listen 80\nServerAdmin ${NO_SUCH_STICKLER_VAR}\n', 't.conf');
  assert.equal(r.config, undefined);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    't.conf:2: ${NO_SUCH_STICKLER_VAR}: config variable ${NO_SUCH_STICKLER_VAR} is not defined; expected a Define NO_SUCH_STICKLER_VAR ... before this line, the variable in the environment, or an envvars file that exports it (--envvars FILE)',
  ]);
});

test('the envvars file beside the main file is read as apache2ctl reads it, over the environment; --envvars names another', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-envvars-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'envvars'), 'export STICKLER_TEST_PORT=8091\nexport STICKLER_TEST_ADMIN=${STICKLER_TEST_UNSET:-ops@example.com}\nulimit -n 65536\n');
  writeFileSync(join(dir, 'other'), 'export STICKLER_TEST_PORT=8092\nexport STICKLER_TEST_ADMIN=x@example.com\n');
  writeFileSync(join(dir, 'main.conf'), 'Listen ${STICKLER_TEST_PORT}\nServerAdmin ${STICKLER_TEST_ADMIN}\n');
  process.env.STICKLER_TEST_PORT = '8099';
  t.after(() => delete process.env.STICKLER_TEST_PORT);
  const beside = loadApacheConfig(join(dir, 'main.conf'));
  assert.deepEqual(beside.config?.listeners.map((l) => l.port), [8091]);
  assert.deepEqual(beside.diagnostics.map(formatDiagnostic), [
    `${join(dir, 'envvars')}:3: envvars: "ulimit -n 65536" is not an assignment, export or unset; apache2ctl would run it, Stickler leaves it out`,
  ]);
  // What httpd's children would inherit: the names envvars sets otherwise than Stickler's environment.
  assert.deepEqual(beside.config?.environment, { STICKLER_TEST_PORT: '8091', STICKLER_TEST_ADMIN: 'ops@example.com' });
  const named = loadApacheConfig(join(dir, 'main.conf'), { envvars: join(dir, 'other') });
  assert.deepEqual(named.config?.listeners.map((l) => l.port), [8092]);
  const missing = loadApacheConfig(join(dir, 'main.conf'), { envvars: join(dir, 'absent') });
  assert.match(missing.diagnostics.map(formatDiagnostic).join('\n'), /absent:0: envvars: cannot read the envvars file: ENOENT/);
  process.env.STICKLER_TEST_ADMIN = 'ops@example.com';
  t.after(() => delete process.env.STICKLER_TEST_ADMIN);
  assert.deepEqual(loadApacheConfig(join(dir, 'main.conf')).config?.environment, { STICKLER_TEST_PORT: '8091' });
  assert.equal(loadApacheConfigText('Listen 80\n', 't.conf').config?.environment, undefined);
});

test("the envvars file is found as apache2ctl finds it: $APACHE_ENVVARS, else $APACHE_CONFDIR/envvars, else beside the main file", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-envvars-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'confdir'));
  writeFileSync(join(dir, 'envvars'), 'export STICKLER_TEST_PORT=8091\n');
  writeFileSync(join(dir, 'confdir', 'envvars'), 'export STICKLER_TEST_PORT=8093\n');
  writeFileSync(join(dir, 'named'), 'export STICKLER_TEST_PORT=8094\n');
  writeFileSync(join(dir, 'main.conf'), 'Listen ${STICKLER_TEST_PORT}\n');
  const saved = { APACHE_ENVVARS: process.env.APACHE_ENVVARS, APACHE_CONFDIR: process.env.APACHE_CONFDIR };
  t.after(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const port = () => {
    const r = loadApacheConfig(join(dir, 'main.conf'));
    return { ports: r.config?.listeners.map((l) => l.port), diagnostics: r.diagnostics.map(formatDiagnostic) };
  };
  delete process.env.APACHE_ENVVARS;
  delete process.env.APACHE_CONFDIR;
  assert.deepEqual(port().ports, [8091]);
  process.env.APACHE_CONFDIR = join(dir, 'confdir');
  assert.deepEqual(port().ports, [8093]);
  process.env.APACHE_ENVVARS = join(dir, 'named');
  assert.deepEqual(port().ports, [8094]);
  assert.deepEqual(loadApacheConfig(join(dir, 'main.conf'), { envvars: join(dir, 'envvars') }).config?.listeners.map((l) => l.port), [8091]);
  // Named but absent: apache2ctl reads nothing then, without falling back to the file beside the main one.
  process.env.APACHE_ENVVARS = join(dir, 'absent');
  const absent = port();
  assert.equal(absent.ports, undefined);
  assert.deepEqual(absent.diagnostics.slice(0, 2), [
    `${join(dir, 'main.conf')}:0: envvars: ${join(dir, 'absent')} (from APACHE_ENVVARS in the environment) is not a file; apache2ctl reads no envvars then, and neither does Stickler; expected the envvars file there, or --envvars FILE`,
    `${join(dir, 'main.conf')}:1: \${STICKLER_TEST_PORT}: config variable \${STICKLER_TEST_PORT} is not defined; expected a Define STICKLER_TEST_PORT ... before this line, the variable in the environment, or an envvars file that exports it (--envvars FILE)`,
  ]);
});

test('--envvars with a native YAML configuration is an error: envvars is Apache\'s', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-envvars-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'stickler.yaml');
  writeFileSync(file, 'virtual-hosts:\n  - port: 8443\n');
  const r = loadConfig(file, { envvars: join(dir, 'envvars') });
  assert.equal(r.config, undefined);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    `${join(dir, 'envvars')}:0: --envvars: envvars is Apache's (apache2ctl sources it before httpd reads its configuration); a native YAML configuration such as ${file} reads no envvars file; expected --envvars only with an Apache configuration, and the variables in Stickler's environment`,
  ]);
});

test('Include with a glob reads matches in sorted order, relative to the including file', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-apache-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'sites'));
  writeFileSync(join(dir, 'sites', 'b.conf'), '<VirtualHost *:8443>\nServerName b\n</VirtualHost>\n');
  writeFileSync(join(dir, 'sites', 'a.conf'), '<VirtualHost *:8080>\nServerName a\n</VirtualHost>\n');
  writeFileSync(join(dir, 'main.conf'), 'Listen 8080\nListen 8443\nInclude sites/*.conf\nIncludeOptional nothing/*.conf\n');
  const r = loadApacheConfig(join(dir, 'main.conf'));
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(r.config?.virtualHosts.map((v) => [v.serverName, v.port, v.source.file, v.source.line]), [
    ['a', 8080, join(dir, 'sites', 'a.conf'), 1],
    ['b', 8443, join(dir, 'sites', 'b.conf'), 1],
  ]);
  assert.deepEqual(r.config?.listeners.map((l) => l.port), [8080, 8443], 'derived from the VirtualHost ports');
});

test('directive names are case-insensitive', () => {
  const { config } = load(['listen 80', 'proxypreservehost on']);
  assert.equal(config.virtualHosts[0]?.preserveHost, true);
});

test('main-server settings and ProxyPass rules are inherited, main-server rules first', () => {
  const { config } = load([
    'Listen 80', ...BALANCER, 'ProxyPreserveHost On', 'ProxyPass /main balancer://b/main',
    '<VirtualHost *:80>', 'ProxyAddHeaders Off', 'ProxyPass /own balancer://b/own', '</VirtualHost>',
  ]);
  const [v] = config.virtualHosts;
  assert.equal(config.virtualHosts.length, 1);
  assert.equal(v?.preserveHost, true);
  assert.equal(v?.addForwardedHeaders, false);
  assert.deepEqual(v?.routes.map((r) => r.path), ['/main', '/own']);
});

test('Location ProxyPass rules come first, the last matching Location first', () => {
  const { config } = load([
    'Listen 80', ...BALANCER, 'ProxyPass /srv balancer://b/srv',
    '<Location /app>', 'ProxyPass balancer://b/app', '</Location>',
    '<Location /app/admin>', 'ProxyPass !', '</Location>',
  ]);
  assert.deepEqual(config.virtualHosts[0]?.routes.map((r) => [r.path, r.target.kind]), [
    ['/app/admin', 'exclude'], ['/app', 'balancer'], ['/srv', 'balancer'],
  ]);
});

test('a plain URL target becomes a one-member balancer named after its origin', () => {
  const { config } = load(['Listen 80', 'ProxyPass /app http://10.0.0.9:8080/app retry=5 loadfactor=3']);
  assert.deepEqual(config.virtualHosts[0]?.routes[0]?.target, { kind: 'balancer', balancer: 'http://10.0.0.9:8080', path: '/app' });
  assert.deepEqual(config.balancers.map((b) => [b.name, b.members.map((m) => [m.url, m.retry, m.loadfactor])]), [
    ['http://10.0.0.9:8080', [['http://10.0.0.9:8080', 5000, 3]]],
  ]);
});

test('BalancerMember with the balancer as first argument, ProxySet on it, and worker parameters', () => {
  const { config } = load([
    'Listen 80',
    'BalancerMember balancer://c http://10.0.0.1:8080 route=a lbset=1 status=+H-H+D redirect=b timeout=5 connectiontimeout=250ms',
    'BalancerMember balancer://c http://10.0.0.2:8080 route=b loadfactor=1.5',
    'ProxySet balancer://c stickysession=ROUTEID stickysessionsep=Off timeout=3 failonstatus=502,503 forcerecovery=Off',
    'ProxyPass / balancer://c/',
  ]);
  const [b] = config.balancers;
  assert.equal(b?.stickySeparator, null);
  assert.equal(b?.timeout, 3000);
  assert.deepEqual(b?.failOnStatus, [502, 503]);
  assert.equal(b?.forceRecovery, false);
  assert.deepEqual(b?.members[0], {
    source: { file: 't.conf', line: 2 }, url: 'http://10.0.0.1:8080', route: 'a', redirect: 'b', loadfactor: 1, lbset: 1,
    status: ['D'], retry: 60_000, timeout: 5000, connectionTimeout: 250,
  });
  assert.equal(b?.members[1]?.loadfactor, 1.5);
});

test('access rules: legacy Order/Allow/Deny and Require with not', () => {
  const { config } = load([
    'Listen 80', '<Location /m>', 'SetHandler balancer-manager', 'Order Allow,Deny', 'Allow from 10.1 example.com', 'Deny from 10.1.2.0/255.255.255.0',
    'Require not ip 192.168.0.0/16', 'Require local', '</Location>',
  ]);
  assert.deepEqual(config.virtualHosts[0]?.locations[0]?.access.map(({ source: _, ...rule }) => rule), [
    { kind: 'legacy', order: 'allow,deny', allow: [{ kind: 'ip', cidr: '10.1.0.0/16' }, { kind: 'host', name: 'example.com' }], deny: [{ kind: 'ip', cidr: '10.1.2.0/24' }] },
    { kind: 'require', negate: true, match: { kind: 'ip', cidr: '192.168.0.0/16' } },
    { kind: 'require', negate: false, match: 'local' },
  ]);
});

test('ip forms', () => {
  assert.deepEqual(ipMatch('10.0.0.1'), { kind: 'ip', cidr: '10.0.0.1/32' });
  assert.deepEqual(ipMatch('2001:db8::/32'), { kind: 'ip', cidr: '2001:db8::/32' });
  assert.equal(ipMatch('10.0.0.0/255.0.255.0'), undefined);
  assert.equal(ipMatch('example.com'), undefined);
});

test('VirtualHost with several addresses, IPv6 and _default_', () => {
  const { config } = load(['Listen 80', 'Listen [::1]:8443', '<VirtualHost _default_:80 [::1]:8443>', '</VirtualHost>']);
  assert.deepEqual(config.listeners.map((l) => [l.host, l.port]), [['0.0.0.0', 80], ['::1', 8443]]);
  assert.deepEqual(config.virtualHosts.map((v) => [v.host, v.port]), [['*', 80], ['::1', 8443]]);
});

test('a VirtualHost on a port nothing listens on is reported', () => {
  const { diagnostics } = load(['Listen 80', '<VirtualHost *:8080>', '</VirtualHost>']);
  assert.deepEqual(diagnostics, ['t.conf:2: <VirtualHost>: *:8080 is never reached: no Listen opens port 8080; expected Listen 8080']);
});

test('KeepAliveTimeout and GracefulShutdownTimeout are read in the main server; in a virtual host they warn', () => {
  const defaults = load(['Listen 80', ...BALANCER]).config;
  assert.equal(defaults.keepAliveTimeout, 5_000);
  assert.equal(defaults.gracefulShutdownTimeout, 30_000);
  const set = load(['Listen 80', 'KeepAliveTimeout 500ms', 'GracefulShutdownTimeout 0', ...BALANCER]).config;
  assert.equal(set.keepAliveTimeout, 500);
  assert.equal(set.gracefulShutdownTimeout, 0, '0: wait for old connections however long, as Apache');
  const inVhost = load(['Listen 80', '<VirtualHost *:80>', 'KeepAliveTimeout 30', '</VirtualHost>', ...BALANCER]);
  assert.equal(inVhost.config.keepAliveTimeout, 5_000);
  assert.deepEqual(inVhost.diagnostics, ['t.conf:3: KeepAliveTimeout: ignored: Stickler has one KeepAliveTimeout for all virtual hosts; expected it in the main server']);
});

test('the balancer manager: AuthUserFile with Require valid-user protects it, BalancerPersist keeps its changes, growth= sizes it', () => {
  const { config, diagnostics } = load([
    'Listen 80', 'ServerRoot /srv/httpd', 'BalancerPersist On', 'ProxyPass / balancer://b/ growth=10',
    '<Location /balancer-manager>', 'SetHandler balancer-manager', 'AuthType Basic', 'AuthName "Balancer"',
    'AuthUserFile conf/manager.htpasswd', 'Require valid-user', '</Location>', ...BALANCER,
  ]);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(config.manager, { source: { file: 't.conf', line: 9 }, htpasswdFile: '/srv/httpd/conf/manager.htpasswd', stateFile: '/srv/httpd/stickler-balancer-state.json' });
  assert.equal(config.balancers[0]?.growth, 10);
  assert.equal(config.virtualHosts[0]?.locations[0]?.handler, 'balancer-manager');
});

test('Require valid-user without AuthUserFile is an error; authentication outside the manager is ignored with a warning', () => {
  const missing = loadApacheConfigText(['Listen 80', '<Location /balancer-manager>', 'SetHandler balancer-manager', 'Require valid-user', '</Location>', ...BALANCER].join('\n') + '\n', 't.conf');
  assert.deepEqual(missing.diagnostics.map(formatDiagnostic), ['t.conf:4: Require: Require valid-user needs AuthUserFile in the same <Location>; expected AuthUserFile pointing to an htpasswd file (bcrypt entries)']);
  const elsewhere = load(['Listen 80', '<Location /app>', 'AuthUserFile /x', 'Require valid-user', '</Location>', ...BALANCER]);
  assert.deepEqual(elsewhere.diagnostics, ['t.conf:3: AuthUserFile: ignored: Stickler authenticates only the balancer manager']);
  assert.equal(elsewhere.config.manager, undefined);
});

test('failontimeout=On is read onto the balancer', () => {
  const { config } = load(['Listen 80', 'ProxyPass / balancer://b/ failontimeout=On', ...BALANCER]);
  assert.equal(config.balancers[0]?.failOnTimeout, true);
});
