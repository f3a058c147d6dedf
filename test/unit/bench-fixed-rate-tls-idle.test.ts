// The pure parts of the bench's (e) to (g): wrk's pacing script, the Node TLS client's request, response
// framing and reports, what a report of it becomes, memory per idle connection, the peers' connection limits,
// and the tables.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { haproxyConfig } from '../../bench/haproxy.ts';
import { formatIdleTable, idleFigures, type IdleReport } from '../../bench/idle.ts';
import { parseStatusKiB } from '../../bench/memory.ts';
import { nginxConfig, nginxMainContext } from '../../bench/nginx.ts';
import { formatTable, renderTable, summarize } from '../../bench/report.ts';
import { benchApacheConfig } from '../../bench/targets.ts';
import { clientReports, requestText, responseComplete, responseHead, type ResponseHead } from '../../bench/tls-client.ts';
import { rateResult } from '../../bench/tls-load.ts';
import { pacingScript } from '../../bench/wrk.ts';

function ok<T>(value: T | Error | undefined): T {
  if (value === undefined) assert.fail('no value');
  if (value instanceof Error) assert.fail(value.message);
  return value;
}

test('pacing script: each of the threads takes its share of the rate on a schedule of its own', () => {
  const script = pacingScript(13_500, 2);
  // 2 threads at 6750 req/s each: one slot every 0.148148 ms.
  assert.match(script, /^local interval_ms = 0\.148148$/m);
  assert.match(script, /^function init\(args\)$/m);
  assert.match(script, /^function delay\(\)$/m);
  assert.match(script, /return math\.max\(0, due - now_ms\(\)\)/);
  assert.match(pacingScript(100, 4), /^local interval_ms = 40\.0000$/m);
});

test('TLS client request: path and query, Host with the port, extra headers, blank line', () => {
  const url = new URL('https://127.0.0.1:8443/tiny.txt?x=1');
  assert.equal(requestText(url, ['Connection: close']), 'GET /tiny.txt?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nConnection: close\r\n\r\n');
  assert.equal(requestText(url, []), 'GET /tiny.txt?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n');
});

const HEAD = 'HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n\r\n';

test('response head: nothing until the blank line, then status and the whole length', () => {
  assert.equal(responseHead(Buffer.from(HEAD.slice(0, 20))), undefined);
  const head = ok(responseHead(Buffer.from(HEAD)));
  assert.deepEqual(head, { status: 200, totalBytes: HEAD.length + 5, chunked: false });
  assert.equal(responseComplete(Buffer.from(`${HEAD}tin`), head), false);
  assert.equal(responseComplete(Buffer.from(`${HEAD}tiny\n`), head), true);
});

test('response head: field names in any case; chunked framing ends with the last chunk', () => {
  const text = 'HTTP/1.1 404 Not Found\r\ntransfer-encoding: gzip, chunked\r\ncontent-length: 99\r\n\r\n';
  const head: ResponseHead = ok(responseHead(Buffer.from(text)));
  assert.deepEqual(head, { status: 404, totalBytes: undefined, chunked: true });
  assert.equal(responseComplete(Buffer.from(`${text}5\r\ntiny\n\r\n`), head), false);
  assert.equal(responseComplete(Buffer.from(`${text}5\r\ntiny\n\r\n0\r\n\r\n`), head), true);
});

