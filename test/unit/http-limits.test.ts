// The client-side limits as the reader counts them (exact boundaries, the status each gives, refusal before the
// head is handed out), and the request read deadlines (Apache's RequestReadTimeout arithmetic).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/http/errors.ts';
import { MessageReader, type ReaderEvent, type ReaderLimits } from '../../src/http/reader.ts';
import { ReadDeadline } from '../../src/server/read-deadline.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function read(raw: string, limits: Partial<ReaderLimits> = {}): ReaderEvent[] {
  return new MessageReader('request', limits).push(bytes(raw));
}

function refusal(raw: string | string[], limits: Partial<ReaderLimits> = {}): { status: number; code: string; events: string[] } {
  const reader = new MessageReader('request', limits);
  const events: string[] = [];
  try {
    for (const piece of Array.isArray(raw) ? raw : [raw]) events.push(...reader.push(bytes(piece)).map((e) => e.type));
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return { status: err.status, code: err.code, events };
  }
  assert.fail(`accepted: ${JSON.stringify(raw).slice(0, 80)}`);
}

const line = (targetLength: number) => `GET /${'a'.repeat(targetLength - 1)} HTTP/1.1`;

test('request line: exactly the limit passes, one byte more is 414, even before its CRLF arrives', () => {
  const limits = { maxRequestLineBytes: 100, maxTargetBytes: 100 };
  const exact = line(100 - 'GET  HTTP/1.1'.length);
  assert.equal(exact.length, 100);
  assert.equal(read(`${exact}\r\nHost: a\r\n\r\n`, limits)[0]?.type, 'head');
  assert.deepEqual(refusal(`${line(88)}\r\nHost: a\r\n\r\n`, limits), { status: 414, code: 'STK_HTTP_TARGET_TOO_LONG', events: [] });
  // Trickled without an end: refused as soon as it is too long, never buffered to the head limit.
  assert.equal(refusal(`GET /${'a'.repeat(150)}`, limits).status, 414);
  assert.equal(refusal(`GET /${'a'.repeat(150)}\r`, limits).status, 414);
  // The CR of a line whose LF is still on its way does not count against it.
  assert.deepEqual(new MessageReader('request', limits).push(bytes(`${exact}\r`)), []);
});

test('header field line: exactly the limit passes, one byte more is 431, counted on each line', () => {
  const limits = { maxFieldBytes: 40 };
  const field = (n: number) => `X-Long: ${'v'.repeat(n - 'X-Long: '.length)}`;
  assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${field(40)}\r\n\r\n`, limits)[0]?.type, 'head');
  assert.deepEqual(refusal(`GET / HTTP/1.1\r\nHost: a\r\n${field(41)}\r\n\r\n`, limits), { status: 431, code: 'STK_HTTP_FIELD_TOO_LARGE', events: [] });
  assert.equal(refusal([`GET / HTTP/1.1\r\nHost: a\r\n${field(30)}`, 'v'.repeat(20)], limits).status, 431, 'refused mid-line');
  // The request line has its own limit, not the field one.
  assert.equal(read(`${line(60)}\r\nHost: a\r\n\r\n`, limits)[0]?.type, 'head');
  // Responses from members are bounded by the head size alone (a long Set-Cookie or CSP is theirs to send).
  const response = new MessageReader('response', limits);
  response.expectResponseTo('GET');
  assert.equal(response.push(bytes(`HTTP/1.1 204 No Content\r\n${field(200)}\r\n\r\n`))[0]?.type, 'head');
});

test('header count and head size: 431, counted by the reader, never silently dropped', () => {
  const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: ${i}\r\n`).join('');
  assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${fields(99)}\r\n`)[0]?.type, 'head', '100 fields with Host: the default limit');
  assert.deepEqual(refusal(`GET / HTTP/1.1\r\nHost: a\r\n${fields(100)}\r\n`), { status: 431, code: 'STK_HTTP_TOO_MANY_FIELDS', events: [] });
  assert.equal(refusal(`GET / HTTP/1.1\r\nHost: a\r\n${fields(3)}\r\n`, { maxHeaders: 3 }).status, 431);
  assert.equal(read(`GET / HTTP/1.1\r\nHost: a\r\n${fields(500)}\r\n`, { maxHeaders: Infinity })[0]?.type, 'head', 'no field limit');
  const big = `GET / HTTP/1.1\r\nHost: a\r\n${Array.from({ length: 20 }, (_, i) => `X-${i}: ${'v'.repeat(100)}\r\n`).join('')}\r\n`;
  assert.deepEqual(refusal(big, { maxHeadBytes: 1024 }), { status: 431, code: 'STK_HTTP_HEAD_TOO_LARGE', events: [] });
  // Trailers are fields too.
  const trailers = ['POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', `0\r\n${fields(4)}\r\n`];
  assert.deepEqual(refusal(trailers, { maxHeaders: 3 }), { status: 431, code: 'STK_HTTP_TOO_MANY_FIELDS', events: ['head'] });
});

test('body size: a Content-Length over the limit is 413 before the head is handed out', () => {
  const limits = { maxBodyBytes: 10 };
  assert.deepEqual(read('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789', limits).map((e) => e.type), ['head', 'data', 'end']);
  // No head event: the connection answers 413 itself, so no 100 Continue goes out and nothing goes upstream.
  assert.deepEqual(refusal('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 11\r\n\r\n', limits),
    { status: 413, code: 'STK_HTTP_BODY_TOO_LARGE', events: [] });
  assert.equal(read(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${2 ** 40}\r\n\r\n`)[0]?.type, 'head', 'no limit by default');
});

