// Both configuration readers on arbitrary text: a valid file with lines replaced or added, made of real directive
// and key names, inherited names (`constructor`, `__proto__`) and arbitrary words. Whatever the text, a reader
// returns diagnostics (it never throws), refuses with at least one error or gives a configuration of plain data
// only, and every diagnostic names the file, a line of it and the directive or key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import type { LoadResult } from '../../src/config/model.ts';
import { INHERITED_NAMES, nonData } from '../support/hostile-data.ts';

/** Checks what a reader gave for `text`; returns whether it loaded. */
function checkResult(result: LoadResult, file: string, text: string): boolean {
  const lines = text.split('\n').length;
  for (const d of result.diagnostics) {
    const where = `${d.file}:${d.line}: ${d.directive}: ${d.message}`;
    assert.equal(d.file, file, where);
    assert.ok(Number.isInteger(d.line) && d.line >= 0 && d.line <= lines, `${where} (the text has ${lines} lines)`);
    assert.ok(d.directive.trim() !== '', `no directive or key named: ${where}`);
    assert.ok(d.message.trim() !== '', where);
    assert.doesNotMatch(d.message, /internal error|TypeError|is not a function|Cannot read prop/, where);
  }
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  if (result.config === undefined) {
    assert.ok(errors.length > 0, 'refused without an error saying why');
    return false;
  }
  assert.equal(errors.length, 0, 'a configuration given despite errors');
  assert.equal(nonData(result.config), undefined);
  return true;
}

/** `base` with a few of its lines replaced by, or preceded by, lines from `line`. */
function edited(base: readonly string[], line: fc.Arbitrary<string>, maxChanges: number): fc.Arbitrary<string> {
  const change = fc.tuple(fc.nat({ max: base.length }), fc.boolean(), line);
  return fc.array(change, { minLength: 1, maxLength: maxChanges }).map((changes) => {
    const lines = [...base];
    for (const [at, replace, text] of changes) lines.splice(at, replace ? 1 : 0, text);
    return `${lines.join('\n')}\n`;
  });
}

/** Runs `load` on 1500 texts; at least `minLoaded` of them must load, or the generator no longer reaches a whole configuration. */
function readerProperty(texts: fc.Arbitrary<string>, load: (text: string, file: string) => LoadResult, file: string, minLoaded: number): void {
  let loaded = 0;
  fc.assert(
    fc.property(texts, (text) => {
      if (checkResult(load(text, file), file, text)) loaded++;
    }),
    { numRuns: 1500 },
  );
  assert.ok(loaded > minLoaded, `only ${loaded} of 1500 texts loaded: the generator no longer reaches a whole configuration`);
}

const APACHE_BASE = [
  'Listen 8443',
  '<VirtualHost *:8443>',
  '  ServerName proxy.example',
  '  SSLEngine on',
  '  SSLCertificateFile /dev/null',
  '  SSLCertificateKeyFile /dev/null',
  '  <Proxy balancer://app>',
  '    BalancerMember https://10.0.0.1:9443 route=n1 loadfactor=2',
  '    BalancerMember https://10.0.0.2:9443 route=n2',
  '    ProxySet stickysession=JSESSIONID|jsessionid lbmethod=byrequests',
  '  </Proxy>',
  '  ProxyPass /balancer-manager !',
  '  ProxyPass / balancer://app/',
  '  ProxyPassReverse / balancer://app/',
  '  <Location /balancer-manager>',
  '    SetHandler balancer-manager',
  '    Require local',
  '  </Location>',
  '</VirtualHost>',
];
/** Lines that fit the base where they land, now and then: enough texts load for the configuration to be checked. */
const APACHE_LINES = ['  ProxyHCTemplate ok hcmethod=GET hcuri=/health', '    BalancerMember https://10.0.0.3:9443 route=n3 hctemplate=ok', '  ProxyPass /x balancer://app/x', '  KeepAliveTimeout 5', '    ProxySet lbmethod=bytraffic', '  Header always set X-A b'];
const APACHE_NAMES = [
  'Listen', 'ServerName', 'Timeout', 'ProxyTimeout', 'KeepAliveTimeout', 'SSLEngine', 'SSLProxyEngine', 'SSLProtocol', 'Header',
  'ProxyPass', 'ProxyPassReverse', 'ProxyPassMatch', 'ProxySet', 'BalancerMember', 'ProxyHCExpr', 'ProxyHCTemplate', 'Require', 'SetHandler',
  'BalancerPersist', 'LimitRequestBody', 'RequestReadTimeout', 'RemoteIPTrustedProxy', 'GracefulShutdownTimeout',
  '<Proxy', '</Proxy>', '<Location', '</Location>', '<VirtualHost', '</VirtualHost>', '<IfModule', '</IfModule>', '<If', '</If>',
];
const APACHE_WORDS = [
  'balancer://app', 'balancer://app/', 'balancer://__proto__', '/', '!', 'https://10.0.0.3:9443', 'http://h:1', 'on', 'Off', '*:8443',
  'route=n3', 'route=constructor', 'loadfactor=0', 'loadfactor=101', 'loadfactor=toString', 'lbset=99', 'lbset=100', 'lbmethod=bytraffic',
  'lbmethod=constructor', 'lbmethod=__proto__', 'stickysession=A|', 'stickysession=__proto__', 'timeout=7200', 'timeout=-1',
  'status=+H', 'status=constructor', 'hcexpr=ok', 'hcmethod=GET', 'hctemplate=ok', 'hctemplate=__proto__', 'hcinterval=5', 'retry=60', 'growth=3', '__proto__=1', 'constructor=1', 'toString',
  'ok', "{%{REQUEST_STATUS} =~ /^[23]/}", 'header=50', 'body=20,MinRate=500', 'granted', 'local', 'all', 'mod_proxy.c', '"a b"', '\\', '#',
];

