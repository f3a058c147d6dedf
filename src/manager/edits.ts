// Manager edits: checked against the running balancers, then applied in two halves. The shared half (status bits,
// loadfactor, lbset, a new member's slot) goes into the balancer state every worker thread reads; it is done once,
// by whoever coordinates edits. The local half (routes, balancer settings, the member list) changes the plain
// configuration objects each thread holds, so every thread applies it. Both are plain functions of their inputs.
import { recoveryLine } from '../balancer/recovery-line.ts';
import { lbfactorOf, type BalancerState } from '../balancer/state.ts';
import { removeMember, setSwitches } from '../balancer/member-status.ts';
import { Status } from '../balancer/status.ts';
import { formatSticky, stopWhenIdleOf, type BalancerConfig, type MemberConfig } from '../config/model.ts';
import { parseMemberUrl } from '../proxy/member-url.ts';
import { readEdit } from './edit-input.ts';
import { SWITCH_FLAGS, type Actor, type BalancerChange, type Edit, type MemberChange, type StatusSwitch } from './model.ts';

export interface EditTarget {
  config: BalancerConfig;
  state: BalancerState;
}

/** A checked edit: the member's slot is resolved, so every thread applies it to the same member. */
export type PlannedEdit = Edit & { slot: number };

export type Planned =
  | { ok: true; edit: PlannedEdit; before: unknown; after: unknown }
  | { ok: false; status: 400 | 404 | 409; reason: string };

const SWITCH_LETTERS = Object.values(SWITCH_FLAGS);
/** Where members added through the manager say they came from, for messages about them. */
const MANAGER_SOURCE = { file: 'balancer-manager', line: 0 };

const refuse = (status: 400 | 404 | 409, reason: string): Planned => ({ ok: false, status, reason });

/** A member that is still in the balancer (a removed one keeps its slot but is gone for the operator). */
export function findMember(target: EditTarget, url: string): number {
  return target.config.members.findIndex((m, i) => m.url === url && (target.state.status(i) & Status.FREE) === 0);
}

/**
 * Checks `edit` against the balancers as they are now; says why it cannot be done, or what it will change. The edit
 * is read again (edit-input.ts) whatever brought it, and the planned edit carries only what was read.
 */
export function planEdit(targets: ReadonlyMap<string, EditTarget>, asked: Edit): Planned {
  const read = readEdit(asked);
  if (!read.ok) return refuse(400, read.reason);
  const edit = read.value;
  const target = targets.get(edit.balancer);
  if (!target) return refuse(404, `no balancer "${edit.balancer}"; expected one of ${[...targets.keys()].join(', ') || '(none)'}`);
  switch (edit.kind) {
    case 'member': {
      const slot = findMember(target, edit.member);
      if (slot < 0) return refuse(404, `balancer://${edit.balancer} has no member ${edit.member}`);
      const before = memberFacts(target.config.members[slot]!);
      const after = memberFacts(changedMember(target.config.members[slot]!, edit.change));
      return { ok: true, edit: { ...edit, slot }, before, after };
    }
    case 'balancer':
      return { ok: true, edit: { ...edit, slot: -1 }, before: balancerFacts(target.config), after: balancerFacts(changedBalancer(target.config, edit.change)) };
    case 'add-member': {
      const problem = checkNewMemberUrl(edit.url);
      if (problem) return refuse(400, problem);
      if (findMember(target, edit.url) >= 0) return refuse(409, `balancer://${edit.balancer} already has a member ${edit.url}`);
      if (target.state.count >= target.state.capacity) {
        return refuse(409, `balancer://${edit.balancer} has no free member slot (${target.state.capacity} in all); raise its growth (Apache BalancerGrowth) and reload`);
      }
      return { ok: true, edit: { ...edit, slot: target.state.count }, before: null, after: memberFacts(newMember(edit.url, edit.change)) };
    }
    case 'remove-member': {
      const slot = findMember(target, edit.member);
      if (slot < 0) return refuse(404, `balancer://${edit.balancer} has no member ${edit.member}`);
      return { ok: true, edit: { ...edit, slot }, before: memberFacts(target.config.members[slot]!), after: null };
    }
  }
}

/** The edit as asked for, without the slot planning gave it: what the audit log and the state file keep. */
export function asAsked(edit: PlannedEdit): Edit {
  const { slot: _slot, ...asked } = edit;
  return asked;
}

