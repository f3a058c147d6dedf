// lbmethod=bytraffic (bytraf.c:28-67; docs/apache-semantics.md#bytraffic): fewest bytes moved, weighted by
// lbfactor. lbstatus plays no part. Bytes are counted in both directions, as Apache's AJP/h2 handlers do.
import { getBestMember, type FindBest } from './select.ts';
import { effectiveFactor } from './slowstart.ts';

export const findBestByTraffic: FindBest = (view) => {
  const { state } = view;
  let minTraffic = 0;
  return getBestMember(view, (m, best) => {
    const factor = effectiveFactor(view, m);
    // Two separate integer divisions, as in C: rounding each term can tie members a single division would not.
    const traffic = Math.trunc(state.transferred(m) / factor) + Math.trunc(state.read(m) / factor);
    if (best >= 0 && traffic >= minTraffic) return false;
    minTraffic = traffic;
    return true;
  });
};
