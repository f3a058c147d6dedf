// Where each field of the balancer state (state.ts) lives in its buffer: offsets, field indices and sizes, and
// nothing that reads or writes them. Laid out in 64-byte cache lines (offsets from the buffer's start) so that
// threads working on different things do not pass one line between their cores at every pick:
//   Int32Array over the whole buffer
//     line 0: [0] lock word: 0 free, else the holder's thread id + 1 (state-lock.ts); [1] threads waiting for it
//     line 1, read-mostly: [16] capacity: member slots, the configured members plus the manager's growth slots;
//       [17] count: slots in use; a member added through the manager takes slot `count` (Apache's BalancerGrowth);
//       [18] when the counters started, in sessionSeconds: the last minute of a state younger than that is shorter
//       [19] balancer cookies rejected (forged, altered or unsigned): rare, so it may share the read-mostly line
//     then every member's lbstatus, [HEADER_INTS + m], on lines of their own: a balanced or sticky pick writes
//       all of them, always under the lock, so together they move between cores as one line rather than one each
//     then two lines per member m, at memberInts(capacity) + m*INT_STRIDE: IntField's read-mostly fields (status,
//       lbfactor, lbset) on the first, busy and retries on the second, which threads working on different
//       members write without the lock
//   8-byte elements starting at floatOffset(capacity) bytes (a line boundary, after the Int32 part), FLOAT_STRIDE
//     per member, padded to whole lines; seen through two views, each element only ever through one of them:
//     a Float64Array for FloatField (times, and counters of rare events, changed under the lock) on the first
//     line, then a BigInt64Array for CounterField (what every pick and release counts, with Atomics.add, without
//     the lock): elected, requests, bytes, the latency sum in ns, the histogram's buckets, then RECENT_SLOTS
//     slots of RECENT_SLOT_MS each, a ring of [slot number, requests, latency sum, buckets...] that holds the last
//     minute's traffic, so a console opened now shows it without waiting for new requests
//   Int32Array starting at sessionOffset(capacity): per member an approximate set of the sessions that recently
//     stuck to the member (session-table.ts)
//   Int32Array starting at issuedRoutesOffset(capacity): per member the routes its session cookies carried
//     (issued-routes.ts)
import { issuedRoutesLength } from './issued-routes.ts';
import { sessionTableLength } from './session-table.ts';

/** Int32 and Float64 elements in one cache line. */
export const LINE_INTS = 64 / Int32Array.BYTES_PER_ELEMENT;
const LINE_FLOATS = 64 / Float64Array.BYTES_PER_ELEMENT;
export const LOCK = 0;
export const WAITERS = 1;
export const CAPACITY = LINE_INTS;
export const COUNT = LINE_INTS + 1;
export const STARTED = LINE_INTS + 2;
export const COOKIES_REJECTED = LINE_INTS + 3;
export const HEADER_INTS = 2 * LINE_INTS;

export const IntField = { STATUS: 0, LBFACTOR: 1, LBSET: 2, BUSY: LINE_INTS, RETRIES: LINE_INTS + 1 } as const;
export const INT_STRIDE = 2 * LINE_INTS;

/** Where the members' own lines begin, after the header and the lbstatus lines. */
export function memberInts(capacity: number): number {
  return HEADER_INTS + Math.ceil(capacity / LINE_INTS) * LINE_INTS;
}

export const FloatField = {
  ERROR_TIME: 0, FAILURES: 1, LAST_FAILURE: 2, RECOVERED_AT: 3, ENTERED_ERROR: 4, RECOVERED: 5, CHECK_FAILED: 6, CHECK_PASSED: 7,
} as const;
export const CounterField = { ELECTED: LINE_FLOATS, REQUESTS: LINE_FLOATS + 1, TRANSFERRED: LINE_FLOATS + 2, READ: LINE_FLOATS + 3, LATENCY_NS: LINE_FLOATS + 4 } as const;
export const HISTOGRAM = LINE_FLOATS + 5;

/**
 * Upper bounds (ms) of the member latency histogram's buckets, time from sending the request to the response
 * head; one more bucket counts everything slower. Prometheus' default buckets, from 5 ms to 10 s.
 */
export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
export const RECENT = HISTOGRAM + LATENCY_BUCKETS_MS.length + 1;
/** The span the manager calls "the last minute", and the slots that hold it. */
export const RECENT_WINDOW_MS = 60_000;
export const RECENT_SLOT_MS = 5_000;
export const RECENT_SLOTS = RECENT_WINDOW_MS / RECENT_SLOT_MS;
export const RecentField = { SLOT: 0, REQUESTS: 1, LATENCY_NS: 2, HISTOGRAM: 3 } as const;
export const RECENT_STRIDE = RecentField.HISTOGRAM + LATENCY_BUCKETS_MS.length + 1;
export const FLOAT_STRIDE = Math.ceil((RECENT + RECENT_SLOTS * RECENT_STRIDE) / LINE_FLOATS) * LINE_FLOATS;

export type IntFieldIndex = (typeof IntField)[keyof typeof IntField];
export type FloatFieldIndex = (typeof FloatField)[keyof typeof FloatField];
export type CounterFieldIndex = (typeof CounterField)[keyof typeof CounterField];

/** Byte offset of the 8-byte part. */
export function floatOffset(capacity: number): number {
  return (memberInts(capacity) + capacity * INT_STRIDE) * Int32Array.BYTES_PER_ELEMENT;
}

/** Byte offset of the session table. */
export function sessionOffset(capacity: number): number {
  return floatOffset(capacity) + capacity * FLOAT_STRIDE * Float64Array.BYTES_PER_ELEMENT;
}

/** Byte offset of the issued routes. */
export function issuedRoutesOffset(capacity: number): number {
  return sessionOffset(capacity) + sessionTableLength(capacity) * Int32Array.BYTES_PER_ELEMENT;
}

/** Bytes of a whole state with `capacity` member slots. */
export function stateByteLength(capacity: number): number {
  return issuedRoutesOffset(capacity) + issuedRoutesLength(capacity) * Int32Array.BYTES_PER_ELEMENT;
}
