// What the start does about privileges, decided from who started it and what the configuration names, and what a
// reload can no longer do once they are dropped: pure, so each case is tested directly (privileges.ts acts on it).
import type { ListenerConfig } from '../config/model.ts';
import type { Identity } from './accounts.ts';

export type PrivilegePlan =
  | { kind: 'drop'; to: Identity }
  | { kind: 'warn'; message: string }
  | { kind: 'none' };

/** Ports below this one take root, or CAP_NET_BIND_SERVICE, to bind (net.ipv4.ip_unprivileged_port_start). */
export const FIRST_UNPRIVILEGED_PORT = 1024;

/**
 * Root with an account to serve as drops to it; root without one is warned about; any other user cannot switch
 * and keeps running as itself, as httpd does, with a warning when the configuration named someone else.
 */
export function privilegePlan(euid: number, to: Identity | undefined): PrivilegePlan {
  if (euid === 0) {
    return to
      ? { kind: 'drop', to }
      : { kind: 'warn', message: 'running as root: the configuration names no User and Group (native user: and group:), so requests are served with every privilege; name an unprivileged account, or start Stickler as one with CAP_NET_BIND_SERVICE (see docs/configuration.md, user and group)' };
  }
  if (to && to.uid !== euid) {
    return { kind: 'warn', message: `User ${to.user} ignored: Stickler runs as uid ${euid}, not root, so it cannot switch to uid ${to.uid}; it keeps running as uid ${euid}` };
  }
  return { kind: 'none' };
}

/**
 * Why a reload after the drop cannot take `next`: the process no longer has root, so it can neither bind a new
 * port below 1024 nor become another account. Ports it already has stay open across the reload.
 */
export function reloadBlockers(dropped: Identity, running: readonly ListenerConfig[], next: readonly ListenerConfig[], nextAccount: Identity | undefined): string[] {
  const key = (l: ListenerConfig): string => `${l.host}:${l.port}`;
  const open = new Set(running.map(key));
  const reasons = next
    .filter((l) => l.port < FIRST_UNPRIVILEGED_PORT && !open.has(key(l)))
    .map((l) => `${l.source.file}:${l.source.line}: ${key(l)} is a new port below ${FIRST_UNPRIVILEGED_PORT}, and Stickler gave up root for ${dropped.user} at start, so it cannot bind it; that takes a restart (or CAP_NET_BIND_SERVICE instead of User/Group)`);
  if (!nextAccount || nextAccount.uid !== dropped.uid || nextAccount.gid !== dropped.gid) {
    const named = nextAccount ? `${nextAccount.user}:${nextAccount.group}` : 'no account';
    reasons.push(`the configuration now names ${named} to serve as, and Stickler runs as ${dropped.user}:${dropped.group} without root since start; that takes a restart`);
  }
  return reasons;
}

/**
 * What to add to a refused reload after the drop when a file could not be read or written for want of permission:
 * the reload did it as the account, not as root as the start did, which the bare EACCES does not say.
 */
export function deniedAsAccount(dropped: Identity, reasons: readonly string[]): string | undefined {
  if (!reasons.some((r) => /\((EACCES|EPERM)\)/.test(r))) return undefined;
  return `stickler: the reload read its files as ${dropped.user}:${dropped.group}, the account Stickler serves as since start (User/Group), not as root as the start did: make the files readable by that account, or restart to read them as root`;
}

export interface FileMode {
  uid: number;
  gid: number;
  mode: number;
}

/**
 * Whether `who` may write to, and for a directory enter, what `file` describes, by its mode bits alone (no ACLs):
 * the owner's bits for the owner, the group's for its one group (the supplementary ones are dropped), else others'.
 */
export function mayWrite(file: FileMode, who: Pick<Identity, 'uid' | 'gid'>, directory: boolean): boolean {
  const shift = file.uid === who.uid ? 6 : file.gid === who.gid ? 3 : 0;
  const needed = directory ? 0o3 : 0o2;
  return ((file.mode >> shift) & needed) === needed;
}
