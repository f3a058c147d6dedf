import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import type { SticklerConfig } from '../../src/config/model.ts';
import { vhostDefaults } from '../support/fixtures.ts';

const FILE = '/etc/stickler/stickler.yaml';
const at = (line: number) => ({ file: FILE, line });

const FULL = `# The seed WSO2 setup, plus every optional key.
timeout: 2m
log:
  access: logs/access.log
  format: json
listeners:
  - host: 0.0.0.0
    port: 443
  - host: 127.0.0.1
    port: 8080
    tls: false
virtual-hosts:
  - port: 443
    server-name: localhost
    server-aliases: [localhost, is.example.com]
    server-admin: techops@wso2.com
    tls:
      certificate-file: certs/server.crt
      key-file: /etc/ssl/server.key
      chain-file: certs/chain.pem
    backend-tls:
      enabled: true
      check-peer-name: off
      ca-file: certs/backend-ca.pem
    preserve-host: true
    forwarded-headers: false
    routes:
      - path: /balancer-manager
        exclude: true
      - path: /app/
        balancer: wso2.identity.domain
        backend-path: /
      - path: /
        balancer: wso2.identity.domain
    reverse:
      - path: /
        url: https://localhost:9443/
    cookie-paths:
      - from: /carbon/
        to: /
    cookie-domains:
      - from: internal.local
        to: example.com
    locations:
      - path: /balancer-manager
        handler: balancer-manager
        access:
          - require: ip 10.0.0.0/8
          - require: not host evil.example
    proxy-access:
      - order: deny,allow
        allow: [all]
        deny: [ip 192.168.1.0/24, host bad.example]
  - host: 127.0.0.1
    port: 8080
balancers:
  wso2.identity.domain:
    lbmethod: bybusyness
    sticky-session: JSESSIONID|jsessionid
    sticky-separator: "~"
    scolon-path-delim: true
    no-failover: true
    max-attempts: 3
    timeout: 5s
    force-recovery: false
    fail-on-status: [500, 503]
    members:
      - url: https://localhost:9443
        route: isNode1
        loadfactor: 1.5
      - url: https://localhost:9444
        route: isNode2
        redirect: isNode1
        lbset: 1
        status: +H-E
        retry: 0
        timeout: 30s
        connection-timeout: 500ms
keep-alive-timeout: 15s
graceful-shutdown-timeout: 0
`;

test('a full native configuration loads to the expected model', () => {
  const result = loadNativeConfigText(FULL, FILE);
  assert.deepEqual(result.diagnostics, []);
  const expected: SticklerConfig = {
    dialect: 'native',
    listeners: [
      { source: at(7), host: '0.0.0.0', port: 443, tls: true },
      { source: at(9), host: '127.0.0.1', port: 8080, tls: false },
    ],
    virtualHosts: [
      {
        source: at(13),
        host: '*',
        port: 443,
        serverName: 'localhost',
        serverAliases: ['localhost', 'is.example.com'],
        serverAdmin: 'techops@wso2.com',
        tls: {
          source: at(18),
          certificateFile: '/etc/stickler/certs/server.crt',
          keyFile: '/etc/ssl/server.key',
          keySource: at(19),
          chainFile: '/etc/stickler/certs/chain.pem',
          chainSource: at(20),
        },
        backendTls: { enabled: true, verify: 'require', checkPeerName: false, caFile: '/etc/stickler/certs/backend-ca.pem', caSource: at(24), source: at(21) },
        preserveHost: true,
        addForwardedHeaders: false,
        routes: [
          { source: at(28), path: '/balancer-manager', target: { kind: 'exclude' } },
          { source: at(30), path: '/app/', target: { kind: 'balancer', balancer: 'wso2.identity.domain', path: '/' } },
          { source: at(33), path: '/', target: { kind: 'balancer', balancer: 'wso2.identity.domain', path: '/' } },
        ],
        reverse: [{ source: at(36), path: '/', url: 'https://localhost:9443/' }],
        cookiePaths: [{ source: at(39), from: '/carbon/', to: '/' }],
        cookieDomains: [{ source: at(42), from: 'internal.local', to: 'example.com' }],
        locations: [{
          source: at(45),
          path: '/balancer-manager',
          handler: 'balancer-manager',
          access: [
            { kind: 'require', source: at(48), negate: false, match: { kind: 'ip', cidr: '10.0.0.0/8' } },
            { kind: 'require', source: at(49), negate: true, match: { kind: 'host', name: 'evil.example' } },
          ],
        }],
        proxyAccess: [{
          kind: 'legacy',
          source: at(51),
          order: 'deny,allow',
          allow: [{ kind: 'all' }],
          deny: [{ kind: 'ip', cidr: '192.168.1.0/24' }, { kind: 'host', name: 'bad.example' }],
        }],
      },
      {
        ...vhostDefaults(),
        source: at(54),
        host: '127.0.0.1',
        port: 8080,
        backendTls: { enabled: true, verify: 'require', checkPeerName: true },
      },
    ],
    balancers: [{
      source: at(57),
      name: 'wso2.identity.domain',
      lbmethod: 'bybusyness',
      sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' },
      stickySeparator: '~',
      scolonPathDelim: true,
      nofailover: true,
      maxAttempts: 3,
      timeout: 5000,
      forceRecovery: false,
      failOnStatus: [500, 503],
      members: [
        { source: at(68), url: 'https://localhost:9443', route: 'isNode1', redirect: '', loadfactor: 1.5, lbset: 0, status: [], retry: 60_000 },
        {
          source: at(71), url: 'https://localhost:9444', route: 'isNode2', redirect: 'isNode1', loadfactor: 1, lbset: 1,
          status: ['H'], retry: 0, timeout: 30_000, connectionTimeout: 500,
        },
      ],
    }],
    log: { access: '/etc/stickler/logs/access.log', source: at(4), format: { kind: 'json' } },
    timeout: 120_000,
    keepAliveTimeout: 15_000,
    gracefulShutdownTimeout: 0,
  };
  assert.deepEqual(result.config, expected);
});

