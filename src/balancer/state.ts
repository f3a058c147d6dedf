// The mutable runtime state of one balancer's members: the part of Apache's per-worker shm record
// (proxy_worker_shared) that selection reads and writes, plus the traffic figures the manager and /metrics show.
// It lives in one ArrayBuffer so that a SharedArrayBuffer gives every worker thread the same view, as httpd's
// children share shm.
//
// Where each field lives is state-layout.ts; the lock every change of several fields takes is state-lock.ts.
//
// Beside it, each worker thread may keep a ledger: one Int32 per member slot counting the busy it holds itself,
// in a SharedArrayBuffer of its own that the main thread can read. When the thread dies, whoever sees it die gives
// those back (releaseLedger), so requests that died with it do not stay busy.
// Int32 and BigInt64 fields are read and written with Atomics, so a reader on another thread never sees a torn
// word. Float64 fields cannot use Atomics; they are written only under the lock. Counters in Float64 stay exact up
// to 2^53, BigInt64 ones up to 2^63: far beyond Apache's own apr_size_t/apr_off_t counters in practice.
import type { MemberConfig } from '../config/model.ts';
import type { IssuedRoute } from '../sticky/route-mismatch.ts';
import { claimWarning, issuedRoutesLength, recordIssued, sightings, type RouteSightings } from './issued-routes.ts';
import { countSessions, rememberSession, sessionsSeen, sessionTableLength, type SeenSession } from './session-table.ts';
import {
  CAPACITY, COOKIES_REJECTED, COUNT, LOCK, WAITERS, CounterField, FloatField, FLOAT_STRIDE, floatOffset, HEADER_INTS, HISTOGRAM, INT_STRIDE, IntField,
  issuedRoutesOffset, LATENCY_BUCKETS_MS, memberInts, RECENT, RECENT_SLOT_MS, RECENT_SLOTS, RECENT_STRIDE, RecentField, sessionOffset,
  STARTED, stateByteLength, type CounterFieldIndex, type FloatFieldIndex, type IntFieldIndex,
} from './state-layout.ts';
import { acquireLock, releaseLock, releaseLockHeldBy } from './state-lock.ts';
import { statusFromFlags } from './status.ts';

export { LATENCY_BUCKETS_MS, RECENT_WINDOW_MS } from './state-layout.ts';

/** The state changes counted for metrics: into error, out of it, taken out and brought back by health checks. */
export type StateChange = 'error' | 'recovered' | 'healthCheckFailed' | 'healthCheckPassed';
const CHANGE_FIELDS: Record<StateChange, FloatFieldIndex> = {
  error: FloatField.ENTERED_ERROR,
  recovered: FloatField.RECOVERED,
  healthCheckFailed: FloatField.CHECK_FAILED,
  healthCheckPassed: FloatField.CHECK_PASSED,
};

/** Traffic of one member over a recent stretch: from `fromMs` to the time asked for. */
export interface RecentTraffic {
  /** Epoch ms where the stretch begins: a slot boundary, or when the counters started if that is later. */
  fromMs: number;
  requests: number;
  latency: { sumMs: number; buckets: number[] };
}

/** Latencies are counted in whole nanoseconds, so that an atomic integer add can count them. */
const NS_PER_MS = 1e6;
const ONE = 1n;

/** Apache stores loadfactor ×100 as an int, truncating (mp.c:106-115): 1.5 → 150. */
export function lbfactorOf(loadfactor: number): number {
  return Math.trunc(loadfactor * 100);
}

/**
 * A session counts as sticking to its member for this long after its last request, in the manager's figures.
 * The table keeps a session at least this long, and as long as its balancer's stop-when-idle (balancer.ts).
 */
export const SESSION_WINDOW_S = 10 * 60;
/** Session times are seconds since this moment (2023-11-14), so they fit an Int32 for decades. */
const SESSION_EPOCH_MS = 1_700_000_000_000;
export const sessionSeconds = (ms: number): number => Math.floor((ms - SESSION_EPOCH_MS) / 1000);
/** The epoch ms a sessionSeconds time stands for. */
export const sessionMs = (seconds: number): number => seconds * 1000 + SESSION_EPOCH_MS;

/** `array[i] -= count`, stopping at zero, atomically. */
function dropAtLeastZero(array: Int32Array, i: number, count: number): void {
  for (let value = Atomics.load(array, i); value > 0; value = Atomics.load(array, i)) {
    if (Atomics.compareExchange(array, i, value, Math.max(0, value - count)) === value) return;
  }
}

