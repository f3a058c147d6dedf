import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toYaml } from '../../src/config/convert.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { formatDiagnostic, type SticklerConfig } from '../../src/config/model.ts';
import { comparable, vhostDefaults } from '../support/fixtures.ts';

const src = { file: 'httpd.conf', line: 1 };

/** Everything the model can say, with values away from the defaults wherever possible. */
const MODEL: SticklerConfig = {
  dialect: 'apache',
  listeners: [
    { source: src, host: '0.0.0.0', port: 443, tls: true },
    { source: src, host: '::', port: 8080, tls: true },
    { source: src, host: '127.0.0.1', port: 8081, tls: false },
  ],
  virtualHosts: [
    {
      ...vhostDefaults(),
      source: src,
      host: '*',
      port: 443,
      serverName: 'localhost',
      serverAliases: ['localhost', 'is.example.com'],
      serverAdmin: 'techops@wso2.com',
      tls: { source: src, certificateFile: '/etc/ssl/server.crt', keyFile: '/etc/ssl/server.key', chainFile: '/etc/ssl/chain.pem' },
      backendTls: { enabled: true, verify: 'none', checkPeerName: false, caFile: '/etc/ssl/ca.pem', source: src },
      preserveHost: true,
      addForwardedHeaders: false,
      routes: [
        { source: src, path: '/balancer-manager', target: { kind: 'exclude' } },
        { source: src, path: '/app', target: { kind: 'balancer', balancer: 'wso2.identity.domain', path: '' } },
        { source: src, path: '/', target: { kind: 'balancer', balancer: 'wso2.identity.domain', path: '/' } },
      ],
      reverse: [
        { source: src, path: '/', url: 'https://localhost:9443/' },
        { source: src, path: '/', url: 'balancer://wso2.identity.domain/' },
      ],
      cookiePaths: [{ source: src, from: '/carbon/', to: '/' }],
      cookieDomains: [{ source: src, from: 'internal', to: 'example.com' }],
      locations: [{
        source: src,
        path: '/balancer-manager',
        handler: 'balancer-manager',
        access: [
          { kind: 'require', source: src, negate: false, match: 'local' },
          { kind: 'require', source: src, negate: true, match: { kind: 'ip', cidr: '10.1.0.0/16' } },
          { kind: 'require', source: src, negate: false, match: { kind: 'host', name: 'admin.example.com' } },
          { kind: 'require', source: src, negate: false, match: 'all-denied' },
        ],
      }],
      proxyAccess: [
        { kind: 'legacy', source: src, order: 'allow,deny', allow: [{ kind: 'all' }], deny: [{ kind: 'ip', cidr: '10.9' }, { kind: 'host', name: 'x.example' }] },
        { kind: 'require', source: src, negate: false, match: 'all-granted' },
      ],
    },
    {
      ...vhostDefaults(),
      source: src,
      host: '10.0.0.1',
      port: 8080,
      backendTls: { enabled: false, verify: 'require', checkPeerName: true },
      routes: [{ source: src, path: '/plain/', target: { kind: 'balancer', balancer: 'plain', path: '/other/' } }],
    },
    { ...vhostDefaults(), source: src, host: '*', port: 8081 },
  ],
  balancers: [
    {
      source: src,
      name: 'wso2.identity.domain',
      lbmethod: 'bytraffic',
      sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' },
      stickySeparator: null,
      scolonPathDelim: true,
      nofailover: true,
      maxAttempts: 0,
      timeout: 1500,
      forceRecovery: false,
      failOnStatus: [500, 503],
      growth: 3,
      failOnTimeout: true,
      slowStart: 30_000,
      stopWhenIdle: 45 * 60_000,
      retryBodyLimit: 1024,
      members: [
        { source: src, url: 'https://localhost:9443', route: 'isNode1', redirect: 'isNode2', loadfactor: 2.5, lbset: 1, status: ['H', 'D'], retry: 0, timeout: 30_000, connectionTimeout: 250 },
        { source: src, url: 'https://localhost:9444', route: 'isNode2', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000 },
      ],
    },
    {
      source: src,
      name: 'plain',
      lbmethod: 'byrequests',
      sticky: { cookie: 'ROUTEID', urlParam: 'ROUTEID' },
      stickySeparator: '_',
      scolonPathDelim: false,
      nofailover: false,
      timeout: 0,
      forceRecovery: true,
      failOnStatus: [],
      members: [{ source: src, url: 'http://10.0.0.5:8080/app', route: '1', redirect: '', loadfactor: 100, lbset: 99, status: ['I'], retry: 5000 }],
    },
  ],
  log: { access: '/var/log/stickler/access.log', format: { kind: 'json' } },
  timeout: 300_500,
  keepAliveTimeout: 15_000,
  gracefulShutdownTimeout: 0,
};

