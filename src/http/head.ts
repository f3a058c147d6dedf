// Stickler's own message-head types. Every routing, balancing and rewriting decision works on these,
// never on sockets or node:http objects, so the same logic can later sit behind HTTP/2 or a worker thread.

import { equalsLowerCase } from './field-name.ts';

/** Header fields in arrival order. Names keep their original case; compare them lower-cased. */
export type HeaderList = Array<[name: string, value: string]>;

export type Framing =
  | { kind: 'none' }
  | { kind: 'length'; length: number }
  | { kind: 'chunked' }
  /** Response only: the body runs until the backend closes the connection. */
  | { kind: 'close' };

/** How a response body goes to the client, whose side (HTTP/1.x or HTTP/2) frames it for its protocol. */
export type ResponseBody = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'stream' };

export interface RequestHead {
  method: string;
  /** The request-target exactly as received (origin-form, or absolute-form, or `*`). */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: 0 | 1;
  headers: HeaderList;
  framing: Framing;
  /** The client wants the connection kept open after this exchange. */
  keepAlive: boolean;
  /** `Expect: 100-continue` was sent (the only expectation accepted). */
  expectContinue: boolean;
}

export interface ResponseHead {
  minor: 0 | 1;
  status: number;
  reason: string;
  headers: HeaderList;
  framing: Framing;
  keepAlive: boolean;
}

export function getHeader(headers: HeaderList, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (equalsLowerCase(field[0], lower)) return field[1];
  }
  return undefined;
}

export function getHeaders(headers: HeaderList, name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (equalsLowerCase(field[0], lower)) out.push(field[1]);
  }
  return out;
}
