// What the manager shows and what it can change, as plain data: the JSON API's bodies, the console's view, the
// input of /metrics, the audit log's before/after and the persisted state are all made of these types.
import type { LbMethod, StatusFlag } from '../config/model.ts';

/** The status switches an operator may set, named for what they do (Apache's manager letters in brackets). */
export interface StatusSwitches {
  /** (I) errors never put the member in error state. */
  ignoreErrors: boolean;
  /** (N) no new sessions; requests sticking to it are still served. */
  drain: boolean;
  /** (D) takes no requests, sticky ones go elsewhere. */
  disabled: boolean;
  /** (S) stopped: takes nothing at all. */
  stopped: boolean;
  /** (H) used only when no other member of its lbset is usable. */
  hotStandby: boolean;
  /** (R) fills in for an unusable member of its lbset. */
  hotSpare: boolean;
}

export const STATUS_SWITCHES = ['ignoreErrors', 'drain', 'disabled', 'stopped', 'hotStandby', 'hotSpare'] as const;
export type StatusSwitch = (typeof STATUS_SWITCHES)[number];

/** Each switch's letter in Apache's `status=` and its manager's form fields (`w_status_D`). */
export const SWITCH_FLAGS: Readonly<Record<StatusSwitch, StatusFlag>> = {
  ignoreErrors: 'I',
  drain: 'N',
  disabled: 'D',
  stopped: 'S',
  hotStandby: 'H',
  hotSpare: 'R',
};

export interface MemberOverview {
  /** The member URL as configured; it identifies the member. */
  url: string;
  route: string;
  redirect: string;
  loadfactor: number;
  lbset: number;
  status: StatusSwitches & {
    /** (E) in error after a failure, until its retry time passes. */
    error: boolean;
    /** (C) failed its health check. */
    healthCheckFailed: boolean;
  };
  /** Apache's status column, `Init Ok `, `Init Dis `... */
  statusLabel: string;
  /** Whether a new request could be sent to it now. */
  usable: boolean;
  elected: number;
  busy: number;
  /** Apache's "Load" column (lbstatus); may be negative. */
  lbstatus: number;
  /** Bytes sent to the member (Apache's "To"). */
  bytesToMember: number;
  /** Bytes received from the member (Apache's "From"). */
  bytesFromMember: number;
  /** Exchanges finished with the member, all workers together. */
  requests: number;
  failures: number;
  /** Epoch ms of the last failure, null if none. */
  lastFailure: number | null;
  /** Epoch ms when it went into error state, null when not in error. */
  errorSince: number | null;
  /** Time to the response head: sum in ms and counts per `latencyBucketsMs` bucket, not cumulative. */
  latency: { sumMs: number; buckets: number[] };
  /**
   * The last minute's exchanges and their latency histogram, from `fromMs` to the snapshot's time (55 to 60 s, in
   * slots of 5 s; shorter after a start), so a console shows rates and percentiles the moment it opens.
   */
  lastMinute: { fromMs: number; requests: number; latency: { sumMs: number; buckets: number[] } };
  /** Sessions that sent a request routed to this member in the last `sessionWindowMs` (approximate). */
  stickySessions: number;
  /** State changes since start: into error, back, health check failed (taken out), passed (brought back). */
  changes: { error: number; recovered: number; healthCheckFailed: number; healthCheckPassed: number };
  /** Sessions it issued with a route not its own (the route-mismatch watch); null when it never issued one. */
  routeMismatch: RouteMismatch | null;
  /** What is left on it while it drains; null when it is not draining. */
  drainSessions: DrainSessions | null;
}

/** The sessions still active on a draining member, from the balancer's session table (approximate). */
export interface DrainSessions {
  /** Sessions whose last request came within the balancer's `stopWhenIdleMs` (`sessionWindowMs` when that is 0). */
  active: number;
  /** Epoch ms (to the second) of the newest of their last requests; null when none is active. */
  lastRequestAt: number | null;
  /** The newest DRAIN_SESSIONS_SHOWN of them: a short hash of the id (never the id itself) and its last request. */
  sessions: Array<{ hash: string; lastRequestAt: number }>;
}

