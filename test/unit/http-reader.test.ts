import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/http/errors.ts';
import type { RequestHead } from '../../src/http/head.ts';
import { MessageReader } from '../../src/http/reader.ts';
import { requestCases } from '../fixtures/http/requests.ts';
import { random, splitAt, summarise } from '../fixtures/http/summarise.ts';
import { readAll } from '../fixtures/http/verdict.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function requestHead(raw: string): RequestHead {
  const events = new MessageReader('request').push(bytes(raw));
  assert.equal(events[0]?.type, 'head');
  return (events[0] as { head: RequestHead }).head;
}

function rejects(raw: string, status: number, code: string, limits = {}): void {
  assert.throws(() => new MessageReader('request', limits).push(bytes(raw)), (err: unknown) => {
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, status);
    assert.equal(err.code, code);
    return true;
  });
}

const CHUNKED = 'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '5;name="v;al"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Checksum: 42\r\nX-Other: y\r\n\r\n';
const PIPELINE = 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n' + 'POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc' + CHUNKED;

test('every corpus case gives the same result fed one byte at a time', () => {
  for (const c of requestCases) {
    const whole = readAll([bytes(c.raw)]);
    const raw = bytes(c.raw);
    const bytewise = readAll(splitAt(raw, Array.from({ length: raw.length - 1 }, (_, i) => i + 1)));
    assert.equal(bytewise.outcome, whole.outcome, c.name);
    if (whole.outcome === 'accept') assert.deepEqual(summarise(bytewise.events), summarise(whole.events), c.name);
  }
});

test('chunked and pipelined messages decode identically under 200 random splits', () => {
  const raw = bytes(PIPELINE);
  const expected = summarise(readAll([raw]).events);
  assert.equal(expected.length, 3);
  assert.equal(expected[2]!.body, 'helloabcdefghijklmnopqrstuvwxyz');
  assert.deepEqual(expected[2]!.trailers, [['X-Checksum', '42'], ['X-Other', 'y']]);
  const next = random(9112);
  for (let round = 0; round < 200; round++) {
    const cuts = [...new Set(Array.from({ length: 1 + Math.floor(next() * 12) }, () => 1 + Math.floor(next() * (raw.length - 1))))];
    const verdict = readAll(splitAt(raw, cuts.sort((a, b) => a - b)));
    assert.deepEqual(summarise(verdict.events), expected, `cuts ${cuts.join(',')}`);
  }
});

test('three pipelined requests in one chunk: stops after each end until resume()', () => {
  const reader = new MessageReader('request');
  const first = reader.push(bytes(PIPELINE));
  assert.deepEqual(first.map((e) => e.type), ['head', 'end']);
  assert.ok(reader.buffered > 0);
  assert.equal(reader.idle, false);
  assert.deepEqual(reader.push(bytes('')).map((e) => e.type), []);
  assert.deepEqual(reader.resume().map((e) => e.type), ['head', 'data', 'end']);
  assert.deepEqual(reader.resume().map((e) => e.type), ['head', 'data', 'data', 'end']);
  assert.equal(reader.buffered, 0);
  assert.equal(reader.idle, true);
  assert.deepEqual(reader.resume(), []);
  assert.deepEqual(reader.finish(), []);
});

test('body data is a view of the pushed buffer, not a copy', () => {
  const chunk = bytes('PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody');
  const data = new MessageReader('request').push(chunk).find((e) => e.type === 'data');
  assert.ok(data?.type === 'data');
  assert.equal(data.data.buffer, chunk.buffer);
});

test('a body spread over pushes is emitted as it arrives', () => {
  const reader = new MessageReader('request');
  assert.deepEqual(reader.push(bytes('PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nab')).map((e) => e.type), ['head', 'data']);
  assert.deepEqual(reader.push(bytes('cd')).map((e) => e.type), ['data']);
  assert.throws(() => reader.finish(), { code: 'STK_HTTP_INCOMPLETE_MESSAGE', status: 400 });
});

