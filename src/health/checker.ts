// Active health checks (mod_proxy_hcheck): every member with a health check is probed on its own timer, one
// check at a time, and its HC_FAIL bit in the shared balancer state follows the results, so every worker thread
// skips a failed member from its next pick. Run it once per process, where the states are: a check per member,
// not per worker.
import type { BalancerConfig, HealthCheckConfig, MemberConfig } from '../config/model.ts';
import type { BalancerState } from '../balancer/state.ts';
import { failHealthCheck, passHealthCheck } from '../balancer/member-status.ts';
import { Status } from '../balancer/status.ts';
import type { MemberPool } from '../upstream/pool.ts';
import { conditionOf, probeMember, type ProbeOutcome } from './probe.ts';

export interface HealthTarget {
  balancer: BalancerConfig;
  state: BalancerState;
  /** By member index, as `balancer.members`: checks connect as traffic does. */
  pools: MemberPool[];
}

/** One check of one member; it must settle (never reject) and give up when `signal` aborts. */
export type Probe = (member: MemberConfig, check: HealthCheckConfig, pool: MemberPool, signal: AbortSignal) => Promise<ProbeOutcome>;

export interface HealthCheckOptions {
  /** State changes, one line each, without the `stickler: ` prefix. */
  log: (line: string) => void;
  /** Clock for the recovery time slow start ramps from; default Date.now. */
  now?: () => number;
  /** Source of the timers' jitter, in [0, 1); default Math.random. */
  random?: () => number;
  /** The check itself; default probeMember (a real connection). */
  probe?: Probe;
  /** With shared state: the group's rule decides HC_FAIL from this instance's verdicts and the others'. */
  group?: HealthGroup;
}

/** This instance's own verdict on a checked member, as the group is told it. */
export interface LocalVerdict {
  balancer: string;
  member: string;
  down: boolean;
}

/** How a group of instances decides a member's HC_FAIL from each one's own verdict (shared/group-reports.ts). */
export interface HealthGroup {
  memberDown(balancer: string, member: string, local: boolean): boolean;
}

/**
 * Consecutive results of one member's checks, and this instance's own verdict on it. The results count towards
 * the threshold of the state the member is in here (down by its own checks, or in error by a request), and start
 * again whenever that state changes, whoever changed it. The verdict is kept here, apart from the member's HC_FAIL
 * bit: with shared state HC_FAIL is the group's verdict, and were it read back as this instance's own, a member
 * the others take out would be counted as failed here too and the two would pull the bit back and forth.
 */
export class CheckCounter {
  passes = 0;
  fails = 0;
  /** This instance's own verdict: down after `fails` failures in a row, up again after `passes` passes. */
  down = false;
  private out = false;
  private started = false;

  /**
   * Counts one outcome for member `m`, then sets or clears its HC_FAIL as `group` decides from the verdict (alone
   * without a group). Coming back clears IN_ERROR too (as httpd does) and starts the member's slow start. Returns
   * the line to log when the member changed state. Disabled and stopped members are checked too, but only the
   * operator clears D and S.
   */
  record(target: HealthTarget, m: number, check: HealthCheckConfig, outcome: ProbeOutcome, now: number, group?: HealthGroup): string | undefined {
    // A member the configuration starts failed (status C) is down by this instance's verdict until it passes.
    if (!this.started) this.down = this.out = (target.state.status(m) & Status.HC_FAIL) !== 0;
    this.started = true;
    // Out of descriptors here (see upstream/exhaustion.ts): neither a pass nor a failure of the member.
    if (!outcome.ok && outcome.local) return this.settle(target, m, now, group);
    // Passes are counted while the member is out here, whether its own check or a request took it out.
    const out = this.down || (target.state.status(m) & Status.IN_ERROR) !== 0;
    if (out !== this.out) {
      this.out = out;
      this.passes = 0;
      this.fails = 0;
    }
    if (!out) {
      if (outcome.ok) this.fails = 0;
      else if (++this.fails >= check.fails) {
        this.down = this.out = true;
        this.fails = 0;
        return this.settle(target, m, now, group, `failed its health check (${outcome.reason}); taken out after ${count(check.fails, 'failure')}`);
      }
      return this.settle(target, m, now, group);
    }
    this.passes = outcome.ok ? this.passes + 1 : 0;
    if (this.passes < check.passes) return this.settle(target, m, now, group);
    this.down = this.out = false;
    this.passes = 0;
    return this.settle(target, m, now, group, `passed its health check; back in after ${count(check.passes, 'pass', 'passes')}`, true);
  }

