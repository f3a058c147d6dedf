// A member back from an error or a failed health check takes new sessions gradually (HAProxy's slowstart): its
// weight grows from 1 % to its loadfactor over the balancer's slowstart time, so a node that just restarted,
// with cold caches and a fresh JVM, is not handed a full share at once. Sessions already on it are not affected.
import type { MemberView } from './member-view.ts';

/** The lbfactor a balanced pick uses for member m now: the configured one, or less while it ramps up. */
export function effectiveFactor(view: MemberView, m: number): number {
  const factor = view.state.lbfactor(m);
  const ramp = view.slowStart ?? 0;
  if (ramp <= 0) return factor;
  const since = view.now - view.state.recoveredAt(m);
  if (since >= ramp || view.state.recoveredAt(m) === 0) return factor;
  return Math.max(1, Math.floor(factor * Math.max(0.01, since / ramp)));
}
