// The record of one routing decision: where the route came from, the member each attempt chose and on what
// counters, every member passed over and why, and each failed attempt with what followed. Built only when someone
// asked (the JSON access log, `stickler explain`, the manager's explain); the normal path never makes one.
import type { LbMethod } from '../config/model.ts';
import type { RequestRoute, RouteSource } from '../sticky/route.ts';
import type { Balancer, Choice } from './balancer.ts';
import type { BalancerState } from './state.ts';
import { isUsable, Status, statusLabel } from './status.ts';

/** Why a member was not the one chosen; the status reasons first, in the order they are looked for. */
export type SkipReason =
  | 'stopped'
  | 'disabled'
  | 'error'
  | 'health-check'
  | 'shutdown'
  | 'draining'
  /** The session's route named another member, which took the request (or, with nofailover, refused it). */
  | 'other-route'
  | 'standby'
  | 'spare'
  | 'lbset'
  /** Usable and in the running, but the lbmethod's counters favoured the chosen member. */
  | 'counters';

/** The status bits that keep a member out, each with its reason; the first one set names it. A removed member (FREE) is not listed at all. */
const STATUS_REASONS: ReadonlyArray<[bit: number, reason: SkipReason]> = [
  [Status.STOPPED, 'stopped'],
  [Status.DISABLED, 'disabled'],
  [Status.IN_ERROR, 'error'],
  [Status.HC_FAIL, 'health-check'],
  [Status.IN_SHUTDOWN, 'shutdown'],
  [Status.DRAIN, 'draining'],
];

/** What the lbmethods weigh, as the state held it right after the pick (elected and busy count it already). */
export interface MemberCounters {
  lbstatus: number;
  /** loadfactor × 100, as Apache keeps it. */
  lbfactor: number;
  elected: number;
  busy: number;
  /** Bytes sent to and read from the member (bytraffic). */
  traffic: number;
}

export interface SkippedMember {
  member: string;
  route: string;
  reason: SkipReason;
  /** The manager's status column (`Init Err `). */
  status: string;
  /** For `error`: when a request may try the member again (ISO time). */
  until?: string;
  /** For `counters`: what it lost on. */
  counters?: MemberCounters;
}

/** A failed attempt: the STK_ code, what happened, and what the retry policy did next. */
export interface AttemptFailure {
  code: string;
  reason: string;
  /** `failover`: another member; `fresh`: the same member on a new connection; `answer`: no more tries. */
  then: 'failover' | 'fresh' | 'answer';
}

export interface DecisionAttempt {
  lbmethod: LbMethod;
  /** The member's URL; absent when none was usable (`refused`). */
  member?: string;
  route?: string;
  /** By the session's route, by the redirect of the route's member, or by the lbmethod. */
  how?: 'route' | 'redirect' | 'balanced';
  counters?: MemberCounters;
  skipped: SkippedMember[];
  /** The 503 reason when no member could take the request. */
  refused?: string;
  failed?: AttemptFailure[];
}

export interface DecisionRoute {
  source: RouteSource | 'none';
  /** The cookie or parameter name. */
  name?: string;
  /** Its whole value. */
  value?: string;
  route?: string;
  /** The balancer's signed cookie came but did not verify: not obeyed. */
  rejected?: true;
}

export interface RoutingDecision {
  /** `balancer://name` */
  balancer: string;
  route: DecisionRoute;
  attempts: DecisionAttempt[];
}

/** A decision's start: the route the request named, before any member is chosen. */
export function newDecision(balancer: string, found: RequestRoute | undefined): RoutingDecision {
  const session = found?.session;
  const route: DecisionRoute = session
    ? { source: session.from ?? 'cookie', name: session.name, value: session.session, route: session.route }
    : { source: 'none' };
  if (found?.rejected) route.rejected = true;
  return { balancer: `balancer://${balancer}`, route, attempts: [] };
}

function counters(balancer: Balancer, m: number): MemberCounters {
  const { state } = balancer;
  return { lbstatus: state.lbstatus(m), lbfactor: state.lbfactor(m), elected: state.elected(m), busy: state.busy(m), traffic: state.transferred(m) + state.read(m) };
}

/**
 * Whether hot spare m was in the running: select.ts lets in, per lbset, as many usable spares as the lbset has
 * primaries unusable or draining, first in configuration order. Read on the state after the pick, which already
 * holds the pick's retries of the members it looked at.
 */
function spareInRunning(state: BalancerState, count: number, m: number): boolean {
  const tier = state.lbset(m);
  let holes = 0;
  let before = 0;
  for (let i = 0; i < count; i++) {
    const bits = state.status(i);
    if (state.lbset(i) !== tier || bits & Status.FREE) continue;
    if (bits & Status.HOT_SPARE) {
      if (i < m && isUsable(bits) && !(bits & Status.DRAIN)) before++;
    } else if (!(bits & Status.HOT_STANDBY) && (bits & Status.DRAIN || !isUsable(bits))) holes++;
  }
  return before < holes;
}

/** Why member m was not `chosen` (-1: none was), from its status bits, then its place among the members. */
function skipReason(balancer: Balancer, m: number, chosen: number, routed: boolean): SkipReason {
  const { state } = balancer;
  const bits = state.status(m);
  for (const [bit, reason] of STATUS_REASONS) if (bits & bit) return reason;
  if (routed) return 'other-route';
  const chosenBits = chosen >= 0 ? state.status(chosen) : 0;
  if (bits & Status.HOT_STANDBY && !(chosenBits & Status.HOT_STANDBY)) return 'standby';
  if (bits & Status.HOT_SPARE && !spareInRunning(state, balancer.config.members.length, m)) return 'spare';
  if (chosen >= 0 && state.lbset(m) > state.lbset(chosen)) return 'lbset';
  return 'counters';
}

/**
 * Adds what `choice` chose to the decision, reading the balancer's state right after the pick (the same thread,
 * before anything else runs on it, so it is the state the pick saw, but for the pick's own counts).
 */
export function recordChoice(decision: RoutingDecision, balancer: Balancer, choice: Choice, now: number): void {
  const { config, state } = balancer;
  const chosen = choice.ok ? choice.member : -1;
  const attempt: DecisionAttempt = { lbmethod: config.lbmethod, skipped: [] };
  const { routed } = choice;
  if (choice.ok) {
    const member = config.members[chosen];
    attempt.member = member?.url ?? '';
    attempt.route = member?.route ?? '';
    attempt.how = !routed ? 'balanced' : member?.route === choice.facts.BALANCER_SESSION_ROUTE ? 'route' : 'redirect';
    attempt.counters = counters(balancer, chosen);
  } else attempt.refused = choice.reason;
  for (let m = 0; m < config.members.length; m++) {
    if (m === chosen || state.status(m) & Status.FREE) continue;
    const member = config.members[m]!;
    const reason = skipReason(balancer, m, chosen, routed);
    const skipped: SkippedMember = { member: member.url, route: member.route, reason, status: statusLabel(state.status(m)) };
    const retryIn = reason === 'error' ? balancer.retryIn(m, now) : 0;
    if (retryIn > 0) skipped.until = new Date(now + retryIn).toISOString();
    if (reason === 'counters') skipped.counters = counters(balancer, m);
    attempt.skipped.push(skipped);
  }
  decision.attempts.push(attempt);
}

/** The latest attempt failed; `then` is what the retry policy decided. */
export function recordFailure(decision: RoutingDecision, failure: AttemptFailure): void {
  const attempt = decision.attempts.at(-1);
  if (attempt) (attempt.failed ??= []).push(failure);
}
