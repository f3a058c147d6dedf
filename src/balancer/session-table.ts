// The approximate set of sessions that recently stuck to each member, for drain decisions: per member a region of
// an Int32Array (the balancer state's session part) holding SESSION_SLOTS pairs [session hash, last seen (s)],
// open-addressed with a few probes and written lock-free with Atomics. Collisions and a full region make the
// count approximate, which is all a drain decision needs.

/** Sessions remembered per member; beyond that the count saturates, which is still "many" for a drain. */
const SESSION_SLOTS = 1024;
/** How many slots a session may probe for its place. */
const SESSION_PROBES = 8;

/** Int32 elements of the table for `capacity` members. */
export function sessionTableLength(capacity: number): number {
  return capacity * SESSION_SLOTS * 2;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}

/** Remembers `session` (by a 32-bit hash) for member m at `nowSeconds`; a slot last seen before `staleSeconds` may be reused. */
export function rememberSession(sessions: Int32Array, m: number, session: string, nowSeconds: number, staleSeconds: number): void {
  const hash = fnv1a(session) | 1;
  const base = m * SESSION_SLOTS * 2;
  let victim = -1;
  for (let probe = 0; probe < SESSION_PROBES; probe++) {
    const slot = base + ((hash >>> 0) + probe) % SESSION_SLOTS * 2;
    const held = Atomics.load(sessions, slot);
    if (held === hash) return void Atomics.store(sessions, slot + 1, nowSeconds);
    if (victim < 0 && (held === 0 || Atomics.load(sessions, slot + 1) < staleSeconds)) victim = slot;
  }
  const slot = victim >= 0 ? victim : base + (hash >>> 0) % SESSION_SLOTS * 2;
  Atomics.store(sessions, slot, hash);
  Atomics.store(sessions, slot + 1, nowSeconds);
}

/** One remembered session: its hash (never the id itself, which is a credential) and when it was last seen (s). */
export interface SeenSession {
  hash: number;
  lastSeen: number;
}

/** The sessions of member m seen at or after `sinceSeconds` (approximate), newest first. */
export function sessionsSeen(sessions: Int32Array, m: number, sinceSeconds: number): SeenSession[] {
  const base = m * SESSION_SLOTS * 2;
  const seen: SeenSession[] = [];
  for (let i = 0; i < SESSION_SLOTS * 2; i += 2) {
    const hash = Atomics.load(sessions, base + i);
    const lastSeen = Atomics.load(sessions, base + i + 1);
    if (hash !== 0 && lastSeen >= sinceSeconds) seen.push({ hash: hash >>> 0, lastSeen });
  }
  return seen.sort((a, b) => b.lastSeen - a.lastSeen);
}

/** Sessions of member m seen at or after `sinceSeconds` (approximate). */
export function countSessions(sessions: Int32Array, m: number, sinceSeconds: number): number {
  const base = m * SESSION_SLOTS * 2;
  let count = 0;
  for (let i = 0; i < SESSION_SLOTS * 2; i += 2) {
    if (Atomics.load(sessions, base + i) !== 0 && Atomics.load(sessions, base + i + 1) >= sinceSeconds) count++;
  }
  return count;
}
