// The selection loop every lbmethod shares: proxy_balancer_get_best_worker (util.c:1375-1490,
// docs/apache-semantics.md#the-selection-loop). Methods differ only in their isBest callback.
import { isUsable, Status } from './status.ts';
import { retryMember } from './recovery.ts';
import type { MemberView } from './member-view.ts';

/**
 * Apache's is_best(cur, prev_best, baton): `best` is -1 while nothing is chosen. It is called once for every
 * candidate the loop considers, so methods may keep side effects in it (byrequests credits lbstatus there).
 */
export type IsBest = (m: number, best: number) => boolean;

/** An lbmethod's finder: the member to use, or -1. It does not count the election; the caller does. */
export type FindBest = (view: MemberView) => number;

export function getBestMember(view: MemberView, isBest: IsBest): number {
  const { state } = view;
  let best = -1;
  let maxSet = 0;
  const spares: number[] = [];
  const standbys: number[] = [];
  // maxSet grows while the first tier is scanned, so tiers are discovered rather than configured.
  for (let tier = 0; best < 0 && tier <= maxSet; tier++) {
    let unusable = 0;
    spares.length = 0;
    standbys.length = 0;
    for (let m = 0; m < view.members.length; m++) {
      const lbset = state.lbset(m);
      if (lbset > maxSet) maxSet = lbset;
      if (lbset !== tier) continue;
      let bits = state.status(m);
      if (bits & Status.DRAIN) {
        // A draining primary leaves a hole a spare may fill; a draining spare or standby is simply skipped.
        if ((bits & (Status.HOT_SPARE | Status.HOT_STANDBY)) === 0) unusable++;
        continue;
      }
      if (!isUsable(bits)) {
        retryMember(view, m);
        bits = state.status(m);
      }
      if (bits & Status.HOT_SPARE) {
        if (isUsable(bits)) spares.push(m);
      } else if (bits & Status.HOT_STANDBY) {
        if (isUsable(bits)) standbys.push(m);
      } else if (isUsable(bits)) {
        if (isBest(m, best)) best = m;
      } else {
        unusable++;
      }
    }
    // Only as many spares as there are holes, first in configuration order.
    for (let i = 0; i < spares.length && i < unusable; i++) {
      const m = spares[i] as number;
      if (isBest(m, best)) best = m;
    }
    // Standbys of this tier come before any member of the next tier.
    if (best < 0) for (const m of standbys) if (isBest(m, best)) best = m;
  }
  return best;
}
