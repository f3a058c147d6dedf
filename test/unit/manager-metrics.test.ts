// prometheusText against the text exposition format 0.0.4 and Prometheus' naming conventions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PROMETHEUS_CONTENT_TYPE, prometheusText } from '../../src/manager/metrics.ts';
import type { BalancerOverview, ManagerOverview, MemberOverview } from '../../src/manager/model.ts';

function member(url: string, fields: Partial<MemberOverview>): MemberOverview {
  return {
    url, route: '', redirect: '', loadfactor: 1, lbset: 0,
    status: { ignoreErrors: false, drain: false, disabled: false, stopped: false, hotStandby: false, hotSpare: false,
              error: false, healthCheckFailed: false },
    statusLabel: 'Init Ok ', usable: true, elected: 0, busy: 0, lbstatus: 0, bytesToMember: 0, bytesFromMember: 0,
    requests: 0, failures: 0, lastFailure: null, errorSince: null, latency: { sumMs: 0, buckets: [0, 0, 0, 0] },
    lastMinute: { fromMs: 0, requests: 0, latency: { sumMs: 0, buckets: [0, 0, 0, 0] } },
    stickySessions: 0, changes: { error: 0, recovered: 0, healthCheckFailed: 0, healthCheckPassed: 0 }, routeMismatch: null, drainSessions: null,
    ...fields,
  };
}

function balancer(name: string, members: MemberOverview[], cookiesRejected: number | null = null): BalancerOverview {
  return { name, lbmethod: 'byrequests', stickySession: 'JSESSIONID|jsessionid', nofailover: false, timeoutMs: 0,
           maxAttempts: 1, capacity: members.length, stopWhenIdleMs: 1_800_000, cookiesRejected, members };
}

function overview(balancers: BalancerOverview[]): ManagerOverview {
  return { time: 1767225600000, latencyBucketsMs: [5, 25, 100], sessionWindowMs: 1_800_000, persisted: false, balancers };
}

const OFF = member('', {}).status;

const SMALL = overview([
  balancer('app', [
    member('http://10.0.0.1:8080', {
      route: 'n1', requests: 10, failures: 1, bytesToMember: 2048, bytesFromMember: 65536, elected: 11, busy: 2,
      lbstatus: -50, loadfactor: 1.5, stickySessions: 4, lastFailure: 1767225600123,
      latency: { sumMs: 123.4, buckets: [3, 4, 2, 1] }, changes: { error: 2, recovered: 0, healthCheckFailed: 0, healthCheckPassed: 0 },
    }),
    member('http://10.0.0.2:8080', {
      route: 'a"b\\c\nd', lbstatus: 50, usable: false, status: { ...OFF, drain: true, error: true },
      routeMismatch: { flagged: true, lastAt: 1767225600000, lastSeen: null, counts: [{ seen: 'node9', count: 3 }, { seen: '', count: 1 }, { seen: 'other', count: 5 }], other: 2 },
    }),
  ], 3),
  balancer('api', [
    member('https://api.internal:8443', {
      requests: 1, bytesToMember: 100, bytesFromMember: 200, elected: 1, loadfactor: 2, usable: false,
      lastFailure: 1767225600000, status: { ...OFF, hotStandby: true, healthCheckFailed: true },
      latency: { sumMs: 0.1 + 0.2, buckets: [1, 0, 0, 0] },
    }),
  ]),
]);

const A = 'balancer="app",member="http://10.0.0.1:8080",route="n1"';
const B = String.raw`balancer="app",member="http://10.0.0.2:8080",route="a\"b\\c\nd"`;
const C = 'balancer="api",member="https://api.internal:8443",route=""';

/** 0/1 for ignore_errors, drain, disabled, stopped, hot_standby, hot_spare, error, health_check_failed. */
function statusLines(labels: string, bits: string): string[] {
  const names = ['ignore_errors', 'drain', 'disabled', 'stopped', 'hot_standby', 'hot_spare', 'error', 'health_check_failed'];
  return names.map((name, i) => `stickler_member_status{${labels},status="${name}"} ${bits[i]}`);
}

