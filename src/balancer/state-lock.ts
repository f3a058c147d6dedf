// The balancer state's lock: one Int32 word in the state's buffer (state-layout.ts), so that every worker thread
// sharing the buffer takes the same lock. Callers go through BalancerState.withLock; these functions are its parts.
import { threadId } from 'node:worker_threads';
import { LOCK, WAITERS } from './state-layout.ts';

/** This thread's mark in the lock word: 0 means free, so thread ids are stored plus one. */
const owner = threadId + 1;
/**
 * Compare-and-swap rounds a thread spends on a held lock before it sleeps: a holder keeps it for well under a
 * microsecond, so spinning usually wins it back sooner than a sleep and a wake-up (two system calls) would.
 */
const LOCK_SPINS = 64;

/**
 * Apache runs each pick under a mutex (bal.c:334-353) because it is a read-modify-write over several
 * members. Holders never block and keep it for a few hundred instructions, so a waiter spins a little before
 * it sleeps; it sleeps a millisecond at most, so a lock freed by releaseLockHeldBy is seen soon even unnotified.
 */
export function acquireLock(ints: Int32Array): void {
  let holder = Atomics.compareExchange(ints, LOCK, 0, owner);
  if (holder === 0) return;
  if (holder === owner || !(ints.buffer instanceof SharedArrayBuffer)) {
    throw new Error('balancer state lock taken twice on one thread');
  }
  for (let spins = 0; ; spins++) {
    // Read before trying, so that spinning reads the line rather than taking it from the holder's core.
    holder = Atomics.load(ints, LOCK);
    if (holder === 0) {
      holder = Atomics.compareExchange(ints, LOCK, 0, owner);
      if (holder === 0) return;
    }
    if (spins < LOCK_SPINS) continue;
    Atomics.add(ints, WAITERS, 1);
    Atomics.wait(ints, LOCK, holder, 1);
    Atomics.sub(ints, WAITERS, 1);
  }
}

/** Wakes one sleeper if any: notify takes a process-wide mutex inside V8, which an uncontended unlock skips. */
export function releaseLock(ints: Int32Array): void {
  Atomics.store(ints, LOCK, 0);
  if (Atomics.load(ints, WAITERS) > 0) Atomics.notify(ints, LOCK, 1);
}

/**
 * A worker thread that died (terminated, out of memory) while holding the lock would stop every other thread
 * at its next pick; whoever sees it die frees the lock for it.
 */
export function releaseLockHeldBy(ints: Int32Array, deadThreadId: number): void {
  if (Atomics.compareExchange(ints, LOCK, deadThreadId + 1, 0) === deadThreadId + 1) Atomics.notify(ints, LOCK, 1);
}
