// One request's way to a balancer member, as HAProxy splits it (assign_server, connect_server) and undici reports it
// (a handler told of the head, the data, the end, the failure): choose a member within the balancer's timeout,
// connect, send the head and the body (kept while it may be sent again), read the response from the member's
// connection and hand it to the exchange, and on a failure do what the retry policy says. The exchange answers
// the client; this module never sees it.
import type { Choice } from '../balancer/balancer.ts';
import { recordChoice, recordFailure } from '../balancer/decision.ts';
import { watchIssuedRoute } from '../balancer/route-watch.ts';
import type { HeaderList, RequestHead, ResponseHead } from '../http/head.ts';
import { HttpError } from '../http/errors.ts';
import type { ReaderEvent } from '../http/reader.ts';
import { encodeChunk, lastChunk, serializeTrailers } from '../http/serialize.ts';
import type { AccessEntry } from '../log/entry.ts';
import type { SessionRoute } from '../sticky/route.ts';
import type { ClientFlow, DispatchBalancer, DispatchHandler, HandedOver } from './dispatch-handler.ts';
import { ConnectError, type ConnectionUser, type MemberConnection, type MemberPool } from './pool.ts';
import { blamesMember, isIdempotent, retryDecision, type Decision, type Failure, type FailureKind } from './retry-policy.ts';

const DEFAULT_RETRY_BODY_LIMIT = 64 * 1024;

export class Dispatch implements ConnectionUser {
  private readonly handler: DispatchHandler;
  private readonly client: ClientFlow;
  private readonly head: RequestHead;
  private readonly log: AccessEntry;
  private readonly target: DispatchBalancer;
  private readonly session: SessionRoute | undefined;
  /** The request asks to switch protocols: the member's connection is not reused after a declined upgrade. */
  private readonly upgrade: boolean;
  private readonly started: number;
  private readonly timeoutMs: number;
  /** The member this dispatch holds a busy slot and a connection on; -1 when none. */
  private member = -1;
  /** That member's pool, as it was when chosen (a manager edit may replace the balancer's). */
  private pool: MemberPool | undefined;
  private upstream: MemberConnection | undefined;
  /** The request head as sent to the member, kept for a retry on a fresh connection. */
  private upstreamHead: Buffer | undefined;
  /** Request body bytes that arrived before a member connection was ready. */
  private pending: Buffer[] = [];
  /** Set once the request body ended (at once for a request without one). */
  private trailers: HeaderList | undefined;
  private bodyEnded: boolean;
  /**
   * Request body bytes sent to the member so far, kept while the request may still be sent again (an idempotent
   * method, a body within the balancer's retry limit); undefined once it may not.
   */
  private retained: Buffer[] | undefined;
  private retainedSize = 0;
  /** Failover attempts made after the first (capped by the balancer's maxattempts). */
  private attempts = 0;
  private sawResponseByte = false;
  private backendStart = 0;
  private bytesToMember = 0;
  private bytesFromMember = 0;
  /** The member's response allows another request on its connection. */
  private responseReusable = true;
  /** The member connection is paused until the client drains. */
  private waitingForClient = false;
  private chunk: Buffer | undefined;

  constructor(handler: DispatchHandler, client: ClientFlow, head: RequestHead, log: AccessEntry, target: DispatchBalancer, session: SessionRoute | undefined, upgrade: boolean, started: number, timeoutMs: number) {
    this.handler = handler;
    this.client = client;
    this.head = head;
    this.log = log;
    this.target = target;
    this.session = session;
    this.upgrade = upgrade;
    this.started = started;
    this.timeoutMs = timeoutMs;
    this.bodyEnded = head.framing.kind === 'none';
    if (isIdempotent(head.method)) this.retained = [];
  }

  /**
   * Chooses a member and sends the request. A usable member with an idle connection is the common case and costs
   * no promise or timer; waiting for a member (the balancer's timeout) or for a new connection goes asynchronous.
   */
  start(): void {
    try {
      this.attempt(this.target.balancer.choose(this.session, Date.now()));
    } catch (err) {
      this.handler.onInternalError(err);
    }
  }

