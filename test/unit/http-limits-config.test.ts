// The client limits and timeouts as both front ends read them: the native `client` section, Apache's
// LimitRequest* and RequestReadTimeout (and Timeout as the send timeout), and `stickler convert` between them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { toYaml } from '../../src/config/convert.ts';
import { CLIENT_DEFAULTS, clientPolicy, formatDiagnostic, type SticklerConfig } from '../../src/config/model.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { comparable } from '../support/fixtures.ts';

const NATIVE = `virtual-hosts:
  - port: 8080
    routes:
      - { path: /, balancer: b }
balancers:
  b:
    members:
      - url: http://10.0.0.1:8080
`;

function native(client: string): { config?: SticklerConfig; diagnostics: string[] } {
  const r = loadNativeConfigText(`${client}\n${NATIVE}`, 'stickler.yaml');
  return { ...(r.config && { config: r.config }), diagnostics: r.diagnostics.map(formatDiagnostic) };
}

function apache(lines: string[]): { config: SticklerConfig; diagnostics: string[] } {
  const text = ['Listen 8080', ...lines, 'ProxyPass / balancer://b/', '<Proxy balancer://b>', 'BalancerMember http://10.0.0.1:8080', '</Proxy>'].join('\n');
  const r = loadApacheConfigText(`${text}\n`, 't.conf');
  assert.ok(r.config, r.diagnostics.map(formatDiagnostic).join('\n'));
  return { config: r.config, diagnostics: r.diagnostics.map(formatDiagnostic) };
}

/** The configuration converted to YAML and loaded back is the same model. */
function roundTrips(config: SticklerConfig): string {
  const yaml = toYaml(config);
  const back = loadNativeConfigText(yaml, 'converted.yaml');
  assert.deepEqual(back.diagnostics.map(formatDiagnostic), []);
  assert.deepEqual(comparable(back.config), comparable(config));
  return yaml;
}

test('without settings every client limit is the default, and the model says nothing', () => {
  const { config } = native('');
  assert.equal(config?.client, undefined);
  assert.deepEqual(clientPolicy(config!), CLIENT_DEFAULTS);
  assert.deepEqual(CLIENT_DEFAULTS.headerTimeout, { timeout: 20_000, minRate: 500, max: 40_000 }, "Apache's header=20-40,MinRate=500");
  assert.deepEqual(CLIENT_DEFAULTS.bodyTimeout, { timeout: 20_000, minRate: 500, max: 0 }, "Apache's body=20,MinRate=500");
});

test('native client section: sizes with units, counts, durations, read timeouts in both forms', () => {
  const { config, diagnostics } = native(`client:
  request-line: 4k
  header-field-size: 16k
  header-fields: 50
  header-size: 128k
  body-size: 10m
  max-connections: 500
  handshake-timeout: 5s
  header-timeout: { timeout: 10s, min-rate: 1000, max: 30s }
  body-timeout: 15s
  send-timeout: 2m`);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(config?.client, {
    requestLine: 4096, fieldSize: 16384, fields: 50, headSize: 131072, bodySize: 10 * 1024 * 1024, maxConnections: 500,
    handshakeTimeout: 5_000, headerTimeout: { timeout: 10_000, minRate: 1000, max: 30_000 },
    bodyTimeout: { timeout: 15_000, minRate: 0, max: 0 }, sendTimeout: 120_000,
  });
  const policy = clientPolicy(config!);
  assert.equal(policy.fields, 50);
  const yaml = roundTrips(config!);
  assert.match(yaml, /request-line: 4k\n {2}header-field-size: 16k/);
  assert.match(yaml, /body-timeout: 15s/);
  // Only what the file gives is kept: the rest stays the default.
  const partial = native('client:\n  body-size: 0').config!;
  assert.deepEqual(partial.client, { bodySize: 0 });
  assert.equal(clientPolicy(partial).fieldSize, 8190);
});

