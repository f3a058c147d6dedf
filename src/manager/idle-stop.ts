// Drain until empty: a draining member none of whose sessions has sent a request for its balancer's
// stop-when-idle is stopped, by an edit the audit log names "stop-when-idle". One decider per process, where
// edits are decided (the main thread with worker threads), so two threads never stop the same member. The
// decision (IdleWatch, stopVerdict) is pure; startIdleStops ticks it against the live state and submits the edits.
import { stopWhenIdleOf } from '../config/model.ts';
import { sessionMs } from '../balancer/state.ts';
import { isUsable, Status } from '../balancer/status.ts';
import { findMember, type EditTarget } from './edits.ts';
import type { Actor, Edit, EditOutcome } from './model.ts';
import type { MergeActivity } from './overview.ts';

/** Who the audit log says stopped the member. */
export const IDLE_STOP_ACTOR: Actor = { user: 'stop-when-idle', ip: '-' };

/** A draining member as the decider sees it at one tick. */
export interface DrainingMember {
  balancer: string;
  url: string;
  stopWhenIdleMs: number;
  /** Epoch ms of the newest request among its remembered sessions; null when none is remembered. */
  lastRequestAt: number | null;
  /**
   * Another live instance said, at its last report, that a session sent a request within stop-when-idle: its
   * requests since are not known here yet (reports lag by up to a period each way), so only its own word that
   * the member has been idle there lets this instance stop it.
   */
  activeElsewhere?: boolean;
  /** Identifies the balancer state it was read from: a reload starts a fresh state, whose table knows no session yet. */
  generation: unknown;
}

interface Watched {
  /** Since when it has been known idle at the earliest: when it was first seen draining, or the state was replaced. */
  since: number;
  generation: unknown;
}

/**
 * Which draining members have been idle long enough. A member is watched from the first tick that sees it
 * draining; when its balancer's state is replaced (a reload), its idle time starts again, since the new state's
 * session table cannot tell which sessions were active just before.
 */
export class IdleWatch {
  private readonly watched = new Map<string, Watched>();

  /** The members of `draining` (every member draining and not stopped now) to stop at `now`. */
  due(draining: readonly DrainingMember[], now: number): DrainingMember[] {
    const seen = new Set<string>();
    const stop: DrainingMember[] = [];
    for (const m of draining) {
      const key = `${m.balancer}\n${m.url}`;
      seen.add(key);
      let w = this.watched.get(key);
      if (w === undefined || w.generation !== m.generation) this.watched.set(key, (w = { since: now, generation: m.generation }));
      if (m.stopWhenIdleMs <= 0 || m.activeElsewhere) continue;
      const idleFrom = Math.max(w.since, m.lastRequestAt ?? 0);
      if (now - idleFrom >= m.stopWhenIdleMs) stop.push(m);
    }
    for (const key of this.watched.keys()) if (!seen.has(key)) this.watched.delete(key);
    return stop;
  }
}

/** The edit that stops a drained member: stopped, no longer draining, as an operator would leave it. */
export function idleStopEdit(m: Pick<DrainingMember, 'balancer' | 'url'>): Edit {
  return { kind: 'member', balancer: m.balancer, member: m.url, change: { status: { stopped: true, drain: false } } };
}

/**
 * Every member of `targets` draining and not stopped now, with its newest session's last request: seen here, or
 * through any live instance of the group with `merge`, so that no instance stops a member busy through another.
 */
export function drainingMembers(targets: ReadonlyMap<string, EditTarget>, merge?: MergeActivity): DrainingMember[] {
  const found: DrainingMember[] = [];
  for (const [balancer, { config, state }] of targets) {
    const stopWhenIdleMs = stopWhenIdleOf(config);
    config.members.forEach((member, slot) => {
      const bits = state.status(slot);
      if ((bits & Status.DRAIN) === 0 || (bits & (Status.STOPPED | Status.FREE)) !== 0) return;
      const newest = state.sessionsSince(slot, 0)[0];
      const local = { active: 0, lastRequestAt: newest ? sessionMs(newest.lastSeen) : null };
      const { active, lastRequestAt } = merge ? merge(balancer, member.url, local) : local;
      found.push({ balancer, url: member.url, stopWhenIdleMs, lastRequestAt, ...(active > 0 && { activeElsewhere: true }), generation: state.buffer });
    });
  }
  return found;
}

/** Ticks often enough to stop within a tenth of the shortest stop-when-idle, and at least every 30 s. */
export function tickMs(targets: ReadonlyMap<string, EditTarget>): number {
  const shortest = Math.min(...[...targets.values()].map((t) => stopWhenIdleOf(t.config)).filter((ms) => ms > 0));
  return Math.min(30_000, Math.max(1_000, Number.isFinite(shortest) ? Math.floor(shortest / 10) : 30_000));
}

