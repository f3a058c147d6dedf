// File descriptors: how many Stickler's limits need, and the reserve that keeps the manager's own listener
// reachable when clients have taken all the others. libuv answers an accept that fails with EMFILE by accepting
// and closing every pending connection of that listener (its "EMFILE trick"), so a manager connection that
// arrives while the table is full is dropped unseen. Proxied sockets (accepted clients, member connections)
// therefore never keep a descriptor number at or above limit - reserve: descriptors are handed out lowest first,
// so one that high means the rest below it are taken, and the last few stay free for the manager, its state
// and audit files. Node raises the soft RLIMIT_NOFILE to the hard limit when it starts, so the limit read here is
// already the highest this process can have.
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import type { ClientPolicy } from '../config/model.ts';

/** Node's own descriptors, the listeners, logs, state and audit files, worker threads' event loops. */
const BASE = 64;

/** The soft "Max open files" of /proc/self/limits; undefined when the text does not say (not Linux). */
export function openFilesLimit(limits: string): number | undefined {
  const soft = /^Max open files\s+(\d+|unlimited)\s/m.exec(limits)?.[1];
  if (soft === undefined) return undefined;
  return soft === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(soft);
}

/** Descriptors kept free for the manager: a sixteenth of the limit, between 16 and 256. */
export function reserveFor(limit: number): number {
  return Math.min(256, Math.max(16, Math.floor(limit / 16)));
}

/**
 * What `threads` serving `policy` may use at once: per thread each client connection, and a member connection per
 * proxied request in flight (one per HTTP/1.1 connection, up to max-streams per HTTP/2 one, at most max-requests);
 * then the reserve and Stickler's own. undefined when max-connections is 0 (no limit: nothing bounds it).
 */
export function descriptorsNeeded(policy: ClientPolicy, threads: number, limit: number): number | undefined {
  if (policy.maxConnections === 0) return undefined;
  const streams = policy.maxConnections * Math.max(1, policy.maxStreams);
  const members = policy.maxRequests === 0 ? streams : Math.min(streams, policy.maxRequests);
  return threads * (policy.maxConnections + members) + reserveFor(limit) + BASE;
}

/**
 * The client caps for a configuration that states no max-connections, when its defaults need more descriptors than
 * `limit`: as HAProxy derives maxconn from the descriptor limit, half of what is left after the reserve and
 * Stickler's own goes to client connections and half to member connections, with requests in flight capped alike.
 */
export function capsWithin(policy: ClientPolicy, threads: number, limit: number): Pick<ClientPolicy, 'maxConnections' | 'maxRequests'> {
  const { maxConnections, maxRequests } = policy;
  if ((descriptorsNeeded(policy, threads, limit) ?? 0) <= limit) return { maxConnections, maxRequests };
  const each = Math.max(1, Math.floor((limit - reserveFor(limit) - BASE) / (2 * threads)));
  return { maxConnections: Math.min(maxConnections || Infinity, each), maxRequests: Math.min(maxRequests || Infinity, each) };
}

/** The startup warning when `limit` is below what the configuration's limits need. */
export function descriptorWarning(policy: ClientPolicy, threads: number, limit: number): string | undefined {
  const needed = descriptorsNeeded(policy, threads, limit);
  if (needed === undefined || needed <= limit) return undefined;
  return `the descriptor limit is ${limit}, below the ${needed} that client.max-connections ${policy.maxConnections} needs with ${threads} thread${threads === 1 ? '' : 's'} (a client socket and up to one member socket per request, ${reserveFor(limit)} kept for the manager, ${BASE} for Stickler itself): once ${limit - reserveFor(limit)} are in use, new connections are closed at once and requests answered 503; raise LimitNOFILE (systemd) or ulimit -Hn, or lower client.max-connections`;
}

let ceiling: number | undefined;

/** This process's descriptor limit, read once per thread; undefined where /proc does not tell. */
export function descriptorLimit(): number | undefined {
  try {
    return openFilesLimit(readFileSync('/proc/self/limits', 'latin1'));
  } catch {
    return undefined;
  }
}

/**
 * The socket holds a descriptor from the manager's reserve: the caller closes it at once. Node has no public
 * descriptor for a socket; its handle's `fd` is read, and a socket without one is never refused.
 */
export function pastReserve(socket: net.Socket): boolean {
  if (ceiling === undefined) {
    const limit = descriptorLimit();
    ceiling = limit === undefined ? Infinity : limit - reserveFor(limit);
  }
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  return typeof fd === 'number' && fd >= ceiling;
}