test('toYaml output loads back to the same model', () => {
  const yaml = toYaml(MODEL);
  const result = loadNativeConfigText(yaml, '/etc/stickler/converted.yaml');
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [], yaml);
  assert.equal(result.config?.dialect, 'native');
  assert.deepEqual(comparable(result.config), comparable(MODEL));
});

test('the shared-state section is written back and loads to the same model', () => {
  const model: SticklerConfig = {
    ...MODEL,
    sharedState: {
      url: 'rediss://stickler@10.0.0.7:6380/2',
      keyPrefix: 'idp:',
      passwordFile: '/etc/stickler/redis.pass',
      tls: { caFile: '/etc/stickler/redis-ca.pem', certificateFile: '/etc/stickler/redis.crt', keyFile: '/etc/stickler/redis.key' },
      sentinels: [{ host: '10.0.0.7', port: 26379 }, { host: 'fd00::8', port: 26379 }],
      masterName: 'stickler',
      instance: 'lb1',
    },
  };
  const yaml = toYaml(model);
  assert.match(yaml, /\nshared-state:\n  url: rediss:\/\/stickler@10\.0\.0\.7:6380\/2\n/);
  const result = loadNativeConfigText(yaml, '/etc/stickler/converted.yaml');
  assert.deepEqual(result.diagnostics.map(formatDiagnostic), [], yaml);
  assert.deepEqual(comparable(result.config), comparable(model));
  const defaults = toYaml({ ...MODEL, sharedState: { url: 'redis://127.0.0.1:6379/0', keyPrefix: 'stickler:' } });
  assert.match(defaults, /\nshared-state:\n  url: redis:\/\/127\.0\.0\.1:6379\/0\n/);
  assert.doesNotMatch(defaults, /key-prefix/);
});

test('Apache\'s unverified backend TLS is written out with a comment; native defaults are left out', () => {
  const yaml = toYaml(MODEL);
  assert.match(yaml, /^# Stickler native configuration, converted from an Apache httpd configuration\./);
  assert.match(yaml, /\n {6}verify: none # Apache's default \(SSLProxyVerify none\): backend certificates are not checked\./);
  assert.doesNotMatch(yaml, /verify: require/);
  assert.doesNotMatch(yaml, /lbmethod: byrequests|retry: 60s|force-recovery: true|route: ""/);
});

test('a small Apache model converts to a short file', () => {
  const model: SticklerConfig = {
    ...MODEL,
    listeners: [{ source: src, host: '0.0.0.0', port: 443, tls: true }],
    virtualHosts: [{
      ...vhostDefaults(),
      source: src,
      host: '*',
      port: 443,
      serverName: 'localhost',
      tls: { source: src, certificateFile: '/etc/ssl/server.crt', keyFile: '/etc/ssl/server.key' },
      backendTls: { enabled: true, verify: 'none', checkPeerName: true, source: src },
      routes: [
        { source: src, path: '/balancer-manager', target: { kind: 'exclude' } },
        { source: src, path: '/', target: { kind: 'balancer', balancer: 'wso2', path: '/' } },
      ],
    }],
    balancers: [{
      source: src, name: 'wso2', lbmethod: 'byrequests', sticky: { cookie: 'JSESSIONID', urlParam: 'JSESSIONID' },
      stickySeparator: '.', scolonPathDelim: false, nofailover: false, timeout: 0, forceRecovery: true, failOnStatus: [],
      members: [
        { source: src, url: 'https://localhost:9443', route: 'isNode1', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000 },
      ],
    }],
    log: { format: { kind: 'stickler' } },
    timeout: 60_000,
    keepAliveTimeout: 5_000,
    gracefulShutdownTimeout: 30_000,
  };
  assert.equal(toYaml(model), `# Stickler native configuration, converted from an Apache httpd configuration.

listeners:
  - host: 0.0.0.0
    port: 443
virtual-hosts:
  - port: 443
    server-name: localhost
    tls:
      certificate-file: /etc/ssl/server.crt
      key-file: /etc/ssl/server.key
    backend-tls:
      verify: none # Apache's default (SSLProxyVerify none): backend certificates are not checked. Consider require plus ca-file.
    routes:
      - path: /balancer-manager
        exclude: true
      - path: /
        balancer: wso2
balancers:
  wso2:
    sticky-session: JSESSIONID
    stop-when-idle: 1800s # Stickler's default, which httpd lacks: a drained member with no active session for this long is stopped. 0: it stays draining, as in httpd.
    members:
      - url: https://localhost:9443
        route: isNode1
`);
});
