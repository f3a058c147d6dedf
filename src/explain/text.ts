// A routing decision as a person reads it: a few labelled lines, the route and where it came from, the member
// chosen and why, each member passed over and why. What `stickler explain` prints and the manager's explain
// answers as `text`.
import type { AttemptFailure, DecisionAttempt, DecisionRoute, MemberCounters, RoutingDecision, SkipReason, SkippedMember } from '../balancer/decision.ts';
import type { LbMethod } from '../config/model.ts';
import type { Explanation } from './dry-run.ts';

const SKIP_TEXT: Record<SkipReason, string> = {
  stopped: 'stopped',
  disabled: 'disabled',
  error: 'in error',
  'health-check': 'failed its health check',
  shutdown: 'shutting down',
  draining: 'draining: it keeps its sessions but takes no new ones',
  'other-route': "not the session's route",
  standby: 'hot standby: used only when no other member of its lbset is usable',
  spare: 'hot spare: fills in only for an unusable member',
  lbset: 'in a later lbset: used only when no member of an earlier one is usable',
  counters: 'lost on the counters',
};

/** The counter each lbmethod picks by, first; the rest follow. */
const LEADING: Record<LbMethod, keyof MemberCounters> = { byrequests: 'lbstatus', bybusyness: 'busy', bytraffic: 'traffic' };

function countersText(lbmethod: LbMethod, c: MemberCounters): string {
  const lead = LEADING[lbmethod];
  const rest = (['lbstatus', 'busy', 'traffic', 'elected', 'lbfactor'] as const).filter((k) => k !== lead);
  return [lead, ...rest].map((k) => `${k} ${c[k]}`).join(', ');
}

const SOURCE_TEXT: Record<Exclude<DecisionRoute['source'], 'none'>, (name: string) => string> = {
  path: (name) => `the path parameter ;${name}=`,
  query: (name) => `the query parameter ${name}=`,
  cookie: (name) => `the cookie ${name}`,
  'balancer-cookie': (name) => `the balancer's cookie ${name}`,
};

export function routeText(route: DecisionRoute): string {
  const rejected = route.rejected ? "; the balancer's signed cookie came but did not verify (forged, altered or unsigned), so it is not obeyed" : '';
  if (route.source === 'none') return `none: the request names no session route${rejected}`;
  const shown = route.route === '' ? "'' (empty: no member is looked up by it)" : route.route;
  return `${shown}, from ${SOURCE_TEXT[route.source](route.name ?? '')} (value ${route.value})${rejected}`;
}

function memberText(url: string | undefined, route: string | undefined): string {
  return route ? `${url} (route ${route})` : `${url ?? ''}`;
}

function chosenText(a: DecisionAttempt, sessionRoute: string | undefined): string {
  if (a.refused !== undefined) return `none: ${a.refused}`;
  const why =
    a.how === 'route' ? "the session's route" :
    a.how === 'redirect' ? `redirect= of the member with route ${sessionRoute}, which is unusable` :
    `${sessionRoute ? `no usable member has the session's route ${sessionRoute}, so ` : ''}${a.lbmethod} (${countersText(a.lbmethod, a.counters!)} after the pick)`;
  return `${memberText(a.member, a.route)}: ${why}`;
}

function skippedText(lbmethod: LbMethod, s: SkippedMember): string {
  const detail = s.until ? ` until ${s.until}` : s.counters ? ` (${countersText(lbmethod, s.counters)})` : '';
  return `${memberText(s.member, s.route)}: ${SKIP_TEXT[s.reason]}${detail} [${s.status.trim()}]`;
}

function failureText(f: AttemptFailure): string {
  const then = f.then === 'failover' ? 'tried another member' : f.then === 'fresh' ? 'tried again on a new connection' : 'answered the client';
  return `${f.code}: ${f.reason}; ${then}`;
}

/** Label and text, lined up. */
const line = (label: string, text: string): string => `${label.padEnd(9)} ${text}`;

/** The decision's lines: the route, then per attempt the member chosen, those skipped, what failed. */
export function decisionLines(d: RoutingDecision): string[] {
  const lines = [line('balancer', `${d.balancer}, lbmethod ${d.attempts[0]?.lbmethod ?? '?'}`), line('route', routeText(d.route))];
  d.attempts.forEach((a, i) => {
    const label = i === 0 ? 'chosen' : `retry ${i}`;
    lines.push(line(label, chosenText(a, d.route.route)));
    for (const s of a.skipped) lines.push(line('skipped', skippedText(a.lbmethod, s)));
    for (const f of a.failed ?? []) lines.push(line('failed', failureText(f)));
  });
  return lines;
}

export function explanationText(e: Explanation): string {
  return [
    line('request', e.url),
    line('host', `${e.virtualHost.name}:${e.virtualHost.port} (${e.virtualHost.at})`),
    line('mapping', `ProxyPass ${e.mapping.path} ${e.mapping.target} (${e.mapping.at})`),
    ...decisionLines(e.decision),
    line('state', e.state),
  ].join('\n') + '\n';
}
