// The native `workers` key: how many worker threads serve with one balancer state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { formatDiagnostic } from '../../src/config/model.ts';

const file = (workers: string) => `workers: ${workers}
virtual-hosts:
  - port: 8080
    routes:
      - path: /
        balancer: c
balancers:
  c:
    members:
      - url: http://127.0.0.1:9001
`;

test('workers: a number from 1 to 64, or auto; absent means one thread', () => {
  assert.equal(loadNativeConfigText(file('2'), 'w.yaml').config!.workers, 2);
  assert.equal(loadNativeConfigText(file('auto'), 'w.yaml').config!.workers, 'auto');
  assert.equal(loadNativeConfigText(file('2').replace('workers: 2\n', ''), 'w.yaml').config!.workers, undefined);
  assert.match(toYaml(loadNativeConfigText(file('auto'), 'w.yaml').config!), /^workers: auto$/m);
});

test('workers: anything else is an error naming the key and what was expected', () => {
  const { diagnostics } = loadNativeConfigText(file('0'), 'w.yaml');
  assert.deepEqual(diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), [
    'w.yaml:1: workers: expected auto or a number of worker threads from 1 to 64, got 0',
  ]);
});