test('a minimal file gets Apache defaults, verified backend TLS and a listener per virtual-host port', () => {
  const result = loadNativeConfigText(
    'virtual-hosts:\n  - port: 8080\n    routes:\n      - { path: /, balancer: app }\n' +
    'balancers:\n  app:\n    members:\n      - url: http://10.0.0.5:8080\n', FILE);
  assert.deepEqual(result.diagnostics, []);
  const config = result.config!;
  assert.deepEqual(config.listeners, [{ source: at(2), host: '0.0.0.0', port: 8080, tls: false }]);
  assert.deepEqual(config.virtualHosts[0]!.backendTls, { enabled: true, verify: 'require', checkPeerName: true });
  assert.equal(config.timeout, 60_000);
  assert.deepEqual(config.log, { format: { kind: 'stickler' } });
  const b = config.balancers[0]!;
  assert.equal(b.lbmethod, 'byrequests');
  assert.equal(b.stickySeparator, '.');
  assert.equal(b.forceRecovery, true);
  assert.equal(b.maxAttempts, undefined);
  assert.equal(b.sticky, undefined);
  assert.deepEqual(b.members[0], {
    source: at(8), url: 'http://10.0.0.5:8080', route: '', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000,
  });
});

test('value syntaxes: status as a list, sticky without url parameter, separator off, durations in numbers of seconds', () => {
  const result = loadNativeConfigText(
    'timeout: 1.5\nvirtual-hosts:\n  - port: 80\nbalancers:\n  app:\n    sticky-session: JSESSIONID\n    sticky-separator: off\n' +
    '    members:\n      - { url: http://a:8080, status: [h, D], retry: 2m }\n', FILE);
  assert.deepEqual(result.diagnostics, []);
  const b = result.config!.balancers[0]!;
  assert.equal(result.config!.timeout, 1500);
  assert.deepEqual(b.sticky, { cookie: 'JSESSIONID', urlParam: 'JSESSIONID' });
  assert.equal(b.stickySeparator, null);
  assert.deepEqual(b.members[0]!.status, ['H', 'D']);
  assert.equal(b.members[0]!.retry, 120_000);
});

test('numeric routes are read as text, and alias bombs are refused with a diagnostic', () => {
  const routes = loadNativeConfigText(
    'virtual-hosts:\n  - port: 80\nbalancers:\n  app:\n    members:\n      - { url: http://a:8080, route: 1, redirect: 2 }\n', FILE);
  assert.deepEqual(routes.diagnostics, []);
  assert.equal(routes.config!.balancers[0]!.members[0]!.route, '1');
  assert.equal(routes.config!.balancers[0]!.members[0]!.redirect, '2');

  const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 0; i < 6; i++) bomb.push(`${'bcdefg'[i]}: &${'bcdefg'[i]} [${Array(10).fill(`*${'abcdef'[i]}`).join(', ')}]`);
  const result = loadNativeConfigText(bomb.join('\n'), FILE);
  assert.equal(result.config, undefined);
  assert.equal(result.diagnostics[0]?.directive, 'YAML syntax');
});