test('body size: a chunked body is cut off at the limit, mid-stream, before the chunk that crosses it is handed out', () => {
  const limits = { maxBodyBytes: 10 };
  const head = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n';
  assert.deepEqual(read(`${head}5\r\n01234\r\n5\r\n56789\r\n0\r\n\r\n`, limits).map((e) => e.type), ['head', 'data', 'data', 'end']);
  const crossing = refusal([head, '5\r\n01234\r\n', '6\r\n56789A\r\n0\r\n\r\n'], limits);
  assert.deepEqual(crossing, { status: 413, code: 'STK_HTTP_BODY_TOO_LARGE', events: ['head', 'data'] });
  // The count restarts with each request on the connection.
  const reader = new MessageReader('request', limits);
  assert.equal(reader.push(bytes(`${head}a\r\n0123456789\r\n0\r\n\r\n${head}`)).at(-1)?.type, 'end');
  assert.deepEqual(reader.resume().map((e) => e.type), ['head']);
  assert.deepEqual(reader.push(bytes('a\r\n0123456789\r\n0\r\n\r\n')).map((e) => e.type), ['data', 'end']);
});

test('Expect: only 100-continue; anything else is 417 before the body', () => {
  assert.deepEqual(refusal('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-please\r\nContent-Length: 1\r\n\r\n'),
    { status: 417, code: 'STK_HTTP_UNKNOWN_EXPECTATION', events: [] });
});

test('read deadline: a stage starts with its timeout; each byte earns 1/minRate s, never past the maximum', () => {
  const d = new ReadDeadline();
  assert.equal(d.remaining(0), Infinity, 'nothing awaited yet');
  d.start({ timeout: 20_000, minRate: 500, max: 40_000 }, 1_000);
  assert.equal(d.remaining(1_000), 20_000);
  d.received(500);
  assert.equal(d.remaining(1_000), 21_000, '500 bytes earn a second');
  // A slowloris: one byte a second for a minute earns 2 ms a second, and is still cut off near 20 s.
  let now = 1_000;
  while (d.remaining(now) > 0) {
    now += 1_000;
    d.received(1);
  }
  assert.ok(now - 1_000 <= 22_000, `cut off after ${now - 1_000} ms`);
  d.start({ timeout: 20_000, minRate: 500, max: 40_000 }, 0);
  d.received(1_000_000);
  assert.equal(d.remaining(0), 40_000, 'the maximum holds however fast the client sends');
  d.start(5_000, 0);
  d.received(1_000_000);
  assert.equal(d.remaining(0), 5_000, 'a fixed timeout earns nothing');
  d.start({ timeout: 20_000, minRate: 500, max: 40_000 }, 0);
  d.stop();
  d.received(1_000);
  assert.equal(d.remaining(1e9), Infinity, 'bytes arriving while nothing is awaited (pipelined) set no deadline');
});

test('read deadline: time Stickler spends with the reading paused is not counted against the client', () => {
  const d = new ReadDeadline();
  d.start({ timeout: 2_000, minRate: 100, max: 3_000 }, 0);
  d.pause(500);
  d.pause(800);
  assert.equal(d.remaining(10_000), Infinity, 'paused: never due');
  d.resume(10_500);
  assert.equal(d.remaining(10_500), 1_500, 'the 10 s paused were added');
  d.received(1_000);
  assert.equal(d.remaining(10_500), 2_500, 'and to the maximum as well');
  d.resume(20_000);
  assert.equal(d.remaining(20_000), -7_000, 'resume without a pause changes nothing');
  d.stop();
  d.pause(1);
  d.resume(5);
  assert.equal(d.remaining(5), Infinity, 'no stage, nothing to pause');
});