/** The shared half: done once per edit, by the coordinator, on the state every thread reads. */
export function applyShared(target: EditTarget, edit: PlannedEdit, now = Date.now()): void {
  const { state } = target;
  state.withLock(() => {
    if (edit.kind === 'member') {
      const member = changedMember(target.config.members[edit.slot]!, edit.change);
      setSwitches(state, edit.slot, SWITCH_LETTERS, member.status.filter((f) => SWITCH_LETTERS.includes(f)), now);
      const lbfactorChanged = edit.change.loadfactor !== undefined;
      if (lbfactorChanged) state.setLbfactor(edit.slot, lbfactorOf(member.loadfactor));
      if (edit.change.lbset !== undefined) state.setLbset(edit.slot, member.lbset);
      // recalc_factors (docs/apache-semantics.md#byrequests): a new loadfactor restarts every member's credit at its own factor; a lone member
      // is forced to 100.
      if (lbfactorChanged && target.config.members.length === 1) state.setLbfactor(0, 100);
      if (lbfactorChanged) for (let m = 0; m < target.config.members.length; m++) state.resetLbstatus(m);
    } else if (edit.kind === 'balancer' && edit.change.lbmethod !== undefined && edit.change.lbmethod !== target.config.lbmethod) {
      // A new method starts from a clean slate, as httpd's manager resets the method's figures (bal.c).
      for (let m = 0; m < target.config.members.length; m++) state.resetLbstatus(m, 0);
    } else if (edit.kind === 'add-member') {
      state.addMember(newMember(edit.url, edit.change));
    } else if (edit.kind === 'remove-member') {
      removeMember(state, edit.slot);
    }
  });
}

/**
 * The line telling that `edit` brings a disabled or stopped member back into service, and who did it; undefined for
 * any other edit. Read before the edit is applied anywhere.
 */
export function enabledLine(target: EditTarget, edit: PlannedEdit, actor: Actor): string | undefined {
  if (edit.kind !== 'member') return undefined;
  const member = target.config.members[edit.slot];
  const off = (m: MemberConfig) => m.status.includes('D') || m.status.includes('S');
  if (member === undefined || !off(member) || off(changedMember(member, edit.change))) return undefined;
  return recoveryLine(edit.balancer, member.url, { kind: 'manager', user: actor.user, ip: actor.ip });
}

/** The local half made ready: `commit` only assigns, so a thread that prepared it cannot fail halfway through. */
export interface PreparedLocal {
  /** The member the edit adds, for its connection pool. */
  added?: MemberConfig;
  commit(): void;
}

/**
 * Prepares the local half of `edit` on this thread's own configuration objects, changing nothing yet. Throws when
 * they do not hold what the deciding thread planned against (the thread has drifted and must be replaced).
 */
export function prepareLocal(target: EditTarget, edit: PlannedEdit): PreparedLocal {
  const { config } = target;
  const url = edit.kind === 'member' || edit.kind === 'remove-member' ? edit.member : undefined;
  if (url !== undefined && config.members[edit.slot]?.url !== url) {
    throw new Error(`balancer://${edit.balancer}: slot ${edit.slot} holds ${config.members[edit.slot]?.url ?? 'nothing'} here, not ${url}`);
  }
  if (edit.kind === 'add-member' && config.members.length !== edit.slot) {
    throw new Error(`balancer://${edit.balancer}: the new member's slot is ${config.members.length} here, not ${edit.slot}`);
  }
  switch (edit.kind) {
    case 'member': {
      const member = changedMember(config.members[edit.slot]!, edit.change);
      return { commit: () => void Object.assign(config.members[edit.slot]!, member) };
    }
    case 'balancer': {
      const next = changedBalancer(config, edit.change);
      return {
        commit: () => {
          // Object.assign never removes a key: a balancer made non-sticky must lose its sticky settings here.
          if (!next.sticky) delete config.sticky;
          Object.assign(config, next);
        },
      };
    }
    case 'add-member': {
      const added = newMember(edit.url, edit.change);
      return { added, commit: () => void (config.members[edit.slot] = added) };
    }
    case 'remove-member':
      return { commit: () => {} };
  }
}

/** The local half, prepared and committed at once. Returns the member added, if any. */
export function applyLocal(target: EditTarget, edit: PlannedEdit): MemberConfig | undefined {
  const prepared = prepareLocal(target, edit);
  prepared.commit();
  return prepared.added;
}

