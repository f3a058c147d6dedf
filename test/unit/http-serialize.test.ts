import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageReader } from '../../src/http/reader.ts';
import { encodeChunk, lastChunk, serializeRequestHead, serializeResponseHead, serializeTrailers } from '../../src/http/serialize.ts';
import { summarise } from '../fixtures/http/summarise.ts';
import { FIELD_VALUE, TOKEN, isFieldValue, isToken } from '../../src/http/syntax.ts';

test('request head', () => {
  const head = serializeRequestHead('GET', '/a?b', [['Host', 'x'], ['X-Forwarded-For', '10.0.0.1']]);
  assert.equal(head.toString('latin1'), 'GET /a?b HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n');
});

test('response head is always HTTP/1.1 and keeps obs-text', () => {
  assert.equal(serializeResponseHead(200, 'OK', [['X', 'caf\xe9']]).toString('latin1'), 'HTTP/1.1 200 OK\r\nX: caf\xe9\r\n\r\n');
  assert.equal(serializeResponseHead(204, '', []).toString('latin1'), 'HTTP/1.1 204 \r\n\r\n');
});

test('unclean names and values are never written', () => {
  for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb', 'a\x00b', 'a\x7f', 'snow\u2603']) {
    assert.throws(() => serializeRequestHead('GET', '/', [['X', value]]), { status: 500, code: 'STK_HTTP_SERIALIZE_VALUE' });
    assert.throws(() => serializeResponseHead(200, 'OK', [['X', value]]), { status: 502, code: 'STK_HTTP_SERIALIZE_VALUE' });
  }
  for (const name of ['', 'X Y', 'X:', 'X\r\n', 'caf\xe9']) {
    assert.throws(() => serializeResponseHead(200, 'OK', [[name, 'v']]), { status: 502, code: 'STK_HTTP_SERIALIZE_NAME' });
  }
  assert.throws(() => serializeRequestHead('G T', '/', []), { code: 'STK_HTTP_SERIALIZE_METHOD' });
  assert.throws(() => serializeRequestHead('GET', '/a b', []), { code: 'STK_HTTP_SERIALIZE_TARGET' });
  assert.throws(() => serializeRequestHead('GET', '/a\r\nX: y', []), { code: 'STK_HTTP_SERIALIZE_TARGET' });
  assert.throws(() => serializeRequestHead('GET', '', []), { code: 'STK_HTTP_SERIALIZE_TARGET' });
  assert.throws(() => serializeResponseHead(200, 'OK\r\nX: y', []), { status: 502, code: 'STK_HTTP_SERIALIZE_REASON' });
  assert.throws(() => serializeResponseHead(1000, 'OK', []), { status: 502, code: 'STK_HTTP_SERIALIZE_STATUS' });
});

test('chunk framing round-trips through the reader', () => {
  const body = Buffer.alloc(300, 'z');
  const wire = Buffer.concat([
    serializeRequestHead('POST', '/up', [['Host', 'h'], ['Transfer-Encoding', 'chunked']]),
    ...encodeChunk(Buffer.from('hello')),
    ...encodeChunk(Buffer.alloc(0)),
    ...encodeChunk(body),
    serializeTrailers([['X-Sum', '7']]),
  ]);
  assert.equal(encodeChunk(body)[0]!.toString('latin1'), '12c\r\n');
  const [message] = summarise(new MessageReader('request').push(wire));
  assert.equal(message?.body, `hello${'z'.repeat(300)}`);
  assert.deepEqual(message?.trailers, [['X-Sum', '7']]);
  assert.equal(lastChunk.toString('latin1'), '0\r\n\r\n');
  assert.equal(serializeTrailers([]).toString('latin1'), '0\r\n\r\n');
});

test('the string checks agree with the byte tables the parser uses, and refuse anything beyond latin1', () => {
  for (let code = 0; code < 0x200; code++) {
    const ch = String.fromCharCode(code);
    assert.equal(isToken(`a${ch}b`), code < 256 && TOKEN[code] === 1, `token 0x${code.toString(16)}`);
    assert.equal(isFieldValue(`a${ch}b`), code < 256 && FIELD_VALUE[code] === 1, `value 0x${code.toString(16)}`);
  }
  assert.equal(isToken(''), false);
  assert.equal(isToken('a\n'), false);
  assert.equal(isFieldValue(''), true);
  assert.equal(isFieldValue('a\n'), false);
});
