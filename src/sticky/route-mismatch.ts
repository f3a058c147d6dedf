// Whether a member issues sessions that route back to it: the route in the session cookie it sets, read as
// route.ts reads it from requests, against the member's configured `route=`. A member whose jvmRoute (or WSO2's,
// or Keycloak's route) differs from its `route=` breaks stickiness silently: every request of its sessions carries a
// route no member has, so each is balanced anew and the login moves between nodes.
import { routeOf } from './route.ts';

/** What a response's Set-Cookie fields say about the route its member issues. */
export type IssuedRoute =
  /** `byCookie`: the session carries no route, and the balancer's own cookie carries it instead. */
  | { matches: true; byCookie?: true }
  /** `seen` is the route the session carries; null when it carries none (no separator, or nothing after it). */
  | { matches: false; seen: string | null };

/**
 * The `seen` that stands for wrong routes past the few counted by name: a session cookie's value ends at its first
 * `;`, so no route a member issues contains one, whereas `other` (or any token) can be a route.
 */
export const OTHER_ROUTES = ';other';

/** `Max-Age=0` (or negative): the field deletes the cookie rather than issuing a session. */
const DELETES = /;\s*max-age\s*=\s*(?:0+|-\d+)\s*(?:;|$)/i;

/**
 * The session cookie among `setCookies` (each a Set-Cookie field value) named one of `names`, read per RFC 6265
 * 5.2 (name and value trimmed, unquoted as browsers keep them), the last one winning as it does in the browser.
 * Undefined when none issues a session: no such cookie, an empty value, or a deletion. Names are case-sensitive.
 * With `balancerCookie` (the balancer issues its own route cookie) a session without a route is what that cookie is
 * for, not a mismatch; a session with a wrong route still is, since the route it carries wins over the cookie.
 */
export function issuedRoute(setCookies: readonly string[], names: readonly string[], separator: string | null,
                            configured: string, balancerCookie = false): IssuedRoute | undefined {
  let value: string | undefined;
  for (const field of setCookies) {
    const end = field.indexOf(';');
    const pair = end < 0 ? field : field.slice(0, end);
    const equals = pair.indexOf('=');
    if (equals < 0 || !names.includes(pair.slice(0, equals).trim())) continue;
    const issued = pair.slice(equals + 1).trim();
    value = issued === '' || (end >= 0 && DELETES.test(field.slice(end))) ? undefined : issued;
  }
  if (value === undefined) return undefined;
  const route = routeOf(value, separator);
  if (route === configured) return { matches: true };
  const seen = route === undefined || route === '' ? null : route;
  if (seen === null && balancerCookie) return { matches: true, byCookie: true };
  return { matches: false, seen };
}
