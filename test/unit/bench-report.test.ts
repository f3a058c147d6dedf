// The pure parts of the benchmark: h2load's summary and per-request log, CPU accounting from /proc stat
// texts, medians and HAProxy ratios over rounds, the SVG chart, and the bench's HTTP/2 Apache config.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpuSecondsPer10k, parseCpuSeconds } from '../../bench/cpu.ts';
import { h2loadResult, logPercentiles, parseH2loadOutput } from '../../bench/h2load.ts';
import type { LoadResult } from '../../bench/load.ts';
import { parseProcessGroup } from '../../bench/process-group.ts';
import { formatTable, median, summarize, withRatios, type RunOutcome } from '../../bench/report.ts';
import { barChartSvg, escapeXml } from '../../bench/svg.ts';
import { benchApacheConfig } from '../../bench/targets.ts';

// What Debian's h2load 1.52 printed for -t2 -c10 -m10 -D 2 against the static members (progress lines cut).
const H2LOAD_CLEAN = `starting benchmark...
spawning thread #0: 5 total client(s). Timing-based test with 0s of warm-up time and 2s of main duration for measurements.
Application protocol: h2
Stopped all clients for thread #0

finished in 2.00s, 74597.50 req/s, 9.04MB/s
requests: 149195 total, 149295 started, 149195 done, 149195 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 149195 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 18.07MB (18948255) total, 14.80MB (15516280) headers (space savings 40.23%), 728.49KB (745975) data
                     min         max         mean         sd        +/- sd
time for request:       35us      6.07ms      1.29ms       408us    86.55%
time for connect:     3.89ms      7.11ms      5.23ms      1.26ms    70.00%
time to 1st byte:     5.08ms      9.73ms      7.36ms      1.78ms    50.00%
req/s           :    7435.98     7497.27     7458.87       20.46    70.00%
`;

// Every answer a 404.
const H2LOAD_NOT_FOUND = `finished in 1.00s, 77167.00 req/s, 16.26MB/s
requests: 77167 total, 77267 started, 77167 done, 0 succeeded, 77167 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 77167 4xx, 0 5xx
traffic: 16.26MB (17054397) total, 3.68MB (3858350) headers (space savings 49.49%), 11.26MB (11806551) data
`;

// Nothing listening: h2load still exits 0.
const H2LOAD_REFUSED = `finished in 1.00s, 0.00 req/s, 0B/s
requests: 0 total, 0 started, 0 done, 0 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 0 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 0B (0) total, 0B (0) headers (space savings 0.00%), 0B (0) data
`;

function ok<T>(value: T | Error): T {
  if (value instanceof Error) assert.fail(value.message);
  return value;
}

test('h2load summary: duration, throughput, completed requests, exact traffic bytes', () => {
  assert.deepEqual(ok(parseH2loadOutput(H2LOAD_CLEAN)), {
    durationSec: 2,
    requestsPerSec: 74597.5,
    requests: 149195,
    errors: 0,
    trafficBytes: 18948255,
  });
});

test('h2load: completed requests that did not succeed are errors', () => {
  assert.equal(ok(parseH2loadOutput(H2LOAD_NOT_FOUND)).errors, 77167);
});

test('h2load: a run that completed nothing is an error, not a zero row', () => {
  const r = parseH2loadOutput(H2LOAD_REFUSED);
  assert.ok(r instanceof Error);
  assert.match(r.message, /completed no request/);
});

test('h2load: output without a summary is an error quoting it', () => {
  const r = parseH2loadOutput('h2load: unknown option --bogus\n');
  assert.ok(r instanceof Error);
  assert.match(r.message, /not understood[\s\S]*--bogus/);
});

test('h2load: durations in milliseconds are converted', () => {
  assert.equal(ok(parseH2loadOutput(H2LOAD_CLEAN.replace('finished in 2.00s', 'finished in 500.00ms'))).durationSec, 0.5);
});

