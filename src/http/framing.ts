// Message framing (RFC 9112 §6): which fields decide where a body ends, and the refusal of every ambiguous
// combination. Requests and responses share these rules; only the consequences differ (see request-head.ts
// and response-head.ts).

import { HttpError } from './errors.ts';
import { equalsLowerCase } from './field-name.ts';
import type { HeaderList } from './head.ts';
import { isDigits, isToken, splitList, tokenList } from './syntax.ts';

/** The fields that steer parsing, gathered in one pass over the names. */
export interface FramingFields {
  /** Indexes into the header list, so the value can be normalised in place. */
  contentLength: number[];
  transferEncoding: string[];
  connection: string[];
  host: string[];
  expect: string[];
}

export function collectFramingFields(headers: HeaderList): FramingFields {
  const fields: FramingFields = { contentLength: [], transferEncoding: [], connection: [], host: [], expect: [] };
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    // Only names of these lengths can matter: most fields are dismissed by their length alone.
    switch (name.length) {
      case 4:
        if (equalsLowerCase(name, 'host')) fields.host.push(value);
        break;
      case 6:
        if (equalsLowerCase(name, 'expect')) fields.expect.push(value);
        break;
      case 10:
        if (equalsLowerCase(name, 'connection')) fields.connection.push(value);
        break;
      case 14:
        if (equalsLowerCase(name, 'content-length')) fields.contentLength.push(i);
        break;
      case 17:
        if (equalsLowerCase(name, 'transfer-encoding')) fields.transferEncoding.push(value);
        break;
    }
  }
  return fields;
}

/** 16 decimal digits cover Number.MAX_SAFE_INTEGER (9007199254740991). */
const MAX_LENGTH_DIGITS = 16;

/**
 * The Content-Length, or undefined when absent. Exactly one field of 1*DIGIT is accepted: a repeated field
 * (even with the same value, even `1, 1`) is refused because a peer that tolerates it is how lengths get
 * smuggled. The value in `headers` is rewritten in canonical form (`010` → `10`).
 */
export function contentLength(headers: HeaderList, fields: FramingFields): number | undefined {
  if (fields.contentLength.length === 0) return undefined;
  if (fields.contentLength.length > 1) throw new HttpError(400, 'STK_HTTP_DUPLICATE_CONTENT_LENGTH', 'more than one Content-Length field');
  const index = fields.contentLength[0]!;
  const field = headers[index]!;
  const digits = field[1].replace(/^0+(?=\d)/, '');
  if (!isDigits(digits)) throw new HttpError(400, 'STK_HTTP_BAD_CONTENT_LENGTH', 'Content-Length is not a decimal number');
  const length = Number(digits);
  if (digits.length > MAX_LENGTH_DIGITS || !Number.isSafeInteger(length)) {
    throw new HttpError(400, 'STK_HTTP_BAD_CONTENT_LENGTH', 'Content-Length is too large');
  }
  field[1] = digits;
  return length;
}

/**
 * Checks Transfer-Encoding; returns true when the body is chunked. Only a lone `chunked` (any case) is
 * accepted: Stickler re-frames every body it forwards and cannot re-frame other codings.
 */
export function isChunked(fields: FramingFields, minor: 0 | 1): boolean {
  if (fields.transferEncoding.length === 0) return false;
  if (fields.transferEncoding.length > 1) throw new HttpError(400, 'STK_HTTP_DUPLICATE_TRANSFER_ENCODING', 'more than one Transfer-Encoding field');
  if (fields.contentLength.length > 0) {
    throw new HttpError(400, 'STK_HTTP_CONTENT_LENGTH_WITH_TRANSFER_ENCODING', 'both Content-Length and Transfer-Encoding are present');
  }
  if (minor === 0) throw new HttpError(400, 'STK_HTTP_TRANSFER_ENCODING_IN_HTTP10', 'Transfer-Encoding in an HTTP/1.0 message');
  const codings = splitList(fields.transferEncoding[0]!).map((c) => c.toLowerCase());
  if (codings.some((c) => !isToken(c))) throw new HttpError(400, 'STK_HTTP_BAD_TRANSFER_ENCODING', 'Transfer-Encoding is not a list of codings');
  const chunkedAt = codings.indexOf('chunked');
  if (chunkedAt !== -1 && (chunkedAt !== codings.length - 1 || codings.lastIndexOf('chunked') !== chunkedAt)) {
    throw new HttpError(400, 'STK_HTTP_BAD_TRANSFER_ENCODING', 'chunked must be the final transfer coding, applied once');
  }
  if (codings.length > 1 || chunkedAt === -1) {
    throw new HttpError(501, 'STK_HTTP_UNSUPPORTED_TRANSFER_CODING', 'transfer codings other than chunked are not supported');
  }
  return true;
}

/** Lower-cased tokens of every Connection field; a non-token element is a malformed field. */
export function connectionOptions(fields: FramingFields): string[] {
  const options: string[] = [];
  for (const value of fields.connection) {
    const tokens = tokenList(value);
    if (tokens === undefined) throw new HttpError(400, 'STK_HTTP_BAD_CONNECTION', 'Connection is not a list of tokens');
    options.push(...tokens);
  }
  return options;
}

/** HTTP/1.1 persists unless `close`; HTTP/1.0 only with `keep-alive` (RFC 9112 §9.3). */
export function persists(minor: 0 | 1, options: string[]): boolean {
  if (options.includes('close')) return false;
  return minor === 1 || options.includes('keep-alive');
}
