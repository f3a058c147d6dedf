// Tomcat-like HTTP sessions for the demo backend: ids carry the node's jvmRoute (`<32 hex>.<route>`), which is
// what the balancer's sticky routing reads. Bounded in time and count so a client that never sends its cookie
// back (curl without a jar, a load test) cannot grow memory without limit.

import { randomBytes } from 'node:crypto';

export interface Session {
  id: string;
  hits: number;
  lastAccess: number;
}

export interface SessionStoreOptions {
  route: string;
  /** Tomcat's default session-timeout is 30 minutes. */
  idleMs?: number;
  maxSessions?: number;
  now?: () => number;
}

export class SessionStore {
  readonly #route: string;
  readonly #idleMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** Kept in last-access order (re-inserted on every hit), so the oldest and the first to expire sit at the front. */
  readonly #sessions = new Map<string, Session>();

  constructor(opts: SessionStoreOptions) {
    this.#route = opts.route;
    this.#idleMs = opts.idleMs ?? 30 * 60 * 1000;
    this.#max = opts.maxSessions ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Counts a hit on the first candidate id naming a live session, as Tomcat takes the first valid JSESSIONID;
   * creates a new session when none does. `created` tells the caller to send Set-Cookie.
   */
  touch(candidates: readonly string[]): { session: Session; created: boolean } {
    const now = this.#now();
    this.#expire(now);
    for (const id of candidates) {
      const session = this.#sessions.get(id);
      if (!session) continue;
      session.hits++;
      session.lastAccess = now;
      this.#sessions.delete(id);
      this.#sessions.set(id, session);
      return { session, created: false };
    }
    while (this.#sessions.size >= this.#max) this.#evictOldest();
    const session: Session = { id: `${randomBytes(16).toString('hex').toUpperCase()}.${this.#route}`, hits: 1, lastAccess: now };
    this.#sessions.set(session.id, session);
    return { session, created: true };
  }

  #expire(now: number): void {
    for (const session of this.#sessions.values()) {
      if (now - session.lastAccess < this.#idleMs) return;
      this.#sessions.delete(session.id);
    }
  }

  #evictOldest(): void {
    const oldest = this.#sessions.keys().next();
    if (!oldest.done) this.#sessions.delete(oldest.value);
  }
}
