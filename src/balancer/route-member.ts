// find_route_worker (bal.c:201-270; apache-balancer-semantics.md §2.3): the member a session route points at.
import { isUsable, Status } from './status.ts';
import { retryMember } from './recovery.ts';
import type { Pool } from './pool.ts';

function usableAfterRetry(pool: Pool, m: number): boolean {
  if (isUsable(pool.state.status(m))) return true;
  retryMember(pool, m);
  return isUsable(pool.state.status(m));
}

/**
 * Non-standby members first, then hot standbys, each pass in configuration order. A standby is reached by its
 * route even while the primaries are healthy, and a draining member keeps its sessions, both on purpose (§2.3).
 * An unusable member hands over to its `redirect` route; `depth` stops redirect cycles after one hop per member.
 * Returns -1 when no usable member answers to the route.
 */
export function findRouteMember(pool: Pool, route: string, depth = 1): number {
  const { members, state } = pool;
  for (const standbyPass of [false, true]) {
    for (let m = 0; m < members.length; m++) {
      const member = members[m];
      if (member === undefined || member.route === '' || member.route !== route) continue;
      if (((state.status(m) & Status.HOT_STANDBY) !== 0) !== standbyPass) continue;
      if (usableAfterRetry(pool, m)) return m;
      if (member.redirect === '' || depth >= members.length) continue;
      // Whatever the recursion returns is already usable, so Apache's second retry on it never changes anything.
      const redirected = findRouteMember(pool, member.redirect, depth + 1);
      if (redirected >= 0) return redirected;
    }
  }
  return -1;
}
