// lbmethod=bybusyness (bybusy.c:28-58; docs/apache-semantics.md#bybusyness): fewest requests in flight, and
// among equals the byrequests credit decides.
import { findBestByCredit } from './lbstatus.ts';
import type { FindBest } from './select.ts';

export const findBestByBusyness: FindBest = (view) =>
  findBestByCredit(view, (m, best) => {
    const { state } = view;
    const busy = state.busy(m);
    const bestBusy = state.busy(best);
    return busy < bestBusy || (busy === bestBusy && state.lbstatus(m) > state.lbstatus(best));
  });