export class BalancerState {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Member slots: the configured members plus room for members added through the manager. */
  readonly capacity: number;
  private readonly ints: Int32Array;
  /** memberInts(capacity): the index of member 0's first field in `ints`. */
  private readonly members: number;
  private readonly floats: Float64Array;
  private readonly counters: BigInt64Array;
  private readonly sessions: Int32Array;
  private readonly routeTable: Int32Array;
  /** This thread's own busy per member, when it keeps a ledger (worker threads). */
  private readonly ledger: Int32Array | undefined;

  static byteLength(capacity: number): number {
    return stateByteLength(capacity);
  }

  /**
   * Fresh state for these members, as Apache initialises the shm: lbstatus 0, counters 0, configured status;
   * `growth` more slots for members added later (Apache's BalancerGrowth).
   */
  static create(members: readonly MemberConfig[], options: { shared?: boolean; growth?: number; now?: number } = {}): BalancerState {
    const capacity = members.length + (options.growth ?? 0);
    const size = BalancerState.byteLength(capacity);
    const buffer = options.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    new Int32Array(buffer)[CAPACITY] = capacity;
    new Int32Array(buffer)[STARTED] = sessionSeconds(options.now ?? Date.now());
    const state = new BalancerState(buffer);
    for (const member of members) state.addMember(member);
    return state;
  }

  /**
   * A view over a buffer made by create(), typically a SharedArrayBuffer passed to a worker thread; `ledger` (made
   * by newLedger) counts the busy this view adds and drops, for releaseLedger if the thread dies.
   */
  static attach(buffer: ArrayBuffer | SharedArrayBuffer, ledger?: SharedArrayBuffer): BalancerState {
    return new BalancerState(buffer, ledger);
  }

  private constructor(buffer: ArrayBuffer | SharedArrayBuffer, ledger?: SharedArrayBuffer) {
    if (buffer.byteLength < HEADER_INTS * Int32Array.BYTES_PER_ELEMENT) {
      throw new Error(`balancer state buffer of ${buffer.byteLength} bytes is too small for its header`);
    }
    const capacity = new Int32Array(buffer, 0, HEADER_INTS)[CAPACITY] ?? 0;
    const expected = BalancerState.byteLength(capacity);
    if (capacity < 0 || buffer.byteLength !== expected) {
      throw new Error(`balancer state buffer has ${buffer.byteLength} bytes; ${capacity} members need ${expected}`);
    }
    this.buffer = buffer;
    this.capacity = capacity;
    this.ints = new Int32Array(buffer, 0, memberInts(capacity) + capacity * INT_STRIDE);
    this.members = memberInts(capacity);
    this.floats = new Float64Array(buffer, floatOffset(capacity), capacity * FLOAT_STRIDE);
    this.counters = new BigInt64Array(buffer, floatOffset(capacity), capacity * FLOAT_STRIDE);
    this.sessions = new Int32Array(buffer, sessionOffset(capacity), sessionTableLength(capacity));
    this.routeTable = new Int32Array(buffer, issuedRoutesOffset(capacity), issuedRoutesLength(capacity));
    if (ledger && ledger.byteLength !== capacity * Int32Array.BYTES_PER_ELEMENT) {
      throw new Error(`busy ledger has ${ledger.byteLength} bytes; ${capacity} members need ${capacity * Int32Array.BYTES_PER_ELEMENT}`);
    }
    this.ledger = ledger && new Int32Array(ledger);
  }

  /**
   * A private copy of this state, for a decision that must change nothing here (explain). What picks read is taken
   * under the lock, so no pick is half done in it; the session and route tables, most of the bytes and written
   * lock-free anyway, after it, so that an explain holds up the live picks no longer than a pick would. The copy's
   * own lock starts free, with nobody waiting on it.
   */
  copy(): BalancerState {
    const bytes = new ArrayBuffer(this.buffer.byteLength);
    const picked = sessionOffset(this.capacity);
    this.withLock(() => new Uint8Array(bytes, 0, picked).set(new Uint8Array(this.buffer, 0, picked)));
    new Uint8Array(bytes, picked).set(new Uint8Array(this.buffer, picked));
    const ints = new Int32Array(bytes, 0, HEADER_INTS);
    ints[LOCK] = 0;
    ints[WAITERS] = 0;
    return new BalancerState(bytes);
  }

  /** An empty ledger for one thread's view of this state (see attach). */
  newLedger(): SharedArrayBuffer {
    return new SharedArrayBuffer(this.capacity * Int32Array.BYTES_PER_ELEMENT);
  }

