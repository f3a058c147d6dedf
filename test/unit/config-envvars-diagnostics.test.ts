// Debian's envvars as apache2ctl reads it (examples and properties), and what the operator reads: the printer's
// order, the one-line summary of inert directives, and what a reload prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { readEnvvars, splitWords } from '../../src/config/apache/envvars.ts';
import { diagnosticLines, reloadDiagnostics, sitesOf } from '../../src/config/diagnostics.ts';
import type { Diagnostic, SticklerConfig } from '../../src/config/model.ts';

const DEBIAN_ENVVARS = readFileSync(fileURLToPath(new URL('../fixtures/apache/debian/envvars', import.meta.url)), 'utf8');

test("Debian's envvars: the APACHE_* exports, with SUFFIX from APACHE_CONFDIR as apache2ctl computes it, HOME unset", () => {
  const stock = readEnvvars(DEBIAN_ENVVARS, 'envvars', { APACHE_CONFDIR: '/etc/apache2', HOME: '/root', APACHE_LOG_DIR: '/elsewhere' });
  assert.deepEqual(stock.skipped, []);
  assert.equal(stock.env.HOME, undefined);
  assert.equal(stock.env.APACHE_LOG_DIR, '/var/log/apache2', 'envvars is sourced after the environment, so it wins');
  assert.equal(stock.env.APACHE_RUN_USER, 'www-data');
  assert.equal(stock.env.APACHE_PID_FILE, '/var/run/apache2/apache2.pid');
  const second = readEnvvars(DEBIAN_ENVVARS, 'envvars', { APACHE_CONFDIR: '/etc/apache2-blue' });
  assert.equal(second.env.APACHE_RUN_DIR, '/var/run/apache2-blue');
});

test('envvars: ${VAR:-default}, unset, export of a set name, else branches, and every other line reported with its line', () => {
  const r = readEnvvars([
    'A=1', 'export A', 'export B=${UNSET:-dflt}', 'C=kept-local', 'export D="x y" E=\'$A\'',
    'if [ "$A" = 2 ] ; then', 'export F=then', 'else', 'export F=else', 'fi',
    '. /etc/default/locale', 'ulimit -n 1', 'export G=$(id -u)', 'unset A',
  ].join('\n'), 'ev', {});
  assert.deepEqual(r.env, { B: 'dflt', D: 'x y', E: '$A', F: 'else' });
  assert.deepEqual(r.skipped.map((s) => s.source.line), [11, 12, 13]);
});

const name = fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/);
const plain = fc.stringMatching(/^[A-Za-z0-9_./:-]{0,12}$/);

test('property: export NAME=value, quoted any way, gives value; an unexported assignment never reaches httpd', () => {
  fc.assert(fc.property(name, plain, fc.constantFrom('', '"', "'"), (n, value, quote) => {
    const exported = readEnvvars(`export ${n}=${quote}${value}${quote}`, 'ev', {});
    assert.equal(exported.env[n], value);
    assert.deepEqual(exported.skipped, []);
    assert.equal(readEnvvars(`${n}=${value}`, 'ev', {}).env[n], undefined);
  }));
});

test('property: the reader never throws, and every line it does not read is reported once at most, at a line of the file', () => {
  fc.assert(fc.property(fc.array(fc.string({ maxLength: 30 }), { maxLength: 12 }), (lines) => {
    const r = readEnvvars(lines.join('\n'), 'ev', { PATH: '/bin' });
    for (const s of r.skipped) assert.ok(s.source.line >= 1 && s.source.line <= lines.length);
  }));
});

test('property: ${NAME:-d} is the value when set and not empty, else d; ${NAME##p} strips a literal prefix', () => {
  fc.assert(fc.property(name, plain, plain, fc.option(plain), (n, d, p, value) => {
    const vars = new Map(value === null ? [] : [[n, value]]);
    assert.deepEqual(splitWords(`"\${${n}:-${d}}"`, vars), [value ? value : d]);
    const stripped = splitWords(`"\${${n}##${p}}"`, vars);
    const v = value ?? '';
    assert.deepEqual(stripped, [v.startsWith(p) ? v.slice(p.length) : v]);
  }));
});

const d = (file: string, line: number, directive: string, extra: Partial<Diagnostic> = {}): Diagnostic => ({ severity: 'warning', file, line, directive, message: `m ${directive}`, ...extra });

test('the printer: errors, then the warnings of the files holding a site, then the rest, then one line for the inert directives', () => {
  const diagnostics = [
    d('/etc/apache2/mods-enabled/ssl.conf', 57, 'SSLCipherSuite'),
    d('/etc/apache2/mods-enabled/mime.conf', 1, 'AddType', { inert: true }),
    d('/etc/apache2/mods-enabled/mime.conf', 2, 'AddType', { inert: true }),
    d('/etc/apache2/conf-enabled/charset.conf', 3, 'AddCharset', { inert: true }),
    d('/etc/apache2/sites-enabled/site.conf', 20, 'ProxyPass'),
    d('/etc/apache2/ports.conf', 5, 'Listen', { severity: 'error' }),
  ];
  const config = { virtualHosts: [{ source: { file: '/etc/apache2/sites-enabled/site.conf', line: 2 } }], balancers: [] } as unknown as SticklerConfig;
  const sites = sitesOf({ config, diagnostics });
  assert.deepEqual(diagnosticLines(diagnostics, { sites }), [
    '/etc/apache2/ports.conf:5: Listen: m Listen',
    'warning: /etc/apache2/sites-enabled/site.conf:20: ProxyPass: m ProxyPass',
    'warning: /etc/apache2/mods-enabled/ssl.conf:57: SSLCipherSuite: m SSLCipherSuite',
    'warning: /etc/apache2: ignored 3 directives with no meaning for a load balancer (AddType ×2, AddCharset ×1); --verbose lists them',
  ]);
  assert.equal(diagnosticLines(diagnostics, { sites, verbose: true }).length, 6);
});

test('a reload prints its errors and only the warnings the running configuration did not have, wherever their lines moved', () => {
  const running = [d('a.conf', 3, 'X'), d('a.conf', 4, 'Y')];
  const next = [d('a.conf', 5, 'X'), d('a.conf', 6, 'Z'), d('a.conf', 7, 'Y', { severity: 'error' })];
  assert.deepEqual(reloadDiagnostics(running, next).map((x) => x.line), [6, 7]);
});
