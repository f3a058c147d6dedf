// Active health checks (mod_proxy_hcheck): every member with a health check is probed on its own timer, one
// check at a time, and its HC_FAIL bit in the shared balancer state follows the results, so every worker thread
// skips a failed member from its next pick. Run it once per process, where the states are: a check per member,
// not per worker.
import type { BalancerConfig, HealthCheckConfig, MemberConfig } from '../config/model.ts';
import type { BalancerState } from '../balancer/state.ts';
import { FAILED, failHealthCheck, passHealthCheck } from '../balancer/member-status.ts';
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
}

/**
 * Consecutive results of one member's checks. They count towards the threshold of the state the member is in,
 * and start again whenever that state changes, whoever changed it (a check, a request, the manager).
 */
export class CheckCounter {
  passes = 0;
  fails = 0;
  private failed = false;

  /**
   * Counts one outcome for member `m`; at `fails` failures in a row sets HC_FAIL, at `passes` passes in a row
   * clears HC_FAIL and IN_ERROR (as httpd does) and starts the member's slow start. Returns the line to log when
   * the member changed state. Disabled and stopped members are checked too, but only the operator clears D and S.
   */
  record(target: HealthTarget, m: number, check: HealthCheckConfig, outcome: ProbeOutcome, now: number): string | undefined {
    // Out of descriptors here (see upstream/exhaustion.ts): neither a pass nor a failure of the member.
    if (!outcome.ok && outcome.local) return undefined;
    const { state, balancer } = target;
    // Passes are counted while the member is out, whether its own check or a request took it out.
    const failed = (state.status(m) & FAILED) !== 0;
    if (failed !== this.failed) {
      this.failed = failed;
      this.passes = 0;
      this.fails = 0;
    }
    const who = `health: balancer://${balancer.name} member ${balancer.members[m]?.url}`;
    if (!failed) {
      if (outcome.ok) {
        this.fails = 0;
        return undefined;
      }
      if (++this.fails < check.fails) return undefined;
      state.withLock(() => failHealthCheck(state, m));
      this.failed = true;
      this.fails = 0;
      return `${who} failed its health check (${outcome.reason}); taken out after ${count(check.fails, 'failure')}`;
    }
    this.passes = outcome.ok ? this.passes + 1 : 0;
    if (this.passes < check.passes) return undefined;
    state.withLock(() => passHealthCheck(state, m, now));
    this.failed = false;
    this.passes = 0;
    const bits = state.status(m);
    const held = bits & Status.STOPPED ? '; it stays stopped, as the operator set it' : bits & Status.DISABLED ? '; it stays disabled, as the operator set it' : '';
    const ramp = balancer.slowStart ? `; its share ramps up over ${balancer.slowStart / 1000} s` : '';
    return `${who} passed its health check; back in after ${count(check.passes, 'pass', 'passes')}${held || ramp}`;
  }
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function startHealthChecks(targets: HealthTarget[], options: HealthCheckOptions): { stop(): void } {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const probe = options.probe ?? probeMember;
  const timers = new Set<NodeJS.Timeout>();
  const running = new AbortController();

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
          const line = counter.record(target, m, check, outcome, now());
          if (line !== undefined) options.log(line);
        }
        // Jitter keeps members (and balancers) that share an interval from being checked in step.
        schedule(interval * (0.9 + 0.2 * random()), turn);
      };
      schedule(interval * random(), turn);
    });
  }

  return {
    stop(): void {
      running.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