  /** A thread that kept `ledger` is gone: the busy it still held is given back, and the ledger emptied. */
  releaseLedger(ledger: SharedArrayBuffer): void {
    const held = new Int32Array(ledger);
    for (let m = 0; m < Math.min(held.length, this.capacity); m++) {
      const count = Atomics.exchange(held, m, 0);
      if (count > 0) dropAtLeastZero(this.ints, this.intIndex(m, IntField.BUSY), count);
    }
  }

  /**
   * A request of `session` was routed to member m by its route: remember it with the time, lock-free
   * (session-table.ts). Its slot is not given to another session before `keepSeconds` have passed.
   */
  touchSession(m: number, session: string, nowSeconds: number, keepSeconds = SESSION_WINDOW_S): void {
    rememberSession(this.sessions, m, session, nowSeconds, nowSeconds - keepSeconds);
  }

  /** The sessions routed to member m at or after `sinceSeconds`, newest first (approximate). */
  sessionsSince(m: number, sinceSeconds: number): SeenSession[] {
    return sessionsSeen(this.sessions, m, sinceSeconds);
  }

  /** Sessions routed to member m within the last SESSION_WINDOW_S seconds (approximate). */
  recentSessions(m: number, nowSeconds: number): number {
    return countSessions(this.sessions, m, nowSeconds - SESSION_WINDOW_S);
  }

  /** Member m issued a session cookie whose route is `issued` (issued-routes.ts); lock-free but for a route's first sighting. */
  countIssuedRoute(m: number, issued: IssuedRoute, nowSeconds: number): void {
    recordIssued(this.routeTable, m, issued, nowSeconds, (claim) => this.withLock(claim));
  }

  /** True for the one caller, on any thread, that may warn about member m's route now (at most every `everySeconds`). */
  claimRouteWarning(m: number, nowSeconds: number, everySeconds: number): boolean {
    return claimWarning(this.routeTable, m, nowSeconds, everySeconds);
  }

  /** The routes member m's session cookies carried. */
  routeSightings(m: number): RouteSightings {
    return sightings(this.routeTable, m);
  }

  /** Slots in use. A thread's own member list may lag behind it for a moment after the manager adds one. */
  get count(): number {
    return Atomics.load(this.ints, COUNT);
  }

  /** Balancer cookies not obeyed, all threads together (unsigned: it wraps at 2^32, not at 2^31). */
  get cookiesRejected(): number {
    return Atomics.load(this.ints, COOKIES_REJECTED) >>> 0;
  }

  addCookieRejected(): void { Atomics.add(this.ints, COOKIES_REJECTED, 1); }

  /**
   * Takes the next free slot for `member` with its configured status, loadfactor and lbset, and returns its
   * index, or -1 when every slot is taken. The slot is filled before it is counted, so a reader never sees a
   * half-made member.
   */
  addMember(member: MemberConfig): number {
    const m = this.count;
    if (m >= this.capacity) return -1;
    this.setInt(m, IntField.STATUS, statusFromFlags(member.status));
    this.setInt(m, IntField.LBFACTOR, lbfactorOf(member.loadfactor));
    this.setInt(m, IntField.LBSET, member.lbset);
    Atomics.store(this.ints, COUNT, m + 1);
    return m;
  }

  /** Takes the lock, waiting for it if another thread holds it (state-lock.ts); prefer withLock. */
  lock(): void { acquireLock(this.ints); }
  unlock(): void { releaseLock(this.ints); }

  /** `change` run under the lock, which is released however it ends. */
  withLock<T>(change: () => T): T {
    this.lock();
    try {
      return change();
    } finally {
      this.unlock();
    }
  }

  /** A worker thread that died holding the lock would stop every other thread: whoever sees it die frees it. */
  releaseIfHeldBy(deadThreadId: number): void { releaseLockHeldBy(this.ints, deadThreadId); }

  status(m: number): number { return this.int(m, IntField.STATUS); }
  setStatusBits(m: number, bits: number): void { Atomics.or(this.ints, this.intIndex(m, IntField.STATUS), bits); }
  clearStatusBits(m: number, bits: number): void { Atomics.and(this.ints, this.intIndex(m, IntField.STATUS), ~bits); }

  lbstatus(m: number): number { return Atomics.load(this.ints, HEADER_INTS + m); }
  addLbstatus(m: number, delta: number): void { Atomics.add(this.ints, HEADER_INTS + m, delta); }

