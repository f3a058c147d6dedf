// The manager's view of every balancer: configuration as edited, plus the live figures from the shared state, so
// whichever worker thread answers, it shows what all of them did together.
import type { Balancer } from '../balancer/balancer.ts';
import { formatSticky, stopWhenIdleOf } from '../config/model.ts';
import type { RouteSightings } from '../balancer/issued-routes.ts';
import { LATENCY_BUCKETS_MS, SESSION_WINDOW_S, sessionMs, sessionSeconds } from '../balancer/state.ts';
import { isUsable, Status } from '../balancer/status.ts';
import type { BalancerState } from '../balancer/state.ts';
import type { BalancerOverview, DrainSessions, ManagerOverview, MemberOverview, RouteMismatch, SharedStatus } from './model.ts';

/** Sessions listed per draining member: enough to see who is left, small enough for a snapshot a second. */
export const DRAIN_SESSIONS_SHOWN = 100;

/** The sessions of draining member `slot` active within `windowMs` of `now`. */
function drainSessions(state: BalancerState, slot: number, windowMs: number, now: number): DrainSessions {
  const seen = state.sessionsSince(slot, sessionSeconds(now - windowMs));
  return {
    active: seen.length,
    lastRequestAt: seen.length > 0 ? sessionMs(seen[0]!.lastSeen) : null,
    sessions: seen.slice(0, DRAIN_SESSIONS_SHOWN).map((s) => ({ hash: s.hash.toString(16).padStart(8, '0'), lastRequestAt: sessionMs(s.lastSeen) })),
  };
}

/** Session activity on a draining member: this instance's, or the group's (shared/group-reports.ts). */
export type MergeActivity = (balancer: string, member: string, local: { active: number; lastRequestAt: number | null }) => { active: number; lastRequestAt: number | null };

/** Each draining member's activity as this instance sees it: what it tells the other instances of its group. */
export function drainActivity(source: Iterable<{ balancer: Balancer }>, now: number): Array<{ balancer: string; member: string; active: number; lastRequestAt: number | null }> {
  return overview(source, false, now).balancers.flatMap((b) => b.members.flatMap((m) => (m.drainSessions ? [{ balancer: b.name, member: m.url, active: m.drainSessions.active, lastRequestAt: m.drainSessions.lastRequestAt }] : [])));
}

/** A drain view with the group's count and last request: its session list stays this instance's own. */
function grouped(local: DrainSessions, merge?: (local: { active: number; lastRequestAt: number | null }) => { active: number; lastRequestAt: number | null }): DrainSessions {
  return merge ? { ...local, ...merge(local) } : local;
}

function routeMismatch(seen: RouteSightings): RouteMismatch | null {
  if (seen.lastMismatch === 0) return null;
  return {
    flagged: seen.lastMismatch >= seen.lastMatch,
    lastAt: sessionMs(seen.lastMismatch),
    lastSeen: seen.lastSeen === undefined ? null : seen.lastSeen ?? '',
    counts: seen.counts.map(({ seen: route, count }) => ({ seen: route ?? '', count })),
    other: seen.other,
  };
}

export function overview(source: Iterable<{ balancer: Balancer }>, persisted: boolean, now: number, sharedState?: SharedStatus, merge?: MergeActivity): ManagerOverview {
  const balancers: BalancerOverview[] = [];
  for (const { balancer } of source) {
    const { config, state } = balancer;
    const stopWhenIdleMs = stopWhenIdleOf(config);
    const activeWindowMs = stopWhenIdleMs > 0 ? stopWhenIdleMs : SESSION_WINDOW_S * 1000;
    const members: MemberOverview[] = [];
    balancer.snapshot(now).forEach((m, slot) => {
      if (m.removed) return;
      const bits = state.status(slot);
      members.push({
        url: m.url,
        route: m.route,
        redirect: m.redirect,
        loadfactor: m.loadfactor,
        lbset: m.lbset,
        status: {
          ignoreErrors: (bits & Status.IGNORE_ERRORS) !== 0,
          drain: (bits & Status.DRAIN) !== 0,
          disabled: (bits & Status.DISABLED) !== 0,
          stopped: (bits & Status.STOPPED) !== 0,
          hotStandby: (bits & Status.HOT_STANDBY) !== 0,
          hotSpare: (bits & Status.HOT_SPARE) !== 0,
          error: (bits & Status.IN_ERROR) !== 0,
          healthCheckFailed: (bits & Status.HC_FAIL) !== 0,
        },
        statusLabel: m.status,
        usable: isUsable(bits),
        elected: m.elected,
        busy: m.busy,
        lbstatus: m.lbstatus,
        bytesToMember: m.transferred,
        bytesFromMember: m.read,
        requests: m.requests,
        failures: m.failures,
        lastFailure: m.lastFailure || null,
        errorSince: (bits & Status.IN_ERROR) !== 0 && m.errorTime ? m.errorTime : null,
        latency: m.latency,
        lastMinute: state.recentTraffic(slot, now),
        stickySessions: state.recentSessions(slot, sessionSeconds(now)),
        changes: m.changes,
        routeMismatch: routeMismatch(state.routeSightings(slot)),
        drainSessions: (bits & Status.DRAIN) !== 0 ? grouped(drainSessions(state, slot, activeWindowMs, now), merge && ((local) => merge(config.name, m.url, local))) : null,
      });
    });
    balancers.push({
      name: config.name,
      lbmethod: config.lbmethod,
      stickySession: config.sticky ? formatSticky(config.sticky) : null,
      nofailover: config.nofailover,
      timeoutMs: config.timeout,
      maxAttempts: balancer.maxAttempts,
      capacity: state.capacity,
      stopWhenIdleMs,
      cookiesRejected: config.cookie ? state.cookiesRejected : null,
      members,
    });
  }
  return { time: now, latencyBucketsMs: LATENCY_BUCKETS_MS, sessionWindowMs: SESSION_WINDOW_S * 1000, persisted, ...(sharedState && { sharedState }), balancers };
}