  /** HC_FAIL made what the rule says; `why` is this instance's own change, `cameBack` that it just passed. */
  private settle(target: HealthTarget, m: number, now: number, group: HealthGroup | undefined, why?: string, cameBack = false): string | undefined {
    const { state, balancer } = target;
    const url = balancer.members[m]?.url ?? '';
    const down = group ? group.memberDown(balancer.name, url, this.down) : this.down;
    const marked = (state.status(m) & Status.HC_FAIL) !== 0;
    const who = `health: balancer://${balancer.name} member ${url}`;
    if (down && !marked) {
      state.withLock(() => failHealthCheck(state, m));
      return `${who} ${why && this.down ? why : 'is seen down by other instances of the group (shared-state health-rule); taken out'}`;
    }
    if (!down && (marked || cameBack)) {
      state.withLock(() => passHealthCheck(state, m, now));
      const bits = state.status(m);
      const held = bits & Status.STOPPED ? '; it stays stopped, as the operator set it' : bits & Status.DISABLED ? '; it stays disabled, as the operator set it' : '';
      const ramp = balancer.slowStart ? `; its share ramps up over ${balancer.slowStart / 1000} s` : '';
      return `${who} ${cameBack ? why : 'is no longer seen down by the group (shared-state health-rule); back in'}${held || ramp}`;
    }
    if (why !== undefined) return `${who} ${why.replace(/; (taken out|back in) after/, '; by this instance alone, after')}; the group keeps it ${down ? 'out' : 'in'} (shared-state health-rule)`;
    return undefined;
  }
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function startHealthChecks(targets: HealthTarget[], options: HealthCheckOptions): { stop(): void; verdicts(): LocalVerdict[] } {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const probe = options.probe ?? probeMember;
  const timers = new Set<NodeJS.Timeout>();
  const running = new AbortController();
  const verdicts: Array<{ target: HealthTarget; m: number; counter: CheckCounter }> = [];

  const schedule = (delay: number, run: () => Promise<void>) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      void run();
    }, delay);
    timer.unref();
    timers.add(timer);
  };

  for (const target of targets) {
    target.balancer.members.forEach((first, m) => {
      if (first.healthCheck === undefined) return;
      // Now, as the configuration loads: building a condition's automaton can take tens of milliseconds, which its
      // first check would take from the thread that serves.
      if (first.healthCheck.expr !== undefined) conditionOf(first.healthCheck.expr);
      const counter = new CheckCounter();
      verdicts.push({ target, m, counter });
      let interval = first.healthCheck.interval;
      // The member's configuration is read at every turn: the manager may change it while checks run.
      const turn = async (): Promise<void> => {
        const member = target.balancer.members[m];
        const check = member?.healthCheck;
        const pool = target.pools[m];
        const removed = (target.state.status(m) & Status.FREE) !== 0;
        if (member !== undefined && check !== undefined && pool !== undefined && !removed) {
          interval = check.interval;
          const outcome = await probe(member, check, pool, running.signal).catch((err: unknown): ProbeOutcome => (
            { ok: false, reason: err instanceof Error ? err.message : String(err) }
          ));
          if (running.signal.aborted) return;
          const line = counter.record(target, m, check, outcome, now(), options.group);
          if (line !== undefined) options.log(line);
        }
        // Jitter keeps members (and balancers) that share an interval from being checked in step.
        schedule(interval * (0.9 + 0.2 * random()), turn);
      };
      schedule(interval * random(), turn);
    });
  }

  return {
    verdicts: () => verdicts.flatMap(({ target, m, counter }) => {
      const member = target.balancer.members[m];
      return member === undefined || (target.state.status(m) & Status.FREE) !== 0 ? [] : [{ balancer: target.balancer.name, member: member.url, down: counter.down }];
    }),
    stop(): void {
      running.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