  // ---- choose a member and connect, failing over while nothing was sent --------------------------------

  /** Apache's balancer `timeout`: when no member is usable, look again every timeout/100 until it runs out. */
  private attempt(choice: Choice): void {
    const { timeout } = this.target.config;
    const step = Math.max(1, Math.floor(timeout / 100));
    if (choice.ok || step > timeout || this.handler.finished) return this.chosen(choice);
    this.waitForMember(Date.now() + timeout, step).catch((err: unknown) => this.handler.onInternalError(err));
  }

  private chosen(choice: Choice): void {
    const b = this.target;
    if (this.handler.finished) {
      // The client left while we waited for a usable member: give the slot back at once.
      if (choice.ok) b.balancer.release(choice.member, 0, 0);
      return;
    }
    this.log.balancer = choice.facts;
    // Only when the JSON log asked for it (exchange.ts): the plain path makes no record.
    if (this.log.decision) recordChoice(this.log.decision, b.balancer, choice, Date.now());
    if (!choice.ok) return this.handler.onFailure(503, b.balancer.retryAfter(Date.now()), choice.reason);
    this.member = choice.member;
    this.pool = b.pools[choice.member]!;
    const idle = this.pool.takeIdle();
    if (idle) return this.connected(idle);
    const member = choice.member;
    this.pool
      .connectFresh()
      .then(
        (conn) => this.connected(conn),
        (err: unknown) => this.connectFailed(member, err),
      )
      .catch((err: unknown) => this.handler.onInternalError(err));
  }