export interface RouteMismatch {
  /** The latest session it issued carried a wrong route (none since with its own): the member is flagged. */
  flagged: boolean;
  /** Epoch ms (to the second) of the latest wrong one. */
  lastAt: number;
  /** Its route; '' for a session without one; null when it was counted as `other`. */
  lastSeen: string | null;
  /** Sessions per wrong route seen ('' = none), the first few routes only; `other` counts the rest. */
  counts: Array<{ seen: string; count: number }>;
  other: number;
}

export interface BalancerOverview {
  /** Without `balancer://`. */
  name: string;
  lbmethod: LbMethod;
  /** `JSESSIONID|jsessionid`, or null when the balancer is not sticky. */
  stickySession: string | null;
  nofailover: boolean;
  timeoutMs: number;
  maxAttempts: number;
  /** Member slots, configured plus room for members added through the manager. */
  capacity: number;
  /** A draining member with no active session for this long is stopped by itself; 0: never. */
  stopWhenIdleMs: number;
  /** Balancer cookies not obeyed (forged, altered, unsigned), all threads together; null without a balancer cookie. */
  cookiesRejected: number | null;
  members: MemberOverview[];
}

export interface ManagerOverview {
  /** Epoch ms of the snapshot. */
  time: number;
  /** Upper bounds of the latency buckets, in ms; the last bucket counts everything slower. */
  latencyBucketsMs: readonly number[];
  sessionWindowMs: number;
  /** Manager changes survive a restart (a state file is configured). */
  persisted: boolean;
  /** With shared state configured (Redis): whether this instance reaches it, and so takes edits. */
  sharedState?: SharedStatus;
  balancers: BalancerOverview[];
  /** The certificates TLS virtual hosts serve, with the renewal of those ordered by ACME. */
  certificates?: CertificateOverview[];
}

export interface CertificateOverview {
  /** The virtual host: its ServerName, else its address. */
  vhost: string;
  port: number;
  /** Epoch ms. */
  notAfter: number;
  /** For a certificate ordered by ACME: its first name, failed attempts in a row, the last one's reason, and whether that is worth a warning. */
  acme?: { name: string; failures: number; lastError?: string; failing: boolean };
}

/** A change to one member; absent fields stay as they are. */
export interface MemberChange {
  status?: Partial<StatusSwitches>;
  loadfactor?: number;
  lbset?: number;
  route?: string;
  redirect?: string;
}

/** A change to a balancer's settings; absent fields stay as they are. */
export interface BalancerChange {
  lbmethod?: LbMethod;
  timeoutMs?: number;
  maxAttempts?: number;
  nofailover?: boolean;
  /** `JSESSIONID|jsessionid`; null makes the balancer not sticky. */
  stickySession?: string | null;
  /** Drain until empty: 0 never stops a draining member by itself. */
  stopWhenIdleMs?: number;
}

export type Edit =
  | { kind: 'member'; balancer: string; member: string; change: MemberChange }
  | { kind: 'balancer'; balancer: string; change: BalancerChange }
  /** A new member starts disabled, as in Apache, unless `change` says otherwise. */
  | { kind: 'add-member'; balancer: string; url: string; change: MemberChange }
  | { kind: 'remove-member'; balancer: string; member: string };

/** Who asked, for the audit log: the authenticated user or token name, and the client address. */
export interface Actor {
  user: string;
  ip: string;
}

export type EditOutcome =
  | { ok: true; before: unknown; after: unknown }
  /** 503: a worker thread could not take the edit, so nothing changed. */
  | { ok: false; status: 400 | 404 | 409 | 503; reason: string };

/** An instance's view of the shared state (src/shared/). */
export interface SharedStatus {
  /** Redis is reachable: edits are taken, and those of other instances applied. */
  connected: boolean;
  /** This instance's name in the journal and the audit log. */
  instance: string;
  /** The last journal id applied here; null before the first. */
  lastId: string | null;
  /**
   * When this instance found that Redis had lost the shared state (journal and snapshot gone: FLUSHALL, or a
   * restart without persistence) and published its own as the snapshot (milliseconds since the epoch).
   */
  lostAt?: number;
}

/** One line of the audit log. */
export interface AuditEntry {
  /** ISO 8601. */
  time: string;
  user: string;
  ip: string;
  /** With shared state: the instance that took the edit, and its journal id (every instance audits every edit). */
  instance?: string;
  journalId?: string;
  edit: Edit;
  before: unknown;
  after: unknown;
}