test('framing, keep-alive and Expect in the head', () => {
  assert.deepEqual(requestHead('GET / HTTP/1.1\r\nHost: a\r\n\r\n').framing, { kind: 'none' });
  const cl = requestHead('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0007\r\n\r\n');
  assert.deepEqual(cl.framing, { kind: 'length', length: 7 });
  assert.deepEqual(cl.headers[1], ['Content-Length', '7']);
  assert.deepEqual(requestHead('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n').framing, { kind: 'chunked' });
  assert.equal(requestHead('GET / HTTP/1.1\r\nHost: a\r\n\r\n').keepAlive, true);
  assert.equal(requestHead('GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, Close\r\n\r\n').keepAlive, false);
  assert.equal(requestHead('GET / HTTP/1.0\r\n\r\n').keepAlive, false);
  assert.equal(requestHead('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive, true);
  assert.equal(requestHead('GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n').expectContinue, true);
  assert.equal(requestHead('GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n').expectContinue, false);
  rejects('GET / HTTP/1.1\r\nHost: a\r\nConnection: close;x\r\n\r\n', 400, 'STK_HTTP_BAD_CONNECTION');
  rejects('GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n', 417, 'STK_HTTP_UNKNOWN_EXPECTATION');
});

test('head fields keep order, case and obs-text; values are OWS-trimmed', () => {
  const head = requestHead('GET /p?q HTTP/1.1\r\nHost: a\r\nX-B:  caf\xe9 \t\r\nx-b: 2\r\n\r\n');
  assert.equal(head.method, 'GET');
  assert.equal(head.target, '/p?q');
  assert.equal(head.minor, 1);
  assert.deepEqual(head.headers, [['Host', 'a'], ['X-B', 'caf\xe9'], ['x-b', '2']]);
});

test('limits: head size, field count, target length, chunk line', () => {
  const many = Array.from({ length: 5 }, (_, i) => `X-${i}: v\r\n`).join('');
  assert.equal(requestHead(`GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`).headers.length, 6);
  rejects(`GET / HTTP/1.1\r\nHost: a\r\n${many}\r\n`, 431, 'STK_HTTP_TOO_MANY_FIELDS', { maxHeaders: 5 });
  rejects(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(200)}\r\n\r\n`, 431, 'STK_HTTP_HEAD_TOO_LARGE', { maxHeadBytes: 128 });
  // Without the end of the head yet: refused as soon as the limit is passed, not when the head completes.
  rejects(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'v'.repeat(200)}`, 431, 'STK_HTTP_HEAD_TOO_LARGE', { maxHeadBytes: 128 });
  rejects(`GET /${'a'.repeat(100)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414, 'STK_HTTP_TARGET_TOO_LONG', { maxTargetBytes: 64 });
  rejects(`GET /${'a'.repeat(200)}`, 414, 'STK_HTTP_TARGET_TOO_LONG', { maxTargetBytes: 64 });
  rejects(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;${'e'.repeat(100)}`, 400, 'STK_HTTP_CHUNK_LINE_TOO_LONG', { maxChunkLineBytes: 64 });
  rejects(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${many}\r\n`, 431, 'STK_HTTP_TOO_MANY_FIELDS', { maxHeaders: 4 });
});

test('errors carry specific codes', () => {
  rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 400, 'STK_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING');
  rejects('GET / HTTP/1.1\r\nHost: a\r\nX : b\r\n\r\n', 400, 'STK_HTTP_SPACE_BEFORE_COLON');
  rejects('GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n', 400, 'STK_HTTP_OBS_FOLD');
  rejects('GET / HTTP/1.1\nHost: a\r\n\r\n', 400, 'STK_HTTP_BARE_LF');
  rejects('\rGET / HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'STK_HTTP_BARE_CR');
  rejects('GET / HTTP/3.0\r\nHost: a\r\n\r\n', 505, 'STK_HTTP_UNSUPPORTED_VERSION');
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab', 400, 'STK_HTTP_BAD_CHUNK');
  rejects(`POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n${'f'.repeat(16)}\r\n`, 400, 'STK_HTTP_BAD_CHUNK_SIZE');
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=\r\n', 400, 'STK_HTTP_BAD_CHUNK_EXTENSION');
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a="x\r\n', 400, 'STK_HTTP_BAD_CHUNK_EXTENSION');
});

test('a dead reader stays dead', () => {
  const reader = new MessageReader('request');
  assert.throws(() => reader.push(bytes('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')), { code: 'STK_HTTP_BAD_HOST' });
  assert.throws(() => reader.push(bytes('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), { code: 'STK_HTTP_READER_DEAD' });
  assert.throws(() => reader.resume(), { code: 'STK_HTTP_READER_DEAD' });
});

test('finish() after pipelined requests: complete ones stay readable, a cut one fails on resume()', () => {
  const reader = new MessageReader('request');
  assert.equal(reader.push(bytes(PIPELINE)).at(-1)?.type, 'end');
  assert.deepEqual(reader.finish(), []);
  assert.equal(reader.resume().at(-1)?.type, 'end');
  assert.equal(reader.resume().at(-1)?.type, 'end');
  const cut = new MessageReader('request');
  cut.push(bytes('GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nabc'));
  assert.deepEqual(cut.finish(), []);
  assert.throws(() => cut.resume(), { status: 400, code: 'STK_HTTP_INCOMPLETE_MESSAGE' });
  assert.throws(() => cut.resume(), { code: 'STK_HTTP_READER_DEAD' });
});

test('finish(): idle between messages, incomplete head, leading empty lines', () => {
  assert.deepEqual(new MessageReader('request').finish(), []);
  const partial = new MessageReader('request');
  partial.push(bytes('GET / HT'));
  assert.throws(() => partial.finish(), { code: 'STK_HTTP_INCOMPLETE_MESSAGE' });
  const blank = new MessageReader('request');
  assert.deepEqual(blank.push(bytes('\r\n\r\n')), []);
  assert.equal(blank.idle, true);
  assert.deepEqual(blank.push(bytes('\r')), []);
  assert.deepEqual(blank.push(bytes('\nGET / HTTP/1.1\r\nHost: a\r\n\r\n')).map((e) => e.type), ['head', 'end']);
});

test('what nginx or HAProxy refuse and RFC 9112 leaves open is refused too', () => {
  // An HTTP/1.0 GET or HEAD has no body; a 1.0 server would read one as the next request.
  rejects('GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc', 400, 'STK_HTTP_BODY_IN_HTTP10_GET');
  rejects('HEAD / HTTP/1.0\r\nContent-Length: 1\r\n\r\na', 400, 'STK_HTTP_BODY_IN_HTTP10_GET');
  assert.deepEqual(requestHead('GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n').framing, { kind: 'length', length: 0 });
  assert.deepEqual(requestHead('POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc').framing, { kind: 'length', length: 3 });
  assert.deepEqual(requestHead('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc').framing, { kind: 'length', length: 3 });
  // Host and an absolute-form authority must name the same host; the scheme's default port may be left out.
  rejects('GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n', 400, 'STK_HTTP_HOST_MISMATCH');
  rejects('GET http://a:443/x HTTP/1.1\r\nHost: a\r\n\r\n', 400, 'STK_HTTP_HOST_MISMATCH');
  rejects('GET https://a/x HTTP/1.1\r\nHost: a:80\r\n\r\n', 400, 'STK_HTTP_HOST_MISMATCH');
  assert.equal(requestHead('GET https://A:443/x HTTP/1.1\r\nHost: a\r\n\r\n').target, 'https://A:443/x');
  assert.equal(requestHead('GET http://a/x HTTP/1.1\r\nHost: A:80\r\n\r\n').target, 'http://a/x');
  assert.equal(requestHead('GET http://a/x HTTP/1.0\r\n\r\n').target, 'http://a/x');
  // HTAB is OWS, but not to nginx: around the fields that frame the message or name its host it is refused.
  rejects('POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t1\r\n\r\na', 400, 'STK_HTTP_TAB_AROUND_VALUE');
  rejects('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n', 400, 'STK_HTTP_TAB_AROUND_VALUE');
  rejects('GET / HTTP/1.1\r\nhost:\ta\r\n\r\n', 400, 'STK_HTTP_TAB_AROUND_VALUE');
  assert.deepEqual(requestHead('GET / HTTP/1.1\r\nHost: a\r\nX-A:\tv\t\r\n\r\n').headers[1], ['X-A', 'v']);
  // A CR inside a line is refused as soon as the line ends, before the head does (`\r\r\n` never ends a head).
  rejects('GET / HTTP/1.1\r\nHost: a\r\n\r\r\n', 400, 'STK_HTTP_BARE_CR');
  rejects('GET / HTTP/1.1\r\nX: a\rb\r\n', 400, 'STK_HTTP_BARE_CR');
});