  private async waitForMember(deadline: number, step: number): Promise<void> {
    const { balancer } = this.target;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, step));
      const choice = balancer.choose(this.session, Date.now());
      if (choice.ok || Date.now() + step > deadline || this.handler.finished) return this.chosen(choice);
    }
  }

  private connected(conn: MemberConnection): void {
    if (this.handler.finished) return conn.detach(true);
    const b = this.target;
    b.balancer.markConnected(this.member);
    this.upstreamHead = this.handler.memberHead(b.config.members[this.member]!.url);
    this.sendRequest(conn);
  }

  private connectFailed(member: number, err: unknown): void {
    // The client may have gone meanwhile, and its exchange already gave the busy slot back.
    if (this.member >= 0) this.target.balancer.release(member, 0, 0);
    this.member = -1;
    if (!(err instanceof ConnectError)) return this.handler.onInternalError(err);
    // A local failure keeps the code of an earlier attempt's failure, if any.
    const decision = err.local
      ? this.attemptFailed(member, 'local', this.log.error ?? err.code, err.message)
      : this.attemptFailed(member, 'connect', err.code, err.message);
    if (this.handler.finished) return;
    if (decision.action !== 'failover') return this.act(decision);
    // The body still waits in `pending`: nothing of it reached the member.
    this.log.retries = ++this.attempts;
    this.start();
  }

  // ---- send the request head and stream the body ---------------------------------------------------------

  private sendRequest(conn: MemberConnection): void {
    this.upstream = conn;
    this.sawResponseByte = false;
    this.backendStart = performance.now();
    conn.attach(this);
    conn.reader.expectResponseTo(this.head.method);
    conn.socket.cork();
    this.writeUpstream(this.upstreamHead!);
    this.handler.onRequestSent();
    for (const chunk of this.pending.splice(0)) this.sendBody(chunk);
    if (this.trailers) this.sendBodyEnd(this.trailers);
    conn.socket.uncork();
    // Reading resumes now unless the member is already full; then its 'drain' resumes it.
    if (!conn.socket.writableNeedDrain) this.client.resumeReading();
  }

  /** Request body bytes from the client. */
  requestData(data: Buffer): void {
    if (this.upstream) return this.sendBody(data);
    this.pending.push(data);
    this.client.pauseReading();
  }

  requestEnd(trailers: HeaderList): void {
    this.bodyEnded = true;
    // Kept even once sent: a retry sends the body again, trailers included.
    this.trailers = trailers;
    if (this.upstream) this.sendBodyEnd(trailers);
  }

  private sendBody(data: Buffer): void {
    if (this.retained) {
      this.retainedSize += data.length;
      if (this.retainedSize > (this.target.config.retryBodyLimit ?? DEFAULT_RETRY_BODY_LIMIT)) this.retained = undefined;
      else this.retained.push(data);
    }
    if (this.head.framing.kind === 'chunked') {
      for (const piece of encodeChunk(data)) this.writeUpstream(piece);
    } else this.writeUpstream(data);
  }

  private sendBodyEnd(trailers: HeaderList): void {
    if (this.head.framing.kind === 'chunked') this.writeUpstream(trailers.length ? serializeTrailers(trailers) : lastChunk);
  }

  private writeUpstream(data: Buffer): void {
    this.bytesToMember += data.length;
    if (this.upstream && !this.upstream.write(data)) this.client.pauseReading();
  }

  // ---- read the response: the member connection's events -------------------------------------------------

  /** Bytes from the member: parsed by the connection's reader, passed on as they come. */
  memberData(chunk: Buffer): void {
    this.sawResponseByte = true;
    this.bytesFromMember += chunk.length;
    this.chunk = chunk;
    // One TLS record and one syscall for everything this chunk produces (head, body, last chunk), not one per piece.
    this.client.batch(this.readChunk);
  }

  private readonly readChunk = (): void => {
    const chunk = this.chunk!;
    this.chunk = undefined;
    try {
      const events = this.upstream!.reader.push(chunk);
      if (events.length > 0 && this.log.backendMs === undefined) this.log.backendMs = performance.now() - this.backendStart;
      this.onResponseEvents(events);
    } catch (err) {
      // A malformed or unsupported response: nothing of it is passed on.
      this.act(this.attemptFailed(this.member, 'bad-response', err instanceof HttpError ? err.code : 'STK_UPSTREAM_BAD_RESPONSE', 'bad response'));
    }
  };

  /** Returns true when the exchange finished. */
  private onResponseEvents(events: ReaderEvent[]): boolean {
    for (const ev of events) {
      if (ev.type === 'head') {
        const head = ev.head as ResponseHead;
        if (head.status >= 200) this.finalHead(head);
        if (this.handler.onHead(head)) return true;
      } else if (ev.type === 'data') {
        this.sendToClient(ev.data);
      } else {
        // Bytes after the end of the response mean the member is out of step with us: never reuse that connection.
        this.release(this.responseReusable && this.upstream!.reader.buffered === 0);
        this.handler.onComplete(ev.trailers);
        return true;
      }
    }
    return false;
  }

  private finalHead(head: ResponseHead): void {
    // failonstatus: this answer is passed on, later requests avoid the member (Apache does not retry this one).
    if (this.member >= 0 && this.target.config.failOnStatus.includes(head.status)) this.target.balancer.markError(this.member, Date.now());
    if (this.member >= 0) watchIssuedRoute(this.target.balancer, this.member, head.headers, Date.now());
    // A member that declined an upgrade may still expect the other protocol on this connection.
    this.responseReusable = head.keepAlive && !this.upgrade;
  }

  private sendToClient(data: Buffer): void {
    if (this.handler.onData(data) || !this.upstream || this.waitingForClient) return;
    // The client reads slower than the member sends: stop reading the member until the client catches up.
    this.waitingForClient = true;
    this.upstream.socket.pause();
    this.client.onceDrained(this.clientDrained);
  }

  private readonly clientDrained = (): void => {
    this.waitingForClient = false;
    this.upstream?.socket.resume();
  };

  memberTimeout(): void {
    this.act(this.attemptFailed(this.member, 'timeout', 'STK_UPSTREAM_TIMEOUT', 'no answer within its timeout'));
  }

  memberDrain(): void {
    this.client.resumeReading();
  }

  memberClosed(): void {
    if (this.handler.finished) return;
    const conn = this.upstream!;
    try {
      // A close-delimited body ends here; anything else cut short throws.
      if (this.onResponseEvents(conn.reader.finish())) return;
    } catch (err) {
      this.log.error = err instanceof HttpError ? err.code : 'STK_UPSTREAM_CLOSED';
    }
    if (this.handler.finished) return;
    this.act(this.attemptFailed(this.member, 'closed', this.log.error ?? 'STK_UPSTREAM_CLOSED', conn.refusal ?? 'closed the connection without answering', conn.reused));
  }

  // ---- after a failure: what the retry policy says ----------------------------------------------------------

  /**
   * This attempt failed: the member goes into error if the policy blames it, and the log keeps the failure's code
   * unless the same member is tried again at once.
   */
  private attemptFailed(member: number, kind: FailureKind, code: string, reason: string, reused = false): Decision {
    const { balancer, config } = this.target;
    const failure: Failure = {
      kind,
      code,
      method: this.head.method,
      bodyKept: this.retained !== undefined,
      answered: this.sawResponseByte,
      responseStarted: this.handler.responseStarted,
      reused,
      attempts: this.attempts,
      maxAttempts: balancer.maxAttempts,
      elapsedMs: performance.now() - this.started,
      timeoutMs: this.timeoutMs,
      failOnTimeout: config.failOnTimeout === true,
    };
    if (blamesMember(failure)) balancer.markError(member, Date.now(), reason);
    const decision = retryDecision(failure);
    if (decision.action !== 'fresh') this.log.error = code;
    if (this.log.decision) recordFailure(this.log.decision, { code, reason, then: decision.action === 'fresh' || decision.action === 'failover' ? decision.action : 'answer' });
    return decision;
  }

  private act(decision: Decision): void {
    if (decision.action === 'fresh') {
      // Most likely the member closed the kept-alive connection before reading the request.
      this.upstream = undefined;
      this.resendBody();
      void this.retryOnFresh();
      return;
    }
    if (decision.action === 'failover') {
      this.log.retries = ++this.attempts;
      this.release(false);
      this.resendBody();
      this.start();
      return;
    }
    this.release(false);
    const retryAfter = decision.status !== 503 ? undefined : decision.retryAfter === 'member' ? this.target.balancer.retryAfter(Date.now()) : 1;
    this.handler.onFailure(decision.status, retryAfter);
  }

  /** What was sent of the body goes out again, first, on the next connection. */
  private resendBody(): void {
    this.pending = [...(this.retained ?? []), ...this.pending];
    this.retained = [];
    this.retainedSize = 0;
    this.bytesToMember = 0;
  }

  private async retryOnFresh(): Promise<void> {
    const member = this.member;
    try {
      const conn = await this.pool!.connectFresh();
      if (this.handler.finished) return conn.detach(true);
      this.sendRequest(conn);
    } catch (err) {
      if (!(err instanceof ConnectError)) return this.handler.onInternalError(err);
      // The client left meanwhile, and its exchange already gave the member back.
      if (this.handler.finished) return;
      // The member went away (its kept-alive connection closed, and now it refuses): another member may answer.
      this.act(this.attemptFailed(member, err.local ? 'local' : 'reconnect', err.code, err.message));
    }
  }

  // ---- the end: the member given back, or handed over -------------------------------------------------------

  /** Gives the member back: its busy slot, its traffic, its connection if `reusable` (else closed). */
  release(reusable: boolean): void {
    const upstream = this.upstream;
    const member = this.member;
    if (this.waitingForClient) {
      this.waitingForClient = false;
      this.client.cancelDrained(this.clientDrained);
      upstream?.socket.resume();
    }
    this.upstream = undefined;
    this.member = -1;
    if (member >= 0) this.target.balancer.release(member, this.bytesToMember, this.bytesFromMember, this.log.backendMs);
    // The request body must be fully sent before the connection can carry another request.
    upstream?.detach(reusable && member >= 0 && this.bodyEnded);
  }

  /** The member switched protocols: its connection leaves the pool for a tunnel. */
  handOver(): HandedOver {
    const member = this.member;
    const connection = this.upstream!;
    this.upstream = undefined;
    this.member = -1;
    const rest = connection.reader.takeRest();
    return {
      socket: connection.handOver(),
      rest,
      idleTimeout: this.pool!.ioTimeout,
      done: (toMember, toClient) => this.target.balancer.release(member, this.bytesToMember + toMember, this.bytesFromMember + toClient, this.log.backendMs),
    };
  }
}
