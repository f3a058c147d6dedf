// The request path, top to bottom: pick the virtual host, check the target, map it (ProxyPass), check access,
// find the session route, choose a member, forward the request, rewrite and stream the response, log.
// Decisions are made by pure modules on Stickler's own head types; this file only moves bytes between them.
import { getHeaders, type HeaderList, type RequestHead, type ResponseBody, type ResponseHead } from '../http/head.ts';
import { HttpError } from '../http/errors.ts';
import { newDecision } from '../balancer/decision.ts';
import { requestEntry, type AccessEntry } from '../log/entry.ts';
import { isAllowed } from '../proxy/access.ts';
import { clientResponseHead, switchedResponseHeaders } from '../proxy/client-head.ts';
import { applyHeaderRules, responseFields, type RuleContext, type RulePlace } from '../proxy/header-rules.ts';
import { isTrustedProxy, withoutClientClaims } from '../proxy/forward.ts';
import { withHsts } from '../config/tls-profile.ts';
import { mapRequest } from '../proxy/mapping.ts';
import { memberRequestHead } from '../proxy/member-head.ts';
import type { ReverseContext } from '../proxy/reverse.ts';
import { parseTarget } from '../proxy/target.ts';
import { allowedUpgrade } from '../proxy/upgrade.ts';
import { requestVirtualHost } from '../proxy/vhost.ts';
import { issuedCookie } from '../sticky/balancer-cookie.ts';
import { requestRoute } from '../sticky/route.ts';
import type { BalancerConfig } from '../config/model.ts';
import { Dispatch } from '../upstream/dispatch.ts';
import type { DispatchHandler } from '../upstream/dispatch-handler.ts';
import { challengeResponse, errorResponse, optionsResponse, reasonPhrase, unavailableFor, type LocalResponse } from './error-page.ts';
import type { ClientSide } from './client-side.ts';
import { answerLocally, type LocalSink, type ManagerAnswer } from './local-answer.ts';
import { carryTunnel } from './tunnel.ts';
import type { VirtualHostRuntime } from './runtime.ts';

type RequestBodyState = 'none' | 'streaming' | 'ended';

/** nginx's status for a request whose client closed the connection before it was answered. */
const CLIENT_CLOSED_REQUEST = 499;

export class Exchange implements DispatchHandler, LocalSink {
  private readonly client: ClientSide;
  private readonly head: RequestHead;
  private readonly started = performance.now();
  private readonly log: AccessEntry;
  /** What the client side had written before this exchange, and the request body bytes received: for `%O` and `%I`. */
  private readonly writtenBefore: number;
  private bodyBytes = 0;

  private bodyState: RequestBodyState;
  /** A request the balancer manager answers, its body gathered here. */
  private local: ManagerAnswer | undefined;
  /** The request on its way to a member, when it is proxied. */
  private dispatch: Dispatch | undefined;
  /** The path the member is asked for (ProxyPass's mapping). */
  private backendPath = '';
  responseStarted = false;
  finished = false;
  private keepAlive: boolean;
  private vhost: VirtualHostRuntime | undefined;
  /** The Upgrade value forwarded when the request may switch protocols (WebSocket) on this route. */
  private upgrade: string | undefined;
  /** Counted among the thread's requests in flight (runtime.inFlight) until the exchange ends. */
  private inFlight = false;
  /** Where the virtual host's Header and RequestHeader rules see the request; only when it has rules. */
  private rulePlace: RulePlace | undefined;
  /** The balancer, when it issues its own route cookie. */
  private cookieIssuer: BalancerConfig | undefined;
  constructor(client: ClientSide, head: RequestHead) {
    this.client = client;
    this.head = head;
    this.keepAlive = head.keepAlive;
    this.bodyState = head.framing.kind === 'none' ? 'none' : 'streaming';
    this.log = requestEntry(head, client);
    this.writtenBefore = client.bytesWritten();
  }

  start(): void {
    try {
      this.route();
    } catch (err) {
      this.onInternalError(err);
    }
  }

  // ---- 1. routing: virtual host, target, ProxyPass, access, stickiness -------------------------------

