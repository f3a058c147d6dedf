// `stickler rollout`'s decisions, apart from its I/O (rollout.ts): which members it restarts and in which order,
// the command line for each, when a drained member counts as idle, the progress line with its estimate, and
// what a failure leaves to undo.
import type { BalancerOverview, MemberOverview } from '../manager/model.ts';

export interface PlannedMember {
  url: string;
  route: string;
  /** The --exec command with {route} and {url} put in, each quoted for sh. */
  command: string;
}

export interface RolloutPlan {
  members: PlannedMember[];
  /** Members left alone, with why: the operator already took them out. */
  skipped: Array<{ url: string; why: string }>;
}

/** `value` as one sh word, whatever it holds. */
export const shellQuote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

/** `template` with every {route} and {url} replaced by the member's, quoted for sh. */
export function commandFor(template: string, member: { route: string; url: string }): string {
  return template.replace(/\{(route|url)\}/g, (_, name: 'route' | 'url') => shellQuote(member[name]));
}

/** What keeps a member out of the rollout: one already drained, disabled, stopped or on standby is the operator's. */
function heldBack(m: MemberOverview): string | undefined {
  const s = m.status;
  if (s.stopped) return 'stopped';
  if (s.disabled) return 'disabled';
  if (s.drain) return 'already draining';
  if (s.hotStandby || s.hotSpare) return 'a standby';
  return undefined;
}

/** The members of `balancer` to restart, in the order configured, one at a time. */
export function planRollout(balancer: BalancerOverview, template: string): RolloutPlan {
  const plan: RolloutPlan = { members: [], skipped: [] };
  for (const m of balancer.members) {
    const why = heldBack(m);
    if (why !== undefined) plan.skipped.push({ url: m.url, why });
    else plan.members.push({ url: m.url, route: m.route, command: commandFor(template, m) });
  }
  return plan;
}

/** Why the plan cannot be carried out without taking the whole balancer down, or undefined. */
export function planProblem(balancer: BalancerOverview, plan: RolloutPlan): string | undefined {
  if (plan.members.length === 0) return `balancer://${balancer.name} has no member in service to restart`;
  const serving = balancer.members.filter((m) => heldBack(m) === undefined).length;
  if (serving < 2) return `balancer://${balancer.name} has one member in service: draining it would leave no member for new sessions`;
  return undefined;
}

/**
 * Whether a member drained since `drainedAt` is idle at `now`: none of its sessions sent a request for `idleMs`.
 * `lastRequestAt` is the newest request the manager remembers within `windowMs`, or null for none; then every
 * session has been idle for the window at least, and for longer only as far as the polling since the drain saw.
 */
export function isIdle(lastRequestAt: number | null, drainedAt: number, idleMs: number, windowMs: number, now: number): boolean {
  if (lastRequestAt !== null) return now - lastRequestAt >= idleMs;
  return idleMs <= windowMs || now - drainedAt >= idleMs - windowMs;
}

/** How long the members not yet restarted should take, from those that were; undefined before the first. */
export function estimateMs(doneMs: readonly number[], remaining: number): number | undefined {
  if (doneMs.length === 0) return undefined;
  return Math.round((doneMs.reduce((a, b) => a + b, 0) / doneMs.length) * remaining);
}

/** `83 s`, `4 min 10 s`. */
export function formatSpan(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

export interface StepTimes {
  /** From drain to idle (or the maximum wait). */
  drainMs: number;
  commandMs: number;
  /** From the command's end to the member usable again. */
  backMs: number;
}

/** The line printed once member `index` (0-based) of `total` is back in service. */
export function progressLine(index: number, total: number, member: PlannedMember, times: StepTimes, doneMs: readonly number[]): string {
  const took = times.drainMs + times.commandMs + times.backMs;
  const left = estimateMs(doneMs, total - index - 1);
  const rest = index + 1 === total ? 'done' : left === undefined ? 'no estimate yet' : `about ${formatSpan(left)} left`;
  return `[${index + 1}/${total}] ${member.route || '(no route)'} ${member.url} restarted in ${formatSpan(took)} ` +
    `(idle after ${formatSpan(times.drainMs)}, command ${formatSpan(times.commandMs)}, back after ${formatSpan(times.backMs)}); ${rest}`;
}

/** The plan as --dry-run prints it. */
export function planText(balancer: BalancerOverview, plan: RolloutPlan, opts: { idleMs: number; maxWaitMs: number; healthTimeoutMs: number }): string {
  const lines = [`rollout of balancer://${balancer.name}, one member at a time:`];
  plan.members.forEach((m, i) => {
    lines.push(`  ${i + 1}. ${m.route || '(no route)'} ${m.url}`);
    lines.push(`     drain; wait until no session sent a request for ${formatSpan(opts.idleMs)} (at most ${formatSpan(opts.maxWaitMs)}); disable`);
    lines.push(`     run: ${m.command}`);
    lines.push(`     wait until it answers and is not in error (at most ${formatSpan(opts.healthTimeoutMs)}); enable (slow start ramps it)`);
  });
  for (const s of plan.skipped) lines.push(`  skipped: ${s.url} (${s.why})`);
  return lines.join('\n');
}
