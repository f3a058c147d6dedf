// What each instance says about the members (its health verdicts, its draining members' activity), as a Redis hash
// holds it: one field per instance and member, `instance LF balancer LF member`, valued `MS JSON` where MS is the
// Redis time it was last said (the instance's heartbeat) and JSON the report. Pure: group-reports.ts does the I/O.

/** The hash field of `instance`'s report on one member. */
export function reportField(instance: string, balancer: string, member: string): string {
  return `${instance}\n${balancer}\n${member}`;
}

/** One member's key in what readReports returns. */
export function memberKey(balancer: string, member: string): string {
  return `${balancer}\n${member}`;
}

export interface Report {
  instance: string;
  heartbeat: number;
  value: unknown;
}

/**
 * The reply of the publishing script, `[now, [field, value, ...]]`: Redis's time and, by member, every other
 * instance's report. Fields and values that are not Stickler's are skipped, so a stray write cannot stop the rest.
 */
export function readReports(reply: unknown, self: string): { now: number; byMember: Map<string, Report[]> } | { problem: string } {
  if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) return { problem: 'expected [time, [field, value, ...]]' };
  // Only what Redis can send is read: a string or a number (anything else could not even be turned into one).
  const time: unknown = reply[0];
  const now = typeof time === 'string' || typeof time === 'number' ? Number(time) : NaN;
  if (!Number.isFinite(now)) return { problem: `the time ${typeof time === 'string' ? time : typeof time} is not a number` };
  const byMember = new Map<string, Report[]>();
  const flat = reply[1] as unknown[];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [name, text] = [flat[i], flat[i + 1]];
    if (typeof name !== 'string' || typeof text !== 'string') continue;
    const field = name.split('\n');
    const m = /^(\d+) (.*)$/s.exec(text);
    if (field.length !== 3 || m === null || field[0] === self) continue;
    let value: unknown;
    try {
      value = JSON.parse(m[2]!);
    } catch {
      continue;
    }
    const key = memberKey(field[1]!, field[2]!);
    const list = byMember.get(key) ?? [];
    list.push({ instance: field[0]!, heartbeat: Number(m[1]), value });
    byMember.set(key, list);
  }
  return { now, byMember };
}