/**
 * Member m, found due at a tick, read again where edits are decided, just before its stop: 'stop'; 'moot' when an
 * edit since has ended its drain or stopped it (the operator's word is the last); or why it is kept serving.
 * The last member able to take new sessions is kept: stopping it would turn away the sessions that come back
 * after stop-when-idle as well as every new one, which is the operator's call, not a timer's.
 */
export function stopVerdict(targets: ReadonlyMap<string, EditTarget>, m: Pick<DrainingMember, 'balancer' | 'url'>): 'stop' | 'moot' | { keep: string } {
  const target = targets.get(m.balancer);
  if (target === undefined) return 'moot';
  const { config, state } = target;
  const slot = findMember(target, m.url);
  if (slot < 0) return 'moot';
  const bits = state.status(slot);
  if ((bits & Status.DRAIN) === 0 || (bits & Status.STOPPED) !== 0) return 'moot';
  const serving = config.members.some((_, i) => i !== slot && (state.status(i) & (Status.FREE | Status.DRAIN)) === 0 && isUsable(state.status(i)));
  if (!serving) return { keep: 'no other member of the balancer takes new sessions (all drained, disabled, stopped or in error); it is left draining' };
  return 'stop';
}

/**
 * Where a journal entry is applied: a stop-when-idle stop that no longer applies (another instance's decider, or
 * the operator, came first: the member is stopped or no longer draining) is refused, so that the group stops a
 * member once, audited once, however many deciders found it idle.
 */
export function idleStopMoot(targets: ReadonlyMap<string, EditTarget>, edit: Edit, actor: Actor): Extract<EditOutcome, { ok: false }> | undefined {
  if (actor.user !== IDLE_STOP_ACTOR.user || actor.ip !== IDLE_STOP_ACTOR.ip || edit.kind !== 'member') return undefined;
  const verdict = stopVerdict(targets, { balancer: edit.balancer, url: edit.member });
  if (verdict === 'stop') return undefined;
  return { ok: false, status: 409, reason: verdict === 'moot' ? 'already stopped or no longer draining' : verdict.keep };
}

export interface IdleStopHost {
  /** The balancers as edits are decided on now (they change with reloads). */
  targets(): ReadonlyMap<string, EditTarget>;
  /** Runs `task` where edits are decided with no other edit meanwhile, so what it reads is what its edit changes. */
  exclusively<T>(task: () => Promise<T>): Promise<T>;
  /** Decides an edit; called within `exclusively`. */
  submit(edit: Edit, actor: Actor): Promise<EditOutcome>;
  /** A line for Stickler's log, without its `stickler: ` prefix. */
  log(line: string): void;
  /** With shared state: a member's activity over the group's live instances. */
  activity?: MergeActivity;
}

/** Runs the decider until `stop`: one tick at a time, each scheduled after the last one's edits are done. */
export function startIdleStops(host: IdleStopHost): { stop(): void } {
  const watch = new IdleWatch();
  /** Why each member due is kept, as last logged: said once, not at every tick. */
  const kept = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const stopOne = async (m: DrainingMember): Promise<void> => {
    const key = `${m.balancer}\n${m.url}`;
    const verdict = stopVerdict(host.targets(), m);
    if (verdict !== 'stop') {
      if (verdict === 'moot') kept.delete(key);
      else if (kept.get(key) !== verdict.keep) {
        kept.set(key, verdict.keep);
        host.log(`balancer://${m.balancer} member ${m.url} drained and idle but not stopped (stop-when-idle): ${verdict.keep}`);
      }
      return;
    }
    kept.delete(key);
    const outcome = await host.submit(idleStopEdit(m), IDLE_STOP_ACTOR);
    const idle = m.lastRequestAt === null ? 'no session seen' : `last request ${new Date(m.lastRequestAt).toISOString()}`;
    host.log(outcome.ok
      ? `balancer://${m.balancer} member ${m.url} drained (${idle}); stopped after ${m.stopWhenIdleMs / 1000} s without a session (stop-when-idle)`
      : `balancer://${m.balancer} member ${m.url} drained but could not be stopped: ${outcome.reason}`);
  };
  const tick = async (): Promise<void> => {
    for (const m of watch.due(drainingMembers(host.targets(), host.activity), Date.now())) await host.exclusively(() => stopOne(m));
  };
  const next = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      tick().catch((err: unknown) => host.log(`stop-when-idle: ${(err as Error)?.message ?? String(err)}`)).finally(next);
    }, tickMs(host.targets())).unref();
  };
  next();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
