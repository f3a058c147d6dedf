// Each rule of the reader and the serializer, pinned by the exact refusal it gives: status, code and message.
// Messages go to logs and error pages, and errors.ts promises they never echo raw peer bytes; a rule dropped or
// merged into another changes one of the three. Chunked framing is driven byte by byte at its edges: the size
// line's length in digits and in value, extensions, and the CRLF after the data.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpError } from '../../src/http/errors.ts';
import { MessageReader, type ReaderLimits } from '../../src/http/reader.ts';
import { serializeRequestHead, serializeResponseHead } from '../../src/http/serialize.ts';
import { readAll } from '../fixtures/http/verdict.ts';

const H = 'Host: a\r\n';
const chunked = (body: string): string => `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${body}`;

interface Refusal {
  status: number;
  code: string;
  message: string;
}

function refusal(run: () => unknown): Refusal | 'accepted' {
  try {
    run();
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    return { status: err.status, code: err.code, message: err.message };
  }
  return 'accepted';
}

/** The connection's bytes read as the connection code reads them: every pipelined message, then the close. */
function request(raw: string, limits?: Partial<ReaderLimits>): Refusal | 'accepted' {
  return refusal(() => {
    const reader = new MessageReader('request', limits);
    let events = reader.push(Buffer.from(raw, 'latin1'));
    while (events.at(-1)?.type === 'end' && reader.buffered > 0) events = reader.resume();
    reader.finish();
  });
}

function response(method: string, raw: string): Refusal | 'accepted' {
  return refusal(() => {
    const reader = new MessageReader('response');
    reader.expectResponseTo(method);
    reader.push(Buffer.from(raw, 'latin1'));
    reader.finish();
  });
}

const r = (status: number, code: string, message: string): Refusal => ({ status, code, message });

