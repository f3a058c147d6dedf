// The mutable runtime state of one balancer's members: the part of Apache's per-worker shm record
// (proxy_worker_shared) that selection reads and writes. It lives in one ArrayBuffer so that a
// SharedArrayBuffer can later give every worker thread the same view, as httpd's children share shm.
//
// Layout, in elements of each view:
//   Int32Array over the whole buffer
//     [0]  lock word: 0 free, else the holder's thread id + 1 (see lock())
//     [1]  member count
//     [2 + m*INT_STRIDE + field] for member m, field in IntField
//   Float64Array starting at floatOffset(n) bytes (8-byte aligned, after the Int32 part)
//     [m*FLOAT_STRIDE + field] for member m, field in FloatField
// Int32 fields are read and written with Atomics, so a reader on another thread never sees a torn word.
// Float64 fields cannot use Atomics; they are written only under the lock. Counters in Float64 stay exact
// up to 2^53, far beyond Apache's own apr_size_t/apr_off_t counters in practice.
import { threadId } from 'node:worker_threads';
import type { MemberConfig } from '../config/model.ts';
import { statusFromFlags } from './status.ts';

const LOCK = 0;
/** This thread's mark in the lock word: 0 means free, so thread ids are stored plus one. */
const owner = threadId + 1;
const COUNT = 1;
const HEADER_INTS = 2;

const IntField = { STATUS: 0, LBSTATUS: 1, LBFACTOR: 2, LBSET: 3, BUSY: 4, RETRIES: 5 } as const;
const INT_STRIDE = 6;

const FloatField = { ELECTED: 0, READ: 1, TRANSFERRED: 2, ERROR_TIME: 3 } as const;
const FLOAT_STRIDE = 4;

type IntFieldIndex = (typeof IntField)[keyof typeof IntField];
type FloatFieldIndex = (typeof FloatField)[keyof typeof FloatField];

function floatOffset(members: number): number {
  const intBytes = (HEADER_INTS + members * INT_STRIDE) * Int32Array.BYTES_PER_ELEMENT;
  return Math.ceil(intBytes / Float64Array.BYTES_PER_ELEMENT) * Float64Array.BYTES_PER_ELEMENT;
}

/** Apache stores loadfactor ×100 as an int, truncating (mp.c:106-115): 1.5 → 150. */
export function lbfactorOf(loadfactor: number): number {
  return Math.trunc(loadfactor * 100);
}

export class BalancerState {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly members: number;
  private readonly ints: Int32Array;
  private readonly floats: Float64Array;

  static byteLength(members: number): number {
    return floatOffset(members) + members * FLOAT_STRIDE * Float64Array.BYTES_PER_ELEMENT;
  }

  /** Fresh state for these members, as Apache initialises the shm: lbstatus 0, counters 0, configured status. */
  static create(members: readonly MemberConfig[], options: { shared?: boolean } = {}): BalancerState {
    const size = BalancerState.byteLength(members.length);
    const buffer = options.shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    new Int32Array(buffer)[COUNT] = members.length;
    const state = new BalancerState(buffer);
    members.forEach((member, m) => {
      state.setInt(m, IntField.STATUS, statusFromFlags(member.status));
      state.setInt(m, IntField.LBFACTOR, lbfactorOf(member.loadfactor));
      state.setInt(m, IntField.LBSET, member.lbset);
    });
    return state;
  }

  /** A view over a buffer made by create(), typically a SharedArrayBuffer passed to a worker thread. */
  static attach(buffer: ArrayBuffer | SharedArrayBuffer): BalancerState {
    return new BalancerState(buffer);
  }

  private constructor(buffer: ArrayBuffer | SharedArrayBuffer) {
    if (buffer.byteLength < HEADER_INTS * Int32Array.BYTES_PER_ELEMENT) {
      throw new Error(`balancer state buffer of ${buffer.byteLength} bytes is too small for its header`);
    }
    const members = new Int32Array(buffer, 0, HEADER_INTS)[COUNT] ?? 0;
    const expected = BalancerState.byteLength(members);
    if (members < 0 || buffer.byteLength !== expected) {
      throw new Error(`balancer state buffer has ${buffer.byteLength} bytes; ${members} members need ${expected}`);
    }
    this.buffer = buffer;
    this.members = members;
    this.ints = new Int32Array(buffer, 0, HEADER_INTS + members * INT_STRIDE);
    this.floats = new Float64Array(buffer, floatOffset(members), members * FLOAT_STRIDE);
  }

