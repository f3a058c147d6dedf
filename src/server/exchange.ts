// The request path, top to bottom: pick the virtual host, check the target, map it (ProxyPass), check access,
// find the session route, choose a member, forward the request, rewrite and stream the response, log.
// Decisions are made by pure modules on Stickler's own head types; this file only moves bytes between them.
import type net from 'node:net';
import type { Choice } from '../balancer/balancer.ts';
import { getHeader, getHeaders, type HeaderList, type RequestHead, type ResponseHead } from '../http/head.ts';
import { HttpError } from '../http/errors.ts';
import type { ReaderEvent } from '../http/reader.ts';
import { encodeChunk, lastChunk, serializeRequestHead, serializeTrailers } from '../http/serialize.ts';
import type { AccessEntry, LogConnection } from '../log/entry.ts';
import { isAllowed } from '../proxy/access.ts';
import { forwardRequestHeaders, isTrustedProxy } from '../proxy/forward.ts';
import { withHsts } from '../tls/profile.ts';
import { mapRequest, memberRequestTarget, prefixLength } from '../proxy/mapping.ts';
import { rewriteResponseHeaders } from '../proxy/reverse.ts';
import { parseTarget, type Target } from '../proxy/target.ts';
import { allowedUpgrade } from '../proxy/upgrade.ts';
import { misdirected, selectVirtualHost, servesAuthority } from '../proxy/vhost.ts';
import { findSessionRoute, type SessionRoute } from '../sticky/route.ts';
import { ConnectError, type ConnectionUser, type MemberConnection, type MemberPool } from '../upstream/pool.ts';
import { blamesMember, isIdempotent, retryDecision, type Decision, type Failure, type FailureKind } from '../upstream/retry-policy.ts';
import { errorResponse, reasonPhrase, redirectResponse, type LocalResponse } from './error-page.ts';
import { MANAGER_BODY_LIMIT, managerProblem, type Manager, type ManagerRequest } from '../manager/handler.ts';
import { tunnel } from './tunnel.ts';
import type { BalancerRuntime, Runtime, VirtualHostRuntime } from './runtime.ts';

/** How the response body will come: the client side frames it for its protocol. */
export type ResponseBody = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'stream' };

/**
 * What an exchange needs from the client side it answers, whatever the protocol: an HTTP/1.x connection
 * (client.ts) or an HTTP/2 stream (h2.ts). Framing, connection headers and flow control are theirs.
 */
export interface ClientSide {
  readonly runtime: Runtime;
  readonly clientIp: string;
  readonly localPort: number;
  readonly sniName: string | undefined;
  readonly scheme: 'https' | 'http';
  /** The access log's protocol when the request came without an HTTP/1.x request line (`HTTP/2.0`). */
  readonly logProtocol?: string;
  /** The connection as access logs show it. */
  readonly logConnection: LogConnection;
  /** Requests answered on the connection before this one. */
  readonly answered: number;
  /** Bytes of this request's head as received; 0 where the protocol does not tell (HTTP/2). */
  readonly headBytes: number;
  /** Bytes written to the client so far, heads included where the protocol tells (HTTP/1.x). */
  bytesWritten(): number;
  pauseReading(): void;
  resumeReading(): void;
  /** A 1xx head (100 Continue included), where the client's protocol carries one. */
  sendInterim(status: number, reason: string, headers: HeaderList): void;
  /** The final head; `keepAlive` false ends the connection after this response. */
  sendHead(status: number, reason: string, headers: HeaderList, body: ResponseBody, keepAlive: boolean): void;
  /** Body bytes; false when the client is not keeping up: wait for `onceDrained`. */
  sendBody(data: Buffer): boolean;
  onceDrained(listener: () => void): void;
  cancelDrained(listener: () => void): void;
  endBody(trailers: HeaderList): void;
  /** What `fn` writes goes out together (one TLS record), not piece by piece. */
  batch(fn: () => void): void;
  /** Cuts the response off so the client sees it incomplete. */
  abort(): void;
  /** HTTP/1.1 only: the connection leaves HTTP for a tunnel; the socket and the bytes read ahead. */
  takeOver(): { socket: net.Socket; rest: Buffer } | undefined;
  /** The response is complete; `keepAlive` false closes the connection. */
  exchangeDone(keepAlive: boolean): void;
}

