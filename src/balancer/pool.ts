// What every selection step looks at: the configured members, their shared state, and the time of the request.
// Built once per request attempt, so "now" is fixed for the whole decision as in Apache (one apr_time_now()
// per retry check is close enough: the checks of one request run within microseconds).
import type { MemberConfig } from '../config/model.ts';
import type { BalancerState } from './state.ts';

export interface Pool {
  readonly members: readonly MemberConfig[];
  readonly state: BalancerState;
  /** Milliseconds, the same clock as the error times stored in the state. */
  readonly now: number;
}
