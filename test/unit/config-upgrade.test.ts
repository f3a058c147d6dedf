// `upgrade=` on ProxyPass (Apache) and `upgrade:` on a route (native): which protocols a route may switch to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { formatDiagnostic, type RouteConfig } from '../../src/config/model.ts';

const apache = (params: string) => `Listen 8080
<VirtualHost *:8080>
ProxyPass /ws balancer://c/ws ${params}
ProxyPass / balancer://c/
<Proxy balancer://c>
BalancerMember http://127.0.0.1:9001 route=a
</Proxy>
</VirtualHost>
`;

const target = (r: RouteConfig | undefined) => (r?.target.kind === 'balancer' ? r.target : undefined);

test('Apache: upgrade=websocket belongs to its ProxyPass route only; ANY allows any protocol', () => {
  const { config, diagnostics } = loadApacheConfigText(apache('upgrade=websocket'), 'ws.conf');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  const [ws, rest] = config!.virtualHosts[0]!.routes;
  assert.deepEqual(target(ws)?.upgrade, ['websocket']);
  assert.equal(target(rest)?.upgrade, undefined);
  assert.deepEqual(target(loadApacheConfigText(apache('upgrade=ANY'), 'ws.conf').config!.virtualHosts[0]!.routes[0])?.upgrade, ['*']);
});

test('Apache: an upgrade value that is not a protocol name is an error on its line', () => {
  const { diagnostics } = loadApacheConfigText(apache('upgrade=web"socket'), 'ws.conf');
  assert.deepEqual(
    diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic),
    ['ws.conf:3: ProxyPass: upgrade protocol "web"socket" is not a protocol name; expected websocket, another token, or ANY'],
  );
});

test('native: upgrade on a route, and the converter writes it back', () => {
  const yaml = `listeners:
  - port: 8080
virtual-hosts:
  - port: 8080
    routes:
      - path: /ws
        balancer: c
        upgrade: websocket
      - path: /
        balancer: c
balancers:
  c:
    members:
      - url: http://127.0.0.1:9001
`;
  const { config, diagnostics } = loadNativeConfigText(yaml, 'ws.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error'), []);
  assert.deepEqual(target(config!.virtualHosts[0]!.routes[0])?.upgrade, ['websocket']);
  assert.match(toYaml(config!), /upgrade: \[websocket\]|upgrade:\n\s+- websocket/);
  const bad = loadNativeConfigText(yaml.replace('upgrade: websocket', 'upgrade: [42]'), 'ws.yaml');
  assert.deepEqual(bad.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), [
    'ws.yaml:8: virtual-hosts[0].routes[0].upgrade: expected protocol names such as websocket, or ANY, got a list',
  ]);
});