  private route(): void {
    const { runtime } = this.client;
    if (this.head.target === '*') return this.respondLocal(optionsResponse());
    const target = parseTarget(this.head.target);
    // The CA's HTTP-01 request is answered here, before any virtual host could proxy or redirect it.
    const acme = this.client.scheme === 'http' ? runtime.challenges?.httpAnswer(this.log.host, target.path) : undefined;
    if (acme) return this.respondLocal(challengeResponse(acme));
    const choice = requestVirtualHost(runtime.config.virtualHosts, this.client.localPort, this.client.sniName, this.log.host, target.authority);
    this.log.host = choice.host;
    if (choice.kind === 'refuse') {
      if (choice.status === 400) throw new HttpError(400, 'STK_HTTP_UNKNOWN_AUTHORITY', 'absolute-form target names a host no virtual host here serves');
      return this.respondLocal(errorResponse(choice.status));
    }
    const vhost = runtime.virtualHosts.find((v) => v.config === choice.vhost);
    if (!vhost) return this.respondLocal(errorResponse(404));
    this.vhost = vhost;
    this.log.serverName = vhost.serverName;
    this.log.sslOptions = vhost.config.tls?.sslOptions;
    // <Location> rules match the decoded, normalised path, as httpd matches r->uri and as ProxyPass does here: `/%70rivate` and `/a/../private` are `/private`.
    if (vhost.headerRules) this.rulePlace = { path: target.decodedPath };

    const mapping = mapRequest(vhost.config.routes, target);
    if (!mapping || mapping.kind === 'exclude') return void (this.local = answerLocally(this, this.client, this.head, vhost, target, this.log));
    if (!isAllowed(vhost.config.proxyAccess, this.client.clientIp)) return this.respondLocal(errorResponse(403));

    this.log.handler = 'proxy-server';
    if (this.rulePlace) Object.assign(this.rulePlace, { balancer: mapping.balancer, backendPath: mapping.backendPath });
    this.upgrade = allowedUpgrade(this.head, mapping.route.target.kind === 'balancer' ? mapping.route.target.upgrade : undefined);
    const balancer = runtime.balancers.get(mapping.balancer);
    if (!balancer) throw new Error(`balancer ${mapping.balancer} is not configured`);
    // Over the cap only new proxied requests are turned away: those in progress and the manager go on.
    if (!runtime.inFlight.enter(runtime.client.maxRequests)) return this.respondLocal(unavailableFor(1), 'STK_REQUESTS_LIMIT');
    this.inFlight = true;
    const cfg = balancer.config;
    const found = cfg.sticky || cfg.cookie ? requestRoute(cfg, this.head.target, getHeaders(this.head.headers, 'cookie')) : undefined;
    if (found?.rejected) balancer.balancer.state.addCookieRejected();
    if (vhost.accessLog.recordsDecisions) this.log.decision = newDecision(cfg.name, found);
    this.cookieIssuer = cfg.cookie ? cfg : undefined;
    this.backendPath = mapping.backendPath;
    this.dispatch = new Dispatch(this, this.client, this.head, this.log, balancer, found?.session, this.upgrade !== undefined, this.started, runtime.config.timeout);
    this.dispatch.start();
  }

  // ---- local answers (local-answer.ts) write through these and respondLocal, onData, onComplete --------

  startEvents(headers: HeaderList): void {
    this.writeResponseHead(200, 'OK', [...headers], { kind: 'stream' });
  }

  // ---- 2. dispatch to the balancer (upstream/dispatch.ts), which reports back through these ------------

  /** The request head as the member at `memberUrl` gets it. */
  memberHead(memberUrl: string): Buffer {
    const { client, vhost } = this;
    // httpd applies RequestHeader before the balancer chooses and before mod_proxy adds its own fields.
    const rules = vhost!.headerRules?.request;
    const trustedPeer = isTrustedProxy(client.clientIp, client.runtime.config.trustedProxies);
    let head = this.head;
    if (rules?.length) {
      const given = trustedPeer ? [...head.headers] : withoutClientClaims(head.headers);
      head = { ...head, headers: applyHeaderRules(rules, given, this.rulePlace!, this.ruleContext(undefined)) };
    }
    return memberRequestHead(head, {
      memberUrl,
      backendPath: this.backendPath,
      upgrade: this.upgrade,
      clientIp: client.clientIp,
      hostHeader: this.log.host ?? '',
      serverName: vhost!.serverName,
      preserveHost: vhost!.config.preserveHost,
      addForwardedHeaders: vhost!.config.addForwardedHeaders,
      scheme: client.scheme,
      // With rules, the client's own claims are gone already and what remains is the configuration's.
      trustedPeer: trustedPeer || (rules !== undefined && rules.length > 0),
      forwardCertificate: vhost!.config.tls?.clientCertificates?.forwardRfc9440 ? { facts: client.logConnection.tls?.().client } : undefined,
    });
  }

  onRequestSent(): void {
    if (this.head.expectContinue && this.head.framing.kind !== 'none') this.client.sendInterim(100, 'Continue', []);
  }

  onHead(head: ResponseHead): boolean {
    if (head.status === 101 && this.upgrade) {
      this.switchProtocols(head);
      return true;
    }
    if (head.status < 200) this.forwardInterim(head);
    else this.startResponse(head);
    return false;
  }

