// One balancer://name: Apache's proxy_balancer_pre_request decision (bal.c:461-636,
// docs/apache-semantics.md#the-decision-for-each-request) and the state changes the proxy reports back after each attempt.
// Pure and synchronous: the caller supplies the clock and does the I/O.
import { DEFAULT_GROWTH, stopWhenIdleOf, type BalancerConfig, type LbMethod } from '../config/model.ts';
import type { SessionRoute } from '../sticky/route.ts';
import { findBestByBusyness } from './bybusyness.ts';
import { findBestByRequests } from './byrequests.ts';
import { findBestByTraffic } from './bytraffic.ts';
import { creditStickyPick } from './lbstatus.ts';
import type { MemberView } from './member-view.ts';
import { putInError } from './member-status.ts';
import { forceRecovery } from './recovery.ts';
import { recoveryLine, type Recovery } from './recovery-line.ts';
import { findRouteMember } from './route-member.ts';
import type { FindBest } from './select.ts';
import { BalancerState, SESSION_WINDOW_S, sessionSeconds, type StateChange } from './state.ts';
import { isUsable, Status, statusLabel } from './status.ts';

/** Apache's BALANCER_* environment, for logging. */
export interface BalancerFacts {
  /** 'balancer://name' */
  BALANCER_NAME: string;
  /** Member URL as configured. */
  BALANCER_WORKER_NAME?: string;
  BALANCER_WORKER_ROUTE?: string;
  BALANCER_SESSION_STICKY?: string;
  BALANCER_SESSION_ROUTE?: string;
  BALANCER_ROUTE_CHANGED?: '1';
}

export type Choice =
  /** member = index into config.members; routed: found by the session's route (or its member's redirect), not balanced */
  | { ok: true; member: number; facts: BalancerFacts; routed: boolean }
  /** routed: refused for the session's route (nofailover), the lbmethod never asked */
  | { ok: false; status: 503; reason: string; facts: BalancerFacts; routed: boolean };

/** One row of the balancer-manager's member table (docs/apache-semantics.md#the-balancer-manager), plus what the retry logic needs to be explained. */
export interface MemberSnapshot {
  url: string;
  route: string;
  redirect: string;
  /** As configured (lbfactor / 100). */
  loadfactor: number;
  lbset: number;
  /** As Apache's manager shows it: `Init Ok `, `Init Dis `, `Init Err `. */
  status: string;
  elected: number;
  busy: number;
  /** The manager's "Load" column; may be negative. */
  lbstatus: number;
  /** Bytes sent to the member. */
  transferred: number;
  /** Bytes received from the member. */
  read: number;
  retries: number;
  /** When the member entered the error state (ms), 0 if it is not in error. */
  errorTime: number;
  /** Milliseconds until a request may take the member out of the error state; 0 when not waiting. */
  retryIn: number;
  /** Exchanges finished with the member. */
  requests: number;
  /** Failures charged to the member (connect errors and timeouts, failonstatus). */
  failures: number;
  /** When the member last failed (ms), 0 if never. */
  lastFailure: number;
  /** Time to the response head: sum in ms and counts per LATENCY_BUCKETS_MS bucket (not cumulative). */
  latency: { sumMs: number; buckets: number[] };
  /** Removed through the manager: kept in its slot so indexes stay stable, shown nowhere. */
  removed: boolean;
  /** How often it went into error, came back, failed and passed its health check. */
  changes: Record<StateChange, number>;
}

const FINDERS: Record<LbMethod, FindBest> = {
  byrequests: findBestByRequests,
  bybusyness: findBestByBusyness,
  bytraffic: findBestByTraffic,
};

export class Balancer {
  readonly config: BalancerConfig;
  /** Shared with other threads through `state.buffer` when that is a SharedArrayBuffer. */
  readonly state: BalancerState;
  private readonly name: string;

  /** Where state changes are told, once each: a member put in error, a member back. */
  private readonly log: (line: string) => void;

  constructor(config: BalancerConfig, state?: BalancerState, options: { log?: (line: string) => void } = {}) {
    this.log = options.log ?? (() => {});
    if (state && state.count !== config.members.length) {
      throw new Error(`balancer://${config.name} has ${config.members.length} members but the state given holds ${state.count}`);
    }
    this.config = config;
    this.state = state ?? BalancerState.create(config.members, { growth: config.growth ?? DEFAULT_GROWTH });
    this.name = `balancer://${config.name}`;
  }

