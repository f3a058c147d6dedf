// lbstatus, Apache's weighted-round-robin credit (docs/apache-semantics.md#byrequests): each considered member
// gains its lbfactor, the chosen one pays back the total, so the sum over the considered set stays constant.
import { getBestMember } from './select.ts';
import { isUsable } from './status.ts';
import type { MemberView } from './member-view.ts';
import { effectiveFactor } from './slowstart.ts';

/**
 * Runs the shared loop with the credit step of byrequests and bybusyness: every candidate the loop looks at
 * gets `lbstatus += lbfactor` before `prefer` compares it with the best so far.
 */
export function findBestByCredit(view: MemberView, prefer: (m: number, best: number) => boolean): number {
  const { state } = view;
  let total = 0;
  const best = getBestMember(view, (m, current) => {
    const factor = effectiveFactor(view, m);
    state.addLbstatus(m, factor);
    total += factor;
    return current < 0 || prefer(m, current);
  });
  if (best >= 0) state.addLbstatus(best, -total);
  return best;
}

/**
 * The default updatelbstatus of a request routed by its session (bal.c:503-529): every usable member of the
 * balancer, whatever its lbset, standby, spare or drain bits, is credited; the routed member pays the total.
 * None of Apache's three methods override it, so sticky traffic shifts the next balanced picks.
 */
export function creditStickyPick(view: MemberView, routed: number): void {
  const { state } = view;
  let total = 0;
  for (let m = 0; m < view.members.length; m++) {
    if (!isUsable(state.status(m))) continue;
    const factor = state.lbfactor(m);
    state.addLbstatus(m, factor);
    total += factor;
  }
  state.addLbstatus(routed, -total);
}