test('h2load log: nearest-rank p50 and p99 in ms, failed streams left out, blank and bad lines skipped', () => {
  const lines = Array.from({ length: 100 }, (_, i) => `1795569285658320\t200\t${(i + 1) * 1000}`);
  lines.push('1795569285658999\t-1\t999999999', '', 'garbage', '1\t200\tNaN');
  assert.deepEqual(ok(logPercentiles(lines.reverse().join('\n'))), { p50Ms: 50, p99Ms: 99 });
});

test('h2load log: one request is every percentile; none is an error', () => {
  assert.deepEqual(ok(logPercentiles('1\t200\t762\n')), { p50Ms: 0.762, p99Ms: 0.762 });
  assert.ok(logPercentiles('') instanceof Error);
  assert.ok(logPercentiles('1\t-1\t5\n') instanceof Error);
});

test('h2load result: MiB/s from the exact byte count over the measured duration', () => {
  const summary = ok(parseH2loadOutput(H2LOAD_CLEAN));
  const r = h2loadResult(summary, { p50Ms: 1, p99Ms: 2 });
  assert.equal(r.requests, 149195);
  assert.ok(Math.abs(r.mibPerSec - 18948255 / 2 / 1048576) < 1e-9);
  assert.equal(h2loadResult({ ...summary, durationSec: 0 }, { p50Ms: 1, p99Ms: 2 }).mibPerSec, 0);
});

// A real /proc/<pid>/stat line of nginx, and one whose command name holds spaces and parentheses.
const STAT = '8743 (nginx) S 8741 8741 8741 0 -1 4194624 2817 0 0 0 312 95 0 0 20 0 1 0 289754 60616704 2303 18446744073709551615';
const ODD_NAME = '4242 (a b) (c)) R 1 4242 4242 0 -1 4194560 10 0 0 0 1234 56 7 8 20 0 3 0 1 1 1 1';

test('CPU seconds are utime + stime in USER_HZ ticks, even with an odd command name', () => {
  assert.equal(parseCpuSeconds(STAT), 4.07);
  assert.equal(parseCpuSeconds(ODD_NAME), 12.9);
  assert.equal(parseProcessGroup(ODD_NAME), 4242);
});

test('a truncated or garbled stat text has no CPU time', () => {
  assert.equal(parseCpuSeconds('8743 (nginx) S 8741 8741'), undefined);
  assert.equal(parseCpuSeconds(''), undefined);
  assert.equal(parseCpuSeconds(STAT.replace(' 312 ', ' x ')), undefined);
});

test('CPU per 10 000 requests: the group\'s increase, a process born during the run counted from zero', () => {
  const before = new Map([['10', 1.0], ['11', 2.0]]);
  const after = new Map([['10', 3.0], ['11', 2.5], ['12', 0.5]]);
  const spent = cpuSecondsPer10k(before, after, 20_000);
  assert.ok(spent !== undefined && Math.abs(spent - 1.5) < 1e-9, `${spent} is not 1.5`);
});

test('CPU per 10 000 requests is undefined without samples or requests', () => {
  assert.equal(cpuSecondsPer10k(new Map(), new Map(), 100), undefined);
  assert.equal(cpuSecondsPer10k(new Map([['1', 1]]), new Map([['1', 2]]), 0), undefined);
});

test('median: odd and even counts, undefined and non-finite values left out', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, undefined, 1]), 2.5);
  assert.equal(median([undefined, Number.NaN]), undefined);
  assert.equal(median([]), undefined);
});

function load(requestsPerSec: number, errors = 0): LoadResult {
  return { requestsPerSec, p50Ms: requestsPerSec / 1000, p99Ms: 10, requests: requestsPerSec * 5, errors, mibPerSec: 1 };
}

test('summary over rounds: medians per figure, errors summed, a failed round ignored', () => {
  const runs: RunOutcome[] = [
    { result: load(1000, 1), cpuPer10k: 2, peakRssMiB: 50 },
    { skipped: 'wrk failed' },
    { result: load(3000, 2), cpuPer10k: 4, peakRssMiB: 70 },
  ];
  const s = summarize('apache', runs, 'https://127.0.0.1:1/');
  assert.equal(s.median?.requestsPerSec, 2000);
  assert.equal(s.median?.p50Ms, 2);
  assert.equal(s.median?.errors, 3);
  assert.equal(s.median?.cpuPer10k, 3);
  assert.equal(s.median?.peakRssMiB, 60);
  assert.equal(s.skipped, 'wrk failed');
});