test('request refusals: status, code and message of each rule', () => {
  const cases: Array<[string, Refusal | 'accepted']> = [
    [`GET / HTTP/1.1\r\n${H}\r\n`, 'accepted'],
    [`\rGET / HTTP/1.1\r\n${H}\r\n`, r(400, 'STK_HTTP_BARE_CR', 'CR not followed by LF before the request line')],
    [`\nGET / HTTP/1.1\r\n${H}\r\n`, r(400, 'STK_HTTP_BARE_LF', 'empty line before the request line ends in LF without CR')],
    [`GET / HTTP/1.1\r\nX: a\rb\r\n${H}\r\n`, r(400, 'STK_HTTP_BARE_CR', 'line 2 of the head has a CR not followed by LF')],
    [`GET / HTTP/1.1\r\n${H}X: a\n\r\n`, r(400, 'STK_HTTP_BARE_LF', 'line 3 of the head ends in LF without CR')],
    [`GET\t/ HTTP/1.1\r\n${H}\r\n`, r(400, 'STK_HTTP_BAD_REQUEST_LINE', 'request line must be method SP target SP version, with a token method')],
    [`GET /\r\n${H}\r\n`, r(400, 'STK_HTTP_BAD_REQUEST_LINE', 'request line has no HTTP version (HTTP/0.9 is refused)')],
    [`GET /a\x01 HTTP/1.1\r\n${H}\r\n`, r(400, 'STK_HTTP_BAD_TARGET', 'request target is empty or contains a space, control character, non-ASCII byte or #')],
    [`GET * HTTP/1.1\r\n${H}\r\n`, r(400, 'STK_HTTP_BAD_TARGET', 'asterisk-form target with GET')],
    [`GET a:80 HTTP/1.1\r\n${H}\r\n`, r(400, 'STK_HTTP_BAD_TARGET', 'request target is not origin-form, absolute-form or OPTIONS *')],
    [`GET http://u@a/ HTTP/1.1\r\n${H}\r\n`, r(400, 'STK_HTTP_BAD_TARGET', 'absolute-form target has an invalid authority (userinfo is refused)')],
    [`GET HTTPS://A/ HTTP/1.1\r\nHost: A\r\n\r\n`, 'accepted'],
    [`GET http://a:8080/ HTTP/1.1\r\nHost: A:8080\r\n\r\n`, 'accepted'],
    [`GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n`, r(400, 'STK_HTTP_HOST_MISMATCH', 'Host differs from the authority of the absolute-form target')],
    [`GET / HTTP/1.1\r\n${H}${H}\r\n`, r(400, 'STK_HTTP_BAD_HOST', 'more than one Host field')],
    [`GET / HTTP/1.1\r\n\r\n`, r(400, 'STK_HTTP_BAD_HOST', 'HTTP/1.1 request without Host')],
    [`GET / HTTP/1.1\r\nHost: a b\r\n\r\n`, r(400, 'STK_HTTP_BAD_HOST', 'Host is not a valid host[:port]')],
    [`GET / HTTP/1.2\r\n${H}\r\n`, r(505, 'STK_HTTP_UNSUPPORTED_VERSION', 'HTTP version 1.2 is not supported')],
    [`GET / HTTP/1.x\r\n${H}\r\n`, r(400, 'STK_HTTP_BAD_VERSION', 'malformed HTTP version')],
    [`CONNECT a:443 HTTP/1.1\r\n${H}\r\n`, r(501, 'STK_HTTP_CONNECT_UNSUPPORTED', 'CONNECT is not supported')],
    [`${'X'.repeat(40)} / HTTP/1.1\r\n${H}\r\n`, r(501, 'STK_HTTP_UNKNOWN_METHOD', `method ${'X'.repeat(32)} is not supported`)],
    [`GET / HTTP/1.1\r\n${H} X: y\r\n\r\n`, r(400, 'STK_HTTP_OBS_FOLD', 'header line starts with whitespace (obsolete line folding is refused)')],
    [`GET / HTTP/1.1\r\n${H}: y\r\n\r\n`, r(400, 'STK_HTTP_BAD_HEADER_NAME', 'empty header name')],
    [`GET / HTTP/1.1\r\n${H}X\x7fY: y\r\n\r\n`, r(400, 'STK_HTTP_BAD_HEADER_NAME', 'invalid character 0x7f in header name')],
    [`GET / HTTP/1.1\r\n${H}X-Y : y\r\n\r\n`, r(400, 'STK_HTTP_SPACE_BEFORE_COLON', "whitespace between header name 'X-Y' and colon")],
    [`GET / HTTP/1.1\r\n${H}Xy\r\n\r\n`, r(400, 'STK_HTTP_BAD_HEADER', 'header line has no colon')],
    [`GET / HTTP/1.1\r\n${H}${'N'.repeat(70)}: a\x01\r\n\r\n`, r(400, 'STK_HTTP_BAD_HEADER_VALUE', `invalid character 0x01 in value of header '${'N'.repeat(64)}'`)],
    [`GET / HTTP/1.1\r\n${H}Content-Length:\t1\r\n\r\na`, r(400, 'STK_HTTP_TAB_AROUND_VALUE', 'HTAB around the value of Content-Length')],
    [`GET / HTTP/1.1\r\n${H}Expect: 200-ok\r\n\r\n`, r(417, 'STK_HTTP_UNKNOWN_EXPECTATION', 'only Expect: 100-continue is supported')],
    [`GET / HTTP/1.1\r\n${H}Connection: a b\r\n\r\n`, r(400, 'STK_HTTP_BAD_CONNECTION', 'Connection is not a list of tokens')],
    [`POST / HTTP/1.1\r\n${H}Content-Length: 1\r\nContent-Length: 1\r\n\r\na`, r(400, 'STK_HTTP_DUPLICATE_CONTENT_LENGTH', 'more than one Content-Length field')],
    [`POST / HTTP/1.1\r\n${H}Content-Length: 1x\r\n\r\na`, r(400, 'STK_HTTP_BAD_CONTENT_LENGTH', 'Content-Length is not a decimal number')],
    [`POST / HTTP/1.1\r\n${H}Content-Length: 0009007199254740991\r\n\r\n`, r(400, 'STK_HTTP_INCOMPLETE_MESSAGE', 'connection closed in the middle of a message')],
    [`POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`, r(400, 'STK_HTTP_BAD_CONTENT_LENGTH', 'Content-Length is too large')],
    [`POST / HTTP/1.1\r\n${H}Content-Length: 10000000000000000\r\n\r\n`, r(400, 'STK_HTTP_BAD_CONTENT_LENGTH', 'Content-Length is too large')],
    [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, r(400, 'STK_HTTP_DUPLICATE_TRANSFER_ENCODING', 'more than one Transfer-Encoding field')],
    [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n`, r(400, 'STK_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 'both Content-Length and Transfer-Encoding are present')],
    [`POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n`, r(400, 'STK_HTTP_TRANSFER_ENCODING_IN_HTTP10', 'Transfer-Encoding in an HTTP/1.0 message')],
    [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: "chunked"\r\n\r\n`, r(400, 'STK_HTTP_BAD_TRANSFER_ENCODING', 'Transfer-Encoding is not a list of codings')],
    [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, r(400, 'STK_HTTP_BAD_TRANSFER_ENCODING', 'chunked must be the final transfer coding, applied once')],
    [`POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, r(501, 'STK_HTTP_UNSUPPORTED_TRANSFER_CODING', 'transfer codings other than chunked are not supported')],
    [`GET / HTTP/1.0\r\nContent-Length: 1\r\n\r\na`, r(400, 'STK_HTTP_BODY_IN_HTTP10_GET', 'HTTP/1.0 GET request with a body')],
    [`GET / HTTP/1.1\r\n${H}`, r(400, 'STK_HTTP_INCOMPLETE_MESSAGE', 'connection closed in the middle of a message')],
  ];
  for (const [raw, expected] of cases) assert.deepEqual(request(raw), expected, JSON.stringify(raw));
});

test('request limits: the value at each limit passes, one more is refused with the limit in the message', () => {
  const target = (n: number) => `GET /${'t'.repeat(n - 1)} HTTP/1.1\r\n${H}\r\n`;
  assert.equal(request(target(10), { maxTargetBytes: 10 }), 'accepted');
  assert.deepEqual(request(target(11), { maxTargetBytes: 10 }), r(414, 'STK_HTTP_TARGET_TOO_LONG', 'request target exceeds 10 bytes'));
  assert.deepEqual(request(target(100), { maxRequestLineBytes: 50 }), r(414, 'STK_HTTP_TARGET_TOO_LONG', 'request line exceeds 50 bytes'));
  const fields = (n: number) => `GET / HTTP/1.1\r\n${H}${'X: y\r\n'.repeat(n - 1)}\r\n`;
  assert.equal(request(fields(3), { maxHeaders: 3 }), 'accepted');
  assert.deepEqual(request(fields(4), { maxHeaders: 3 }), r(431, 'STK_HTTP_TOO_MANY_FIELDS', 'head has more than 3 fields'));
  const field = (n: number) => `GET / HTTP/1.1\r\n${H}X: ${'v'.repeat(n - 3)}\r\n\r\n`;
  assert.equal(request(field(20), { maxFieldBytes: 20 }), 'accepted');
  assert.deepEqual(request(field(21), { maxFieldBytes: 20 }), r(431, 'STK_HTTP_FIELD_TOO_LARGE', 'a field line of the head exceeds 20 bytes'));
  const head = `GET / HTTP/1.1\r\n${H}\r\n`;
  assert.equal(request(head, { maxHeadBytes: head.length }), 'accepted');
  assert.deepEqual(request(head, { maxHeadBytes: head.length - 1 }), r(431, 'STK_HTTP_HEAD_TOO_LARGE', `head exceeds ${head.length - 1} bytes`));
  const body = (n: number) => `POST / HTTP/1.1\r\n${H}Content-Length: ${n}\r\n\r\n${'b'.repeat(n)}`;
  assert.equal(request(body(5), { maxBodyBytes: 5 }), 'accepted');
  assert.deepEqual(request(body(6), { maxBodyBytes: 5 }), r(413, 'STK_HTTP_BODY_TOO_LARGE', 'request body exceeds 5 bytes'));
  assert.equal(request(chunked('5\r\nbbbbb\r\n0\r\n\r\n'), { maxBodyBytes: 5 }), 'accepted');
  assert.deepEqual(request(chunked('3\r\nbbb\r\n3\r\nbbb\r\n0\r\n\r\n'), { maxBodyBytes: 5 }), r(413, 'STK_HTTP_BODY_TOO_LARGE', 'request body exceeds 5 bytes'));
  assert.equal(request(chunked(`1;${'e'.repeat(6)}\r\nb\r\n0\r\n\r\n`), { maxChunkLineBytes: 8 }), 'accepted');
  assert.deepEqual(request(chunked(`1;${'e'.repeat(7)}\r\nb\r\n0\r\n\r\n`), { maxChunkLineBytes: 8 }), r(400, 'STK_HTTP_CHUNK_LINE_TOO_LONG', 'chunk size line exceeds 8 bytes'));
});

test('chunked framing: size digits and value, extensions, and exactly CRLF after the data', () => {
  const bad = (code: string, message: string) => r(400, code, message);
  const cases: Array<[string, Refusal | 'accepted']> = [
    [chunked(`${'0'.repeat(14)}a\r\n${'d'.repeat(10)}\r\n0\r\n\r\n`), 'accepted'],
    [chunked(`${'0'.repeat(15)}1\r\nd\r\n0\r\n\r\n`), bad('STK_HTTP_BAD_CHUNK_SIZE', 'chunk size is not 1 to 15 hex digits')],
    [chunked('\r\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK_SIZE', 'chunk size is not 1 to 15 hex digits')],
    [chunked('1fffffffffffff\r\n'), r(400, 'STK_HTTP_INCOMPLETE_MESSAGE', 'connection closed in the middle of a message')],
    [chunked(`${'f'.repeat(15)}\r\nd\r\n0\r\n\r\n`), bad('STK_HTTP_BAD_CHUNK_SIZE', 'chunk size is too large')],
    [chunked('1 \r\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK_SIZE', 'chunk size is followed by something other than an extension')],
    [chunked('1;a=b;c;d="x\\"y\\\\"\r\nd\r\n0;e\r\n\r\n'), 'accepted'],
    [chunked('1;a=\r\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK_EXTENSION', 'chunk extension name or value is not a token')],
    [chunked('1;=b\r\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK_EXTENSION', 'chunk extension name or value is not a token')],
    [chunked('1;a="x\x01"\r\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK_EXTENSION', 'chunk extension has an unterminated or invalid quoted string')],
    [chunked('1;a="x\r\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK_EXTENSION', 'chunk extension has an unterminated or invalid quoted string')],
    [chunked('1;a="x\\\r\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK_EXTENSION', 'chunk extension has an unterminated or invalid quoted string')],
    [chunked('1;a="\t"\r\nd\r\n0\r\n\r\n'), 'accepted'],
    [chunked('1\r\nd\rX0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK', 'chunk data is not followed by CRLF')],
    [chunked('1\r\ndX\n0\r\n\r\n'), bad('STK_HTTP_BAD_CHUNK', 'chunk data is not followed by CRLF')],
    [chunked('1\nd\r\n0\r\n\r\n'), bad('STK_HTTP_BARE_LF', 'chunk size line ends in LF without CR')],
    [chunked('0\r\nX: a\n\r\n'), bad('STK_HTTP_BARE_LF', 'line 1 of the trailer section ends in LF without CR')],
    [chunked('0\r\nX : a\r\n\r\n'), bad('STK_HTTP_SPACE_BEFORE_COLON', "whitespace between header name 'X' and colon")],
  ];
  for (const [raw, expected] of cases) assert.deepEqual(request(raw), expected, JSON.stringify(raw));
});

test('chunked framing split at every byte reads the same as in one piece', () => {
  const raw = Buffer.from(chunked('3;a="\\""\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX: 1\r\n\r\n'), 'latin1');
  const whole = readAll([raw]);
  assert.equal(whole.outcome, 'accept');
  const body = (events: typeof whole.events) => Buffer.concat(events.flatMap((e) => (e.type === 'data' ? [e.data] : []))).toString('latin1');
  for (let at = 1; at < raw.length; at++) {
    const split = readAll([raw.subarray(0, at), raw.subarray(at)]);
    assert.equal(split.outcome, 'accept', `split at ${at}`);
    assert.equal(body(split.events), 'abc0123456789abcdef', `split at ${at}`);
    assert.deepEqual(split.events.at(-1), { type: 'end', trailers: [['X', '1']] });
  }
  const cut = Buffer.from(chunked('1\r\nd\rX0\r\n\r\n'), 'latin1');
  for (let at = 1; at < cut.length; at++) {
    assert.equal(readAll([cut.subarray(0, at), cut.subarray(at)]).code, 'STK_HTTP_BAD_CHUNK', `split at ${at}`);
  }
});

test('response refusals: status line, status code, interim loops, all as 502', () => {
  const cases: Array<[string, string, Refusal | 'accepted']> = [
    ['GET', 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', 'accepted'],
    ['GET', 'HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n', 'accepted'],
    ['GET', 'HTTP/1.1 20\r\nContent-Length: 0\r\n\r\n', r(502, 'STK_HTTP_BAD_STATUS_LINE', 'status line must be version SP 3-digit code SP reason')],
    ['GET', 'HTTP/1.1\t200 OK\r\nContent-Length: 0\r\n\r\n', r(502, 'STK_HTTP_BAD_STATUS_LINE', 'status line must be version SP 3-digit code SP reason')],
    ['GET', 'HTTP/1.1 2000K\r\nContent-Length: 0\r\n\r\n', r(502, 'STK_HTTP_BAD_STATUS_LINE', 'status line must be version SP 3-digit code SP reason')],
    ['GET', 'HTTP/1.1 099 X\r\n\r\n', r(502, 'STK_HTTP_BAD_STATUS', 'status code is not a number from 100 to 599')],
    ['GET', 'HTTP/1.1 600 X\r\n\r\n', r(502, 'STK_HTTP_BAD_STATUS', 'status code is not a number from 100 to 599')],
    ['GET', 'HTTP/1.1 599 X\r\nContent-Length: 0\r\n\r\n', 'accepted'],
    ['GET', 'HTTP/1.1 1x0 X\r\n\r\n', r(502, 'STK_HTTP_BAD_STATUS', 'status code is not a number from 100 to 599')],
    ['GET', 'HTTP/1.1 200 O\x01K\r\n\r\n', r(502, 'STK_HTTP_BAD_STATUS_LINE', 'control character in reason phrase')],
    ['GET', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab', r(502, 'STK_HTTP_INCOMPLETE_MESSAGE', 'backend response: connection closed in the middle of a message')],
    ['GET', `${'HTTP/1.1 100 Continue\r\n\r\n'.repeat(10)}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`, 'accepted'],
    ['GET', 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(11), r(502, 'STK_HTTP_TOO_MANY_INTERIM', 'more than 10 interim responses')],
  ];
  for (const [method, raw, expected] of cases) assert.deepEqual(response(method, raw), expected, JSON.stringify(raw));
});

test('serializer refusals name what was refused, and a request head is an internal error, a response head the backend\'s', () => {
  assert.deepEqual(refusal(() => serializeRequestHead('G T', '/', [])), r(500, 'STK_HTTP_SERIALIZE_METHOD', 'refusing to send a method that is not a token'));
  assert.deepEqual(refusal(() => serializeRequestHead('GET', '/#', [])), r(500, 'STK_HTTP_SERIALIZE_TARGET', 'refusing to send a request target with a space, control character, non-ASCII byte or #'));
  assert.deepEqual(refusal(() => serializeRequestHead('GET', '/', [['X Y', 'v']])), r(500, 'STK_HTTP_SERIALIZE_NAME', 'refusing to send a header name that is not a token'));
  const long = 'N'.repeat(70);
  assert.deepEqual(refusal(() => serializeRequestHead('GET', '/', [[long, 'a\nb']])), r(500, 'STK_HTTP_SERIALIZE_VALUE', `refusing to send header '${'N'.repeat(64)}' whose value holds CR, LF, NUL or another control character`));
  for (const status of [99, 600, 200.5, NaN]) {
    assert.deepEqual(refusal(() => serializeResponseHead(status, 'X', [])), r(502, 'STK_HTTP_SERIALIZE_STATUS', 'refusing to send a status code outside 100..599'));
  }
  assert.equal(serializeResponseHead(100, 'Continue', []).toString('latin1'), 'HTTP/1.1 100 Continue\r\n\r\n');
  assert.equal(serializeResponseHead(599, 'X', []).toString('latin1'), 'HTTP/1.1 599 X\r\n\r\n');
  assert.deepEqual(refusal(() => serializeResponseHead(200, 'O\x00K', [])), r(502, 'STK_HTTP_SERIALIZE_REASON', 'refusing to send a reason phrase with control characters'));
  assert.deepEqual(refusal(() => serializeResponseHead(200, 'OK', [['X', '\r']])), r(502, 'STK_HTTP_SERIALIZE_VALUE', "refusing to send header 'X' whose value holds CR, LF, NUL or another control character"));
});