const EXPECTED = [
  '# HELP stickler_member_requests_total Exchanges finished with the member (answered, failed or cut off).',
  '# TYPE stickler_member_requests_total counter',
  `stickler_member_requests_total{${A}} 10`,
  `stickler_member_requests_total{${B}} 0`,
  `stickler_member_requests_total{${C}} 1`,
  '# HELP stickler_member_failures_total Failures charged to the member: connect errors, timeouts, failonstatus, responses cut off.',
  '# TYPE stickler_member_failures_total counter',
  `stickler_member_failures_total{${A}} 1`,
  `stickler_member_failures_total{${B}} 0`,
  `stickler_member_failures_total{${C}} 0`,
  "# HELP stickler_member_sent_bytes_total Bytes sent to the member (Apache's To).",
  '# TYPE stickler_member_sent_bytes_total counter',
  `stickler_member_sent_bytes_total{${A}} 2048`,
  `stickler_member_sent_bytes_total{${B}} 0`,
  `stickler_member_sent_bytes_total{${C}} 100`,
  "# HELP stickler_member_received_bytes_total Bytes received from the member (Apache's From).",
  '# TYPE stickler_member_received_bytes_total counter',
  `stickler_member_received_bytes_total{${A}} 65536`,
  `stickler_member_received_bytes_total{${B}} 0`,
  `stickler_member_received_bytes_total{${C}} 200`,
  "# HELP stickler_member_elected_total Times the member was chosen for a request (Apache's Elected).",
  '# TYPE stickler_member_elected_total counter',
  `stickler_member_elected_total{${A}} 11`,
  `stickler_member_elected_total{${B}} 0`,
  `stickler_member_elected_total{${C}} 1`,
  '# HELP stickler_member_busy Requests in flight to the member.',
  '# TYPE stickler_member_busy gauge',
  `stickler_member_busy{${A}} 2`,
  `stickler_member_busy{${B}} 0`,
  `stickler_member_busy{${C}} 0`,
  "# HELP stickler_member_lbstatus Weighted round-robin credit of the member (Apache's Load); may be negative.",
  '# TYPE stickler_member_lbstatus gauge',
  `stickler_member_lbstatus{${A}} -50`,
  `stickler_member_lbstatus{${B}} 50`,
  `stickler_member_lbstatus{${C}} 0`,
  '# HELP stickler_member_loadfactor Weight of the member among its balancer.',
  '# TYPE stickler_member_loadfactor gauge',
  `stickler_member_loadfactor{${A}} 1.5`,
  `stickler_member_loadfactor{${B}} 1`,
  `stickler_member_loadfactor{${C}} 2`,
  '# HELP stickler_member_up 1 when a new request could be sent to the member now, 0 when not.',
  '# TYPE stickler_member_up gauge',
  `stickler_member_up{${A}} 1`,
  `stickler_member_up{${B}} 0`,
  `stickler_member_up{${C}} 0`,
  '# HELP stickler_member_sticky_sessions Sessions that sent a request routed to the member within the session window (approximate).',
  '# TYPE stickler_member_sticky_sessions gauge',
  `stickler_member_sticky_sessions{${A}} 4`,
  `stickler_member_sticky_sessions{${B}} 0`,
  `stickler_member_sticky_sessions{${C}} 0`,
  '# HELP stickler_member_last_failure_timestamp_seconds When the member last failed, in seconds since the epoch; absent when it never failed.',
  '# TYPE stickler_member_last_failure_timestamp_seconds gauge',
  `stickler_member_last_failure_timestamp_seconds{${A}} 1767225600.123`,
  `stickler_member_last_failure_timestamp_seconds{${C}} 1767225600`,
  '# HELP stickler_member_status 1 when the switch or state named by the status label is set, 0 when not.',
  '# TYPE stickler_member_status gauge',
  ...statusLines(A, '00000000'),
  ...statusLines(B, '01000010'),
  ...statusLines(C, '00001001'),
  '# HELP stickler_member_state_changes_total State changes of the member: into error, back from it, taken out and brought back by its health check.',
  '# TYPE stickler_member_state_changes_total counter',
  ...[A, B, C].flatMap((labels) => ['error', 'recovered', 'health_check_failed', 'health_check_passed'].map((change) =>
    `stickler_member_state_changes_total{${labels},change="${change}"} ${labels === A && change === 'error' ? 2 : 0}`)),
  '# HELP stickler_member_route_mismatch_total Sessions the member issued with a route not its own (seen: the route, "" for none, ;other past the first few).',
  '# TYPE stickler_member_route_mismatch_total counter',
  `stickler_member_route_mismatch_total{${B},seen="node9"} 3`,
  `stickler_member_route_mismatch_total{${B},seen=""} 1`,
  `stickler_member_route_mismatch_total{${B},seen="other"} 5`,
  `stickler_member_route_mismatch_total{${B},seen=";other"} 2`,
  '# HELP stickler_balancer_cookie_rejected_total Balancer cookies not obeyed because their signature did not hold (forged, altered or unsigned); only balancers with a cookie.',
  '# TYPE stickler_balancer_cookie_rejected_total counter',
  'stickler_balancer_cookie_rejected_total{balancer="app"} 3',
  '# HELP stickler_member_response_latency_seconds Time from sending the request to the member to its response head.',
  '# TYPE stickler_member_response_latency_seconds histogram',
  `stickler_member_response_latency_seconds_bucket{${A},le="0.005"} 3`,
  `stickler_member_response_latency_seconds_bucket{${A},le="0.025"} 7`,
  `stickler_member_response_latency_seconds_bucket{${A},le="0.1"} 9`,
  `stickler_member_response_latency_seconds_bucket{${A},le="+Inf"} 10`,
  `stickler_member_response_latency_seconds_sum{${A}} 0.1234`,
  `stickler_member_response_latency_seconds_count{${A}} 10`,
  `stickler_member_response_latency_seconds_bucket{${B},le="0.005"} 0`,
  `stickler_member_response_latency_seconds_bucket{${B},le="0.025"} 0`,
  `stickler_member_response_latency_seconds_bucket{${B},le="0.1"} 0`,
  `stickler_member_response_latency_seconds_bucket{${B},le="+Inf"} 0`,
  `stickler_member_response_latency_seconds_sum{${B}} 0`,
  `stickler_member_response_latency_seconds_count{${B}} 0`,
  `stickler_member_response_latency_seconds_bucket{${C},le="0.005"} 1`,
  `stickler_member_response_latency_seconds_bucket{${C},le="0.025"} 1`,
  `stickler_member_response_latency_seconds_bucket{${C},le="0.1"} 1`,
  `stickler_member_response_latency_seconds_bucket{${C},le="+Inf"} 1`,
  `stickler_member_response_latency_seconds_sum{${C}} 0.0003`,
  `stickler_member_response_latency_seconds_count{${C}} 1`,
];