test('a target without any result is skipped with the first reason', () => {
  const s = summarize('nginx', [{ skipped: 'not installed' }, { skipped: 'other' }]);
  assert.equal(s.median, undefined);
  assert.equal(s.skipped, 'not installed');
  assert.match(formatTable([s]), /nginx\s+skipped: not installed/);
});

test('ratios to HAProxy: throughput, p99, CPU and RSS; none when HAProxy has no result', () => {
  const rows = withRatios(
    [
      summarize('haproxy', [{ result: load(2000), cpuPer10k: 1, peakRssMiB: 20 }]),
      summarize('stickler -w1', [{ result: { ...load(1000), p99Ms: 25 }, cpuPer10k: 3, peakRssMiB: 100 }]),
    ],
    { haproxy: 'haproxy' },
  );
  assert.deepEqual(rows[1]!.vsHaproxy, { requestsPerSec: 0.5, p99Ms: 2.5, cpuPer10k: 3, peakRssMiB: 5 });
  const table = formatTable(rows);
  assert.match(table, /^target\s+req\/s\s+MiB\/s\s+p50 ms\s+p99 ms\s+errors\s+CPU s\/10k\s+RSS MiB\s+req\/s xHAP\s+p99 xHAP\s+CPU xHAP\s+RSS xHAP$/m);
  assert.match(table, /stickler -w1\s+1000\s+1\.0\s+1\.00\s+25\.00\s+0\s+3\.00\s+100\.0\s+0\.50x\s+2\.50x\s+3\.00x\s+5\.00x$/m);
  assert.ok(!table.includes('resumed'));
  const alone = withRatios([summarize('apache', [{ result: load(1000) }]), summarize('haproxy', [{ skipped: 'no haproxy' }])], { haproxy: 'haproxy' });
  assert.equal(alone[0]!.vsHaproxy?.requestsPerSec, undefined);
});

const REFERENCES = { haproxy: 'haproxy', haproxyAllCores: 'haproxy -t2 (all cores)', ceiling: 'node pipe (ceiling)', compared: (name: string) => name.startsWith('stickler') };

test('Stickler rows get req/s over HAProxy on every core (xHAPall) and over the Node ceiling (xNode), beside xHAP', () => {
  const rows = withRatios(
    [
      summarize('stickler -w1', [{ result: load(1000) }]),
      summarize('stickler -w2', [{ result: load(1500) }]),
      summarize('haproxy', [{ result: load(2000) }]),
      summarize('haproxy -t2 (all cores)', [{ result: load(4000) }]),
      summarize('node pipe (ceiling)', [{ result: load(2500) }]),
    ],
    REFERENCES,
  );
  assert.equal(rows[0]!.vsHaproxyAllCores, 0.25);
  assert.equal(rows[0]!.vsCeiling, 0.4);
  assert.equal(rows[1]!.vsCeiling, 0.6);
  // The references themselves and the peers are not what is compared: their cells stay empty.
  assert.equal(rows[2]!.vsCeiling, undefined);
  assert.equal(rows[4]!.vsHaproxyAllCores, undefined);
  assert.equal(rows[4]!.vsHaproxy?.requestsPerSec, 1.25);
  const table = formatTable(rows);
  assert.match(table, /^target\s+req\/s\s+MiB\/s\s+p50 ms\s+p99 ms\s+errors\s+CPU s\/10k\s+RSS MiB\s+req\/s xHAP\s+xHAPall\s+xNode\s+p99 xHAP\s+CPU xHAP\s+RSS xHAP$/m);
  assert.match(table, /^stickler -w1\s+1000\s.*\s0\.50x\s+0\.25x\s+0\.40x\s+1\.00x\s+-\s+-$/m);
  assert.match(table, /^stickler -w2\s+1500\s.*\s0\.75x\s+0\.38x\s+0\.60x\s/m);
  assert.match(table, /^haproxy\s+2000\s.*\s1\.00x\s+-\s+-\s+1\.00x\s/m);
  assert.match(table, /^node pipe \(ceiling\)\s+2500\s.*\s1\.25x\s+-\s+-\s/m);
});

