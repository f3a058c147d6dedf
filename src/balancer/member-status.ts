// Every change of a member's status bits, whoever asks for it: traffic (a failed attempt, a retry time that
// passed), the health checks and the operator through the manager. Each is named for what it does to the member
// and keeps the counters that go with it, so the bits and what the manager shows of them cannot drift apart.
// Each runs under the state's lock (BalancerState.withLock), which the caller holds, so a caller that changes
// more than the status (the manager's loadfactor) changes it all in one step.
import type { StatusFlag } from '../config/model.ts';
import type { BalancerState } from './state.ts';
import { Status, statusFromFlags } from './status.ts';

/** Out of service after a failure: its health check failed, or a request put it in error. */
export const FAILED = Status.HC_FAIL | Status.IN_ERROR;

/** The bits an operator sets and clears: the manager's switches, by their `status=` letters. */
export const switchBits = (flags: readonly StatusFlag[]): number => statusFromFlags(flags) & ~Status.INITIALIZED;

/** A request failed on member m (E, with error_time = now). Returns whether this put it in error. */
export function putInError(state: BalancerState, m: number, now: number): boolean {
  state.addFailure(m, now);
  const entered = (state.status(m) & Status.IN_ERROR) === 0;
  if (entered) state.countChange(m, 'error');
  state.setErrorTime(m, now);
  state.setStatusBits(m, Status.IN_ERROR);
  return entered;
}

/** Member m leaves the error state (its retry time passed, or forcerecovery): counted and timed for slow start. */
export function leaveError(state: BalancerState, m: number, now: number): void {
  state.addRetry(m);
  state.clearStatusBits(m, Status.IN_ERROR);
  state.setRecoveredAt(m, now);
  state.countChange(m, 'recovered');
}

/** Member m failed its health check often enough to be taken out (C). */
export function failHealthCheck(state: BalancerState, m: number): void {
  state.setStatusBits(m, Status.HC_FAIL);
  state.countChange(m, 'healthCheckFailed');
}

/** Member m passed its health check often enough to come back: C and E cleared (as httpd does), slow start from now. */
export function passHealthCheck(state: BalancerState, m: number, now: number): void {
  state.clearStatusBits(m, FAILED);
  state.setRecoveredAt(m, now);
  state.countChange(m, 'healthCheckPassed');
}

/** What keeps new sessions off a member on the operator's say: drained, disabled, stopped. */
const HELD_BACK = Status.DRAIN | Status.DISABLED | Status.STOPPED;

/**
 * The operator's switches of member m become `wanted` (of `among`); error, health-check and initialised bits stay.
 * A member the operator lets take new sessions again (no longer drained, disabled or stopped) ramps up with slow
 * start from `now`, as one back from an error does: it comes back from a restart as often as not.
 */
export function setSwitches(state: BalancerState, m: number, among: readonly StatusFlag[], wanted: readonly StatusFlag[], now: number): void {
  const wasHeldBack = (state.status(m) & HELD_BACK) !== 0;
  state.clearStatusBits(m, switchBits(among));
  state.setStatusBits(m, switchBits(wanted));
  if (wasHeldBack && (state.status(m) & HELD_BACK) === 0) state.setRecoveredAt(m, now);
}

/** Member m is removed: stopped, and its slot marked free (kept so indexes stay stable). */
export function removeMember(state: BalancerState, m: number): void {
  state.setStatusBits(m, Status.STOPPED | Status.FREE);
}