const PROCESS_EXPECTED = [
  '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
  '# TYPE process_start_time_seconds gauge',
  'process_start_time_seconds 1767225000.25',
  '# HELP process_resident_memory_bytes Resident memory size in bytes.',
  '# TYPE process_resident_memory_bytes gauge',
  'process_resident_memory_bytes 104857600',
  '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
  '# TYPE process_cpu_seconds_total counter',
  'process_cpu_seconds_total 0.3',
];

const OPEN_CONNECTIONS_EXPECTED = [
  '# HELP stickler_open_connections Client connections open now, all workers together.',
  '# TYPE stickler_open_connections gauge',
  'stickler_open_connections 7',
];

const FIGURES = { startTimeSeconds: 1767225000.25, residentBytes: 104_857_600, cpuSeconds: 0.1 + 0.2 };

const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
const SAMPLE = new RegExp(String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{${LABEL}(?:,${LABEL})*\})? ` +
  String.raw`([+-]Inf|NaN|-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$`);

/** The lines of a whole exposition, which must end with a line feed. */
function linesOf(text: string): string[] {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a line feed');
  return text.slice(0, -1).split('\n');
}

/** Checks the grammar and the grouping: HELP then TYPE once per family, its samples right after them, each series once. */
function checkExposition(text: string): void {
  const seen = new Set<string>();
  const series = new Set<string>();
  let family = '';
  let type = '';
  const lines = linesOf(text);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S/.exec(line);
    if (help !== null) {
      family = help[1] as string;
      assert.ok(!seen.has(family), `family ${family} appears twice`);
      seen.add(family);
      const typeLine = new RegExp(`^# TYPE ${family} (counter|gauge|histogram)$`).exec(lines[++i] ?? '');
      assert.ok(typeLine !== null, `HELP ${family} is followed by its TYPE`);
      type = typeLine[1] as string;
      continue;
    }
    const sample = SAMPLE.exec(line);
    assert.ok(sample !== null, `not a sample line: ${JSON.stringify(line)}`);
    const name = sample[1] as string;
    assert.ok(!series.has(`${name}${sample[2] ?? ''}`), `series ${name}${sample[2] ?? ''} appears twice`);
    series.add(`${name}${sample[2] ?? ''}`);
    const base = type === 'histogram' ? name.replace(/_(bucket|sum|count)$/, '') : name;
    assert.equal(base, family, `${name} sits among the samples of ${family}`);
    if (type === 'counter') assert.ok(name.endsWith('_total'), `counter ${name} ends with _total`);
  }
}