  lbfactor(m: number): number { return this.int(m, IntField.LBFACTOR); }
  setLbfactor(m: number, lbfactor: number): void { this.setInt(m, IntField.LBFACTOR, lbfactor); }
  lbset(m: number): number { return this.int(m, IntField.LBSET); }
  setLbset(m: number, lbset: number): void { this.setInt(m, IntField.LBSET, lbset); }
  /** recalc_factors' effect on one member after a manager change of loadfactor (docs/apache-semantics.md#byrequests): lbstatus = lbfactor. */
  resetLbstatus(m: number, value = this.lbfactor(m)): void { Atomics.store(this.ints, HEADER_INTS + m, value); }

  busy(m: number): number { return this.int(m, IntField.BUSY); }
  addBusy(m: number): void {
    Atomics.add(this.ints, this.intIndex(m, IntField.BUSY), 1);
    if (this.ledger) Atomics.add(this.ledger, m, 1);
  }
  /** decrement_busy_count (bal.c:450-459): never below zero; the ledger likewise. */
  dropBusy(m: number, count = 1): void {
    dropAtLeastZero(this.ints, this.intIndex(m, IntField.BUSY), count);
    if (this.ledger) dropAtLeastZero(this.ledger, m, count);
  }

  retries(m: number): number { return this.int(m, IntField.RETRIES); }
  addRetry(m: number): void { Atomics.add(this.ints, this.intIndex(m, IntField.RETRIES), 1); }
  resetRetries(m: number): void { this.setInt(m, IntField.RETRIES, 0); }

  elected(m: number): number { return this.counter(m, CounterField.ELECTED); }
  addElected(m: number): void { Atomics.add(this.counters, m * FLOAT_STRIDE + CounterField.ELECTED, ONE); }

  /** Bytes received from the member (Apache's `read`, the manager's "From"). */
  read(m: number): number { return this.counter(m, CounterField.READ); }
  /** Bytes sent to the member (Apache's `transferred`, the manager's "To"). */
  transferred(m: number): number { return this.counter(m, CounterField.TRANSFERRED); }
  /** Lock-free, as Apache adds them without its mutex (mod_proxy_http's worker->s->read += ...), but atomically. */
  addTraffic(m: number, toMember: number, fromMember: number): void {
    if (toMember !== 0) Atomics.add(this.counters, m * FLOAT_STRIDE + CounterField.TRANSFERRED, BigInt(toMember));
    if (fromMember !== 0) Atomics.add(this.counters, m * FLOAT_STRIDE + CounterField.READ, BigInt(fromMember));
  }

  /** Exchanges finished with the member (answered, failed or cut off). */
  requests(m: number): number { return this.counter(m, CounterField.REQUESTS); }
  /** Failures charged to the member: connect errors and timeouts, failonstatus, responses cut off. */
  failures(m: number): number { return this.float(m, FloatField.FAILURES); }
  /** When the member last failed, in ms; 0 = never. Unlike errorTime it survives recovery. */
  lastFailure(m: number): number { return this.float(m, FloatField.LAST_FAILURE); }
  addFailure(m: number, now: number): void {
    this.addFloat(m, FloatField.FAILURES, 1);
    this.floats[m * FLOAT_STRIDE + FloatField.LAST_FAILURE] = now;
  }
  /** A state change of member m happened; under the lock (Float64 counters). */
  countChange(m: number, change: StateChange): void { this.addFloat(m, CHANGE_FIELDS[change], 1); }
  changes(m: number): Record<StateChange, number> {
    return { error: this.float(m, FloatField.ENTERED_ERROR), recovered: this.float(m, FloatField.RECOVERED), healthCheckFailed: this.float(m, FloatField.CHECK_FAILED), healthCheckPassed: this.float(m, FloatField.CHECK_PASSED) };
  }
  /** When the member last came back from an error or a failed health check (ms); 0 = never. Slowstart ramps from it. */
  recoveredAt(m: number): number { return this.float(m, FloatField.RECOVERED_AT); }
  setRecoveredAt(m: number, now: number): void { this.floats[m * FLOAT_STRIDE + FloatField.RECOVERED_AT] = now; }
  /** Sum of the latencies observed, in ms, for the histogram's average. */
  latencySum(m: number): number { return this.counter(m, CounterField.LATENCY_NS) / NS_PER_MS; }
  /** Counts per bucket of LATENCY_BUCKETS_MS, not cumulative; the last one counts what is slower than all. */
  latencyBuckets(m: number): number[] {
    const start = m * FLOAT_STRIDE + HISTOGRAM;
    return Array.from(this.counters.subarray(start, start + LATENCY_BUCKETS_MS.length + 1), Number);
  }
  /**
   * One exchange finished at `now` (ms); `latencyMs` is undefined when no response head came. Counted since the
   * start and in the recent slot of `now`, lock-free. Only a slot still holding a minute-old slot's counts takes
   * the lock, once per slot and member: it is emptied before its number changes, so no count made in the new slot
   * (which needs the new number read first) is lost to the emptying.
   */
  addRequest(m: number, latencyMs: number | undefined, now: number): void {
    const { counters } = this;
    const slotNumber = Math.floor(now / RECENT_SLOT_MS);
    const slot = BigInt(slotNumber);
    const recent = m * FLOAT_STRIDE + RECENT + (slotNumber % RECENT_SLOTS) * RECENT_STRIDE;
    if (Atomics.load(counters, recent + RecentField.SLOT) !== slot) {
      this.withLock(() => {
        if (Atomics.load(counters, recent + RecentField.SLOT) === slot) return;
        for (let i = recent + 1; i < recent + RECENT_STRIDE; i++) Atomics.store(counters, i, 0n);
        Atomics.store(counters, recent + RecentField.SLOT, slot);
      });
    }
    const member = m * FLOAT_STRIDE;
    Atomics.add(counters, member + CounterField.REQUESTS, ONE);
    Atomics.add(counters, recent + RecentField.REQUESTS, ONE);
    if (latencyMs === undefined) return;
    const ns = BigInt(Math.round(latencyMs * NS_PER_MS));
    Atomics.add(counters, member + CounterField.LATENCY_NS, ns);
    Atomics.add(counters, recent + RecentField.LATENCY_NS, ns);
    let bucket = 0;
    while (bucket < LATENCY_BUCKETS_MS.length && latencyMs > LATENCY_BUCKETS_MS[bucket]!) bucket++;
    Atomics.add(counters, member + HISTOGRAM + bucket, ONE);
    Atomics.add(counters, recent + RecentField.HISTOGRAM + bucket, ONE);
  }

