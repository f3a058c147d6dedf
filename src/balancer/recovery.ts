// Leaving the error state (docs/apache-semantics.md#error-state-retry-and-forcerecovery): lazily, when a request looks at the member,
// and all at once by forcerecovery when every member is in error.
import { leaveError } from './member-status.ts';
import { Status } from './status.ts';
import type { MemberView } from './member-view.ts';
import type { Recovery } from './recovery-line.ts';

/**
 * What would take member m out of the error state if a request looked at it now (ap_proxy_retry_worker,
 * util.c:2391-2423); undefined when nothing would. Only E is ever cleared: D, S, C and the rest stay.
 */
export function dueRecovery(view: MemberView, m: number): Recovery | undefined {
  const bits = view.state.status(m);
  if ((bits & Status.IN_ERROR) === 0 || (bits & Status.STOPPED) !== 0) return undefined;
  if ((bits & Status.IGNORE_ERRORS) !== 0) return { kind: 'ignore-errors' };
  const retryMs = view.members[m]?.retry ?? 0;
  // Strict '>' as in Apache (which counts microseconds): with retry=0 a member is back one millisecond later.
  return view.now > view.state.errorTime(m) + retryMs ? { kind: 'retry', retryMs } : undefined;
}

/** ap_proxy_retry_worker: member m leaves the error state if its time has come. */
export function retryMember(view: MemberView, m: number): void {
  const why = dueRecovery(view, m);
  if (why) recover(view, m, why);
}

/** Member m leaves the error state now: counted, timed for slowstart, told why. */
function recover(view: MemberView, m: number, why: Recovery): void {
  leaveError(view.state, m, view.now);
  view.recovered?.(m, why);
}

/**
 * force_recovery (bal.c:414-448). The scan runs, with its retry side effects, even when forcerecovery is Off.
 * Only E counts: a member that is merely disabled or draining is "free of error" and blocks the recovery.
 */
export function forceRecovery(view: MemberView, enabled: boolean): void {
  const { state } = view;
  for (let m = 0; m < view.members.length; m++) {
    if ((state.status(m) & Status.IN_ERROR) === 0) return;
    retryMember(view, m);
    if ((state.status(m) & Status.IN_ERROR) === 0) return;
  }
  if (!enabled) return;
  for (let m = 0; m < view.members.length; m++) recover(view, m, { kind: 'forced' });
}