type RequestBodyState = 'none' | 'streaming' | 'ended';

const DEFAULT_RETRY_BODY_LIMIT = 64 * 1024;
/** nginx's status for a request whose client closed the connection before it was answered. */
const CLIENT_CLOSED_REQUEST = 499;

export class Exchange implements ConnectionUser {
  private readonly client: ClientSide;
  private readonly head: RequestHead;
  private readonly started = performance.now();
  private readonly log: AccessEntry;
  /** What the client side had written before this exchange, and the request body bytes received: for `%O` and `%I`. */
  private readonly writtenBefore: number;
  private bodyBytes = 0;

  private bodyState: RequestBodyState;
  /** Request body bytes that arrived before a member connection was ready. */
  private pending: Buffer[] = [];
  private pendingTrailers: HeaderList | undefined;
  /** A request the balancer manager answers, its body gathered here. */
  private local: { manager: Manager; mount: string; path: string; query: string; body: Buffer[]; size: number } | undefined;
  private upstream: MemberConnection | undefined;
  /** The request head as sent to the member, kept for a retry on a fresh connection. */
  private upstreamHead: Buffer | undefined;
  private sawResponseByte = false;
  private backendStart = 0;
  private bytesToMember = 0;
  private bytesFromMember = 0;
  private responseStarted = false;
  private finished = false;
  private keepAlive: boolean;
  private vhost: VirtualHostRuntime | undefined;
  /** The member this exchange holds a busy slot and a connection on, until the exchange ends. */
  private held: { b: BalancerRuntime; member: number; pool: MemberPool } | undefined;
  /** The Upgrade value forwarded when the request may switch protocols (WebSocket) on this route. */
  private upgrade: string | undefined;
  /** The member's response allows another request on its connection. */
  private responseReusable = true;
  /** The member connection is paused until the client drains. */
  private waitingForClient = false;
  /** Where the request is being forwarded, kept so a failed attempt can be made again on another member. */
  private forwarding: { vhost: VirtualHostRuntime; b: BalancerRuntime; session: SessionRoute | undefined; backendPath: string } | undefined;
  /** Failover attempts made after the first (capped by the balancer's maxattempts). */
  private attempts = 0;
  /**
   * Request body bytes sent to the member so far, kept while the request may still be sent again (an idempotent
   * method, a body within the balancer's retry limit); undefined once it may not.
   */
  private retained: Buffer[] | undefined;
  private retainedSize = 0;
  /** Counted among the thread's requests in flight (runtime.inFlight) until the exchange ends. */
  private inFlight = false;
  constructor(client: ClientSide, head: RequestHead) {
    this.client = client;
    this.head = head;
    if (isIdempotent(head.method)) this.retained = [];
    this.keepAlive = head.keepAlive;
    this.bodyState = head.framing.kind === 'none' ? 'none' : 'streaming';
    this.log = {
      clientIp: client.clientIp,
      time: new Date(),
      method: head.method,
      target: head.target,
      protocol: client.logProtocol ?? `HTTP/1.${head.minor}`,
      status: 0,
      bytesSent: 0,
      referer: getHeader(head.headers, 'referer'),
      userAgent: getHeader(head.headers, 'user-agent'),
      host: getHeader(head.headers, 'host'),
      totalMs: 0,
      requestHeaders: head.headers,
      localPort: client.localPort,
      connection: client.logConnection,
      keepalives: client.answered,
      scheme: client.scheme,
    };
    this.writtenBefore = client.bytesWritten();
  }

  start(): void {
    try {
      this.route();
    } catch (err) {
      this.failBeforeResponse(err);
    }
  }

  // ---- 1. routing: virtual host, target, ProxyPass, access, stickiness -------------------------------

