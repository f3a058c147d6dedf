// lbmethod=byrequests (byreq.c:28-36, 83-94; docs/apache-semantics.md#byrequests).
import { findBestByCredit } from './lbstatus.ts';
import type { FindBest } from './select.ts';

// Strict '>': on equal credit the member first in configuration order keeps the pick.
export const findBestByRequests: FindBest = (view) =>
  findBestByCredit(view, (m, best) => view.state.lbstatus(m) > view.state.lbstatus(best));
