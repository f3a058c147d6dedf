// An HTTP/2 request head is read by the same reader, with the same limits, as the HTTP/1.1 request it becomes:
// the same verdicts, the same error codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type http2 from 'node:http2';
import fc from 'fast-check';
import { CLIENT_DEFAULTS, type ClientPolicy } from '../../src/config/model.ts';
import { HttpError } from '../../src/http/errors.ts';
import { MessageReader } from '../../src/http/reader.ts';
import { requestHead } from '../../src/server/h2-fields.ts';
import { requestLimits } from '../../src/server/request-limits.ts';

const POLICY: ClientPolicy = { ...CLIENT_DEFAULTS, fieldSize: 100, fields: 5, bodySize: 1000 };

/** node:http2's view of a request: the headers object and the raw name/value list. */
function h2(fields: Array<[string, string]>): { headers: http2.IncomingHttpHeaders; raw: string[] } {
  const headers: Record<string, string> = {};
  for (const [n, v] of fields) headers[n] = headers[n] === undefined ? v : `${headers[n]}, ${v}`;
  return { headers, raw: fields.flat() };
}

function verdict(fields: Array<[string, string]>, endStream = true): string {
  const { headers, raw } = h2(fields);
  try {
    const head = requestHead(headers, raw, endStream, POLICY);
    return `ok ${head.method} ${head.target} ${head.framing.kind}`;
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return `${err.status} ${err.code}`;
  }
}

const base = (method = 'GET', path = '/'): Array<[string, string]> => [[':method', method], [':path', path], [':scheme', 'https'], [':authority', 'localhost']];

test('the HTTP/1.1 reader\'s verdicts and codes, for what HTTP/2 brings', () => {
  assert.equal(verdict(base()), 'ok GET / none');
  assert.equal(verdict(base('POST'), false), 'ok POST / chunked');
  assert.equal(verdict([...base('POST'), ['content-length', '5']], false), 'ok POST / length');
  assert.equal(verdict([...base('POST'), ['content-length', '5000']], false), '413 STK_HTTP_BODY_TOO_LARGE');
  assert.equal(verdict(base('BREW')), '501 STK_HTTP_UNKNOWN_METHOD');
  assert.equal(verdict(base('CONNECT')), '501 STK_HTTP_CONNECT_UNSUPPORTED');
  assert.equal(verdict(base('GET', 'no-slash')), '400 STK_HTTP_BAD_TARGET');
  assert.equal(verdict(base('GET', `/${'a'.repeat(9000)}`)), '414 STK_HTTP_TARGET_TOO_LONG');
  assert.equal(verdict([...base(), ['x-big', 'v'.repeat(200)]]), '431 STK_HTTP_FIELD_TOO_LARGE');
  assert.equal(verdict([...base(), ['a', '1'], ['b', '2'], ['c', '3'], ['d', '4'], ['e', '5']]), '431 STK_HTTP_TOO_MANY_FIELDS');
  assert.equal(verdict([...base(), ['host', 'other.example']]), '400 STK_HTTP_HOST_MISMATCH');
  assert.equal(verdict([...base(), ['host', 'LOCALHOST']]), 'ok GET / none');
  assert.equal(verdict([...base(), ['x-a', 'one\r\nhost: evil']]), '400 STK_HTTP_BAD_HEADER_VALUE');
  assert.equal(verdict(base('GET', '/a\r\nx-b: c')), '400 STK_HTTP_BAD_HEADER_VALUE');
  assert.equal(verdict([...base(), ['expect', 'something']], false), '417 STK_HTTP_UNKNOWN_EXPECTATION');
  assert.equal(verdict([[':path', '/']]), '400 STK_HTTP_BAD_REQUEST_LINE');
});

test('cookie crumbs become one Cookie field; :authority becomes Host', () => {
  const { headers, raw } = h2([...base(), ['cookie', 'a=1'], ['cookie', 'b=2']]);
  const head = requestHead(headers, raw, true, POLICY);
  assert.deepEqual(head.headers.filter(([n]) => n === 'cookie' || n === 'host'), [['host', 'localhost'], ['cookie', 'a=1; b=2']]);
});

test('property: an HTTP/2 head is refused exactly when its HTTP/1.1 form is, with the same code', () => {
  const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/);
  const value = fc.string({ maxLength: 120 }).map((v) => v.replace(/[\r\n\0]/g, ''));
  fc.assert(
    fc.property(fc.constantFrom('GET', 'POST', 'PUT', 'BREW', 'OPTIONS'), fc.string({ maxLength: 40 }), fc.array(fc.tuple(token, value), { maxLength: 8 }), (method, path, extra) => {
      const fields = extra.filter(([n]) => n !== 'host' && n !== 'cookie' && n !== 'content-length' && n !== 'transfer-encoding');
      const ours = verdict([[':method', method], [':path', path], [':authority', 'localhost'], ...fields]);
      let expected: string;
      try {
        const text = `${method} ${path} HTTP/1.1\r\nhost: localhost\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
        const [event] = new MessageReader('request', requestLimits(POLICY)).push(Buffer.from(text, 'latin1'));
        expected = event?.type === 'head' ? `ok ${method} ${path} none` : 'incomplete';
      } catch (err) {
        expected = `${(err as HttpError).status} ${(err as HttpError).code}`;
      }
      assert.equal(ours, expected);
    }),
    { numRuns: 300 },
  );
});