  private route(): void {
    const { runtime } = this.client;
    if (this.head.target === '*') return this.respondLocal(optionsResponse());
    const target = parseTarget(this.head.target);
    const vhosts = runtime.config.virtualHosts;
    // RFC 9112 §3.2.2: with an absolute-form target, its authority is the host, whatever Host says. One that no
    // virtual host serves is refused: only a forward proxy is asked for other hosts.
    if (target.authority !== undefined) {
      if (!servesAuthority(vhosts, this.client.localPort, target.authority)) {
        throw new HttpError(400, 'STK_HTTP_UNKNOWN_AUTHORITY', 'absolute-form target names a host no virtual host here serves');
      }
      this.log.host = target.authority;
    }
    const hostHeader = this.log.host;
    const byHost = selectVirtualHost(vhosts, this.client.localPort, undefined, hostHeader);
    if (this.client.sniName !== undefined) {
      const bySni = selectVirtualHost(vhosts, this.client.localPort, this.client.sniName, undefined);
      if (misdirected(bySni, byHost)) return this.respondLocal(errorResponse(421));
    }
    const vhost = runtime.virtualHosts.find((v) => v.config === byHost);
    if (!vhost) return this.respondLocal(errorResponse(404));
    this.vhost = vhost;
    this.log.serverName = vhost.serverName;

    const mapping = mapRequest(vhost.config.routes, target);
    if (!mapping || mapping.kind === 'exclude') return this.serveLocally(vhost, target);
    if (!isAllowed(vhost.config.proxyAccess, this.client.clientIp)) return this.respondLocal(errorResponse(403));

    this.log.handler = 'proxy-server';
    this.upgrade = allowedUpgrade(this.head, mapping.route.target.kind === 'balancer' ? mapping.route.target.upgrade : undefined);
    const balancer = runtime.balancers.get(mapping.balancer);
    if (!balancer) throw new Error(`balancer ${mapping.balancer} is not configured`);
    // Over the cap only new proxied requests are turned away: those in progress and the manager go on.
    if (!runtime.inFlight.enter(runtime.client.maxRequests)) return this.respondLocal(unavailableFor(1), 'STK_REQUESTS_LIMIT');
    this.inFlight = true;
    const cfg = balancer.config;
    const session = cfg.sticky
      ? findSessionRoute(cfg.sticky, cfg.stickySeparator, cfg.scolonPathDelim, this.head.target, getHeaders(this.head.headers, 'cookie'))
      : undefined;
    this.forward(vhost, balancer, session, mapping.backendPath).catch((err: unknown) => this.failBeforeResponse(err));
  }

  /** Requests not proxied: the balancer manager if a `<Location>` mounts it, else 404 as Apache answers. */
  private serveLocally(vhost: VirtualHostRuntime, target: Target): void {
    const managers = vhost.config.locations.filter((l) => l.handler === 'balancer-manager');
    let location = managers.find((l) => prefixLength(target.path, l.path) > 0);
    let path = location ? target.path.slice(mountPath(location).length) : '';
    // Where nothing else is served, the root leads to the console and /metrics is where Prometheus looks first.
    if (!location && managers[0] && target.path === '/') return this.respondLocal(redirectResponse(`${mountPath(managers[0])}/console`));
    if (!location && managers[0] && target.path === '/metrics') [location, path] = [managers[0], '/metrics'];
    const manager = this.client.runtime.manager;
    if (!location || !manager) return this.respondLocal(errorResponse(404));
    if (!isAllowed(location.access, this.client.clientIp)) return this.respondLocal(managerProblem(403, 'this address may not use the balancer manager'));
    const { framing } = this.head;
    if (framing.kind === 'length' && framing.length > MANAGER_BODY_LIMIT) return this.respondLocal(managerProblem(413, `the body is over ${MANAGER_BODY_LIMIT} bytes`));
    this.log.handler = 'balancer-manager';
    this.local = { manager, mount: mountPath(location), path, query: target.query.slice(1), body: [], size: 0 };
    if (this.bodyState === 'none') this.runLocal();
  }

  /** The manager's request is complete: ask it, then answer (a whole response, or events until either side stops). */
  private runLocal(): void {
    const local = this.local!;
    const request: ManagerRequest = {
      method: this.head.method,
      path: local.path,
      query: local.query,
      mount: local.mount,
      headers: this.head.headers,
      body: Buffer.concat(local.body),
      clientIp: this.client.clientIp,
      scheme: this.client.scheme,
      runtime: this.client.runtime,
    };
    local.manager.handle(request).then((response) => {
      if (response.kind === 'full') return this.respondLocal(response);
      if (this.finished) return;
      this.writeResponseHead(200, 'OK', [...response.headers], { kind: 'stream' });
      const send = () => {
        const data = this.finished ? undefined : response.next();
        if (data === undefined) {
          clearInterval(timer);
          if (!this.finished) {
            this.client.endBody([]);
            this.complete();
          }
          return;
        }
        // The first event asks EventSource to come back within a second when the stream ends (after a reload).
        const event = Buffer.from(`${first ? 'retry: 1000\n' : ''}data: ${data}\n\n`);
        first = false;
        this.log.bytesSent += event.length;
        this.client.sendBody(event);
      };
      let first = true;
      const timer = setInterval(send, response.intervalMs);
      send();
    }, (err: unknown) => this.failBeforeResponse(err));
  }

