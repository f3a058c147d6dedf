// A response head from its scanned lines: the status line (RFC 9112 §4) and how the body is framed (§6.3),
// which depends on the request method as well as on the response itself.

import { HttpError } from './errors.ts';
import { parseFields } from './field-section.ts';
import { collectFramingFields, connectionOptions, contentLength, isChunked, persists } from './framing.ts';
import type { Framing, ResponseHead } from './head.ts';
import { FIELD_VALUE, SP } from './syntax.ts';
import { parseVersion } from './version.ts';

export interface StatusLine {
  minor: 0 | 1;
  status: number;
  reason: string;
}

/**
 * `HTTP/1.x SP 3DIGIT SP reason`. A missing reason is accepted with or without its SP (`HTTP/1.1 200`), as llhttp
 * does: servers send both and neither is ambiguous. Codes outside 100..599 are invalid (RFC 9110 §15).
 */
export function parseStatusLine(buf: Buffer, start: number, end: number): StatusLine {
  const length = end - start;
  if (length < 12 || buf[start + 8] !== SP || (length > 12 && buf[start + 12] !== SP)) {
    throw new HttpError(502, 'STK_HTTP_BAD_STATUS_LINE', 'status line must be version SP 3-digit code SP reason');
  }
  const minor = parseVersion(buf.toString('latin1', start, start + 8));
  const code = buf.toString('latin1', start + 9, start + 12);
  const status = Number(code);
  if (!/^\d{3}$/.test(code) || status < 100 || status > 599) {
    throw new HttpError(502, 'STK_HTTP_BAD_STATUS', 'status code is not a number from 100 to 599');
  }
  for (let i = start + 13; i < end; i++) {
    if (FIELD_VALUE[buf[i]!] !== 1) throw new HttpError(502, 'STK_HTTP_BAD_STATUS_LINE', 'control character in reason phrase');
  }
  return { minor, status, reason: length > 12 ? buf.toString('latin1', start + 13, end) : '' };
}

/** `method` is that of the request this response answers. */
export function buildResponseHead(line: StatusLine, method: string, buf: Buffer, base: number, lines: readonly number[]): ResponseHead {
  const headers = parseFields(buf, base, lines, 1);
  const fields = collectFramingFields(headers);
  const length = contentLength(headers, fields);
  const { minor, status } = line;
  let framing: Framing;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) {
    // No body follows whatever the fields say (RFC 9112 §6.3 rule 1); they only describe the selected
    // representation, so Transfer-Encoding is not judged here.
    framing = { kind: 'none' };
  } else if (isChunked(fields, minor)) {
    framing = { kind: 'chunked' };
  } else if (length !== undefined) {
    framing = { kind: 'length', length };
  } else {
    framing = { kind: 'close' };
  }
  const keepAlive = framing.kind !== 'close' && persists(minor, connectionOptions(fields));
  return { minor, status, reason: line.reason, headers, framing, keepAlive };
}