test('xNode is empty when the ceiling did not run (HTTP/2), and the columns are left out where no row has them', () => {
  const h2 = withRatios(
    [
      summarize('stickler -w1', [{ result: load(1000) }]),
      summarize('haproxy', [{ result: load(2000) }]),
      summarize('haproxy -t2 (all cores)', [{ result: load(3000) }]),
      summarize('node pipe (ceiling)', [{ skipped: '- (h2 does not apply: the pipe speaks HTTP/1.1 only)' }]),
    ],
    REFERENCES,
  );
  assert.equal(h2[0]!.vsCeiling, undefined);
  const table = formatTable(h2);
  assert.match(table, /^stickler -w1\s+1000\s.*\s0\.50x\s+0\.33x\s+-\s+1\.00x\s/m);
  assert.match(table, /^node pipe \(ceiling\)\s+skipped: - \(h2 does not apply/m);
  const plain = formatTable(withRatios([summarize('stickler -w1', [{ result: load(1000) }]), summarize('haproxy', [{ result: load(2000) }])], REFERENCES));
  assert.ok(!plain.includes('xHAPall'));
  assert.ok(!plain.includes('xNode'));
});

test('SVG chart: one bar per result scaled to its panel, notes for missing ones, text escaped', () => {
  const svg = barChartSvg('bench <&>', 'req/s', [
    { title: 'keep-alive', bars: [{ label: 'haproxy', value: 20000 }, { label: 'stickler -w1', value: 10000 }] },
    { title: 'h2 "x"', bars: [{ label: 'haproxy', value: 50 }, { label: 'apache', note: 'no mod_http2' }] },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.match(svg, /<\/svg>\n$/);
  assert.ok(svg.includes('bench &lt;&amp;&gt;'));
  assert.ok(svg.includes('h2 &quot;x&quot;'));
  const widths = [...svg.matchAll(/<rect x="\d+" y="\d+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  // The largest bar of each panel spans the whole bar area, whatever the panel's scale.
  assert.deepEqual(widths, [480, 240, 480]);
  assert.ok(svg.includes('20,000 req/s'));
  assert.ok(svg.includes('50.0 req/s'));
  assert.ok(svg.includes('no mod_http2'));
  // A label keeps its colour from panel to panel.
  const fills = [...svg.matchAll(/fill="(#[0-9A-F]{6})"\/>/g)].map((m) => m[1]);
  assert.equal(fills[0], fills[2]);
  assert.notEqual(fills[0], fills[1]);
});

test('SVG chart: a panel of zero, missing or non-finite values has no bar and does not divide by zero', () => {
  const svg = barChartSvg('t', 'req/s', [{ title: 'p', bars: [{ label: 'a', value: 0 }, { label: 'b', value: Number.NaN }, { label: 'c' }] }]);
  assert.ok(!svg.includes('<rect x="170"'));
  assert.ok(!svg.includes('NaN'));
  assert.equal(svg.match(/no result/g)?.length, 3);
});

test('escapeXml escapes the five XML specials', () => {
  assert.equal(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
});

test('the bench Apache config loads mod_http2 after mod_ssl and offers h2 in the vhost only for HTTP/2', () => {
  const setup = {
    cert: { certFile: '/c.pem', keyFile: '/k.pem' },
    members: [{ route: 'node1', port: 8001 }],
    dir: '/d',
    directName: 'direct',
    sticklerWorkers: [1],
  };
  const h2 = benchApacheConfig(4443, { ...setup, h2: true }, '/root');
  assert.match(h2, /^LoadModule ssl_module .*\nLoadModule http2_module \/usr\/lib\/apache2\/modules\/mod_http2\.so$/m);
  assert.match(h2, /Protocols h2 http\/1\.1\n<\/VirtualHost>/);
  const h1 = benchApacheConfig(4443, { ...setup, h2: false }, '/root');
  assert.ok(!h1.includes('http2'));
  assert.ok(!h1.includes('Protocols'));
});