  /** Made once, not per pick: reads the configuration when told, which the manager may change. */
  private readonly recovered = (m: number, why: Recovery): void => {
    const { config } = this;
    this.log(recoveryLine(config.name, config.members[m]?.url ?? '', why, config.slowStart));
  };

  /**
   * Failover attempts after the first: maxattempts, or members - 1 (bal.c:127-133; 0 for a single member). Read
   * from the configuration each time, which the manager may change.
   */
  get maxAttempts(): number {
    const members = this.config.members.length;
    return this.config.maxAttempts ?? (members > 1 ? members - 1 : 0);
  }

  /**
   * Apache's pre_request for one attempt: forcerecovery, the session's member (non-standby pass, standby pass,
   * redirect chain), the nofailover 503, the lbmethod pick, then elected++ and busy++. Call it again for each
   * failover attempt with the same session; the failed member is in error by then (docs/apache-semantics.md#failover-and-maxattempts).
   */
  choose(session: SessionRoute | undefined, now: number): Choice {
    const { config, state } = this;
    const view: MemberView = {
      members: config.members,
      state,
      now,
      ...(config.slowStart && { slowStart: config.slowStart }),
      recovered: this.recovered,
    };
    // Without stickysession Apache never looks for a route, whatever the request carries; a balancer cookie is one.
    const sticky = config.sticky !== undefined || config.cookie !== undefined;
    const route = sticky ? session : undefined;
    let member = -1;
    let routeChanged = false;
    let routed = false;
    // Under the lock only what a concurrent pick reads (status, lbstatus, busy); the counts that no pick reads
    // (elected, the session table) are atomic adds after it, so the lock is held for as short as can be.
    const refusal = state.withLock((): Choice | undefined => {
      forceRecovery(view, config.forceRecovery);
      // An empty route (`abc.`) is reported but never looked up (bal.c:306).
      if (route !== undefined && route.route !== '') {
        member = findRouteMember(view, route.route);
        if (member >= 0) {
          routeChanged = config.members[member]?.route !== route.route;
          routed = true;
          creditStickyPick(view, member);
        } else if (config.nofailover && config.members.some((m) => m.route === route.route)) {
          // Apache answers before setting any BALANCER_* variable (docs/apache-semantics.md#the-decision-for-each-request, step 3).
          return this.refuse(`All workers are in error state for route (${route.route})`, true);
        }
      }
      if (member < 0) {
        member = FINDERS[config.lbmethod](view);
        if (member < 0) {
          return this.refuse(config.members.length > 0 ? 'All workers are in error state' : 'No workers in balancer');
        }
        // Set on every balanced pick of a sticky balancer, first requests included (docs/apache-semantics.md#the-decision-for-each-request, step 4): that is what
        // lets `Header add Set-Cookie ... env=BALANCER_ROUTE_CHANGED` hand out the route cookie.
        routeChanged = sticky;
      }
      state.addBusy(member);
      return undefined;
    });
    if (refusal) return refusal;
    state.addElected(member);
    if (routed && route) state.touchSession(member, route.session, sessionSeconds(now), this.sessionKeepSeconds());
    return { ok: true, member, facts: this.facts(member, route, routeChanged), routed };
  }

  /**
   * The member failed (connect refused or timed out, reset before answering, failonstatus): E with
   * error_time = now (unless +I). `reason` is logged when this puts it in error, once.
   */
  markError(member: number, now: number, reason = 'failed'): void {
    this.check(member);
    const { state } = this;
    if (state.status(member) & Status.IGNORE_ERRORS) return;
    const entered = state.withLock(() => putInError(state, member, now));
    const m = this.config.members[member];
    if (entered) this.log(`${this.name}: member ${m?.url} in error (${reason}); not used for ${(m?.retry ?? 0) / 1000} s`);
  }

  /** Seconds a client should wait before trying again when no member is usable (Retry-After on the 503). */
  retryAfter(now: number): number {
    let wait = Infinity;
    for (let m = 0; m < this.config.members.length; m++) {
      const retryIn = (this.state.status(m) & Status.FREE) === 0 ? this.retryIn(m, now) : 0;
      if (retryIn > 0) wait = Math.min(wait, retryIn);
    }
    return wait < Infinity ? Math.max(1, Math.ceil(wait / 1000)) : 10;
  }