  // ---- 2. choose a member and connect, failing over while nothing was sent ----------------------------

  private async forward(vhost: VirtualHostRuntime, b: BalancerRuntime, session: SessionRoute | undefined, backendPath: string): Promise<void> {
    this.forwarding = { vhost, b, session, backendPath };
    for (;;) {
      const choice: Choice = await this.chooseWithin(b, session);
      if (this.finished) {
        // The client left while we waited for a usable member: give the slot back at once.
        if (choice.ok) b.balancer.release(choice.member, 0, 0);
        return;
      }
      this.log.balancer = choice.facts;
      if (!choice.ok) return this.respondLocal(unavailableFor(b.balancer.retryAfter(Date.now())), choice.reason);
      const member = choice.member;
      const pool = b.pools[member]!;
      this.held = { b, member, pool };
      let conn: MemberConnection;
      try {
        conn = await pool.acquire();
      } catch (err) {
        // The client may have gone meanwhile, and its exchange already gave the busy slot back.
        if (this.held) b.balancer.release(member, 0, 0);
        this.held = undefined;
        if (!(err instanceof ConnectError)) throw err;
        // A local failure keeps the code of an earlier attempt's failure, if any.
        const decision = err.local
          ? this.attemptFailed(b, member, 'local', this.log.error ?? err.code, err.message)
          : this.attemptFailed(b, member, 'connect', err.code, err.message);
        if (this.finished) return;
        if (decision.action !== 'failover') return this.act(decision, b);
        // The body still waits in `pending`: nothing of it reached the member.
        this.log.retries = ++this.attempts;
        continue;
      }
      if (this.finished) return conn.detach(true);
      b.balancer.markConnected(member);
      this.upstreamHead = this.forwardHead(vhost, b.config.members[member]!.url, backendPath);
      return this.sendRequest(conn);
    }
  }

  /** Apache's balancer `timeout`: when no member is usable, look again every timeout/100 until it runs out. */
  private async chooseWithin(b: BalancerRuntime, session: SessionRoute | undefined): Promise<Choice> {
    const deadline = Date.now() + b.config.timeout;
    const step = Math.max(1, Math.floor(b.config.timeout / 100));
    for (;;) {
      const choice = b.balancer.choose(session, Date.now());
      if (choice.ok || Date.now() + step > deadline || this.finished) return choice;
      await new Promise((resolve) => setTimeout(resolve, step));
    }
  }

  // ---- 3. forward the request head and stream the body -----------------------------------------------

  private forwardHead(vhost: VirtualHostRuntime, memberUrl: string, backendPath: string): Buffer {
    const headers = forwardRequestHeaders(this.head.headers, {
      clientIp: this.client.clientIp,
      hostHeader: this.log.host ?? '',
      serverName: vhost.serverName,
      preserveHost: vhost.config.preserveHost,
      addForwardedHeaders: vhost.config.addForwardedHeaders,
      memberUrl,
      scheme: this.client.scheme,
      trustedPeer: isTrustedProxy(this.client.clientIp, this.client.runtime.config.trustedProxies),
    });
    if (this.upgrade) headers.push(['Connection', 'Upgrade'], ['Upgrade', this.upgrade]);
    const framing = this.head.framing;
    if (framing.kind === 'length') headers.push(['Content-Length', String(framing.length)]);
    else if (framing.kind === 'chunked') headers.push(['Transfer-Encoding', 'chunked']);
    return serializeRequestHead(this.head.method, memberRequestTarget(memberUrl, backendPath), headers);
  }