test('native client section: every mistake names what was expected', () => {
  const errors = (yaml: string) => native(yaml).diagnostics.map((d) => d.replace(/^stickler\.yaml:\d+: /, ''));
  assert.deepEqual(errors('client:\n  body-size: 1t'), ['client.body-size: expected a size in bytes such as 8190, 64k, 1m or 1g, got "1t"']);
  assert.deepEqual(errors('client:\n  request-line: 0'), ['client.request-line: must be at least 1 bytes, got 0']);
  assert.deepEqual(errors('client:\n  header-timeout: { timeout: 10s, max: 20s }'),
    ['client.header-timeout: max needs min-rate: without a rate the timeout never grows']);
  assert.deepEqual(errors('client:\n  header-timeout: { timeout: 10s, min-rate: 500, max: 10s }'),
    ['client.header-timeout: max (10s) must be longer than timeout (10s)']);
  assert.deepEqual(errors('client:\n  body-timeout: { timeout: 10s, rate: 500 }'), ['client.body-timeout: unknown key "rate"; expected timeout, min-rate, max']);
  assert.deepEqual(errors('client:\n  body-timeout: { min-rate: 500 }'),
    ['client.body-timeout: timeout: expected a duration such as 60s, 500ms or 2m, or a number of seconds, got nothing']);
  assert.equal(errors('client:\n  max-conections: 10')[0]?.startsWith('client.max-conections: unknown key; expected one of: request-line,'), true);
});

test('Apache: LimitRequestLine, LimitRequestFieldSize, LimitRequestFields, LimitRequestBody in the main server', () => {
  const { config, diagnostics } = apache(['LimitRequestLine 4094', 'LimitRequestFieldSize 16380', 'LimitRequestFields 0', 'LimitRequestBody 1048576']);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(config.client, { requestLine: 4094, fieldSize: 16380, fields: 0, bodySize: 1_048_576 });
  roundTrips(config);
});

test('Apache: a limit in a virtual host or a location is not applied, and says so; a bad value is an error', () => {
  const { config, diagnostics } = apache([
    '<VirtualHost *:8080>', 'LimitRequestBody 100', '<Location /upload>', 'LimitRequestBody 10', '</Location>', '</VirtualHost>',
  ]);
  assert.equal(config.client, undefined);
  assert.deepEqual(diagnostics, [
    't.conf:3: LimitRequestBody: ignored: Stickler has one LimitRequestBody for all requests; expected it in the main server',
    't.conf:5: LimitRequestBody: ignored: Stickler has one LimitRequestBody for all requests; expected it in the main server',
  ]);
  const bad = loadApacheConfigText('Listen 80\nLimitRequestLine 8k\nLimitRequestFieldSize 0\nLimitRequestBody\n', 't.conf');
  assert.deepEqual(bad.diagnostics.map(formatDiagnostic), [
    't.conf:2: LimitRequestLine: "8k" is not a valid limit; expected the longest request line in bytes, such as 8190',
    't.conf:3: LimitRequestFieldSize: "0" is not a valid limit; expected the longest header line in bytes, such as 8190',
    't.conf:4: LimitRequestBody: missing argument; expected the largest request body in bytes, such as 1073741824 (0: no limit)',
  ]);
});

test('Apache: RequestReadTimeout stages, as mod_reqtimeout reads them; Timeout is also the send timeout', () => {
  const { config, diagnostics } = apache(['Timeout 300', 'RequestReadTimeout handshake=5 header=10-30,MinRate=500', 'RequestReadTimeout body=10,minrate=1000']);
  assert.deepEqual(diagnostics, []);
  assert.deepEqual(config.client, {
    sendTimeout: 300_000,
    handshakeTimeout: 5_000,
    headerTimeout: { timeout: 10_000, minRate: 500, max: 30_000 },
    bodyTimeout: { timeout: 10_000, minRate: 1000, max: 0 },
  });
  assert.equal(config.timeout, 300_000, 'and still the backend timeout');
  roundTrips(config);
});