/** `member` with `change` applied, as a new object. */
export function changedMember(member: MemberConfig, change: MemberChange): MemberConfig {
  let status = member.status;
  for (const [name, on] of Object.entries(change.status ?? {}) as Array<[StatusSwitch, boolean | undefined]>) {
    const flag = SWITCH_FLAGS[name];
    if (on === undefined) continue;
    status = on ? (status.includes(flag) ? status : [...status, flag]) : status.filter((f) => f !== flag);
  }
  return {
    ...member,
    status,
    ...(change.loadfactor !== undefined && { loadfactor: change.loadfactor }),
    ...(change.lbset !== undefined && { lbset: change.lbset }),
    ...(change.route !== undefined && { route: change.route }),
    ...(change.redirect !== undefined && { redirect: change.redirect }),
  };
}

/** `config` with `change` applied, as a new object (members shared). */
export function changedBalancer(config: BalancerConfig, change: BalancerChange): BalancerConfig {
  const next: BalancerConfig = { ...config };
  if (change.lbmethod !== undefined) next.lbmethod = change.lbmethod;
  if (change.timeoutMs !== undefined) next.timeout = change.timeoutMs;
  if (change.maxAttempts !== undefined) next.maxAttempts = change.maxAttempts;
  if (change.nofailover !== undefined) next.nofailover = change.nofailover;
  if (change.stopWhenIdleMs !== undefined) next.stopWhenIdle = change.stopWhenIdleMs;
  if (change.stickySession === null) delete next.sticky;
  else if (change.stickySession !== undefined) {
    const [cookie = '', urlParam = cookie] = change.stickySession.split('|');
    next.sticky = { cookie, urlParam };
  }
  return next;
}

/** A member added through the manager: Apache's defaults, disabled until the operator enables it. */
export function newMember(url: string, change: MemberChange): MemberConfig {
  const base: MemberConfig = { source: MANAGER_SOURCE, url, route: '', redirect: '', loadfactor: 1, lbset: 0, status: ['D'], retry: 60_000 };
  return changedMember(base, change);
}

/** Why a member URL may not be added, or undefined. The manager must not become a way to reach anything else. */
export function checkNewMemberUrl(url: unknown): string | undefined {
  if (typeof url !== 'string' || url === '') return 'the member URL is missing; expected http://host[:port][/path] or https://...';
  if (url.length > 512) return `the member URL is ${url.length} characters long; expected at most 512`;
  // Control characters, spaces and `|` (Apache's `unix:/path|http://` socket form) never belong in a member URL.
  if (/[\u0000-\u0020\u007f|\\]/.test(url)) return `the member URL "${url}" contains a space, a control character, "|" or "\\"; expected http://host[:port][/path]`;
  const parsed = parseMemberUrl(url);
  if (!parsed || (parsed.scheme !== 'http' && parsed.scheme !== 'https')) {
    return `"${url}" is not an http:// or https:// URL; only those schemes are accepted for a member`;
  }
  const authority = /^[A-Za-z]+:\/\/([^/?#]*)/.exec(url)?.[1] ?? '';
  if (authority.includes('@')) return `"${url}" carries a user name or password; expected http://host[:port][/path] without userinfo`;
  if (/[?#]/.test(parsed.path)) return `"${url}" has a query or fragment; expected http://host[:port][/path]`;
  if (parsed.port !== undefined && (Number(parsed.port) < 1 || Number(parsed.port) > 65535)) return `"${url}" has port ${parsed.port}; expected 1 to 65535`;
  return undefined;
}

/** What the audit log records of a member: what an operator can change. */
function memberFacts(m: MemberConfig): Record<string, unknown> {
  return { url: m.url, route: m.route, redirect: m.redirect, loadfactor: m.loadfactor, lbset: m.lbset, status: [...m.status].sort().join('') };
}

function balancerFacts(b: BalancerConfig): Record<string, unknown> {
  return {
    lbmethod: b.lbmethod,
    timeoutMs: b.timeout,
    maxAttempts: b.maxAttempts ?? null,
    nofailover: b.nofailover,
    stickySession: b.sticky ? formatSticky(b.sticky) : null,
    stopWhenIdleMs: stopWhenIdleOf(b),
  };
}
