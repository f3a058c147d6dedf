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
  const absolute = absoluteForm(target);
  if (absolute === undefined) throw new HttpError(400, 'STK_HTTP_BAD_TARGET', 'request target is not origin-form, absolute-form or OPTIONS *');
  if (!isValidHostPort(absolute.authority)) throw new HttpError(400, 'STK_HTTP_BAD_TARGET', 'absolute-form target has an invalid authority (userinfo is refused)');
}

/** The scheme's default port, `:80` or `:443`, for comparing authorities. */
type DefaultPort = ':80' | ':443';

/** The authority of an http(s) absolute-form target, unchecked; undefined for any other form. */
function absoluteForm(target: string): { authority: string; defaultPort: DefaultPort } | undefined {
  const scheme = /^http(s?):\/\//i.exec(target);
  if (scheme === null) return undefined;
  const rest = target.slice(scheme[0].length);
  const authorityEnd = rest.search(/[/?]/);
  return { authority: authorityEnd === -1 ? rest : rest.slice(0, authorityEnd), defaultPort: scheme[1] === '' ? ':80' : ':443' };
}

/** Compared case-insensitively, the scheme's default port left out: `LOCALHOST:443` and `localhost` are one https host. */
function sameHost(a: string, b: string, defaultPort: DefaultPort): boolean {
  const comparable = (hostPort: string): string => {
    const lower = hostPort.toLowerCase();
    return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
  };
  return comparable(a) === comparable(b);
}

export function buildRequestHead(line: RequestLine, buf: Buffer, base: number, lines: readonly number[]): RequestHead {
  const headers = parseFields(buf, base, lines, 1);
  const fields = collectFramingFields(headers);
  if (fields.host.length > 1) throw new HttpError(400, 'STK_HTTP_BAD_HOST', 'more than one Host field');
  if (fields.host.length === 0 && line.minor === 1) throw new HttpError(400, 'STK_HTTP_BAD_HOST', 'HTTP/1.1 request without Host');
  if (fields.host.length === 1 && !isValidHostPort(fields.host[0]!)) throw new HttpError(400, 'STK_HTTP_BAD_HOST', 'Host is not a valid host[:port]');
  // RFC 9112 §3.2.2 lets the authority win, but a request naming two hosts is broken or probing which one a proxy
  // routes by: refused, as HAProxy does.
  const absolute = line.target.charCodeAt(0) === 0x2f ? undefined : absoluteForm(line.target);
  if (absolute !== undefined && fields.host.length === 1 && !sameHost(fields.host[0]!, absolute.authority, absolute.defaultPort)) {
    throw new HttpError(400, 'STK_HTTP_HOST_MISMATCH', 'Host differs from the authority of the absolute-form target');
  }
  const chunked = isChunked(fields, line.minor);
  const length = contentLength(headers, fields);
  // HTTP/1.0 gave GET and HEAD no body: a 1.0 server may read one as the next request (HAProxy refuses these too).
  if (line.minor === 0 && length !== undefined && length > 0 && (line.method === 'GET' || line.method === 'HEAD')) {
    throw new HttpError(400, 'STK_HTTP_BODY_IN_HTTP10_GET', `HTTP/1.0 ${line.method} request with a body`);
  }
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