test('response head: no length means read to close; garbage is an error', () => {
  assert.deepEqual(ok(responseHead(Buffer.from('HTTP/1.0 200 OK\r\n\r\nbody'))), { status: 200, totalBytes: undefined, chunked: false });
  const bad = responseHead(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'));
  assert.ok(bad instanceof Error);
  assert.match(bad.message, /not an HTTP\/1\.1 status line: "SSH-2\.0-OpenSSH"/);
});

test('client reports: JSON lines with a known event, warnings and junk left out', () => {
  const stdout = [
    '(node:1) Warning: something',
    '{"event":"holding","open":3,"failed":1,"openingSec":0.5}',
    '{"event":"other"}',
    '{not json',
    '{"event":"closed","openAtStop":2}',
  ].join('\n');
  assert.deepEqual(clientReports(stdout), [
    { event: 'holding', open: 3, failed: 1, openingSec: 0.5 },
    { event: 'closed', openAtStop: 2 },
  ]);
});

const RATE = { event: 'rate', requests: 5000, errors: 2, resumed: 4900, bytes: 1024 ** 2 * 10, elapsedSec: 5, p50Ms: 3, p99Ms: 9 } as const;

test('a rate report becomes a load result: req/s and MiB/s over the elapsed time, resumptions kept', () => {
  assert.deepEqual(ok(rateResult(RATE)), { requestsPerSec: 1000, p50Ms: 3, p99Ms: 9, requests: 5000, errors: 2, mibPerSec: 2, resumed: 4900 });
});

test('a rate report without a completed request is an error quoting the first failure', () => {
  const r = rateResult({ event: 'rate', requests: 0, errors: 7, resumed: 0, bytes: 0, elapsedSec: 5, firstError: 'connect ECONNREFUSED' });
  assert.ok(r instanceof Error);
  assert.match(r.message, /no request \(first error: connect ECONNREFUSED\)/);
});

test('the resumed share is a median over rounds and shows as a column only when counted', () => {
  const resumed = summarize('haproxy', [{ result: ok(rateResult(RATE)) }, { result: { ...ok(rateResult(RATE)), resumed: 4000 } }]);
  assert.equal(resumed.median?.resumedShare, (4900 / 5000 + 4000 / 5000) / 2);
  const fresh = summarize('nginx', [{ result: { ...ok(rateResult(RATE)), resumed: 0 } }]);
  const table = formatTable([resumed, fresh]);
  assert.match(table, /^target\s.*\sresumed$/m);
  assert.match(table, /^haproxy\s.*\s89\.0%$/m);
  assert.match(table, /^nginx\s.*\s0\.0%$/m);
});

test('renderTable: right-aligned columns, a two-cell row runs past them', () => {
  assert.equal(
    renderTable(['t', 'n', 'm'], [['a', '1', '333'], ['bbb', '22', '4'], ['c', 'skipped: a long reason']]),
    't     n    m\na     1  333\nbbb  22    4\nc    skipped: a long reason',
  );
});

test('VmRSS and VmHWM lines of a /proc status text, in KiB', () => {
  const status = 'Name:\tnode\nVmHWM:\t  150000 kB\nVmRSS:\t   90000 kB\nThreads:\t7\n';
  assert.equal(parseStatusKiB(status, 'VmRSS'), 90000);
  assert.equal(parseStatusKiB(status, 'VmHWM'), 150000);
  assert.equal(parseStatusKiB('Name:\tnode\n', 'VmRSS'), undefined);
});

const HOLDING = { event: 'holding', open: 10_000, failed: 0, openingSec: 12 } as const;

test('memory per idle connection: the RSS growth over the connections held', () => {
  const f = ok(idleFigures(80_000, 580_000, HOLDING, { event: 'closed', openAtStop: 9_990 }));
  assert.equal(f.kibPerConnection, 50);
  assert.equal(f.heldAtStop, 9_990);
  const none = idleFigures(80_000, 80_000, { ...HOLDING, open: 0, failed: 10_000, firstError: 'ECONNRESET' }, undefined);
  assert.ok(none instanceof Error);
  assert.match(none.message, /no connection stayed open \(first error: ECONNRESET\)/);
});

test('idle table: one row per target and whether Stickler meets its goal', () => {
  const report: IdleReport = {
    key: 'idle-connections',
    name: '(g)',
    connections: 10_000,
    keepAliveTimeoutSec: 60,
    targets: [
      { name: 'stickler -w1', figures: ok(idleFigures(81_920, 163_840, HOLDING, { event: 'closed', openAtStop: 10_000 })) },
      { name: 'haproxy', figures: ok(idleFigures(20_480, 184_320, HOLDING, undefined)) },
      { name: 'nginx', skipped: 'nginx did not start' },
    ],
  };
  const table = formatIdleTable(report);
  assert.match(table, /^stickler -w1\s+10000\s+0\s+10000\s+12\.0\s+80\.0\s+160\.0\s+8\.2$/m);
  assert.match(table, /^haproxy\s+10000\s+0\s+-\s+12\.0\s+20\.0\s+180\.0\s+16\.4$/m);
  assert.match(table, /^nginx\s+skipped: nginx did not start$/m);
  assert.match(table, /stickler -w1: 8\.2 KiB per idle connection, goal <= 20: met$/);
  assert.match(formatIdleTable({ ...report, targets: [] }), /stickler -w1: no figure/);
});

const PEER = { port: 4443, certFile: '/c.pem', keyFile: '/k.pem', backends: [{ route: 'node1', port: 8001 }], dir: '/d' };

test('peers hold 4096 connections unless asked for more; HAProxy then starts under the descriptor limit', () => {
  assert.match(nginxMainContext('/d'), /worker_connections 4096;/);
  assert.match(nginxConfig({ ...PEER, maxConnections: 10_100 }), /worker_connections 11124;/);
  const usual = haproxyConfig({ ...PEER, pemFile: '/p.pem' });
  assert.match(usual, /^ {2}maxconn 4096$/m);
  assert.ok(!usual.includes('strict-limits'));
  assert.match(haproxyConfig({ ...PEER, pemFile: '/p.pem', maxConnections: 10_100 }), /^ {2}maxconn 10100\n {2}no strict-limits$/m);
});

test('the bench Apache config sets KeepAliveTimeout only for the idle measurement', () => {
  const setup = { cert: { certFile: '/c.pem', keyFile: '/k.pem' }, members: [{ route: 'node1', port: 8001 }], dir: '/d', directName: 'direct', h2: false, sticklerWorkers: [1] };
  assert.ok(!benchApacheConfig(4443, setup, '/root').includes('KeepAliveTimeout'));
  assert.match(benchApacheConfig(4443, { ...setup, idle: { maxConnections: 10_100, keepAliveTimeoutSec: 60 } }, '/root'), /\nKeepAliveTimeout 60\n$/);
});
