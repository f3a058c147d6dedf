// Apache's find_session_route (bal.c:272-326; docs/apache-semantics.md#route-extraction), quirks included: the
// session value is found with strstr-like scans, not parsed as URL or cookie syntax, because clients and
// Tomcat's jvmRoute setups in the field depend on exactly what httpd accepts.
import type { BalancerConfig, StickyConfig } from '../config/model.ts';
import { verifiedRoute } from './balancer-cookie.ts';

export interface SessionRoute {
  /** The cookie or URL-parameter name that matched (BALANCER_SESSION_STICKY). */
  name: string;
  /** Everything after the first separator; may be '' (BALANCER_SESSION_ROUTE). */
  route: string;
  /** The whole value, which names the session (the manager counts sessions sticking to each member). */
  session: string;
  /** Where the route was found, for the decision's record (balancer/decision.ts); unset reads as the session cookie. */
  from?: RouteSource;
}

/** Where a request's route came from: a `;name=` path parameter, a `?name=` query parameter, a cookie, the balancer's cookie. */
export type RouteSource = 'path' | 'query' | 'cookie' | 'balancer-cookie';

/** C isspace() in the "C" locale. */
function isSpace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';
}

/**
 * get_path_param (bal.c:139-163). The name may occur anywhere, with no check of the character before it
 * (`xjsessionid=` matches `jsessionid`). apr_strtok skips leading delimiters, so `jsessionid=&x.n1`
 * yields `x.n1`, and a value made only of delimiters yields nothing without looking further.
 */
function findUrlParam(url: string, name: string, delimiters: string): string | undefined {
  const start = urlParamStart(url, name, delimiters);
  if (start < 0) return undefined;
  let end = start;
  while (end < url.length && !delimiters.includes(url[end] as string)) end++;
  return url.slice(start, end);
}

/** Where findUrlParam's value starts, -1 when there is none; where it sits tells a path parameter from a query one. */
function urlParamStart(url: string, name: string, delimiters: string): number {
  for (let at = url.indexOf(name); at >= 0 && at < url.length; at = url.indexOf(name, at + 1)) {
    at += name.length;
    if (url[at] !== '=' || at + 1 >= url.length) continue;
    let start = at + 1;
    while (start < url.length && delimiters.includes(url[start] as string)) start++;
    return start === url.length ? -1 : start;
  }
  return -1;
}

/**
 * get_cookie_param (bal.c:165-197) over the Cookie headers merged as httpd merges them, with ", ". The name
 * must start the string or follow ';', ',' or whitespace; whitespace may sit before '=' but not after it. The
 * first match wins even when its value is empty, and the value is neither trimmed nor unquoted.
 */
function findCookie(cookies: string, name: string): string | undefined {
  for (let at = cookies.indexOf(name); at >= 0; at = cookies.indexOf(name, at + 1)) {
    const before = cookies[at - 1];
    if (at !== 0 && before !== ';' && before !== ',' && !isSpace(before)) continue;
    at += name.length;
    while (isSpace(cookies[at])) at++;
    // C's `*p++ == '='` steps past the character whether or not it matched, so the next search starts later:
    // `JSESSIONID;JSESSIONID=a.n1` misses the second name just as httpd does.
    const equals = cookies[at++] === '=';
    if (!equals || at >= cookies.length) continue;
    const rest = cookies.slice(at);
    const end = rest.search(/[;,]/);
    return end < 0 ? rest : rest.slice(0, end);
  }
  return undefined;
}

/**
 * url = the request-target as received (path + ;params + ?query). cookieHeaders = every Cookie header value,
 * in order. The URL wins over the cookie whenever it carries the parameter at all, even one without a route.
 * A value with no separator gives undefined (no route); `abc.` gives route ''. Names are case-sensitive.
 */
export function findSessionRoute(sticky: StickyConfig, separator: string | null, scolonPathDelim: boolean,
                                 url: string, cookieHeaders: string[]): SessionRoute | undefined {
  if (sticky.cookie === '') return undefined;
  let name = sticky.urlParam;
  let from: RouteSource = 'cookie';
  const delimiters = scolonPathDelim ? ';?&' : '?&';
  let value = findUrlParam(url, name, delimiters);
  if (value !== undefined) {
    // Found again only for its place, and only when a URL carries the route, which few requests do.
    const query = url.indexOf('?');
    from = query >= 0 && urlParamStart(url, name, delimiters) > query ? 'query' : 'path';
  } else {
    name = sticky.cookie;
    value = findCookie(cookieHeaders.join(', '), name);
  }
  if (value === undefined) return undefined;
  const route = routeOf(value, separator);
  return route === undefined ? undefined : { name, route, session: value, from };
}

/**
 * The route a session value carries (bal.c:312-318): everything after the separator's first occurrence, '' for
 * `abc.`, undefined when the separator does not occur; with stickysessionsep=Off, the whole value.
 */
export function routeOf(value: string, separator: string | null): string | undefined {
  if (separator === null) return value;
  const cut = value.indexOf(separator);
  return cut < 0 ? undefined : value.slice(cut + separator.length);
}

/** The route of one request to a balancer, and whether the balancer's cookie came but was not obeyed. */
export interface RequestRoute {
  session: SessionRoute | undefined;
  /** The balancer's signed cookie was forged, altered or unsigned. */
  rejected: boolean;
}

const NO_ROUTE: RequestRoute = { session: undefined, rejected: false };

/**
 * What a request names for `balancer`. Without a key: the URL parameter or session cookie as httpd reads them, then,
 * when those name no route, the balancer's own cookie, found by the same scan. With a key, only the signed cookie
 * routes: a session cookie or URL parameter is the client's to write (`JSESSIONID=x.n2`), so obeying it first would
 * let anyone pick a member. Either way the session is the session cookie's value if there is one, so the manager
 * still counts sessions, not members.
 */
export function requestRoute(balancer: BalancerConfig, url: string, cookieHeaders: string[]): RequestRoute {
  const { sticky, cookie } = balancer;
  const found = sticky && !cookie?.key ? findSessionRoute(sticky, balancer.stickySeparator, balancer.scolonPathDelim, url, cookieHeaders) : undefined;
  if (found && (found.route !== '' || !cookie)) return { session: found, rejected: false };
  if (!cookie) return NO_ROUTE;
  const cookies = cookieHeaders.join(', ');
  const value = findCookie(cookies, cookie.name);
  if (value === undefined) return found ? { session: found, rejected: false } : NO_ROUTE;
  const route = verifiedRoute(balancer.name, cookie, value);
  if (route === undefined) return { session: found, rejected: true };
  const session = (sticky && findCookie(cookies, sticky.cookie)) || value;
  return { session: { name: cookie.name, route, session, from: 'balancer-cookie' }, rejected: false };
}
