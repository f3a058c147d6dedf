// What every selection step looks at: the configured members, their shared state, and the time of the request.
// Built once per attempt, so one "now" serves every retry check of the decision; Apache reads the clock per
// check, microseconds apart, which no retry interval can tell apart.
import type { MemberConfig } from '../config/model.ts';
import type { Recovery } from './recovery-line.ts';
import type { BalancerState } from './state.ts';

export interface MemberView {
  readonly members: readonly MemberConfig[];
  readonly state: BalancerState;
  /** Milliseconds, the same clock as the error times stored in the state. */
  readonly now: number;
  /** The balancer's slowstart ramp (ms); 0 or undefined: none. */
  readonly slowStart?: number;
  /** Told once when a member leaves the error state, with what took it out. */
  readonly recovered?: (m: number, why: Recovery) => void;
}