function apacheText(): fc.Arbitrary<string> {
  const word = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...APACHE_WORDS, ...INHERITED_NAMES) }, fc.string({ maxLength: 8 }));
  const line = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...APACHE_LINES) },
    { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...APACHE_NAMES, ...INHERITED_NAMES), fc.array(word, { maxLength: 4 })).map(([name, args]) => `${name}${name.startsWith('<') && !name.startsWith('</') ? ` ${args.join(' ')}>` : ` ${args.join(' ')}`}`) },
    fc.string({ maxLength: 30 }),
  );
  return edited(APACHE_BASE, line, 4);
}

const NATIVE_BASE = [
  'listeners:',
  '  - port: 8443',
  'virtual-hosts:',
  '  - port: 8443',
  '    routes:',
  '      - path: /',
  '        balancer: app',
  'balancers:',
  '  app:',
  '    sticky-session: JSESSIONID',
  '    members:',
  '      - url: https://10.0.0.1:9443',
  '        route: n1',
  '      - url: https://10.0.0.2:9443',
  '        route: n2',
  '        loadfactor: 2',
];
const NATIVE_KEYS = [
  'listeners', 'virtual-hosts', 'balancers', 'members', 'url', 'route', 'loadfactor', 'lbset', 'status', 'lbmethod', 'sticky-session',
  'routes', 'path', 'balancer', 'port', 'host', 'tls', 'manager', 'state-file', 'client', 'timeout', 'health-check', 'expr', 'scheme', 'method', 'growth', 'app',
];
/** Lines that fit the base where they land, now and then: enough texts load for the configuration to be checked. */
const NATIVE_LINES = ['        loadfactor: 3', '        lbset: 1', '    lbmethod: bybusyness', '        route: n9', '        status: [D]', '    growth: 2', '      - url: https://10.0.0.3:9443',
  '        health-check: { method: GET, uri: /health/ready, scheme: http, host: 10.0.0.9, port: 9000 }'];
const NATIVE_VALUES = ['app', '1', '0', '101', '9000', '65536', 'http', 'https', '"[::1]"', 'true', 'null', '~', '[]', '{}', 'https://10.0.0.3:9443', 'bytraffic', 'toString', '__proto__', '"a: b"', '&a', '*a', '!!js/function "x"', '- x'];

function nativeText(): fc.Arbitrary<string> {
  const key = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...NATIVE_KEYS) }, fc.constantFrom(...INHERITED_NAMES), fc.string({ maxLength: 6 }));
  const value = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...NATIVE_VALUES, ...INHERITED_NAMES) }, fc.string({ maxLength: 8 }));
  const indent = fc.constantFrom('', '  ', '    ', '      ', '        ');
  const line = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(indent, fc.boolean(), key, fc.option(value)).map(([i, item, k, v]) => `${i}${item ? '- ' : ''}${k}:${v === null ? '' : ` ${v}`}`) },
    { weight: 6, arbitrary: fc.constantFrom(...NATIVE_LINES) },
    fc.string({ maxLength: 30 }),
  );
  return edited(NATIVE_BASE, line, 3);
}

test('the bases the properties start from load', () => {
  assert.ok(checkResult(loadApacheConfigText(`${APACHE_BASE.join('\n')}\n`, 't.conf'), 't.conf', APACHE_BASE.join('\n')));
  assert.ok(checkResult(loadNativeConfigText(`${NATIVE_BASE.join('\n')}\n`, 't.yaml'), 't.yaml', NATIVE_BASE.join('\n')));
});

test('a YAML key named __proto__ is refused with its line, not dropped without a word; inherited names are ordinary names', () => {
  const text = NATIVE_BASE.join('\n').replace('  app:', '  __proto__:\n    members:\n      - url: https://10.0.0.9:9443\n  app:');
  const refused = loadNativeConfigText(text, 't.yaml');
  assert.equal(refused.config, undefined);
  assert.deepEqual(refused.diagnostics.map((d) => `${d.file}:${d.line}: ${d.directive}`), ['t.yaml:9: __proto__']);
  const named = loadNativeConfigText(NATIVE_BASE.join('\n').replaceAll('app', 'constructor'), 't.yaml');
  assert.deepEqual(named.config?.balancers.map((b) => b.name), ['constructor']);
  const apache = loadApacheConfigText(APACHE_BASE.join('\n').replaceAll('balancer://app', 'balancer://__proto__'), 't.conf');
  assert.deepEqual(apache.config?.balancers.map((b) => b.name), ['__proto__']);
});

test('property: any Apache text gives diagnostics naming file:line and directive, or a configuration of plain data; never a throw', () => {
  // About 90 of 1 500 load (σ about 9, since Header lines are read strictly): 45 leaves room for chance and still
  // fails a generator that no longer reaches a whole configuration.
  readerProperty(apacheText(), loadApacheConfigText, 't.conf', 45);
});

test('property: any YAML text gives diagnostics naming file:line and key, or a configuration of plain data; never a throw', () => {
  // About 50 of 1 500 load (σ about 7): 20 leaves room for chance.
  readerProperty(nativeText(), loadNativeConfigText, 't.yaml', 20);
});