  /**
   * Member m's traffic over the last RECENT_WINDOW_MS before `now`, to the slot: the slot `now` falls in and the
   * ones before it, so the stretch is between 55 and 60 s long (shorter when the counters started since). Read
   * without the lock, like the other figures: a view, not a transaction.
   */
  recentTraffic(m: number, now: number): RecentTraffic {
    const current = Math.floor(now / RECENT_SLOT_MS);
    const oldest = current - RECENT_SLOTS + 1;
    const traffic: RecentTraffic = {
      fromMs: Math.max(oldest * RECENT_SLOT_MS, this.startedAt),
      requests: 0,
      latency: { sumMs: 0, buckets: new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0) },
    };
    for (let i = 0; i < RECENT_SLOTS; i++) {
      const at = m * FLOAT_STRIDE + RECENT + i * RECENT_STRIDE;
      const slot = this.counterAt(at + RecentField.SLOT);
      if (slot < oldest || slot > current) continue;
      traffic.requests += this.counterAt(at + RecentField.REQUESTS);
      traffic.latency.sumMs += this.counterAt(at + RecentField.LATENCY_NS) / NS_PER_MS;
      const { buckets } = traffic.latency;
      for (let b = 0; b < buckets.length; b++) buckets[b]! += this.counterAt(at + RecentField.HISTOGRAM + b);
    }
    return traffic;
  }

  /** When the counters started (ms, to the second). */
  private get startedAt(): number {
    return sessionMs(Atomics.load(this.ints, STARTED));
  }

  /** When the member went into error state, in ms; 0 = never or cleared by a good connect. */
  errorTime(m: number): number { return this.float(m, FloatField.ERROR_TIME); }
  setErrorTime(m: number, now: number): void { this.floats[m * FLOAT_STRIDE + FloatField.ERROR_TIME] = now; }

  private intIndex(m: number, field: IntFieldIndex): number {
    return this.members + m * INT_STRIDE + field;
  }
  private int(m: number, field: IntFieldIndex): number {
    return Atomics.load(this.ints, this.intIndex(m, field));
  }
  private setInt(m: number, field: IntFieldIndex, value: number): void {
    Atomics.store(this.ints, this.intIndex(m, field), value);
  }
  private float(m: number, field: FloatFieldIndex): number {
    return this.floats[m * FLOAT_STRIDE + field] as number;
  }
  private counter(m: number, field: CounterFieldIndex): number {
    return this.counterAt(m * FLOAT_STRIDE + field);
  }
  private counterAt(at: number): number {
    return Number(Atomics.load(this.counters, at));
  }
  private addFloat(m: number, field: FloatFieldIndex, delta: number): void {
    this.floats[m * FLOAT_STRIDE + field] = this.float(m, field) + delta;
  }
}
