// Whether a request whose attempt on a member failed may be tried again, and how (Apache's failover loop,
// mp.c:1365-1507, as apache-balancer-semantics.md §1.7 reads it, plus the stale keep-alive retry every proxy makes).
// Pure: the dispatcher reports what happened and does what this says.

/** RFC 9110 §9.2.2: methods a client may repeat, so a proxy may too when a member failed before answering. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

export type FailureKind =
  /** Connecting failed for want of descriptors, buffers or ports here (exhaustion.ts): the member is not to blame. */
  | 'local'
  /** Connecting to the member failed (refused, reset, timed out, TLS): nothing reached it. */
  | 'connect'
  /** The fresh connection tried after a stale keep-alive one failed: the member went away, as if it had closed. */
  | 'reconnect'
  /** The member closed or reset the connection the request went out on. */
  | 'closed'
  /** No answer within the member's timeout. */
  | 'timeout'
  /** The member's answer is malformed or unsupported. */
  | 'bad-response';

export interface Failure {
  kind: FailureKind;
  /** The STK_ code of what happened, logged if the request gives up. */
  code: string;
  method: string;
  /** What was sent of the body is still kept whole: not streamed past the balancer's retry body limit. */
  bodyKept: boolean;
  /** A byte of the member's response arrived on this attempt. */
  answered: boolean;
  /** The client already has the response head. */
  responseStarted: boolean;
  /** The connection had carried an earlier exchange: the member may have closed it while it was idle. */
  reused: boolean;
  /** Failover attempts made so far, after the first. */
  attempts: number;
  maxAttempts: number;
  /** Since the request arrived, against the server's Timeout (ProxyTimeout). */
  elapsedMs: number;
  timeoutMs: number;
  /** The balancer's failontimeout. */
  failOnTimeout: boolean;
}

export type Decision =
  /** The same member again, over a new connection. */
  | { action: 'fresh' }
  /** Another pick of the balancer (the failed member now in error), the body sent again from its start. */
  | { action: 'failover' }
  /**
   * The request ends: `status` if the client has no response head yet, else its response is cut off (`abort`).
   * `retryAfter` is how a 503 says when to come back: once a member may be tried again, or in a second.
   */
  | { action: 'give-up'; status: 502 | 503 | 504; abort: boolean; code: string; retryAfter?: 'member' | 'second' };

/** Whether the member goes into error (E) for this failure, whatever becomes of the request. */
export function blamesMember(failure: Failure): boolean {
  switch (failure.kind) {
    case 'connect':
    case 'reconnect':
      return true;
    case 'closed':
      return !failure.answered && !staleKeepAlive(failure);
    case 'timeout':
      // failontimeout counts only a timeout waiting for the status line (http.c:1114-1116).
      return failure.failOnTimeout && !failure.answered;
    default:
      return false;
  }
}

export function retryDecision(failure: Failure): Decision {
  const { kind, code } = failure;
  const untouched = !failure.answered && !failure.responseStarted;
  if (kind === 'local') return { action: 'give-up', status: 503, abort: false, code, retryAfter: 'second' };
  if (kind === 'connect') {
    // Nothing reached the member: any method may go to another one, its body still unsent. No overall timeout
    // here, as in Apache: the loop is bounded by maxattempts alone.
    if (untouched && failure.attempts < failure.maxAttempts) return { action: 'failover' };
    return { action: 'give-up', status: 503, abort: false, code, retryAfter: 'member' };
  }
  if (kind === 'closed' || kind === 'reconnect') {
    if (kind === 'closed' && staleKeepAlive(failure)) return { action: 'fresh' };
    // The member may have read the request before it died: only one that may run twice is sent elsewhere.
    const resendable = isIdempotent(failure.method) && failure.bodyKept;
    const withinTime = failure.elapsedMs < failure.timeoutMs;
    if (untouched && resendable && failure.attempts < failure.maxAttempts && withinTime) return { action: 'failover' };
    return { action: 'give-up', status: 502, abort: failure.responseStarted, code };
  }
  // A slow answer is not retried (the request may be running on the member), nor a malformed one.
  return { action: 'give-up', status: kind === 'timeout' ? 504 : 502, abort: failure.responseStarted, code };
}

/**
 * A kept-alive connection closed before any byte of an answer: most likely the member closed it while idle and
 * never read the request, so one fresh connection to it is tried, for a request that may be sent twice only.
 */
function staleKeepAlive(failure: Failure): boolean {
  return failure.reused && !failure.answered && !failure.responseStarted && isIdempotent(failure.method) && failure.bodyKept;
}
