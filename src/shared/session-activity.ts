// A draining member's session activity across a group of instances: each instance sees only the sessions whose
// requests it routed, so the group's view (for the drain view, stop-when-idle and `rollout`) is the sum of the live
// instances' active counts and the latest of their last requests. Pure: what the instances published is read from
// Redis beside the health verdicts, on Redis's clock.

/** What one instance said about one draining member, and when it last said anything (its heartbeat). */
export interface InstanceActivity {
  instance: string;
  /** Sessions that sent a request through that instance within the member's active window. */
  active: number;
  /** Milliseconds since the epoch of the last such request; null when none. */
  lastRequestAt: number | null;
  heartbeat: number;
}

export interface Activity {
  active: number;
  lastRequestAt: number | null;
}

/**
 * This instance's activity merged with the other instances' whose heartbeat is at most `ttlMs` old at `now`. A
 * session whose requests came through two instances counts twice: the sum errs towards "still active", the side
 * on which stop-when-idle must err, since it may stop a member only when no instance has seen a request.
 */
export function groupActivity(local: Activity, others: readonly InstanceActivity[], now: number, ttlMs: number): Activity {
  return others.filter((other) => now - other.heartbeat <= ttlMs).reduce(addActivity, local);
}

/** Two views of a member's sessions together: their counts added, the later of their last requests. */
export function addActivity(a: Activity, b: Activity): Activity {
  const later = b.lastRequestAt !== null && (a.lastRequestAt === null || b.lastRequestAt > a.lastRequestAt);
  return { active: a.active + b.active, lastRequestAt: later ? b.lastRequestAt : a.lastRequestAt };
}
