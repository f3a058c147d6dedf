// Writes message heads and chunk framing. Everything is re-validated on the way out: a name or value that got
// here unclean (from a rewrite rule, or a backend) must never reach a peer, where a CR or LF would split it
// into a message of the attacker's choosing. Framing fields are the caller's: it sets Content-Length or
// Transfer-Encoding itself.

import { HttpError } from './errors.ts';
import type { HeaderList } from './head.ts';
import { TARGET, isFieldValue, isToken } from './syntax.ts';

const CRLF = Buffer.from('\r\n', 'latin1');

/** The last chunk with no trailers. */
export const lastChunk: Buffer = Buffer.from('0\r\n\r\n', 'latin1');

/** Request heads are built by Stickler from validated input, so an unclean one is an internal error (500). */
export function serializeRequestHead(method: string, target: string, headers: HeaderList): Buffer {
  if (!isToken(method)) throw new HttpError(500, 'STK_HTTP_SERIALIZE_METHOD', 'refusing to send a method that is not a token');
  if (!isTarget(target)) throw new HttpError(500, 'STK_HTTP_SERIALIZE_TARGET', 'refusing to send a request target with a space, control character, non-ASCII byte or #');
  return Buffer.from(`${method} ${target} HTTP/1.1\r\n${fieldLines(headers, 500)}\r\n`, 'latin1');
}

/** Response heads carry backend fields, so an unclean one is reported as the backend's fault (502). */
export function serializeResponseHead(status: number, reason: string, headers: HeaderList): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 599) {
    throw new HttpError(502, 'STK_HTTP_SERIALIZE_STATUS', 'refusing to send a status code outside 100..599');
  }
  if (!isFieldValue(reason)) throw new HttpError(502, 'STK_HTTP_SERIALIZE_REASON', 'refusing to send a reason phrase with control characters');
  return Buffer.from(`HTTP/1.1 ${status} ${reason}\r\n${fieldLines(headers, 502)}\r\n`, 'latin1');
}

/** One chunk as [size line, data, CRLF]. Empty data yields no buffers, since an empty chunk would end the body. */
export function encodeChunk(data: Buffer): Buffer[] {
  if (data.length === 0) return [];
  return [Buffer.from(`${data.length.toString(16)}\r\n`, 'latin1'), data, CRLF];
}

/** The last chunk followed by trailer fields and the final CRLF. */
export function serializeTrailers(trailers: HeaderList): Buffer {
  return Buffer.from(`0\r\n${fieldLines(trailers, 502)}\r\n`, 'latin1');
}

function fieldLines(headers: HeaderList, status: number): string {
  let out = '';
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    if (!isToken(name)) throw new HttpError(status, 'STK_HTTP_SERIALIZE_NAME', 'refusing to send a header name that is not a token');
    if (!isFieldValue(value)) {
      throw new HttpError(status, 'STK_HTTP_SERIALIZE_VALUE', `refusing to send header '${name.slice(0, 64)}' whose value holds CR, LF, NUL or another control character`);
    }
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

function isTarget(target: string): boolean {
  if (target.length === 0) return false;
  for (let i = 0; i < target.length; i++) if (TARGET[target.charCodeAt(i)] !== 1) return false;
  return true;
}