  private sendRequest(conn: MemberConnection): void {
    this.upstream = conn;
    this.sawResponseByte = false;
    this.backendStart = performance.now();
    conn.attach(this);
    conn.reader.expectResponseTo(this.head.method);
    conn.socket.cork();
    this.writeUpstream(this.upstreamHead!);
    if (this.head.expectContinue && this.head.framing.kind !== 'none') this.client.sendInterim(100, 'Continue', []);
    for (const chunk of this.pending.splice(0)) this.sendBody(chunk);
    if (this.bodyState === 'ended') this.sendBodyEnd(this.pendingTrailers ?? []);
    conn.socket.uncork();
    // Reading resumes now unless the member is already full; then its 'drain' resumes it.
    if (!conn.socket.writableNeedDrain) this.client.resumeReading();
  }

  /** Bytes from the member: parsed by the connection's reader, passed on as they come. */
  memberData(chunk: Buffer): void {
    this.sawResponseByte = true;
    this.bytesFromMember += chunk.length;
    // One TLS record and one syscall for everything this chunk produces (head, body, last chunk), not one per piece.
    this.client.batch(() => {
      try {
        const events = this.upstream!.reader.push(chunk);
        if (events.length > 0 && this.log.backendMs === undefined) this.log.backendMs = performance.now() - this.backendStart;
        this.onResponseEvents(events);
      } catch (err) {
        // A malformed or unsupported response: nothing of it is passed on.
        const { b, member } = this.held!;
        this.act(this.attemptFailed(b, member, 'bad-response', err instanceof HttpError ? err.code : 'STK_UPSTREAM_BAD_RESPONSE', 'bad response'), b);
      }
    });
  }

  memberTimeout(): void {
    const { b, member } = this.held!;
    this.act(this.attemptFailed(b, member, 'timeout', 'STK_UPSTREAM_TIMEOUT', 'no answer within its timeout'), b);
  }

  memberDrain(): void {
    this.client.resumeReading();
  }

  memberClosed(): void {
    if (this.finished) return;
    const conn = this.upstream!;
    try {
      // A close-delimited body ends here; anything else cut short throws.
      if (this.onResponseEvents(conn.reader.finish())) return;
    } catch (err) {
      this.log.error = err instanceof HttpError ? err.code : 'STK_UPSTREAM_CLOSED';
    }
    if (this.finished) return;
    const { b, member } = this.held!;
    this.act(this.attemptFailed(b, member, 'closed', this.log.error ?? 'STK_UPSTREAM_CLOSED', 'closed the connection without answering', conn.reused), b);
  }

  /**
   * This attempt failed: the member goes into error if the policy blames it, and the log keeps the failure's code
   * unless the same member is tried again at once.
   */
  private attemptFailed(b: BalancerRuntime, member: number, kind: FailureKind, code: string, reason: string, reused = false): Decision {
    const failure: Failure = {
      kind,
      code,
      method: this.head.method,
      bodyKept: this.retained !== undefined,
      answered: this.sawResponseByte,
      responseStarted: this.responseStarted,
      reused,
      attempts: this.attempts,
      maxAttempts: b.balancer.maxAttempts,
      elapsedMs: performance.now() - this.started,
      timeoutMs: this.client.runtime.config.timeout,
      failOnTimeout: b.config.failOnTimeout === true,
    };
    if (blamesMember(failure)) b.balancer.markError(member, Date.now(), reason);
    const decision = retryDecision(failure);
    if (decision.action !== 'fresh') this.log.error = code;
    return decision;
  }

  /** Does what the retry policy decided, for a failure once the request was out (or its connect had failed). */
  private act(decision: Decision, b: BalancerRuntime): void {
    if (decision.action === 'fresh') {
      // Most likely the member closed the kept-alive connection before reading the request.
      this.upstream = undefined;
      this.resendBody();
      void this.retryOnFresh();
      return;
    }
    if (decision.action === 'failover') {
      this.log.retries = ++this.attempts;
      this.releaseMember(false);
      this.resendBody();
      const { vhost, session, backendPath } = this.forwarding!;
      this.forward(vhost, b, session, backendPath).catch((err: unknown) => this.failBeforeResponse(err));
      return;
    }
    if (decision.abort) return this.abortClient();
    const response = decision.status !== 503 ? errorResponse(decision.status)
      : unavailableFor(decision.retryAfter === 'member' ? b.balancer.retryAfter(Date.now()) : 1);
    this.finishWithMember(false, response);
  }

