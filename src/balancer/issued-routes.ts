// The routes members issue in their session cookies, per member, as the balancer state's last part (an Int32Array
// every worker thread shares), so that /metrics and the manager show every thread's sightings on one scrape:
//   [LAST_MISMATCH, LAST_MATCH] when the member last issued a session with a wrong route, with its own (s);
//   [LAST_WARNED] when a thread last warned about it (s), claimed by compare-and-swap so one warning goes out for all
//   threads; [LAST_SEEN] the slot of the latest wrong route (SEEN_SLOTS: folded into "other"); [OTHER] its count;
//   then SEEN_SLOTS slots of [count, UTF-8 length + 1 (0: free), the route's bytes].
// A route gets a slot of its own the first time it is seen, under the state's lock; later sightings count with one
// atomic add. Once the slots are taken, or for a route longer than SEEN_BYTES, the sighting counts as "other": a
// member issuing random routes cannot grow the metric's label set without bound.
import type { IssuedRoute } from '../sticky/route-mismatch.ts';

/** Distinct wrong routes counted under their own name per member; the rest are "other". */
export const SEEN_SLOTS = 4;
const SEEN_BYTES = 64;
const Field = { LAST_MISMATCH: 0, LAST_MATCH: 1, LAST_WARNED: 2, LAST_SEEN: 3, OTHER: 4 } as const;
const HEADER = 8;
const SLOT_INTS = 2 + SEEN_BYTES / Int32Array.BYTES_PER_ELEMENT;
/** A whole number of 64-byte lines, so members' regions share none. */
const MEMBER_INTS = HEADER + SEEN_SLOTS * SLOT_INTS;

/** Int32 elements of the table for `capacity` members. */
export function issuedRoutesLength(capacity: number): number {
  return capacity * MEMBER_INTS;
}

/** What member m issued, as the manager shows it; `seen` null is a session without a route, `other` the folded count. */
export interface RouteSightings {
  /** When it last issued a session with a wrong route, in seconds (the state's session clock); 0 = never. */
  lastMismatch: number;
  /** When it last issued one with its own route; 0 = never. */
  lastMatch: number;
  /** The latest wrong route; undefined when it was folded into "other". */
  lastSeen: string | null | undefined;
  counts: Array<{ seen: string | null; count: number }>;
  other: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The session without a route is kept as the empty route, which issuedRoute never reports as a route. */
const encode = (seen: string | null): Uint8Array => encoder.encode(seen ?? '');

function bytesOf(table: Int32Array): Uint8Array {
  return new Uint8Array(table.buffer, table.byteOffset, table.byteLength);
}

/** The slot of member m holding `seen`, or -1. */
function findSlot(table: Int32Array, m: number, seen: Uint8Array): number {
  const bytes = bytesOf(table);
  for (let s = 0; s < SEEN_SLOTS; s++) {
    const at = m * MEMBER_INTS + HEADER + s * SLOT_INTS;
    if (Atomics.load(table, at + 1) !== seen.length + 1) continue;
    const start = (at + 2) * Int32Array.BYTES_PER_ELEMENT;
    if (seen.every((byte, i) => bytes[start + i] === byte)) return s;
  }
  return -1;
}

/** Takes a free slot for `seen` and returns it, or SEEN_SLOTS when none is free or it is too long; under the lock. */
function claimSlot(table: Int32Array, m: number, seen: Uint8Array): number {
  const found = findSlot(table, m, seen);
  if (found >= 0 || seen.length > SEEN_BYTES) return found >= 0 ? found : SEEN_SLOTS;
  for (let s = 0; s < SEEN_SLOTS; s++) {
    const at = m * MEMBER_INTS + HEADER + s * SLOT_INTS;
    if (Atomics.load(table, at + 1) !== 0) continue;
    bytesOf(table).set(seen, (at + 2) * Int32Array.BYTES_PER_ELEMENT);
    // Published after its bytes: a reader that sees the length sees the route.
    Atomics.store(table, at + 1, seen.length + 1);
    return s;
  }
  return SEEN_SLOTS;
}

/**
 * Counts what member m issued at `nowSeconds`. `locked` runs the first sighting of a wrong route under the state's
 * lock, so two threads seeing it at once give it one slot.
 */
export function recordIssued(table: Int32Array, m: number, issued: IssuedRoute, nowSeconds: number,
                             locked: (claim: () => number) => number): void {
  const base = m * MEMBER_INTS;
  if (issued.matches) return void Atomics.store(table, base + Field.LAST_MATCH, nowSeconds);
  const seen = encode(issued.seen);
  let slot = findSlot(table, m, seen);
  if (slot < 0) slot = locked(() => claimSlot(table, m, seen));
  Atomics.add(table, slot === SEEN_SLOTS ? base + Field.OTHER : base + HEADER + slot * SLOT_INTS, 1);
  Atomics.store(table, base + Field.LAST_SEEN, slot);
  Atomics.store(table, base + Field.LAST_MISMATCH, nowSeconds);
}

/** True for the one caller that may warn about member m now, at most once every `everySeconds`, whatever its thread. */
export function claimWarning(table: Int32Array, m: number, nowSeconds: number, everySeconds: number): boolean {
  const at = m * MEMBER_INTS + Field.LAST_WARNED;
  const last = Atomics.load(table, at);
  if (last !== 0 && nowSeconds - last < everySeconds) return false;
  return Atomics.compareExchange(table, at, last, nowSeconds) === last;
}

export function sightings(table: Int32Array, m: number): RouteSightings {
  const base = m * MEMBER_INTS;
  const bytes = bytesOf(table);
  const counts: RouteSightings['counts'] = [];
  const routes: Array<string | null> = [];
  for (let s = 0; s < SEEN_SLOTS; s++) {
    const at = base + HEADER + s * SLOT_INTS;
    const length = Atomics.load(table, at + 1) - 1;
    if (length < 0) break;
    const start = (at + 2) * Int32Array.BYTES_PER_ELEMENT;
    const route = decoder.decode(bytes.slice(start, start + length));
    routes.push(route === '' ? null : route);
    counts.push({ seen: routes[s]!, count: Atomics.load(table, at) });
  }
  const lastSeen = Atomics.load(table, base + Field.LAST_SEEN);
  return {
    lastMismatch: Atomics.load(table, base + Field.LAST_MISMATCH),
    lastMatch: Atomics.load(table, base + Field.LAST_MATCH),
    lastSeen: lastSeen < routes.length ? routes[lastSeen] : undefined,
    counts,
    other: Atomics.load(table, base + Field.OTHER),
  };
}
