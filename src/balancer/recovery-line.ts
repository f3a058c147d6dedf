// The line that tells the operator a member is back in service, and why: a member that comes back unasked for is
// the first thing to explain when traffic shifts, and "after its retry time" is wrong when the balancer forced it.
// Health checks tell their own passes (health/checker.ts), with the count of passes that brought the member back.

/** What brought a member back. */
export type Recovery =
  /** A request looked at it after its retry time had passed (Apache's ap_proxy_retry_worker). */
  | { kind: 'retry'; retryMs: number }
  /** It ignores errors (+I), so the first request to look at it takes it back. */
  | { kind: 'ignore-errors' }
  /** Every member was in error, so forcerecovery took them all back at once (bal.c force_recovery). */
  | { kind: 'forced' }
  /** An operator enabled it through the balancer manager. */
  | { kind: 'manager'; user: string; ip: string };

function why(recovery: Recovery): string {
  switch (recovery.kind) {
    case 'retry':
      return `its retry time of ${recovery.retryMs / 1000} s passed`;
    case 'ignore-errors':
      return 'it ignores errors (status +I)';
    case 'forced':
      return 'forced recovery, every member was in error (forcerecovery)';
    case 'manager':
      return `enabled through the manager by ${recovery.user === '-' ? 'an anonymous user' : recovery.user} (${recovery.ip})`;
  }
}

/** `balancer://name: member URL is back: why`, with the slow start ramp when the balancer has one. */
export function recoveryLine(balancer: string, url: string, recovery: Recovery, slowStartMs = 0): string {
  const ramp = slowStartMs > 0 ? `; its share ramps up over ${slowStartMs / 1000} s` : '';
  return `balancer://${balancer}: member ${url} is back: ${why(recovery)}${ramp}`;
}
