// The HTTP-version of a start line (RFC 9112 §2.3): exactly `HTTP/` DIGIT `.` DIGIT, case-sensitive.

import { HttpError } from './errors.ts';

const PREFIX = 'HTTP/';

/** Minor version of `HTTP/1.0` or `HTTP/1.1`; any other well-formed version → 505, anything else → 400. */
export function parseVersion(text: string): 0 | 1 {
  if (text === 'HTTP/1.1') return 1;
  if (text === 'HTTP/1.0') return 0;
  const c = text.charCodeAt(5);
  const d = text.charCodeAt(7);
  const wellFormed = text.length === 8 && text.startsWith(PREFIX) && c >= 0x30 && c <= 0x39 && text[6] === '.' && d >= 0x30 && d <= 0x39;
  if (!wellFormed) throw new HttpError(400, 'STK_HTTP_BAD_VERSION', 'malformed HTTP version');
  throw new HttpError(505, 'STK_HTTP_UNSUPPORTED_VERSION', `HTTP version ${text.slice(5)} is not supported`);
}
