// Which member a session id sticks to now, as the manager's search answers it: the route taken from the value as a
// request's is (sticky/route.ts), the member found as a request's is (route-member.ts), read-only: a member due
// back from its error counts as back, but stays in error until a request takes it out.
import { routeOf } from '../sticky/route.ts';
import type { BalancerConfig } from '../config/model.ts';
import type { MemberView } from './member-view.ts';
import { peekRouteMember } from './route-member.ts';
import type { BalancerState } from './state.ts';
import { Status, statusLabel } from './status.ts';

export type RouteOutcome =
  /** The member whose route it is takes it. */
  | 'route'
  /** That member is not usable now; another answers to the route (its redirect, a standby, a namesake). */
  | 'elsewhere'
  /** No usable member answers to it: the request is balanced anew and the session is lost on the way. */
  | 'rebalanced'
  /** No usable member answers to it and the balancer has nofailover: 503. */
  | 'refused'
  /** No member has the route (or it is empty): balanced as a new session. */
  | 'unknown-route'
  /** The balancer is not sticky: it never looks at session ids. */
  | 'not-sticky';

export interface RouteLookup {
  /** The route the session id carries; the whole text when it has no separator (a bare route). */
  route: string;
  outcome: RouteOutcome;
  /** The member configured with the route, if any; `member` is where a request goes by it now. */
  owner: number;
  member: number;
  /** What a request with this session id meets, in a sentence. */
  explanation: string;
}

/** A session id as pasted (`ABC123.node2`), or a bare route (`node2`): what the balancer would do with it now. */
export function lookUpRoute(config: BalancerConfig, state: BalancerState, text: string, now: number): RouteLookup {
  const route = routeOf(text, config.stickySeparator) ?? text;
  const view: MemberView = { members: config.members, state, now };
  const present = (m: number) => (state.status(m) & Status.FREE) === 0;
  const owner = config.members.findIndex((m, i) => m.route !== '' && m.route === route && present(i));
  const name = (m: number) => `${config.members[m]?.url} (route ${config.members[m]?.route}, ${statusLabel(state.status(m)).trim()})`;
  const answer = (outcome: RouteOutcome, member: number, explanation: string): RouteLookup => ({ route, outcome, owner, member, explanation });
  if (config.sticky === undefined) {
    return answer('not-sticky', -1, `balancer://${config.name} is not sticky: every request is balanced by ${config.lbmethod}, session ids are not looked at`);
  }
  if (route === '' || owner < 0) {
    return answer('unknown-route', -1, `no member has the route "${route}": a request with it is balanced by ${config.lbmethod} as a new session`);
  }
  const member = peekRouteMember(view, route);
  if (member === owner) return answer('route', member, `${name(member)} takes it`);
  if (member >= 0) return answer('elsewhere', member, `${name(owner)} cannot take it now; ${name(member)} does`);
  if (config.nofailover) return answer('refused', -1, `${name(owner)} cannot take it now, and with nofailover the request is refused (503)`);
  return answer('rebalanced', -1, `${name(owner)} cannot take it now: the request is balanced by ${config.lbmethod} to another member, which does not know the session`);
}
