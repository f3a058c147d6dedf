// The users' deployment (the WSO2 blog's virtual host) and a complete Debian-style httpd.conf, read as they are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadApacheConfig } from '../../src/config/apache/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/apache/${name}`, import.meta.url));

test('the seed as published (no closing tags) names each unclosed section and its opening line', () => {
  const file = fixture('seed-vhost.conf');
  const r = loadApacheConfig(file);
  assert.equal(r.config, undefined);
  assert.deepEqual(r.diagnostics.map(formatDiagnostic), [
    `${file}:1: <IfModule>: <IfModule> opened here is never closed (expected </IfModule> before end of file)`,
    `${file}:2: <VirtualHost>: <VirtualHost> opened here is never closed (expected </VirtualHost> before end of file)`,
    `${file}:14: <Proxy>: <Proxy> opened here is never closed (expected </Proxy> before end of file)`,
    `${file}:23: <Proxy>: <Proxy> opened here is never closed (expected </Proxy> before end of file)`,
  ]);
});

test('the closed seed loads into the expected model', () => {
  const file = fixture('seed-closed.conf');
  const r = loadApacheConfig(file);
  const at = (line: number) => ({ file, line });
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  const c = r.config;
  assert.equal(c.dialect, 'apache');
  assert.equal(c.timeout, 60_000);
  assert.deepEqual(c.listeners, [{ source: at(2), host: '0.0.0.0', port: 443, implied: true, tls: true }], 'no Listen: the <VirtualHost> address, named as such');
  assert.deepEqual(c.log, { format: { kind: 'stickler' } });
  assert.deepEqual(c.balancers, [{
    source: at(24), name: 'wso2.identity.domain', lbmethod: 'byrequests', sticky: { cookie: 'JSESSIONID', urlParam: 'JSESSIONID' },
    stickySeparator: '.', scolonPathDelim: false, nofailover: false, timeout: 0, forceRecovery: true, failOnStatus: [], growth: 0,
    members: [
      { source: at(25), url: 'https://localhost:9443', route: 'isNode1', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000 },
      { source: at(26), url: 'https://localhost:9444', route: 'isNode2', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000 },
    ],
  }]);
  assert.equal(c.balancers[0]?.maxAttempts, undefined, 'maxattempts is left to the runtime (members - 1)');
  assert.deepEqual(c.virtualHosts, [{
    source: at(2), host: '*', port: 443, serverName: 'localhost', serverAliases: ['localhost'], serverAdmin: 'techops@wso2.com',
    tls: { source: at(11), certificateFile: '/home/asela/security/server.crt', keyFile: '/home/asela/security/server.key', keySource: at(12) },
    backendTls: { enabled: true, verify: 'none', checkPeerName: true, source: at(10) },
    preserveHost: false, addForwardedHeaders: true,
    routes: [
      { source: at(19), path: '/balancer-manager', target: { kind: 'exclude' } },
      { source: at(20), path: '/', target: { kind: 'balancer', balancer: 'wso2.identity.domain', path: '/' } },
    ],
    reverse: [
      { source: at(21), path: '/', url: 'https://localhost:9443/' },
      { source: at(22), path: '/', url: 'https://localhost:9444/' },
    ],
    cookiePaths: [], cookieDomains: [], locations: [],
    proxyAccess: [{ kind: 'legacy', source: at(15), order: 'deny,allow', allow: [{ kind: 'all' }], deny: [] }],
  }]);
});

test('the closed seed warns about the JSESSIONID URL gap, the Listen it lacks, and unverified backends', () => {
  const file = fixture('seed-closed.conf');
  const r = loadApacheConfig(file);
  assert.deepEqual(r.diagnostics.map((d) => `${d.severity} ${formatDiagnostic(d)}`), [
    `warning ${file}:20: ProxyPass: stickysession=JSESSIONID also looks for the URL parameter "JSESSIONID" (case-sensitive, as in httpd), but Tomcat's URL rewriting writes ";jsessionid=" in lower case, so sessions carried in the URL are not sticky; expected stickysession=JSESSIONID|jsessionid scolonpathdelim=On`,
    `warning ${file}:2: <VirtualHost>: the configuration has no Listen: Stickler listens on 0.0.0.0:443 for this virtual host, where httpd would open no port; expected Listen 443, or Listen 127.0.0.1:443 for one address`,
    `warning ${file}:10: SSLProxyEngine: backend certificate verification is off (SSLProxyVerify none is Apache's default): the https members https://localhost:9443, https://localhost:9444 are not authenticated; expected SSLProxyVerify require with SSLProxyCACertificateFile to verify them`,
  ]);
});

