// The manager's JSON API as the console calls it, below the mount path the page was served from. Only edits carry
// the page's CSRF token (an HMAC of the session cookie, filled in by the server): the route query changes nothing
// and the reads are plain GETs.
import { metaContent } from './dom.js';

const BASE = metaContent('manager-base');
const CSRF = metaContent('csrf-token');

export function postEdit(edit) {
  return fetch(`${BASE}/api/v1/edits`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': CSRF },
    body: JSON.stringify(edit),
  });
}

export function queryRoute(balancer, session) {
  return fetch(`${BASE}/api/v1/route`, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ balancer, session }),
  });
}

export function readAudit() {
  return fetch(`${BASE}/api/v1/audit`, { credentials: 'same-origin' });
}

/** The pushed snapshots: one ManagerOverview per message. */
export function openEvents() {
  return new EventSource(`${BASE}/api/v1/events`);
}
