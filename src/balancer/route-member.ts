// find_route_worker (bal.c:201-270; docs/apache-semantics.md#finding-the-routes-member): the member a session route points at.
import { isUsable, Status } from './status.ts';
import { dueRecovery, retryMember } from './recovery.ts';
import type { MemberView } from './member-view.ts';

function usableAfterRetry(view: MemberView, m: number): boolean {
  if (isUsable(view.state.status(m))) return true;
  retryMember(view, m);
  return isUsable(view.state.status(m));
}

/** What usableAfterRetry would answer, changing nothing: a member due back from its error counts as back. */
function usableIfRetried(view: MemberView, m: number): boolean {
  const bits = view.state.status(m);
  return isUsable(dueRecovery(view, m) === undefined ? bits : bits & ~Status.IN_ERROR);
}

/**
 * Non-standby members first, then hot standbys, each pass in configuration order. A standby is reached by its
 * route even while the primaries are healthy, and a draining member keeps its sessions, both on purpose (docs/apache-semantics.md#finding-the-routes-member).
 * An unusable member hands over to its `redirect` route; `depth` stops redirect cycles after one hop per member.
 * Returns -1 when no usable member answers to the route.
 */
export function findRouteMember(view: MemberView, route: string, depth = 1, usable = usableAfterRetry): number {
  const { members, state } = view;
  for (const standbyPass of [false, true]) {
    for (let m = 0; m < members.length; m++) {
      const member = members[m];
      if (member === undefined || member.route === '' || member.route !== route) continue;
      if (((state.status(m) & Status.HOT_STANDBY) !== 0) !== standbyPass) continue;
      if (usable(view, m)) return m;
      if (member.redirect === '' || depth >= members.length) continue;
      // Whatever the recursion returns is already usable, so Apache's second retry on it never changes anything.
      const redirected = findRouteMember(view, member.redirect, depth + 1, usable);
      if (redirected >= 0) return redirected;
    }
  }
  return -1;
}

/** The member findRouteMember would give now, without taking any member out of its error state. */
export function peekRouteMember(view: MemberView, route: string): number {
  return findRouteMember(view, route, 1, usableIfRetried);
}
