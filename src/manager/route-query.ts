// The manager's session search, POST /api/v1/route with {"balancer": NAME, "session": ID}: the body read and checked
// before any balancer is looked at, then the answer as the API gives it. A session id is a credential: it travels in
// a body, never in a URL that access logs, browser history and intermediaries keep.
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

/** Reads `{"balancer": NAME, "session": ID}` (the parsed JSON body); says what is wrong with anything else. */
export function readRouteQuery(body: unknown): RouteQuery {
  const expected = 'expected {"balancer": NAME, "session": ID}, with ID a session id such as ABC123.node2 or a bare route such as node2';
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, reason: `the body is not a JSON object; ${expected}` };
  const extra = Object.keys(body).filter((k) => k !== 'balancer' && k !== 'session');
  if (extra.length > 0) return { ok: false, reason: `unknown field ${JSON.stringify(extra[0])}; ${expected}` };
  const { balancer, session } = body as Record<string, unknown>;
  if (typeof balancer !== 'string' || typeof session !== 'string') {
    return { ok: false, reason: `balancer and session must both be strings; ${expected}` };
  }
  if (balancer.length > SESSION_TEXT_LIMIT) return { ok: false, reason: `the balancer name is ${balancer.length} characters long; expected at most ${SESSION_TEXT_LIMIT}` };
  const id = session.trim();
  if (id === '') return { ok: false, reason: `the session is empty; ${expected}` };
  if (id.length > SESSION_TEXT_LIMIT) return { ok: false, reason: `the session is ${id.length} characters long; expected at most ${SESSION_TEXT_LIMIT}` };
  if (!COOKIE_OCTETS.test(id)) {
    return { ok: false, reason: `the session ${JSON.stringify(id)} holds a character no session cookie can (a space, a control character, '"', ',', ';' or '\\'); paste only the value, such as ABC123.node2` };
  }
  return { ok: true, balancer, session: id };
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