test('Apache: RequestReadTimeout that would switch a stage off, or that httpd refuses', () => {
  const off = apache(['RequestReadTimeout handshake=0 header=0 body=20', 'RequestReadTimeout handshake=5-10,MinRate=100']);
  assert.deepEqual(off.config.client, { bodyTimeout: { timeout: 20_000, minRate: 0, max: 0 }, handshakeTimeout: 5_000 });
  assert.deepEqual(off.diagnostics, [
    't.conf:2: RequestReadTimeout: ignored: handshake=0 would leave slow clients unbounded; Stickler keeps its handshake timeout',
    't.conf:2: RequestReadTimeout: ignored: header=0 would leave slow clients unbounded; Stickler keeps its header timeout',
    't.conf:3: RequestReadTimeout: the handshake timeout is fixed in Stickler: 5 s, with no MinRate extension',
  ]);
  const errors = (args: string) => loadApacheConfigText(`Listen 80\nRequestReadTimeout ${args}\n`, 't.conf').diagnostics.map(formatDiagnostic);
  assert.deepEqual(errors('header=10-20'), ['t.conf:2: RequestReadTimeout: header=10-20: a timeout range needs MinRate, as in header=10-20,MinRate=500']);
  assert.deepEqual(errors('body=10,MinRate=0'), ['t.conf:2: RequestReadTimeout: body=10,MinRate=0: MinRate must be larger than 0']);
  assert.deepEqual(errors('header=40-20,MinRate=500'), ['t.conf:2: RequestReadTimeout: header=40-20,MinRate=500: the maximum timeout must be larger than the initial one']);
  assert.deepEqual(errors('header=ten'), ['t.conf:2: RequestReadTimeout: header=ten is not timeout[-maxtimeout][,MinRate=rate]; expected whole seconds and bytes per second, such as header=20-40,MinRate=500']);
  assert.deepEqual(errors('request=10'), ['t.conf:2: RequestReadTimeout: "request=10" is not handshake=, header= or body=; expected words such as header=20-40,MinRate=500 body=20,MinRate=500']);
});

test('HTTP/2 stream cap and requests in flight: native keys, Apache H2MaxSessionStreams, their bounds, and convert', () => {
  assert.equal(CLIENT_DEFAULTS.maxStreams, 100, "mod_http2's H2MaxSessionStreams default");
  const { config, diagnostics } = native('client:\n  max-streams: 1\n  max-requests: 0');
  assert.deepEqual(diagnostics, []);
  assert.equal(clientPolicy(config!).maxStreams, 1);
  assert.equal(clientPolicy(config!).maxRequests, 0, '0: no limit');
  assert.match(native('client:\n  max-streams: 0').diagnostics.join('\n'), /stickler\.yaml:2: client\.max-streams: expected a whole number from 1/);
  assert.match(native('client:\n  max-requests: -1').diagnostics.join('\n'), /stickler\.yaml:2: client\.max-requests: expected a whole number >= 0, got -1/);

  const fromApache = apache(['H2MaxSessionStreams 32']);
  assert.deepEqual(fromApache.diagnostics, []);
  assert.equal(clientPolicy(fromApache.config).maxStreams, 32);
  assert.match(roundTrips(fromApache.config), /max-streams: 32/);
  const zero = loadApacheConfigText('Listen 8080\nH2MaxSessionStreams 0\n', 't.conf');
  assert.match(zero.diagnostics.map(formatDiagnostic).join('\n'), /t\.conf:2: H2MaxSessionStreams: "0" is not a valid limit; expected the most concurrent streams/);
  const inVhost = apache(['<VirtualHost *:8080>', 'H2MaxSessionStreams 8', '</VirtualHost>']);
  assert.equal(clientPolicy(inVhost.config).maxStreams, 100);
  assert.match(inVhost.diagnostics.join('\n'), /H2MaxSessionStreams: ignored: Stickler has one H2MaxSessionStreams/);
});
