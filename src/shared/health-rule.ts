// Whether a group of instances takes a member out, from each instance's own health verdict on it: the rule of
// `shared-state.health-rule`. Pure: what the instances published is read from Redis (group-reports.ts).
import { HEALTH_RULES, type HealthRule } from '../config/model.ts';

export { HEALTH_RULES, type HealthRule };

/** `text` as a health rule, or what is wrong with it. */
export function parseHealthRule(text: string): HealthRule | { error: string } {
  return (HEALTH_RULES as readonly string[]).includes(text)
    ? (text as HealthRule)
    : { error: `"${text}" is not a health rule; expected local, any or quorum` };
}

/** What another instance said about one member, and when it last said anything (its heartbeat). */
export interface Verdict {
  instance: string;
  down: boolean;
  /** Milliseconds, on the clock `now` is read from (Redis's, so that the instances' clocks do not matter). */
  heartbeat: number;
}

/**
 * Whether the member is out on this instance. `local` is this instance's own verdict; `others` are the other
 * instances' verdicts; one whose heartbeat is older than `ttlMs` at `now` has stopped (or lost Redis) and does not
 * count. local: this instance's verdict alone. any: out when this instance or any live other sees it down.
 * quorum: out when more than half of the live instances, this one included, see it down.
 */
export function memberDown(rule: HealthRule, local: boolean, others: readonly Verdict[], now: number, ttlMs: number): boolean {
  if (rule === 'local') return local;
  const live = others.filter((v) => now - v.heartbeat <= ttlMs);
  const down = live.filter((v) => v.down).length + (local ? 1 : 0);
  if (rule === 'any') return down > 0;
  return 2 * down > live.length + 1;
}
