// parseWrkOutput on what Debian's wrk 4.1.0 really printed (captured from local runs, ports as they were).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrkOutput } from '../../bench/wrk.ts';
import type { LoadResult } from '../../bench/load.ts';

// Keep-alive HTTPS against the static bench members: microsecond latencies, no error lines.
const CLEAN_HTTPS = `Running 2s test @ https://127.0.0.1:36357/tiny.txt
  2 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   456.60us  510.07us   7.27ms   95.76%
    Req/Sec    25.31k     4.20k   34.53k    72.50%
  Latency Distribution
     50%  391.00us
     75%  446.00us
     90%  522.00us
     99%    3.38ms
  100947 requests in 2.00s, 23.10MB read
Requests/sec:  50357.93
Transfer/sec:     11.53MB
`;

// A server that answered every third request 503 and dropped every fiftieth connection.
const ERRORS = `Running 2s test @ http://127.0.0.1:35117/tiny.txt
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   397.62us    1.00ms  22.65ms   94.77%
    Req/Sec    22.64k     7.80k   55.62k    87.80%
  Latency Distribution
     50%  178.00us
     75%  265.00us
     90%  637.00us
     99%    4.54ms
  92377 requests in 2.10s, 11.69MB read
  Socket errors: connect 0, read 1885, write 0, timeout 0
  Non-2xx or 3xx responses: 30792
Requests/sec:  43990.66
Transfer/sec:      5.57MB
`;

// Every answer a 404, no socket errors.
const ALL_NOT_FOUND = `Running 2s test @ https://127.0.0.1:36357/missing.txt
  2 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   423.57us  307.03us   4.87ms   95.01%
    Req/Sec    24.44k     4.68k   35.09k    62.50%
  Latency Distribution
     50%  378.00us
     75%  516.00us
     90%  601.00us
     99%    1.81ms
  97311 requests in 2.00s, 28.58MB read
  Non-2xx or 3xx responses: 97311
Requests/sec:  48603.37
Transfer/sec:     14.28MB
`;

// A slow server: millisecond and second latencies, which wrk pads with a trailing space.
const SLOW = `Running 3s test @ http://127.0.0.1:40623/tiny.txt
  2 threads and 20 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   209.53ms  371.42ms   1.11s    78.31%
    Req/Sec    57.81     65.97   250.00     85.71%
  Latency Distribution
     50%   21.08ms
     75%   30.11ms
     90%    1.10s 
     99%    1.11s 
  148 requests in 3.01s, 18.36KB read
Requests/sec:     49.23
Transfer/sec:      6.11KB
`;

function parsed(output: string): LoadResult {
  const result = parseWrkOutput(output);
  if (result instanceof Error) assert.fail(result.message);
  return result;
}

function close(actual: number, expected: number): void {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${actual} is not ${expected}`);
}

test('a clean run: throughput, request count, microsecond and millisecond percentiles', () => {
  const r = parsed(CLEAN_HTTPS);
  assert.equal(r.requestsPerSec, 50357.93);
  assert.equal(r.requests, 100947);
  close(r.p50Ms, 0.391);
  close(r.p99Ms, 3.38);
  assert.equal(r.errors, 0);
  close(r.mibPerSec, 11.53);
});

test('socket errors and non-2xx/3xx answers add up to errors', () => {
  const r = parsed(ERRORS);
  assert.equal(r.requestsPerSec, 43990.66);
  assert.equal(r.requests, 92377);
  close(r.p50Ms, 0.178);
  close(r.p99Ms, 4.54);
  assert.equal(r.errors, 1885 + 30792);
});

test('non-2xx/3xx answers alone are errors', () => {
  assert.equal(parsed(ALL_NOT_FOUND).errors, 97311);
});

test('second latencies, padded with a trailing space, become milliseconds', () => {
  const r = parsed(SLOW);
  assert.equal(r.requestsPerSec, 49.23);
  close(r.p50Ms, 21.08);
  close(r.p99Ms, 1110);
  close(r.mibPerSec, 6.11 / 1024);
});

test('Transfer/sec in gigabytes and bytes becomes MiB/s', () => {
  close(parsed(CLEAN_HTTPS.replace('11.53MB', '1.02GB')).mibPerSec, 1.02 * 1024);
  close(parsed(CLEAN_HTTPS.replace('11.53MB', '512.00B')).mibPerSec, 512 / 1024 ** 2);
});

test('a missing or unknown Transfer/sec is an error', () => {
  assert.ok(parseWrkOutput(CLEAN_HTTPS.replace(/^Transfer\/sec:.*\n/m, '')) instanceof Error);
  const r = parseWrkOutput(CLEAN_HTTPS.replace('11.53MB', '11.53XB'));
  assert.ok(r instanceof Error);
  assert.match(r.message, /Transfer\/sec.*11\.53XB/);
});

test('output without --latency is an error naming the flag, not a crash', () => {
  const withoutDistribution = CLEAN_HTTPS.replace(/ {2}Latency Distribution\n(?: {5}\d+%.*\n)+/, '');
  const r = parseWrkOutput(withoutDistribution);
  assert.ok(r instanceof Error);
  assert.match(r.message, /--latency/);
});

test('a latency in a unit wrk does not print is an error', () => {
  const r = parseWrkOutput(CLEAN_HTTPS.replace('391.00us', '391.00ns'));
  assert.ok(r instanceof Error);
  assert.match(r.message, /50%=391\.00ns/);
});

test('wrk failing before its summary (connection refused) is an error', () => {
  const r = parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused\n');
  assert.ok(r instanceof Error);
  assert.match(r.message, /not understood.*\n.*Connection refused/);
});

test('empty output is an error', () => {
  assert.ok(parseWrkOutput('') instanceof Error);
});
