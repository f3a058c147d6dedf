// HTTP/2 header fields to and from Stickler's HTTP/1.1 heads: a stream's fields become the request head the member
// gets, read by the strict HTTP/1.1 reader; a member's response head becomes the fields node:http2 sends.
import type http2 from 'node:http2';
import type { ClientPolicy } from '../config/model.ts';
import type { Framing, HeaderList, RequestHead } from '../http/head.ts';
import { HttpError } from '../http/errors.ts';
import { MessageReader } from '../http/reader.ts';
import { requestLimits } from './request-limits.ts';

/** RFC 9113 §8.2.2: these must not appear in HTTP/2; a response from an HTTP/1.1 member may still carry some. */
const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'http2-settings']);

/**
 * HTTP/2 header fields as the HTTP/1.1 request head the member will get, read by the same strict reader, with the
 * same limits, as an HTTP/1.1 request: one set of rules for methods, targets, Host, fields and sizes, whatever the
 * client spoke. Throws the reader's HttpError for what it refuses.
 */
export function requestHead(headers: http2.IncomingHttpHeaders, raw: string[], endStream: boolean, policy: ClientPolicy): RequestHead {
  const method = headers[':method'];
  const path = headers[':path'];
  if (typeof method !== 'string' || typeof path !== 'string') throw new HttpError(400, 'STK_HTTP_BAD_REQUEST_LINE', 'HTTP/2 request without :method or :path');
  const fields: string[] = [];
  const cookies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // nghttp2 refuses these too; checked again because the fields become lines of a head.
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value)) throw new HttpError(400, 'STK_HTTP_BAD_HEADER_VALUE', 'CR, LF or NUL in an HTTP/2 field');
    if (name.startsWith(':')) continue;
    // RFC 9113 §8.2.3: cookie crumbs are joined with "; " into the one Cookie field HTTP/1.1 allows.
    if (name === 'cookie') cookies.push(value);
    else fields.push(`${name}: ${value}`);
  }
  if (cookies.length > 0) fields.push(`cookie: ${cookies.join('; ')}`);
  const authority = headers[':authority'];
  if (typeof authority === 'string') {
    // RFC 9113 §8.3.1: a Host naming another host than :authority makes the request malformed.
    if (headers.host !== undefined && headers.host.toLowerCase() !== authority.toLowerCase()) {
      throw new HttpError(400, 'STK_HTTP_HOST_MISMATCH', 'Host differs from :authority');
    }
    if (headers.host === undefined) fields.unshift(`host: ${authority}`);
  }
  // A body without content-length reaches the member chunked; nghttp2 has refused a Transfer-Encoding already.
  if (!endStream && headers['content-length'] === undefined) fields.push('transfer-encoding: chunked');
  const reader = new MessageReader('request', requestLimits(policy));
  const [event] = reader.push(Buffer.from(`${method} ${path} HTTP/1.1\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`, 'latin1'));
  if (event?.type !== 'head') throw new HttpError(400, 'STK_HTTP_BAD_REQUEST_LINE', 'HTTP/2 request head could not be read');
  const head = event.head as RequestHead;
  const framing: Framing = endStream ? { kind: 'none' } : head.framing;
  return { ...head, framing, keepAlive: true };
}

/**
 * A HeaderList as node:http2 wants it: lower-case names, no connection-specific fields. A field repeated by an
 * HTTP/1.1 member is joined with ", " (RFC 9110 §5.3), which node:http2 accepts even for the fields it insists
 * appear once; only Set-Cookie, which cannot be joined, stays a list.
 */
export function fields(headers: HeaderList): http2.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (connectionSpecific.has(lower)) continue;
    const existing = out[lower];
    if (existing === undefined) out[lower] = lower === 'set-cookie' ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[lower] = `${existing}, ${value}`;
  }
  return out;
}
