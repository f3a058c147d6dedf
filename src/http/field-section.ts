// A field section (a message head, or the trailers after the last chunk) is a run of CRLF-terminated lines
// ending with an empty line. The scanner finds its lines in a buffer that grows between calls, without
// rescanning, and enforces the size limits before anything is decoded; parseFieldLine then validates one
// field in a single pass over its bytes.

import { HttpError, describeByte } from './errors.ts';
import { FieldNameSet } from './field-name.ts';
import type { HeaderList } from './head.ts';
import { COLON, CR, FIELD_VALUE, HTAB, LF, SP, TOKEN } from './syntax.ts';

export interface SectionLimits {
  /** Whole section, terminating empty line included; beyond → 431. */
  maxBytes: number;
  /** Field lines; beyond → 431. */
  maxFields: number;
  /** Lines before the fields: 1 for a head (its start line), 0 for trailers. */
  startLines: number;
  /** First line (the request line); beyond → 414. */
  maxFirstLineBytes: number;
  /** Each field line, CRLF excluded; beyond → 431. Unset: only maxBytes bounds them. */
  maxLineBytes?: number;
  /** Names the section in messages: `head` or `trailer section`. */
  what: string;
}

export class FieldSectionScanner {
  private readonly limits: SectionLimits;
  /** Start and end (at the CR) of each complete line, relative to the section start, flattened in pairs. */
  private readonly bounds: number[] = [];
  private lineStart = 0;
  private searchFrom = 0;

  constructor(limits: SectionLimits) {
    this.limits = limits;
  }

  /**
   * Scans `buf` from the section start `base`. Returns the section length (final CRLF included) once the
   * empty line is found, or -1 when more bytes are needed.
   */
  scan(buf: Buffer, base: number): number {
    const { maxBytes, maxFields, startLines, what } = this.limits;
    for (;;) {
      const lf = buf.indexOf(LF, base + this.searchFrom);
      const rel = lf - base;
      if (lf === -1) {
        this.searchFrom = buf.length - base;
        // Refused as soon as the line is too long, not when it ends; a CR waiting for its LF is not part of it.
        this.checkLineLength(this.searchFrom - this.lineStart - 1);
        if (this.searchFrom > maxBytes) throw tooLarge(what, maxBytes);
        return -1;
      }
      if (rel === this.lineStart || buf[lf - 1] !== CR) {
        throw new HttpError(400, 'STK_HTTP_BARE_LF', `line ${this.bounds.length / 2 + 1} of the ${what} ends in LF without CR`);
      }
      if (rel + 1 > maxBytes) throw tooLarge(what, maxBytes);
      // Refused as each line completes, not when the section does: a head that never ends (`\r\r\n` where the
      // empty line belongs) would otherwise hold the connection until the request timeout.
      if (buf.indexOf(CR, base + this.lineStart) < lf - 1) {
        throw new HttpError(400, 'STK_HTTP_BARE_CR', `line ${this.bounds.length / 2 + 1} of the ${what} has a CR not followed by LF`);
      }
      const lineEnd = rel - 1;
      this.checkLineLength(lineEnd - this.lineStart);
      this.searchFrom = rel + 1;
      if (lineEnd === this.lineStart) return rel + 1;
      this.bounds.push(this.lineStart, lineEnd);
      if (this.bounds.length / 2 - startLines > maxFields) {
        throw new HttpError(431, 'STK_HTTP_TOO_MANY_FIELDS', `${what} has more than ${maxFields} fields`);
      }
      this.lineStart = rel + 1;
    }
  }

  private checkLineLength(length: number): void {
    const { startLines, maxFirstLineBytes, maxLineBytes = Infinity, what } = this.limits;
    if (this.bounds.length / 2 < startLines) {
      if (length > maxFirstLineBytes) throw requestLineTooLong(maxFirstLineBytes);
    } else if (length > maxLineBytes) {
      throw new HttpError(431, 'STK_HTTP_FIELD_TOO_LARGE', `a field line of the ${what} exceeds ${maxLineBytes} bytes`);
    }
  }

  /** Line bounds of the completed section, as flattened [start, end) pairs relative to its start. */
  get lines(): readonly number[] {
    return this.bounds;
  }

