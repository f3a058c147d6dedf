// The chunked transfer coding (RFC 9112 §7.1), decoded strictly: no whitespace anywhere in a chunk line,
// CRLF only, data followed by exactly CRLF. Every deviation is an error rather than a resynchronisation,
// since a decoder that guesses differently from the backend's is a request-smuggling channel.

import { HttpError } from './errors.ts';
import { FieldSectionScanner, parseFields } from './field-section.ts';
import type { HeaderList } from './head.ts';
import { CR, FIELD_VALUE, HEXDIG, LF, TOKEN } from './syntax.ts';

export interface ChunkedLimits {
  maxChunkLineBytes: number;
  maxHeadBytes: number;
  maxHeaders: number;
}

/** 15 hex digits; the value must also stay a safe integer to be counted down exactly. */
const MAX_SIZE_DIGITS = 15;

type Phase = 'size' | 'data' | 'data-end' | 'trailers';

export class ChunkedDecoder {
  private readonly maxChunkLineBytes: number;
  private readonly trailerScanner: FieldSectionScanner;
  private phase: Phase = 'size';
  private remaining = 0;
  /** Set once the trailer section has been read: the body is complete. */
  trailers: HeaderList | undefined;

  constructor(limits: ChunkedLimits) {
    this.maxChunkLineBytes = limits.maxChunkLineBytes;
    this.trailerScanner = new FieldSectionScanner({
      maxBytes: limits.maxHeadBytes,
      maxFields: limits.maxHeaders,
      startLines: 0,
      maxFirstLineBytes: Infinity,
      what: 'trailer section',
    });
  }

  /**
   * Decodes from buf[pos], appending body slices (views into `buf`, not copies) to `data`. Returns the new
   * position: where decoding stopped for lack of bytes, or just past the trailer section once `trailers` is set.
   */
  decode(buf: Buffer, pos: number, data: Buffer[]): number {
    while (this.trailers === undefined && pos < buf.length) {
      switch (this.phase) {
        case 'size': {
          const next = this.readSizeLine(buf, pos);
          if (next === -1) return pos;
          pos = next;
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - pos);
          data.push(buf.subarray(pos, pos + n));
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) this.phase = 'data-end';
          break;
        }
        case 'data-end': {
          if (buf[pos] !== CR || (pos + 1 < buf.length && buf[pos + 1] !== LF)) {
            throw new HttpError(400, 'STK_HTTP_BAD_CHUNK', 'chunk data is not followed by CRLF');
          }
          if (pos + 1 === buf.length) return pos;
          pos += 2;
          this.phase = 'size';
          break;
        }
        case 'trailers': {
          const length = this.trailerScanner.scan(buf, pos);
          if (length === -1) return pos;
          this.trailers = parseFields(buf, pos, this.trailerScanner.lines, 0);
          pos += length;
          break;
        }
      }
    }
    return pos;
  }

  /** Parses `1*HEXDIG *( ";" token [ "=" ( token / quoted-string ) ] ) CRLF`; returns the position after it, or -1. */
  private readSizeLine(buf: Buffer, pos: number): number {
    // A line may hold maxChunkLineBytes plus its CRLF; search no further, so junk is never scanned twice.
    const window = Math.min(buf.length - pos, this.maxChunkLineBytes + 2);
    const found = buf.subarray(pos, pos + window).indexOf(LF);
    if (found === -1) {
      if (window === this.maxChunkLineBytes + 2) {
        throw new HttpError(400, 'STK_HTTP_CHUNK_LINE_TOO_LONG', `chunk size line exceeds ${this.maxChunkLineBytes} bytes`);
      }
      return -1;
    }
    const lf = pos + found;
    const end = lf - 1;
    if (end < pos || buf[end] !== CR) throw new HttpError(400, 'STK_HTTP_BARE_LF', 'chunk size line ends in LF without CR');
    let i = pos;
    while (i < end && HEXDIG[buf[i]!] === 1) i++;
    const digits = i - pos;
    if (digits === 0 || digits > MAX_SIZE_DIGITS) throw new HttpError(400, 'STK_HTTP_BAD_CHUNK_SIZE', 'chunk size is not 1 to 15 hex digits');
    const size = parseInt(buf.toString('latin1', pos, i), 16);
    if (!Number.isSafeInteger(size)) throw new HttpError(400, 'STK_HTTP_BAD_CHUNK_SIZE', 'chunk size is too large');
    checkExtensions(buf, i, end);
    this.remaining = size;
    this.phase = size === 0 ? 'trailers' : 'data';
    return lf + 1;
  }
}

function checkExtensions(buf: Buffer, i: number, end: number): void {
  while (i < end) {
    if (buf[i] !== 0x3b) throw new HttpError(400, 'STK_HTTP_BAD_CHUNK_SIZE', 'chunk size is followed by something other than an extension');
    i = skipToken(buf, i + 1, end);
    if (i < end && buf[i] === 0x3d) i = buf[i + 1] === 0x22 ? skipQuoted(buf, i + 1, end) : skipToken(buf, i + 1, end);
  }
}

function skipToken(buf: Buffer, i: number, end: number): number {
  const start = i;
  while (i < end && TOKEN[buf[i]!] === 1) i++;
  if (i === start) throw new HttpError(400, 'STK_HTTP_BAD_CHUNK_EXTENSION', 'chunk extension name or value is not a token');
  return i;
}

/** quoted-string: qdtext or `\` quoted-pair, no CTLs but HTAB (RFC 9110 §5.6.4). */
function skipQuoted(buf: Buffer, i: number, end: number): number {
  for (i++; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x22) return i + 1;
    if (b === 0x5c) i++;
    if (i === end || FIELD_VALUE[buf[i]!] !== 1) break;
  }
  throw new HttpError(400, 'STK_HTTP_BAD_CHUNK_EXTENSION', 'chunk extension has an unterminated or invalid quoted string');
}
