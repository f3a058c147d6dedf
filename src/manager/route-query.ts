// The manager's session search, GET /api/v1/route?balancer=NAME&session=ID: the query read and checked before any
// balancer is looked at, then the answer as the API gives it.
import type { Balancer } from '../balancer/balancer.ts';
import { lookUpRoute, type RouteOutcome } from '../balancer/route-lookup.ts';

/** Tomcat's ids are 32 hex digits plus the route (at most 63); room for longer ids, not for arbitrary payloads. */
export const SESSION_TEXT_LIMIT = 256;
/** What a cookie value may hold (RFC 6265 cookie-octet), which is all a session id is. */
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

export type RouteQuery = { ok: true; balancer: string; session: string } | { ok: false; reason: string };

export interface RouteAnswer {
  balancer: string;
  session: string;
  route: string;
  outcome: RouteOutcome;
  /** The member configured with the route; null when none is. */
  owner: string | null;
  /** Where a request with this session goes by its route now; null when no member answers to it. */
  member: string | null;
  explanation: string;
}

/** Reads `balancer=NAME&session=ID` (percent-encoded, each once); says what is wrong with anything else. */
export function readRouteQuery(query: string): RouteQuery {
  const expected = 'expected ?balancer=NAME&session=ID, with ID a session id such as ABC123.node2 or a bare route such as node2';
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return { ok: false, reason: `the query cannot be read; ${expected}` };
  }
  const balancer = params.getAll('balancer');
  const session = params.getAll('session');
  if (balancer.length !== 1 || session.length !== 1) {
    return { ok: false, reason: `the query has ${balancer.length} balancer and ${session.length} session parameters; ${expected}` };
  }
  if (balancer[0]!.length > SESSION_TEXT_LIMIT) return { ok: false, reason: `the balancer name is ${balancer[0]!.length} characters long; expected at most ${SESSION_TEXT_LIMIT}` };
  const id = session[0]!.trim();
  if (id === '') return { ok: false, reason: `the session is empty; ${expected}` };
  if (id.length > SESSION_TEXT_LIMIT) return { ok: false, reason: `the session is ${id.length} characters long; expected at most ${SESSION_TEXT_LIMIT}` };
  if (!COOKIE_OCTETS.test(id)) {
    return { ok: false, reason: `the session ${JSON.stringify(id)} holds a character no session cookie can (a space, a control character, '"', ',', ';' or '\\'); paste only the value, such as ABC123.node2` };
  }
  return { ok: true, balancer: balancer[0]!, session: id };
}

export function routeAnswer(balancer: Balancer, session: string, now: number): RouteAnswer {
  const { config } = balancer;
  const found = lookUpRoute(config, balancer.state, session, now);
  const url = (m: number) => config.members[m]?.url ?? null;
  return {
    balancer: config.name,
    session,
    route: found.route,
    outcome: found.outcome,
    owner: found.owner < 0 ? null : url(found.owner),
    member: found.member < 0 ? null : url(found.member),
    explanation: found.explanation,
  };
}