  onData(data: Buffer): boolean {
    this.log.bytesSent += data.length;
    return this.client.sendBody(data);
  }

  onComplete(trailers: HeaderList): void {
    this.client.endBody(trailers);
    this.complete();
  }

  onFailure(status: number, retryAfter?: number, reason?: string): void {
    this.respondLocal(retryAfter !== undefined ? unavailableFor(retryAfter) : errorResponse(status), reason);
  }

  // ---- 3. the request body: to the manager or the member ----------------------------------------------

  /** Request body bytes from the client connection. */
  requestData(data: Buffer): void {
    this.bodyBytes += data.length;
    // The answer went out before the body was complete: the connection closes after it, the rest is dropped.
    if (this.finished) return;
    if (this.local) this.local.data(data);
    else this.dispatch?.requestData(data);
  }

  requestEnd(trailers: HeaderList): void {
    if (this.bodyState === 'none') return;
    this.bodyState = 'ended';
    if (this.local) this.local.end();
    else this.dispatch?.requestEnd(trailers);
  }

  // ---- 4. rewrite the response head and stream the body back -----------------------------------------

  private forwardInterim(head: ResponseHead): void {
    // 100 Continue was answered by Stickler itself; a 101 nobody asked for cannot be followed.
    if (head.status === 100) return;
    if (head.status === 101) throw new HttpError(502, 'STK_UPSTREAM_UPGRADE', 'member switched protocols without being asked');
    this.client.sendInterim(head.status, head.reason || reasonPhrase(head.status), head.headers);
  }

  private startResponse(head: ResponseHead): void {
    const { headers, body } = clientResponseHead(head, this.head.method, this.reverse());
    const cookie = this.cookieIssuer && issuedCookie(this.cookieIssuer, this.log.balancer, this.client.scheme === 'https');
    if (cookie) headers.push(['Set-Cookie', cookie]);
    this.writeResponseHead(head.status, head.reason || reasonPhrase(head.status), headers, body, true);
  }

  /** ProxyPassReverse for this request: the virtual host's rules, the client's Host. */
  private reverse(): ReverseContext {
    const vhost = this.vhost!;
    return { ...vhost.reverse, hostHeader: this.log.host ?? vhost.serverName };
  }

  /** 101 to an allowed Upgrade: pass the member's answer on, then carry bytes both ways until either side closes. */
  private switchProtocols(head: ResponseHead): void {
    const member = this.dispatch!.handOver();
    const headers = switchedResponseHeaders(head, this.reverse(), this.upgrade!);
    this.responseStarted = true;
    this.log.status = 101;
    this.client.sendInterim(101, head.reason || reasonPhrase(101), headers);
    // Only HTTP/1.1 requests ask to upgrade (see allowedUpgrade), and those come on a connection that can be taken.
    carryTunnel(this.client.runtime, this.client.takeOver()!, member, (toClient) => {
      this.log.bytesSent += toClient;
      this.finished = true;
      this.leaveInFlight();
      this.writeLog();
    });
  }

  // ---- 5. finish: give the connection back, log --------------------------------------------------------

  private releaseMember(reusable: boolean): void {
    this.dispatch?.release(reusable);
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

  respondLocal(response: LocalResponse, reason?: string): void {
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

  onInternalError(err: unknown): void {
    if (err instanceof HttpError) this.log.error = err.code;
    else {
      this.log.error = 'STK_INTERNAL';
      process.emitWarning(`stickler: internal error on ${this.head.method} request: ${(err as Error)?.stack ?? String(err)}`);
    }
    try {
      this.respondLocal(errorResponse(err instanceof HttpError ? err.status : 500));
    } catch (again) {
      // The error answer failed too (a Header always rule's value the head cannot carry): left as it was, the
      // exchange would hold its connection and its in-flight slot for good. The client sees the connection cut.
      process.emitWarning(`stickler: the error answer to a ${this.head.method} request failed: ${(again as Error)?.message ?? String(again)}`);
      this.abortClient();
    }
  }

  private writeResponseHead(status: number, reason: string, given: HeaderList, body: ResponseBody, fromMember = false): void {
    this.responseStarted = true;
    const rules = this.vhost?.headerRules;
    const headers = rules ? responseFields(rules, given, status, fromMember, this.rulePlace!, this.ruleContext(this.log.balancer)) : given;
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

  private ruleContext(facts: RuleContext['facts']): RuleContext {
    return { entry: this.log, facts, elapsedUs: (performance.now() - this.started) * 1000 };
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
    this.releaseMember(false);
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
