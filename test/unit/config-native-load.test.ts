import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';

const YAML = 'virtual-hosts:\n  - port: 8080\n    routes: [{ path: /, balancer: app }]\nbalancers:\n  app:\n    members: [{ url: http://127.0.0.1:9000 }]\n';

test('loadConfig reads .yaml and .yml files as native YAML, relative to their directory', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of ['stickler.yaml', 'stickler.YML']) {
    const file = join(dir, name);
    writeFileSync(file, `${YAML}log: { access: access.log }\n`);
    const result = loadConfig(file);
    assert.deepEqual(result.diagnostics, []);
    assert.equal(result.config?.dialect, 'native');
    assert.equal(result.config?.log.access, join(dir, 'access.log'));
  }
});

test('a missing file or a directory is a diagnostic, not an exception', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-load-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const missing = loadConfig(join(dir, 'httpd.conf'));
  assert.equal(missing.config, undefined);
  assert.match(formatDiagnostic(missing.diagnostics[0]!), /httpd\.conf:0: file: cannot read the configuration file: ENOENT/);
  const directory = loadConfig(dir);
  assert.equal(formatDiagnostic(directory.diagnostics[0]!), `${dir}:0: file: cannot read the configuration file: it is a directory`);
});