  /** What was sent of the body goes out again, first, on the next connection. */
  private resendBody(): void {
    this.pending = [...(this.retained ?? []), ...this.pending];
    this.retained = [];
    this.retainedSize = 0;
    this.bytesToMember = 0;
  }

  private async retryOnFresh(): Promise<void> {
    const { b, member, pool } = this.held!;
    try {
      const conn = await pool.connectFresh();
      if (this.finished) return conn.detach(true);
      this.sendRequest(conn);
    } catch (err) {
      if (!(err instanceof ConnectError)) return this.failBeforeResponse(err);
      // The client left meanwhile, and its exchange already gave the member back.
      if (this.finished) return;
      // The member went away (its kept-alive connection closed, and now it refuses): another member may answer.
      this.act(this.attemptFailed(b, member, err.local ? 'local' : 'reconnect', err.code, err.message), b);
    }
  }

  /** Request body bytes from the client connection. */
  requestData(data: Buffer): void {
    this.bodyBytes += data.length;
    // The answer went out before the body was complete: the connection closes after it, the rest is dropped.
    if (this.finished) return;
    if (this.local) {
      this.local.size += data.length;
      if (this.local.size > MANAGER_BODY_LIMIT) return this.respondLocal(managerProblem(413, `the body is over ${MANAGER_BODY_LIMIT} bytes`));
      this.local.body.push(data);
      return;
    }
    if (!this.upstream) {
      this.pending.push(data);
      this.client.pauseReading();
      return;
    }
    this.sendBody(data);
  }

  requestEnd(trailers: HeaderList): void {
    if (this.bodyState === 'none') return;
    this.bodyState = 'ended';
    if (this.local) {
      if (!this.finished) this.runLocal();
      return;
    }
    // Kept even once sent: a retry sends the body again, trailers included.
    this.pendingTrailers = trailers;
    if (this.upstream) this.sendBodyEnd(trailers);
  }