  /**
   * The exchange with the member is over (busy--; read/transferred for bytraffic); `latencyMs` is the time to
   * its response head, undefined when none came; `now` is when it ended, for the manager's last minute.
   */
  release(member: number, bytesToMember: number, bytesFromMember: number, latencyMs?: number, now = Date.now()): void {
    this.check(member);
    const { state } = this;
    // No lock: each count is an atomic step of its own, as in Apache, where busy-- is a pool cleanup and the byte
    // counts are added outside the balancer's mutex. A pick between two of them sees a state some order of them gives.
    state.dropBusy(member);
    state.addTraffic(member, bytesToMember, bytesFromMember);
    state.addRequest(member, latencyMs, now);
  }

  /** Connected fine (error_time = 0, retries = 0; util.c:4039-4049). */
  markConnected(member: number): void {
    this.check(member);
    const { state } = this;
    // A member that has not failed since has nothing to reset, and takes no lock for it: the usual case.
    if (state.errorTime(member) === 0 && state.retries(member) === 0) return;
    state.withLock(() => {
      state.setErrorTime(member, 0);
      state.resetRetries(member);
    });
  }

  /** For startup output, logs, and the future manager page. Reads without the lock: a view, not a transaction. */
  snapshot(now: number): MemberSnapshot[] {
    const { state } = this;
    return this.config.members.map((member, m) => {
      const bits = state.status(m);
      const errorTime = state.errorTime(m);
      return {
        url: member.url,
        route: member.route,
        redirect: member.redirect,
        loadfactor: state.lbfactor(m) / 100,
        lbset: state.lbset(m),
        status: statusLabel(bits),
        elected: state.elected(m),
        busy: state.busy(m),
        lbstatus: state.lbstatus(m),
        transferred: state.transferred(m),
        read: state.read(m),
        retries: state.retries(m),
        errorTime,
        retryIn: this.retryIn(m, now),
        requests: state.requests(m),
        failures: state.failures(m),
        lastFailure: state.lastFailure(m),
        latency: { sumMs: state.latencySum(m), buckets: state.latencyBuckets(m) },
        removed: (bits & Status.FREE) !== 0,
        changes: state.changes(m),
      };
    });
  }

  /**
   * A session's slot is kept for the manager's window, and for stop-when-idle, which must see a session that long.
   * Read per routed request, like maxAttempts, since the manager edits stop-when-idle in place: a field and two
   * arithmetic operations, nothing a cache would save.
   */
  private sessionKeepSeconds(): number {
    return Math.max(SESSION_WINDOW_S, Math.ceil(stopWhenIdleOf(this.config) / 1000));
  }

  /** Milliseconds until a request may take member m out of the error state; 0 when it is not waiting. */
  retryIn(m: number, now: number): number {
    const bits = this.state.status(m);
    const waiting = (bits & Status.IN_ERROR) !== 0 && (bits & (Status.IGNORE_ERRORS | Status.STOPPED)) === 0;
    return waiting ? Math.max(0, this.state.errorTime(m) + (this.config.members[m]?.retry ?? 0) - now) : 0;
  }

  /** PROXY_WORKER_IS_USABLE as of now, without running the retry check. */
  usable(member: number): boolean {
    this.check(member);
    return isUsable(this.state.status(member));
  }

  /** This balancer over a copy of its state: what it decides changes nothing of this one's (explain). */
  dryRun(): Balancer {
    return new Balancer(this.config, this.state.copy());
  }

  private refuse(reason: string, routed = false): Choice {
    return { ok: false, status: 503, reason: `${this.name}: ${reason}`, facts: { BALANCER_NAME: this.name }, routed };
  }

  private facts(member: number, route: SessionRoute | undefined, routeChanged: boolean): BalancerFacts {
    const configured = this.config.members[member];
    const facts: BalancerFacts = {
      BALANCER_NAME: this.name,
      BALANCER_WORKER_NAME: configured?.url ?? '',
      BALANCER_WORKER_ROUTE: configured?.route ?? '',
    };
    if (route !== undefined) {
      facts.BALANCER_SESSION_STICKY = route.name;
      facts.BALANCER_SESSION_ROUTE = route.route;
    }
    if (routeChanged) facts.BALANCER_ROUTE_CHANGED = '1';
    return facts;
  }

  private check(member: number): void {
    if (!Number.isInteger(member) || member < 0 || member >= this.config.members.length) {
      throw new RangeError(`${this.name} has no member ${member} (it has ${this.config.members.length})`);
    }
  }
}
