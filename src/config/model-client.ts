// The client side's limits and timeouts in the configuration model: what one client may send, how slowly, and how
// many may connect, with the defaults a configuration that says nothing gets.
import type { Millis } from './model-units.ts';

/**
 * One stage of reading a request, as Apache's RequestReadTimeout sees it: `timeout` to begin with, one more
 * second for every `minRate` bytes received, never beyond `max`.
 */
export interface ReadTimeout {
  timeout: Millis;
  /** 0: the timeout is fixed, whatever arrives. */
  minRate: number;
  /** 0: no ceiling. */
  max: Millis;
}

/** The limits and timeouts of the client side: what one client may send, how slowly, and how many may connect. */
export interface ClientPolicy {
  /** Request line, CRLF excluded (Apache `LimitRequestLine`); beyond → 414. */
  requestLine: number;
  /** One header field line, CRLF excluded (Apache `LimitRequestFieldSize`); beyond → 431. */
  fieldSize: number;
  /** Header fields of a request, or of its trailers (Apache `LimitRequestFields`); beyond → 431. 0: no limit. */
  fields: number;
  /** The whole request head; beyond → 431. */
  headSize: number;
  /** Request body (Apache `LimitRequestBody`); beyond → 413. 0: no limit. */
  bodySize: number;
  /** Client connections one thread holds; beyond, new ones are closed as soon as accepted. 0: no limit. */
  maxConnections: number;
  /** Concurrent streams of one HTTP/2 connection (Apache `H2MaxSessionStreams`); beyond, REFUSED_STREAM. */
  maxStreams: number;
  /** Proxied requests one thread has in flight, whatever the protocol; beyond → 503. 0: no limit. */
  maxRequests: number;
  /** TLS handshake (Apache `RequestReadTimeout handshake=`). */
  handshakeTimeout: Millis;
  /** Request head, from its first byte (Apache `RequestReadTimeout header=`); then 408 and close. */
  headerTimeout: ReadTimeout;
  /** Request body (Apache `RequestReadTimeout body=`); then 408 and close. */
  bodyTimeout: ReadTimeout;
  /** How long a client may leave Stickler's send buffer full before it is dropped (Apache `Timeout`). */
  sendTimeout: Millis;
}

/** Apache's defaults (httpd 2.4.54+) where Apache has one, nginx's send_timeout, and a connection cap of our own. */
export const CLIENT_DEFAULTS: Readonly<ClientPolicy> = Object.freeze({
  requestLine: 8190,
  fieldSize: 8190,
  fields: 100,
  headSize: 64 * 1024,
  bodySize: 1024 * 1024 * 1024,
  // About 1 GiB of idle TLS connections at the benchmark's 51 KiB each.
  maxConnections: 20_000,
  maxStreams: 100,
  // A hundred Tomcats with their default 200 threads each: beyond, members would only queue the requests.
  maxRequests: 20_000,
  handshakeTimeout: 10_000,
  headerTimeout: Object.freeze({ timeout: 20_000, minRate: 500, max: 40_000 }),
  bodyTimeout: Object.freeze({ timeout: 20_000, minRate: 500, max: 0 }),
  sendTimeout: 60_000,
});

/** The policy a configuration's clients get: what its file says (SticklerConfig.client), the defaults elsewhere. */
export function clientPolicy(config: { client?: Partial<ClientPolicy> }): ClientPolicy {
  return { ...CLIENT_DEFAULTS, ...config.client };
}
