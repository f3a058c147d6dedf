import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/http/errors.ts';
import type { ResponseHead } from '../../src/http/head.ts';
import { MessageReader, type ReaderEvent } from '../../src/http/reader.ts';
import { splitAt, summarise } from '../fixtures/http/summarise.ts';

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

function respond(method: string, raw: string): { reader: MessageReader; events: ReaderEvent[] } {
  const reader = new MessageReader('response');
  reader.expectResponseTo(method);
  return { reader, events: reader.push(bytes(raw)) };
}

function heads(events: ReaderEvent[]): ResponseHead[] {
  return events.flatMap((e) => (e.type === 'head' ? [e.head as ResponseHead] : []));
}

function rejects(method: string, raw: string, code: string): void {
  assert.throws(() => respond(method, raw), (err: unknown) => {
    assert.ok(err instanceof HttpError);
    assert.equal(err.status, 502);
    assert.equal(err.code, code);
    return true;
  });
}

test('Content-Length body, then the next response after resume()', () => {
  const { reader, events } = respond('GET', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  reader.expectResponseTo('GET');
  assert.deepEqual(summarise(events).map((m) => m.body), ['ok']);
  const [head] = heads(events);
  assert.deepEqual([head?.status, head?.reason, head?.framing, head?.keepAlive], [200, 'OK', { kind: 'length', length: 2 }, true]);
  const next = reader.resume();
  assert.equal(heads(next)[0]?.status, 404);
  assert.equal(next.at(-1)?.type, 'end');
  assert.equal(reader.idle, true);
});

test('1xx interim heads are emitted before the final response', () => {
  const { events } = respond('POST', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
  assert.deepEqual(heads(events).map((h) => h.status), [100, 103, 201]);
  assert.deepEqual(events.map((e) => e.type), ['head', 'head', 'head', 'end']);
});

test('too many interim responses are refused', () => {
  rejects('GET', 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(11), 'STK_HTTP_TOO_MANY_INTERIM');
});

test('HEAD, 204 and 304 have no body whatever the fields say', () => {
  for (const [method, line] of [['HEAD', '200 OK'], ['GET', '204 No Content'], ['GET', '304 Not Modified']] as const) {
    const { reader, events } = respond(method, `HTTP/1.1 ${line}\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n`);
    assert.deepEqual(events.map((e) => e.type), ['head', 'end'], line);
    assert.deepEqual(heads(events)[0]?.framing, { kind: 'none' });
    assert.equal(reader.idle, true);
  }
});

test('close-delimited body ends when the backend closes', () => {
  const { reader, events } = respond('GET', 'HTTP/1.1 200 OK\r\n\r\nsome');
  assert.deepEqual(heads(events)[0]?.framing, { kind: 'close' });
  assert.equal(heads(events)[0]?.keepAlive, false);
  const more = reader.push(bytes(' bytes'));
  const end = reader.finish();
  assert.deepEqual(summarise([...events, ...more, ...end]), [{ head: heads(events)[0], body: 'some bytes', trailers: [] }]);
});

test('chunked response split at every byte gives the same result', () => {
  const raw = bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n');
  const run = (parts: Buffer[]): ReaderEvent[] => {
    const reader = new MessageReader('response');
    reader.expectResponseTo('GET');
    return parts.flatMap((p) => reader.push(p));
  };
  const whole = summarise(run([raw]));
  assert.equal(whole[0]?.body, 'Wikipedia');
  assert.deepEqual(whole[0]?.trailers, [['X-T', '1']]);
  assert.deepEqual(summarise(run(splitAt(raw, Array.from({ length: raw.length - 1 }, (_, i) => i + 1)))), whole);
});

test('101 Switching Protocols: head emitted, the rest left buffered', () => {
  const { reader, events } = respond('GET', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00');
  assert.deepEqual(events.map((e) => e.type), ['head']);
  assert.equal(reader.buffered, 2);
  assert.deepEqual(reader.push(bytes('more')), []);
  assert.deepEqual(reader.finish(), []);
});

test('status line forms', () => {
  assert.equal(heads(respond('GET', 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n').events)[0]?.reason, '');
  assert.equal(heads(respond('GET', 'HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n').events)[0]?.reason, '');
  assert.equal(heads(respond('GET', 'HTTP/1.0 200 Fine  now\r\nContent-Length: 0\r\n\r\n').events)[0]?.keepAlive, false);
  rejects('GET', 'HTTP/1.1 2000 OK\r\n\r\n', 'STK_HTTP_BAD_STATUS_LINE');
  rejects('GET', 'HTTP/1.1 099 Low\r\n\r\n', 'STK_HTTP_BAD_STATUS');
  rejects('GET', 'HTTP/1.1 600 High\r\n\r\n', 'STK_HTTP_BAD_STATUS');
  rejects('GET', 'HTTP/1.1 2x0 OK\r\n\r\n', 'STK_HTTP_BAD_STATUS');
  rejects('GET', 'HTTP/2 200 OK\r\n\r\n', 'STK_HTTP_BAD_STATUS_LINE');
  rejects('GET', 'HTTP/1.1 200 O\x01K\r\n\r\n', 'STK_HTTP_BAD_STATUS_LINE');
  rejects('GET', 'garbage\r\n\r\n', 'STK_HTTP_BAD_STATUS_LINE');
});

test('ambiguous or unsupported response framing is a 502', () => {
  rejects('GET', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n', 'STK_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING');
  rejects('GET', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n', 'STK_HTTP_DUPLICATE_CONTENT_LENGTH');
  rejects('GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 'STK_HTTP_UNSUPPORTED_TRANSFER_CODING');
  rejects('GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', 'STK_HTTP_UNSUPPORTED_TRANSFER_CODING');
  rejects('GET', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'STK_HTTP_TRANSFER_ENCODING_IN_HTTP10');
  rejects('GET', 'HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n', 'STK_HTTP_BARE_LF');
  rejects('GET', 'HTTP/1.1 200 OK\r\nX: a\x00\r\n\r\n', 'STK_HTTP_BAD_HEADER_VALUE');
});

test('bytes with no request outstanding are refused at once', () => {
  const reader = new MessageReader('response');
  assert.throws(() => reader.push(bytes('H')), { status: 502, code: 'STK_HTTP_UNSOLICITED_RESPONSE' });
  const { reader: pooled, events } = respond('GET', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxEXTRA');
  assert.equal(events.at(-1)?.type, 'end');
  assert.throws(() => pooled.resume(), { status: 502, code: 'STK_HTTP_UNSOLICITED_RESPONSE' });
});

test('a truncated response body is an error when the backend closes', () => {
  const { reader } = respond('GET', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort');
  assert.throws(() => reader.finish(), { status: 502, code: 'STK_HTTP_INCOMPLETE_MESSAGE' });
  const { reader: chunked } = respond('GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
  assert.throws(() => chunked.finish(), { status: 502, code: 'STK_HTTP_INCOMPLETE_MESSAGE' });
});

test('a malformed or oversized response head is a 502, whatever rule it broke', () => {
  rejects('GET', 'HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n', 'STK_HTTP_BARE_CR');
  rejects('GET', 'HTTP/1.1 200 OK\r\nSet-Cookie\r\n\r\n', 'STK_HTTP_BAD_HEADER');
  rejects('GET', 'HTTP/1.1 200 OK\r\n: a\r\n\r\n', 'STK_HTTP_BAD_HEADER_NAME');
  rejects('GET', 'HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n', 'STK_HTTP_OBS_FOLD');
  rejects('GET', 'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n', 'STK_HTTP_BAD_CONTENT_LENGTH');
  rejects('GET', 'HTTP/1.1 200 OK\r\nContent-Length:\t3\r\n\r\nabc', 'STK_HTTP_TAB_AROUND_VALUE');
  rejects('GET', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n', 'STK_HTTP_BAD_TRANSFER_ENCODING');
  rejects('GET', `HTTP/1.1 200 OK\r\nX: ${'v'.repeat(70_000)}\r\n\r\n`, 'STK_HTTP_HEAD_TOO_LARGE');
  rejects('GET', 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'.repeat(11), 'STK_HTTP_TOO_MANY_INTERIM');
});