  reset(): void {
    this.bounds.length = 0;
    this.lineStart = 0;
    this.searchFrom = 0;
  }
}

function tooLarge(what: string, max: number): HttpError {
  return new HttpError(431, 'STK_HTTP_HEAD_TOO_LARGE', `${what} exceeds ${max} bytes`);
}

function requestLineTooLong(max: number): HttpError {
  return new HttpError(414, 'STK_HTTP_TARGET_TOO_LONG', `request line exceeds ${max} bytes`);
}

/**
 * Parses `name: value` in buf[start, end) (CRLF excluded); the value is returned OWS-trimmed. `text` is the
 * latin1 decoding of buf from `textBase`: slicing one decoded string is much cheaper than decoding per field.
 */
function parseFieldLine(buf: Buffer, text: string, textBase: number, start: number, end: number): [string, string] {
  const first = buf[start]!;
  if (first === SP || first === HTAB) {
    throw new HttpError(400, 'STK_HTTP_OBS_FOLD', 'header line starts with whitespace (obsolete line folding is refused)');
  }
  let colon = start;
  while (colon < end && TOKEN[buf[colon]!] === 1) colon++;
  if (colon === end) throw new HttpError(400, 'STK_HTTP_BAD_HEADER', 'header line has no colon');
  const stop = buf[colon]!;
  if (stop !== COLON) {
    if (stop === SP || stop === HTAB) {
      throw new HttpError(400, 'STK_HTTP_SPACE_BEFORE_COLON', `whitespace between header name '${safeName(buf, start, colon)}' and colon`);
    }
    throw new HttpError(400, 'STK_HTTP_BAD_HEADER_NAME', `invalid character ${describeByte(stop)} in header name`);
  }
  if (colon === start) throw new HttpError(400, 'STK_HTTP_BAD_HEADER_NAME', 'empty header name');
  let valueStart = colon + 1;
  let valueEnd = end;
  while (valueStart < valueEnd && isOws(buf[valueStart]!)) valueStart++;
  while (valueEnd > valueStart && isOws(buf[valueEnd - 1]!)) valueEnd--;
  if (holdsTab(buf, colon + 1, valueStart) || holdsTab(buf, valueEnd, end)) {
    const name = text.slice(start - textBase, colon - textBase);
    if (TAB_SENSITIVE.has(name)) throw new HttpError(400, 'STK_HTTP_TAB_AROUND_VALUE', `HTAB around the value of ${name}`);
  }
  for (let i = valueStart; i < valueEnd; i++) {
    const b = buf[i]!;
    if (FIELD_VALUE[b] !== 1) {
      throw new HttpError(400, 'STK_HTTP_BAD_HEADER_VALUE', `invalid character ${describeByte(b)} in value of header '${safeName(buf, start, colon)}'`);
    }
  }
  return [text.slice(start - textBase, colon - textBase), text.slice(valueStart - textBase, valueEnd - textBase)];
}

/** Parses every line of a scanned section, skipping the first `skip` lines (the start line). */
export function parseFields(buf: Buffer, base: number, lines: readonly number[], skip: number): HeaderList {
  const headers: HeaderList = [];
  const first = skip * 2;
  if (first >= lines.length) return headers;
  const textBase = base + lines[first]!;
  const text = buf.toString('latin1', textBase, base + lines[lines.length - 1]!);
  for (let i = first; i < lines.length; i += 2) headers.push(parseFieldLine(buf, text, textBase, base + lines[i]!, base + lines[i + 1]!));
  return headers;
}

/**
 * HTAB is OWS (RFC 9110 §5.6.3), but nginx does not skip it: around a value that frames the message or names its
 * host, the two parsers would disagree, so it is refused there (elsewhere it is trimmed like SP).
 */
const TAB_SENSITIVE = new FieldNameSet(['content-length', 'transfer-encoding', 'host']);

function holdsTab(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (buf[i] === HTAB) return true;
  return false;
}

function isOws(b: number): boolean {
  return b === SP || b === HTAB;
}

/** A validated token prefix, shortened so a 60 KiB name cannot flood a log line. */
function safeName(buf: Buffer, start: number, end: number): string {
  return buf.toString('latin1', start, Math.min(end, start + 64));
}
