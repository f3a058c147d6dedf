// Cross-site request forgery defences of the manager's JSON API. A browser sends cookies and Basic credentials
// to any site that asks, so a state change must prove it came from the console itself: a token bound to the
// console's session (an HMAC of the session cookie, so no server-side table is needed and every worker thread
// agrees), an Origin that is ours, and Sec-Fetch-Site that is not cross-site. Scripts that authenticate with a
// bearer token are not at risk (browsers never add that header on their own) and skip these checks.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { getHeader, type HeaderList } from '../http/head.ts';

export const SESSION_COOKIE = 'stickler_manager';

export function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

export function csrfToken(secret: Buffer, session: string): string {
  return createHmac('sha256', secret).update(session).digest('base64url');
}

/** The console session id from the Cookie header, if it has one of the right shape. */
export function sessionFrom(headers: HeaderList): string | undefined {
  for (const [name, value] of headers) {
    if (name.toLowerCase() !== 'cookie') continue;
    for (const pair of value.split(';')) {
      const [key, ...rest] = pair.trim().split('=');
      const id = rest.join('=');
      if (key === SESSION_COOKIE && /^[A-Za-z0-9_-]{24}$/.test(id)) return id;
    }
  }
  return undefined;
}

export function sessionCookie(session: string, path: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${session}; Path=${path}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Why this state-changing request is refused (403), or undefined when it may go ahead. */
export function csrfProblem(headers: HeaderList, secret: Buffer, origin: string): string | undefined {
  const site = getHeader(headers, 'sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site}; changes must come from the console itself`;
  const from = getHeader(headers, 'origin');
  if (from !== undefined && from.toLowerCase() !== origin.toLowerCase()) return `Origin ${from} is not ${origin}`;
  const session = sessionFrom(headers);
  const token = getHeader(headers, 'x-csrf-token');
  if (!session || !token) return 'no console session and CSRF token (X-CSRF-Token); open the console, or authenticate with a bearer token';
  const expected = Buffer.from(csrfToken(secret, session));
  const given = Buffer.from(token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the CSRF token does not belong to this session';
  return undefined;
}