  /**
   * Apache runs each pick under a mutex (bal.c:334-353) because it is a read-modify-write over several
   * members. A spin on the lock word is enough: holders never block, they only run a few hundred instructions.
   */
  lock(): void {
    for (;;) {
      const holder = Atomics.compareExchange(this.ints, LOCK, 0, owner);
      if (holder === 0) return;
      if (!(this.buffer instanceof SharedArrayBuffer)) {
        throw new Error('balancer state lock taken twice on one thread');
      }
      Atomics.wait(this.ints, LOCK, holder, 1);
    }
  }

  unlock(): void {
    Atomics.store(this.ints, LOCK, 0);
    Atomics.notify(this.ints, LOCK, 1);
  }

  /**
   * A worker thread that died (terminated, out of memory) while holding the lock would stop every other thread
   * at its next pick; whoever sees it die frees the lock for it.
   */
  releaseIfHeldBy(deadThreadId: number): void {
    if (Atomics.compareExchange(this.ints, LOCK, deadThreadId + 1, 0) === deadThreadId + 1) Atomics.notify(this.ints, LOCK, 1);
  }

  status(m: number): number { return this.int(m, IntField.STATUS); }
  setStatusBits(m: number, bits: number): void { Atomics.or(this.ints, this.intIndex(m, IntField.STATUS), bits); }
  clearStatusBits(m: number, bits: number): void { Atomics.and(this.ints, this.intIndex(m, IntField.STATUS), ~bits); }

  lbstatus(m: number): number { return this.int(m, IntField.LBSTATUS); }
  addLbstatus(m: number, delta: number): void { Atomics.add(this.ints, this.intIndex(m, IntField.LBSTATUS), delta); }

  lbfactor(m: number): number { return this.int(m, IntField.LBFACTOR); }
  lbset(m: number): number { return this.int(m, IntField.LBSET); }

  busy(m: number): number { return this.int(m, IntField.BUSY); }
  addBusy(m: number): void { Atomics.add(this.ints, this.intIndex(m, IntField.BUSY), 1); }
  /** decrement_busy_count (bal.c:450-459): never below zero. */
  dropBusy(m: number): void {
    const i = this.intIndex(m, IntField.BUSY);
    for (let busy = Atomics.load(this.ints, i); busy > 0; busy = Atomics.load(this.ints, i)) {
      if (Atomics.compareExchange(this.ints, i, busy, busy - 1) === busy) return;
    }
  }

  retries(m: number): number { return this.int(m, IntField.RETRIES); }
  addRetry(m: number): void { Atomics.add(this.ints, this.intIndex(m, IntField.RETRIES), 1); }
  resetRetries(m: number): void { this.setInt(m, IntField.RETRIES, 0); }

  elected(m: number): number { return this.float(m, FloatField.ELECTED); }
  addElected(m: number): void { this.addFloat(m, FloatField.ELECTED, 1); }

  /** Bytes received from the member (Apache's `read`, the manager's "From"). */
  read(m: number): number { return this.float(m, FloatField.READ); }
  /** Bytes sent to the member (Apache's `transferred`, the manager's "To"). */
  transferred(m: number): number { return this.float(m, FloatField.TRANSFERRED); }
  addTraffic(m: number, toMember: number, fromMember: number): void {
    this.addFloat(m, FloatField.TRANSFERRED, toMember);
    this.addFloat(m, FloatField.READ, fromMember);
  }

  /** When the member went into error state, in ms; 0 = never or cleared by a good connect. */
  errorTime(m: number): number { return this.float(m, FloatField.ERROR_TIME); }
  setErrorTime(m: number, now: number): void { this.floats[m * FLOAT_STRIDE + FloatField.ERROR_TIME] = now; }

  private intIndex(m: number, field: IntFieldIndex): number {
    return HEADER_INTS + m * INT_STRIDE + field;
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
  private addFloat(m: number, field: FloatFieldIndex, delta: number): void {
    this.floats[m * FLOAT_STRIDE + field] = this.float(m, field) + delta;
  }
}
