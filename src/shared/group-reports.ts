// What the instances of a group tell each other about the members, beside the journal: each instance's own health
// verdicts (for `shared-state.health-rule`) and its draining members' session activity (for the drain view and
// stop-when-idle). Every period an instance writes what it has now and reads everyone's, in one script run in
// Redis, stamped with Redis's clock so that the instances' clocks do not matter. An instance that stops saying
// anything (stopped, or cut off from Redis) is ignored once its heartbeat is REPORT_TTL_MS old. Without Redis, the
// others are taken as silent: every rule then falls back to this instance's own verdict and activity.
import { memberDown, type HealthRule, type Verdict } from './health-rule.ts';
import { groupActivity, type Activity, type InstanceActivity } from './session-activity.ts';
import { memberKey, readReports, reportField, type Report } from './report-hash.ts';
import type { SharedKeys } from './keys.ts';
import type { RedisConnection } from './connection.ts';
import type { BalancerConfig } from '../config/model.ts';

/** The longest period: an instance says something at least this often. */
export const REPORT_PERIOD_MAX_MS = 1_000;
const REPORT_PERIOD_MIN_MS = 100;
/** Three longest periods without a word: the instance is taken as gone. */
export const REPORT_TTL_MS = 3 * REPORT_PERIOD_MAX_MS;
/** Fields of instances gone this long are deleted, and the hash itself expires after this without any write. */
const FORGET_MS = 10 * REPORT_TTL_MS;

// KEYS[1] the hash; ARGV[1] this instance's field prefix, ARGV[2] FORGET_MS, then field, JSON pairs. Deletes this
// instance's fields it no longer reports and every field FORGET_MS old, writes the pairs stamped with Redis's
// time, and answers that time and the whole hash.
const PUBLISH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fresh = {}
for i = 3, #ARGV, 2 do fresh[ARGV[i]] = true end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local at = tonumber(string.match(all[i + 1], '^(%d+) '))
  local mine = string.sub(all[i], 1, #ARGV[1]) == ARGV[1]
  if (mine and not fresh[all[i]]) or not at or now - at > tonumber(ARGV[2]) then redis.call('HDEL', KEYS[1], all[i]) end
end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], string.format('%d', now) .. ' ' .. ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {string.format('%d', now), redis.call('HGETALL', KEYS[1])}`;

/** What this instance says now: its verdict on each checked member, its activity on each draining one. */
export interface LocalReports {
  verdicts: Array<{ balancer: string; member: string; down: boolean }>;
  activity: Array<{ balancer: string; member: string } & Activity>;
}

/** About the shortest health-check interval of `balancers`, within bounds: verdicts travel as often as they change. */
export function reportPeriod(balancers: readonly BalancerConfig[]): number {
  const shortest = Math.min(...balancers.flatMap((b) => b.members.map((m) => m.healthCheck?.interval ?? REPORT_PERIOD_MAX_MS)));
  return Math.min(REPORT_PERIOD_MAX_MS, Math.max(REPORT_PERIOD_MIN_MS, shortest));
}

interface Heard {
  /** Redis's time at the last read, and this process's clock then: Redis's time now is estimated from them. */
  redisNow: number;
  readAt: number;
  byMember: Map<string, Report[]>;
}

export class GroupReports {
  private readonly heard: Record<'health' | 'activity', Heard | undefined> = { health: undefined, activity: undefined };
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastProblem = '';

  private readonly connection: RedisConnection;
  private readonly keys: SharedKeys;
  private readonly instance: string;
  readonly rule: HealthRule;
  private readonly local: () => LocalReports;
  private readonly log: (line: string) => void;
  /** Changes with the configuration: the shortest health-check interval in force decides it. */
  period: number;

  constructor(connection: RedisConnection, keys: SharedKeys, instance: string, rule: HealthRule, local: () => LocalReports, log: (line: string) => void) {
    this.connection = connection;
    this.keys = keys;
    this.instance = instance;
    this.rule = rule;
    this.local = local;
    this.log = log;
    this.period = REPORT_PERIOD_MAX_MS;
  }

  start(): void {
    const turn = (): void => {
      void this.exchange().finally(() => {
        if (!this.closed) this.timer = setTimeout(turn, this.period).unref();
      });
    };
    turn();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  /** Whether member is out on this instance, from its own verdict `local` and the others' per the rule. */
  memberDown(balancer: string, member: string, local: boolean): boolean {
    if (this.rule === 'local') return local;
    const { now, reports } = this.others('health', balancer, member);
    const verdicts = reports.map((r): Verdict => ({ instance: r.instance, heartbeat: r.heartbeat, down: (r.value as { down?: unknown }).down === true }));
    return memberDown(this.rule, local, verdicts, now, REPORT_TTL_MS);
  }

  /** A draining member's activity over the live instances, from this instance's `local`. */
  activity(balancer: string, member: string, local: Activity): Activity {
    const { now, reports } = this.others('activity', balancer, member);
    const others = reports.flatMap((r): InstanceActivity[] => {
      const v = r.value as { active?: unknown; lastRequestAt?: unknown };
      if (typeof v.active !== 'number' || (v.lastRequestAt !== null && typeof v.lastRequestAt !== 'number')) return [];
      return [{ instance: r.instance, heartbeat: r.heartbeat, active: v.active, lastRequestAt: v.lastRequestAt }];
    });
    return groupActivity(local, others, now, REPORT_TTL_MS);
  }

  /** The other instances' reports on a member, and Redis's time now; none while Redis is unreachable. */
  private others(kind: 'health' | 'activity', balancer: string, member: string): { now: number; reports: Report[] } {
    const heard = this.heard[kind];
    if (heard === undefined || !this.connection.connected) return { now: 0, reports: [] };
    return { now: heard.redisNow + (Date.now() - heard.readAt), reports: heard.byMember.get(memberKey(balancer, member)) ?? [] };
  }

  private async exchange(): Promise<void> {
    if (!this.connection.connected) return;
    const { verdicts, activity } = this.local();
    try {
      await Promise.all([
        this.publish('health', verdicts.map(({ balancer, member, down }) => [reportField(this.instance, balancer, member), JSON.stringify({ down })])),
        this.publish('activity', activity.map(({ balancer, member, active, lastRequestAt }) => [reportField(this.instance, balancer, member), JSON.stringify({ active, lastRequestAt })])),
      ]);
      this.lastProblem = '';
    } catch (err) {
      const problem = (err as Error).message;
      if (problem !== this.lastProblem) this.log(`stickler: shared state: cannot exchange health verdicts and session activity (${problem}); each instance goes on its own until it can`);
      this.lastProblem = problem;
    }
  }

  private async publish(kind: 'health' | 'activity', pairs: string[][]): Promise<void> {
    const readAt = Date.now();
    const reply = await this.connection.commands.sendCommand(['EVAL', PUBLISH, '1', this.keys[kind], reportField(this.instance, '', '').slice(0, -1), String(FORGET_MS), ...pairs.flat()]);
    const read = readReports(reply, this.instance);
    if ('problem' in read) throw new Error(read.problem);
    this.heard[kind] = { redisNow: read.now, readAt, byMember: read.byMember };
  }
}