test('a full httpd.conf loads with one warning per ignored directive, each at its own line', () => {
  const file = fixture('httpd-full.conf');
  const site = fixture('sites/wso2-identity.conf');
  const r = loadApacheConfig(file);
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  assert.ok(r.diagnostics.every((d) => d.severity === 'warning'));
  const ignored = r.diagnostics.map((d) => `${d.line} ${d.directive}`);
  const expected = [
    ...Array.from({ length: 16 }, (_, i) => `${8 + i} LoadModule`),
    '25 PidFile', '27 KeepAlive', '28 MaxKeepAliveRequests',
    '32 HostnameLookups', '33 ErrorLog', '34 LogLevel', '35 Mutex',
    '38 StartServers', '39 MinSpareThreads', '40 MaxSpareThreads', '41 ThreadLimit', '42 ThreadsPerChild',
    '43 MaxRequestWorkers', '44 MaxConnectionsPerChild',
    '53 SSLRandomSeed', '54 SSLPassPhraseDialog', '55 SSLSessionCache', '56 SSLSessionCacheTimeout', '57 SSLCipherSuite',
    '58 SSLProtocol', '65 TypesConfig', '66 AddType', '67 DirectoryIndex', '68 DocumentRoot',
    '75 <Directory>', '81 <Directory>', '87 AccessFileName', '88 <Files>', '95 ServerTokens',
    '96 ServerSignature', '97 TraceEnable',
  ];
  assert.deepEqual(ignored, expected);
  // SSLCipherSuite HIGH:!aNULL and SSLProtocol all -SSLv3 are read: they only narrow the TLS profile, with a warning.
  assert.ok(r.diagnostics.every((d) => d.file === file && (d.message.startsWith('ignored: ') || ['SSLCipherSuite', 'SSLProtocol'].includes(d.directive))));
  assert.equal(formatDiagnostic(r.diagnostics[0]!), `${file}:8: LoadModule: ignored: LoadModule has no meaning for Stickler`);

  const c = r.config;
  assert.equal(c.timeout, 300_000);
  assert.deepEqual(c.log, {
    format: { kind: 'stickler' },
    logs: [{ source: { file: fixture('httpd-full.conf'), line: 93 }, directive: 'CustomLog', destination: fixture('logs/access.log'), format: { kind: 'apache', text: '%h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"' } }],
  }, 'CustomLog logs/access.log combined, the LogFormat of line 92');
  assert.deepEqual(c.listeners.map((l) => [l.host, l.port, l.tls]), [['0.0.0.0', 80, false], ['0.0.0.0', 443, true]]);
  const [identity, mainServer] = c.virtualHosts;
  assert.equal(identity?.source.file, site);
  assert.equal(identity?.serverName, 'identity.example.com');
  assert.equal(identity?.tls?.certificateFile, fixture('certs/identity.crt'), 'relative to ServerRoot');
  assert.deepEqual(identity?.backendTls, {
    enabled: true, verify: 'require', checkPeerName: false, caFile: fixture('certs/backend-ca.pem'), caSource: { file: site, line: 15 }, source: { file: site, line: 14 },
  });
  assert.equal(identity?.preserveHost, true);
  assert.deepEqual(identity?.routes.map((r) => r.path), ['/balancer-manager', '/']);
  assert.deepEqual(identity?.locations.map((l) => [l.path, l.handler, l.access.length]), [['/balancer-manager', 'balancer-manager', 2]]);
  assert.deepEqual(identity?.cookiePaths.map((p) => [p.from, p.to]), [['/carbon', '/']]);
  assert.deepEqual([mainServer?.host, mainServer?.port, mainServer?.routes], ['*', 80, []], 'port 80 is served by the main server');
  const [b] = c.balancers;
  assert.equal(b?.lbmethod, 'bybusyness');
  assert.equal(b?.maxAttempts, 1);
  assert.deepEqual(b?.sticky, { cookie: 'JSESSIONID', urlParam: 'jsessionid' });
  assert.equal(b?.scolonPathDelim, true);
  assert.deepEqual(b?.members.map((m) => [m.route, m.loadfactor, m.retry, m.connectionTimeout, m.status]), [
    ['isNode1', 2, 30_000, undefined, []], ['isNode2', 1, 60_000, 500, []], ['isNode3', 1, 60_000, undefined, ['H']],
  ]);
});