  private sendBody(data: Buffer): void {
    if (this.retained) {
      this.retainedSize += data.length;
      if (this.retainedSize > (this.forwarding?.b.config.retryBodyLimit ?? DEFAULT_RETRY_BODY_LIMIT)) this.retained = undefined;
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

  // ---- 4. rewrite the response head and stream the body back -----------------------------------------

  /** Returns true when the exchange finished. */
  private onResponseEvents(events: ReaderEvent[]): boolean {
    for (const ev of events) {
      if (ev.type === 'head') {
        const head = ev.head as ResponseHead;
        if (head.status === 101 && this.upgrade) {
          this.switchProtocols(head);
          return true;
        }
        if (head.status < 200) {
          this.forwardInterim(head);
          continue;
        }
        this.startResponse(head);
      } else if (ev.type === 'data') {
        this.writeBody(ev.data);
      } else {
        this.endBody(ev.trailers);
        // Bytes after the end of the response mean the member is out of step with us: never reuse that connection.
        this.finishWithMember(this.responseReusable && this.upstream!.reader.buffered === 0);
        return true;
      }
    }
    return false;
  }

  private forwardInterim(head: ResponseHead): void {
    // 100 Continue was answered by Stickler itself; a 101 nobody asked for cannot be followed.
    if (head.status === 100) return;
    if (head.status === 101) throw new HttpError(502, 'STK_UPSTREAM_UPGRADE', 'member switched protocols without being asked');
    this.client.sendInterim(head.status, head.reason || reasonPhrase(head.status), head.headers);
  }

  private startResponse(head: ResponseHead): void {
    const held = this.held;
    // failonstatus: this answer is passed on, later requests avoid the member (Apache does not retry this one).
    if (held?.b.config.failOnStatus.includes(head.status)) held.b.balancer.markError(held.member, Date.now());
    // A member that declined an upgrade may still expect the other protocol on this connection.
    this.responseReusable = head.keepAlive && !this.upgrade;
    const headers = this.clientHeaders(head);
    let body: ResponseBody;
    if (this.head.method === 'HEAD' || head.status === 204 || head.status === 304) {
      body = { kind: 'none' };
      // The length the member would have sent for GET; the reader has already checked and normalised it.
      const length = getHeader(head.headers, 'content-length');
      if (length !== undefined && head.status !== 204) headers.push(['Content-Length', length]);
    } else if (head.framing.kind === 'length') body = { kind: 'length', length: head.framing.length };
    else body = { kind: 'stream' };
    this.writeResponseHead(head.status, head.reason || reasonPhrase(head.status), headers, body);
  }

  /** The member's response headers as the client gets them (hop-by-hop fields gone, ProxyPassReverse applied). */
  private clientHeaders(head: ResponseHead): HeaderList {
    const vhost = this.vhost!;
    return rewriteResponseHeaders(head.headers, { ...vhost.reverse, hostHeader: this.log.host ?? vhost.serverName });
  }

  private writeBody(data: Buffer): void {
    this.log.bytesSent += data.length;
    if (this.client.sendBody(data) || !this.upstream || this.waitingForClient) return;
    // The client reads slower than the member sends: stop reading the member until the client catches up.
    this.waitingForClient = true;
    this.upstream.socket.pause();
    this.client.onceDrained(this.clientDrained);
  }

  private endBody(trailers: HeaderList): void {
    this.client.endBody(trailers);
  }

  private readonly clientDrained = (): void => {
    this.waitingForClient = false;
    this.upstream?.socket.resume();
  };

  /** 101 to an allowed Upgrade: pass the member's answer on, then carry bytes both ways until either side closes. */
  private switchProtocols(head: ResponseHead): void {
    const held = this.held!;
    const member = this.upstream!;
    this.upstream = undefined;
    this.held = undefined;
    const headers = this.clientHeaders(head);
    headers.push(['Connection', 'Upgrade'], ['Upgrade', getHeader(head.headers, 'upgrade') ?? this.upgrade!]);
    this.responseStarted = true;
    this.log.status = 101;
    this.client.sendInterim(101, head.reason || reasonPhrase(101), headers);
    const memberRest = member.reader.takeRest();
    const memberSocket = member.handOver();
    // Only HTTP/1.1 requests ask to upgrade (see allowedUpgrade), and those come on a connection that can be taken.
    const { socket, rest } = this.client.takeOver()!;
    // The runtime waits for the tunnel, not just for its client socket, so the log line is written before a
    // retired runtime closes its log; a reload or stop leaves it open until the graceful shutdown timeout.
    const runtime = this.client.runtime;
    const connection = { retire: () => {}, destroy: () => void (socket.destroy(), memberSocket.destroy()) };
    runtime.connectionOpened(connection);
    void tunnel({ client: socket, clientRest: rest, member: memberSocket, memberRest, idleTimeout: held.pool.ioTimeout }).then(({ toMember, toClient }) => {
      held.b.balancer.release(held.member, this.bytesToMember + toMember, this.bytesFromMember + toClient, this.log.backendMs);
      this.log.bytesSent += toClient;
      this.finished = true;
      this.leaveInFlight();
      this.writeLog();
      runtime.connectionClosed(connection);
    });
  }

  // ---- 5. finish: give the connection back, log --------------------------------------------------------

  private finishWithMember(reusable: boolean, local?: LocalResponse): void {
    this.releaseMember(reusable);
    if (local) this.respondLocal(local);
    else this.complete();
  }

  private releaseMember(reusable: boolean): void {
    const upstream = this.upstream;
    const held = this.held;
    if (this.waitingForClient) {
      this.waitingForClient = false;
      this.client.cancelDrained(this.clientDrained);
      upstream?.socket.resume();
    }
    this.upstream = undefined;
    this.held = undefined;
    if (held) held.b.balancer.release(held.member, this.bytesToMember, this.bytesFromMember, this.log.backendMs);
    // The request body must be fully sent before the connection can carry another request.
    upstream?.detach(reusable && held !== undefined && this.bodyState !== 'streaming');
  }

  /** The client's request body broke its framing: nothing more can be read from this connection. */
  requestAborted(err?: HttpError): void {
    this.log.error ??= err?.code ?? 'STK_HTTP_BAD_BODY';
    this.keepAlive = false;
    this.releaseMember(false);
    if (this.responseStarted) this.abortClient();
    else this.respondLocal(errorResponse(err?.status ?? 400));
  }

  /** The client stopped sending its body: a client timeout (408), not the member's (504). */
  requestTimedOut(): void {
    this.log.error = 'STK_HTTP_REQUEST_TIMEOUT';
    this.keepAlive = false;
    this.releaseMember(false);
    if (this.responseStarted) this.abortClient();
    else this.respondLocal(errorResponse(408));
  }

  /**
   * The client went away mid-exchange: free the member at once instead of finishing a response nobody reads. One
   * that left before any answer is logged 499, as nginx does.
   */
  clientClosed(): void {
    if (this.finished) return;
    this.log.error ??= 'STK_CLIENT_CLOSED';
    if (!this.responseStarted) this.log.status = CLIENT_CLOSED_REQUEST;
    this.keepAlive = false;
    this.releaseMember(false);
    this.complete();
  }

  private respondLocal(response: LocalResponse, reason?: string): void {
    if (this.finished) return;
    if (reason) this.log.error ??= reason;
    if (this.responseStarted) return this.abortClient();
    const headers: HeaderList = [...response.headers];
    const head = this.head.method === 'HEAD';
    if (head) headers.push(['Content-Length', String(response.body.length)]);
    this.writeResponseHead(response.status, reasonPhrase(response.status), headers, head ? { kind: 'none' } : { kind: 'length', length: response.body.length });
    if (!head && response.body.length > 0) {
      this.client.sendBody(response.body);
      this.log.bytesSent += response.body.length;
    }
    this.client.endBody([]);
    this.complete();
  }

  private failBeforeResponse(err: unknown): void {
    if (err instanceof HttpError) {
      this.log.error = err.code;
      return this.respondLocal(errorResponse(err.status));
    }
    this.log.error = 'STK_INTERNAL';
    process.emitWarning(`stickler: internal error on ${this.head.method} request: ${(err as Error)?.stack ?? String(err)}`);
    this.respondLocal(errorResponse(500));
  }

  private writeResponseHead(status: number, reason: string, headers: HeaderList, body: ResponseBody): void {
    this.responseStarted = true;
    this.log.status = status;
    // After a reload the connection's configuration is the old one: the client reconnects onto the new one.
    if (this.client.runtime.retired) this.keepAlive = false;
    // An answer before the whole request body arrived: the rest of the body cannot be told apart from a next
    // request safely, so this connection ends with this response.
    if (this.bodyState === 'streaming') this.keepAlive = false;
    // Strict-Transport-Security on every response of a TLS virtual host that has it (Apache `Header always set`).
    const hsts = this.client.scheme === 'https' ? this.vhost?.config.tls?.hsts : undefined;
    const sent = hsts ? withHsts(headers, hsts) : headers;
    this.log.responseHeaders = sent;
    this.client.sendHead(status, reason, sent, body, this.keepAlive);
  }

  private abortClient(): void {
    this.keepAlive = false;
    this.releaseMember(false);
    this.client.abort();
    this.complete();
  }

  private complete(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.held) this.releaseMember(false);
    this.leaveInFlight();
    this.writeLog();
    this.client.exchangeDone(this.keepAlive);
  }

  private leaveInFlight(): void {
    if (!this.inFlight) return;
    this.inFlight = false;
    this.client.runtime.inFlight.leave();
  }

  private writeLog(): void {
    const log = this.log;
    log.totalMs = performance.now() - this.started;
    log.bytesIn = this.client.headBytes + this.bodyBytes;
    log.bytesOut = this.client.bytesWritten() - this.writtenBefore;
    log.keepAlive = this.keepAlive;
    log.aborted = log.error === 'STK_CLIENT_CLOSED';
    (this.vhost?.accessLog ?? this.client.runtime.accessLog).write(log);
  }
}

/** Where a `<Location>` is mounted, without a trailing slash: the manager's own paths follow it. */
function mountPath(location: { path: string }): string {
  return location.path.replace(/\/$/, '');
}

/**
 * 503 with the seconds until the client may try again, so clients and crawlers back off instead of hammering: until
 * a member may be tried again, or 1 for a limit of this process's own (requests in flight, descriptors).
 */
function unavailableFor(seconds: number): LocalResponse {
  const response = errorResponse(503);
  response.headers.push(['Retry-After', String(seconds)]);
  return response;
}

/** `OPTIONS *` asks about the server itself; there is no member to ask. */
function optionsResponse(): LocalResponse {
  return { status: 200, headers: [['Allow', 'GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH']], body: Buffer.alloc(0) };
}