describe('prometheusText', () => {
  test('the exposition of a small overview, line by line', () => {
    assert.deepEqual(linesOf(prometheusText(SMALL)), EXPECTED);
  });

  test('process figures come after the members, open connections only when given', () => {
    assert.deepEqual(linesOf(prometheusText(SMALL, FIGURES)), [...EXPECTED, ...PROCESS_EXPECTED]);
    assert.deepEqual(linesOf(prometheusText(SMALL, { ...FIGURES, openConnections: 7 })),
      [...EXPECTED, ...PROCESS_EXPECTED, ...OPEN_CONNECTIONS_EXPECTED]);
  });

  test('every line parses, HELP and TYPE come once per family, a family\'s samples are together', () => {
    checkExposition(prometheusText(SMALL, { ...FIGURES, openConnections: 7 }));
    checkExposition(prometheusText(overview([])));
  });

  test('_count equals the +Inf bucket, and buckets never decrease', () => {
    const lines = linesOf(prometheusText(SMALL));
    for (const labels of [A, B, C]) {
      const buckets = lines.filter((l) => l.startsWith(`stickler_member_response_latency_seconds_bucket{${labels},`))
        .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
      const count = lines.find((l) => l.startsWith(`stickler_member_response_latency_seconds_count{${labels}}`));
      assert.equal(buckets.length, 4);
      assert.deepEqual(buckets, [...buckets].sort((x, y) => x - y));
      assert.equal(count, `stickler_member_response_latency_seconds_count{${labels}} ${buckets[3]}`);
    }
  });

  test('infinities and NaN are spelled as Prometheus requires', () => {
    const text = prometheusText(overview([]), { startTimeSeconds: -Infinity, residentBytes: NaN, cpuSeconds: Infinity });
    assert.match(text, /^process_start_time_seconds -Inf$/m);
    assert.match(text, /^process_resident_memory_bytes NaN$/m);
    assert.match(text, /^process_cpu_seconds_total \+Inf$/m);
    checkExposition(text);
  });

  test('large counters keep every digit', () => {
    const text = prometheusText(overview([balancer('app', [member('http://a', { bytesToMember: 2 ** 53 })])]));
    assert.match(text, /^stickler_member_sent_bytes_total\{[^}]*\} 9007199254740992$/m);
  });

  test('bucket counts that do not match the bounds: missing ones are 0, extra ones are slower than all', () => {
    const odd = overview([balancer('app', [
      member('http://short', { latency: { sumMs: 1, buckets: [1] } }),
      member('http://long', { latency: { sumMs: 1, buckets: [1, 0, 0, 1, 2] } }),
    ])]);
    const lines = linesOf(prometheusText(odd)).filter((l) => l.includes('_bucket') || l.includes('_count'));
    assert.deepEqual(lines.map((l) => l.replace(/balancer="app",member="http:\/\/(\w+)",route=""/, '$1')), [
      'stickler_member_response_latency_seconds_bucket{short,le="0.005"} 1',
      'stickler_member_response_latency_seconds_bucket{short,le="0.025"} 1',
      'stickler_member_response_latency_seconds_bucket{short,le="0.1"} 1',
      'stickler_member_response_latency_seconds_bucket{short,le="+Inf"} 1',
      'stickler_member_response_latency_seconds_count{short} 1',
      'stickler_member_response_latency_seconds_bucket{long,le="0.005"} 1',
      'stickler_member_response_latency_seconds_bucket{long,le="0.025"} 1',
      'stickler_member_response_latency_seconds_bucket{long,le="0.1"} 1',
      'stickler_member_response_latency_seconds_bucket{long,le="+Inf"} 4',
      'stickler_member_response_latency_seconds_count{long} 4',
    ]);
  });

  test('the content type names format 0.0.4', () => {
    assert.equal(PROMETHEUS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });
});

test('every served certificate has its expiry; an ACME one its failed orders in a row', () => {
  const text = prometheusText({
    ...overview([]),
    certificates: [
      { vhost: 'manual.example.org', port: 443, notAfter: 1_900_000_000_500 },
      { vhost: 'www.example.org', port: 443, notAfter: 1_800_000_000_000, acme: { name: 'www.example.org', failures: 3, lastError: 'timeout', failing: true } },
      { vhost: 'www.example.org', port: 8443, notAfter: 1_800_000_000_000, acme: { name: 'www.example.org', failures: 3, failing: true } },
    ],
  });
  checkExposition(text);
  const lines = linesOf(text);
  assert.ok(lines.includes('stickler_certificate_expiry_timestamp_seconds{vhost="manual.example.org",port="443"} 1900000000'), text);
  assert.ok(lines.includes('stickler_certificate_expiry_timestamp_seconds{vhost="www.example.org",port="8443"} 1800000000'), text);
  assert.deepEqual(lines.filter((l) => l.startsWith('stickler_certificate_renewal_failures{')), ['stickler_certificate_renewal_failures{name="www.example.org"} 3']);
});
