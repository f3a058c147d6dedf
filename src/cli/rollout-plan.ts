// `stickler rollout`'s decisions, apart from its I/O (rollout.ts): which members it restarts and in which order,
// the command line for each, when a drained member counts as idle, the progress line with its estimate, and
// what a failure leaves to undo.
import type { BalancerOverview, MemberOverview } from '../manager/model.ts';

export interface PlannedMember {
  url: string;
  route: string;
  /** The --exec command with {route} and {url} put in, each quoted for sh: for people to read (execScript runs). */
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

/** The variables through which the script sh runs gets the member's route and URL. */
export const EXEC_ENV = { route: 'STICKLER_ROUTE', url: 'STICKLER_URL' } as const;

/**
 * What sh runs for --exec `template`: each {route} and {url} becomes a reference to a variable of EXEC_ENV, never
 * the value itself. A route is set through the manager by whoever holds a token; put into the text, quoted or not,
 * it would be read as shell syntax wherever the template puts it inside its own quotes (`"{route}"`).
 */
export function execScript(template: string): string {
  return template.replace(/\{(route|url)\}/g, (_, name: 'route' | 'url') => `"$${EXEC_ENV[name]}"`);
}

/** The environment execScript's script needs for member m, beside rollout's own. */
export function execEnv(m: Pick<PlannedMember, 'route' | 'url'>): Record<string, string> {
  return { [EXEC_ENV.route]: m.route, [EXEC_ENV.url]: m.url };
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
 * Why member m must not be drained now, read from the balancer as the manager shows it just before: the member
 * was removed or its route changed (the command would name the wrong node), someone else took it or another
 * member out since the plan (another rollout, an operator: two members would be out at once), or no other
 * member is left to take new sessions (in error, failing its health check).
 */
export function drainProblem(now: BalancerOverview, plan: RolloutPlan, m: PlannedMember): string | undefined {
  const member = now.members.find((x) => x.url === m.url);
  if (member === undefined) return `${m.url} is no longer a member of balancer://${now.name} (removed or renamed through the manager)`;
  if (member.route !== m.route) return `the route of ${m.url} changed from "${m.route}" to "${member.route}" since the rollout began`;
  const skipped = new Set(plan.skipped.map((x) => x.url));
  for (const x of now.members) {
    const why = skipped.has(x.url) ? undefined : heldBack(x);
    if (why !== undefined) return `${x.url} is ${why} since the rollout began (another rollout, or an operator): left as it is, and ${m.url} not drained`;
  }
  const serving = now.members.some((x) => x.url !== m.url && heldBack(x) === undefined && !x.status.error && !x.status.healthCheckFailed);
  if (!serving) return `no other member of balancer://${now.name} is serving (in error or failing its health check): draining ${m.url} would leave none for new sessions`;
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
