// The balancer's own route cookie (the native `cookie` key): its value, signed or not, what a request's value says,
// and the Set-Cookie field a response carries. Deterministic: every instance with the same key issues and accepts the
// same cookies, so a client may be answered by any of them.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BalancerConfig, BalancerCookieConfig } from '../config/model.ts';
import { isCookieValue } from '../http/syntax.ts';

/** Of the HMAC-SHA256 output: 128 bits, beyond guessing, in 22 base64url characters. */
export const SIGNATURE_BYTES = 16;
const SIGNATURE_LENGTH = Math.ceil((SIGNATURE_BYTES * 4) / 3);

/**
 * What is signed: the balancer, the cookie and the route, so that a value issued by another balancer (or for another
 * cookie name) sharing the key file does not verify here. Joined by spaces, which none of them may hold (a balancer
 * name has no whitespace, a cookie name is a token, an issued route a cookie value), so no two triples sign alike.
 */
function signature(key: Uint8Array, balancer: string, name: string, route: string): string {
  return createHmac('sha256', key).update(`${balancer} ${name} ${route}`).digest().subarray(0, SIGNATURE_BYTES).toString('base64url');
}

/** `route`, or `route.signature` with a key. */
export function cookieValue(balancer: string, cookie: BalancerCookieConfig, route: string): string {
  return cookie.key ? `${route}.${signature(cookie.key, balancer, cookie.name, route)}` : route;
}

/**
 * The route a cookie value names, or undefined when it must not be obeyed: with a key, a value without a signature,
 * or whose signature is not the route's. Routes may hold dots; base64url never does, so the last one splits.
 */
export function verifiedRoute(balancer: string, cookie: BalancerCookieConfig, value: string): string | undefined {
  if (!cookie.key) return value;
  const dot = value.lastIndexOf('.');
  if (dot < 0) return undefined;
  const route = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1), 'latin1');
  if (given.length !== SIGNATURE_LENGTH) return undefined;
  // Compared as text, not decoded: base64url decoding forgives padding bits and stray characters.
  return timingSafeEqual(given, Buffer.from(signature(cookie.key, balancer, cookie.name, route), 'latin1')) ? route : undefined;
}

/** What a response needs to know of the request's balancer decision (Apache's BALANCER_* environment). */
export interface RouteFacts {
  BALANCER_WORKER_ROUTE?: string;
  BALANCER_ROUTE_CHANGED?: '1';
}

/**
 * The Set-Cookie field for a response whose request came without the chosen member's route (absent, unknown, or
 * another's: Apache's BALANCER_ROUTE_CHANGED); undefined when the route it had is the member's, or the member has
 * none a cookie can carry (one renamed through the manager).
 */
export function issuedCookie(balancer: Pick<BalancerConfig, 'name' | 'cookie'>, facts: RouteFacts | undefined, tls: boolean): string | undefined {
  const { cookie } = balancer;
  const route = facts?.BALANCER_WORKER_ROUTE;
  if (!cookie || facts?.BALANCER_ROUTE_CHANGED !== '1' || !route || !isCookieValue(route)) return undefined;
  const secure = cookie.sameSite === 'None' || (cookie.secure ?? tls);
  return `${cookie.name}=${cookieValue(balancer.name, cookie, route)}; Path=${cookie.path}` +
    (cookie.domain !== undefined ? `; Domain=${cookie.domain}` : '') +
    (cookie.maxAge !== undefined ? `; Max-Age=${cookie.maxAge}` : '') +
    (secure ? '; Secure' : '') +
    (cookie.httpOnly ? '; HttpOnly' : '') +
    `; SameSite=${cookie.sameSite}`;
}
