// A request head from its scanned lines: the request line (RFC 9112 §3), the fields, and the semantic checks a
// gateway must make before trusting any of it (Host, framing, persistence, Expect).

import { HttpError } from './errors.ts';
import { parseFields } from './field-section.ts';
import { collectFramingFields, connectionOptions, contentLength, isChunked, persists } from './framing.ts';
import type { Framing, RequestHead } from './head.ts';
import { SP, TARGET, TOKEN, isValidHostPort } from './syntax.ts';
import { parseVersion } from './version.ts';

/**
 * Methods forwarded to backends: RFC 9110, PATCH, and the WebDAV set Tomcat serves. Others get 501, like Apache's
 * `HttpProtocolOptions RegisteredMethods`; every one is also known to llhttp, so no backend parser chokes.
 */
const METHODS = new Set([
  'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH',
  'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT',
]);

export interface RequestLine {
  method: string;
  target: string;
  minor: 0 | 1;
}

export function parseRequestLine(buf: Buffer, start: number, end: number, maxTargetBytes: number): RequestLine {
  let methodEnd = start;
  while (methodEnd < end && TOKEN[buf[methodEnd]!] === 1) methodEnd++;
  if (methodEnd === start || methodEnd === end || buf[methodEnd] !== SP) {
    throw new HttpError(400, 'STK_HTTP_BAD_REQUEST_LINE', 'request line must be method SP target SP version, with a token method');
  }
  const targetStart = methodEnd + 1;
  let targetEnd = targetStart;
  while (targetEnd < end && TARGET[buf[targetEnd]!] === 1) targetEnd++;
  if (targetEnd - targetStart > maxTargetBytes) {
    throw new HttpError(414, 'STK_HTTP_TARGET_TOO_LONG', `request target exceeds ${maxTargetBytes} bytes`);
  }
  if (targetEnd === end) throw new HttpError(400, 'STK_HTTP_BAD_REQUEST_LINE', 'request line has no HTTP version (HTTP/0.9 is refused)');
  if (targetEnd === targetStart || buf[targetEnd] !== SP) {
    throw new HttpError(400, 'STK_HTTP_BAD_TARGET', 'request target is empty or contains a space, control character, non-ASCII byte or #');
  }
  const minor = parseVersion(buf.toString('latin1', targetEnd + 1, end));
  const method = buf.toString('latin1', start, methodEnd);
  const target = buf.toString('latin1', targetStart, targetEnd);
  if (method === 'CONNECT') throw new HttpError(501, 'STK_HTTP_CONNECT_UNSUPPORTED', 'CONNECT is not supported');
  if (!METHODS.has(method)) throw new HttpError(501, 'STK_HTTP_UNKNOWN_METHOD', `method ${method.slice(0, 32)} is not supported`);
  checkTargetForm(method, target);
  return { method, target, minor };
}

/** Origin-form, absolute-form (http/https, no userinfo) or `OPTIONS *`; authority-form only exists for CONNECT. */
function checkTargetForm(method: string, target: string): void {
  if (target.charCodeAt(0) === 0x2f) return;
  if (target === '*') {
    if (method === 'OPTIONS') return;
    throw new HttpError(400, 'STK_HTTP_BAD_TARGET', `asterisk-form target with ${method}`);
  }
  const scheme = /^https?:\/\//i.exec(target);
  if (scheme !== null) {
    const rest = target.slice(scheme[0].length);
    const authorityEnd = rest.search(/[/?]/);
    const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
    if (isValidHostPort(authority)) return;
    throw new HttpError(400, 'STK_HTTP_BAD_TARGET', 'absolute-form target has an invalid authority (userinfo is refused)');
  }
  throw new HttpError(400, 'STK_HTTP_BAD_TARGET', 'request target is not origin-form, absolute-form or OPTIONS *');
}

export function buildRequestHead(line: RequestLine, buf: Buffer, base: number, lines: readonly number[]): RequestHead {
  const headers = parseFields(buf, base, lines, 1);
  const fields = collectFramingFields(headers);
  if (fields.host.length > 1) throw new HttpError(400, 'STK_HTTP_BAD_HOST', 'more than one Host field');
  if (fields.host.length === 0 && line.minor === 1) throw new HttpError(400, 'STK_HTTP_BAD_HOST', 'HTTP/1.1 request without Host');
  if (fields.host.length === 1 && !isValidHostPort(fields.host[0]!)) throw new HttpError(400, 'STK_HTTP_BAD_HOST', 'Host is not a valid host[:port]');
  const chunked = isChunked(fields, line.minor);
  const length = contentLength(headers, fields);
  const framing: Framing = chunked ? { kind: 'chunked' } : length === undefined ? { kind: 'none' } : { kind: 'length', length };
  return {
    method: line.method,
    target: line.target,
    minor: line.minor,
    headers,
    framing,
    keepAlive: persists(line.minor, connectionOptions(fields)),
    expectContinue: expectsContinue(fields.expect, line.minor),
  };
}

/** Only `100-continue` is known (RFC 9110 §10.1.1); an HTTP/1.0 client cannot receive a 100, so it is ignored there. */
function expectsContinue(values: string[], minor: 0 | 1): boolean {
  if (values.length === 0) return false;
  for (const value of values) {
    if (value.toLowerCase() !== '100-continue') throw new HttpError(417, 'STK_HTTP_UNKNOWN_EXPECTATION', 'only Expect: 100-continue is supported');
  }
  return minor === 1;
}
