// One error type for every protocol violation, so the connection code can answer with `status` and close
// without knowing which rule failed. Messages never echo raw peer bytes (only validated tokens and hex codes),
// so they are safe to log.

export class HttpError extends Error {
  /** The status to answer the peer with: 400, 413, 414, 417, 431, 501, 505 for requests; 502 for responses. */
  readonly status: number;
  /** Stable identifier, `STK_HTTP_*`, for logs and tests. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
  }
}

/** A backend's malformed response is the gateway's problem to report, whatever rule it broke: always 502. */
export function asBackendError(err: HttpError): HttpError {
  return err.status === 502 ? err : new HttpError(502, err.code, `backend response: ${err.message}`);
}

/** Renders a byte for an error message without letting control characters into logs. */
export function describeByte(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}
