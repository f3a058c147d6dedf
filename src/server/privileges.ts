// Giving up root once the listeners are bound and every key is read (Apache's User and Group): the supplementary
// groups, then the group, then the user, in that order (the group cannot change once the user has), checked after.
// Node changes the credentials of the whole process: glibc passes setuid and friends to every thread, so the worker
// threads, and libuv's pool, serve as the same account.
import { closeSync, constants, fchownSync, openSync } from 'node:fs';
import type { SticklerConfig } from '../config/model.ts';
import { appendedFiles } from '../check/verify.ts';
import { identityOf, type Identity } from './accounts.ts';
import { privilegePlan, type PrivilegePlan } from './privilege-plan.ts';
import { StartupError } from './server.ts';

/**
 * Decides what the start does about privileges and warns now when it only warns. Logs and the audit log that do
 * not exist yet are created for the account to serve as, since it reopens them after the drop (at a reload, after
 * rotation); those that exist keep their owner, as httpd leaves its logs.
 */
export function preparePrivileges(config: SticklerConfig, warn: (line: string) => void): PrivilegePlan {
  const plan = privilegePlan(process.geteuid!(), identityOf(config));
  if (plan.kind === 'warn') warn(`stickler: warning: ${plan.message}`);
  if (plan.kind === 'drop') for (const path of appendedFiles(config)) handOver(path, plan.to);
  return plan;
}

function handOver(path: string, to: Identity): void {
  // Made here or not at all: the account may own the directory, and a link it planted there (to /etc/cron.d/x, say)
  // would otherwise have root create the target and give it to the account. A file that cannot be made here cannot
  // be opened by the start either, which says why.
  try {
    const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o640);
    try {
      fchownSync(fd, to.uid, to.gid);
    } finally {
      closeSync(fd);
    }
  } catch {}
}

/** Serves as the plan's account from now on; anything short of that is an error, never a half-dropped process. */
export function dropPrivileges(plan: PrivilegePlan): Identity | undefined {
  if (plan.kind !== 'drop') return undefined;
  const { uid, gid, user, group } = plan.to;
  try {
    process.setgroups!([gid]);
    process.setgid!(gid);
    process.setuid!(uid);
  } catch (err) {
    throw new StartupError(`cannot serve as ${user}:${group}: ${(err as Error).message}`);
  }
  const groups = process.getgroups!();
  const held = process.getuid!() === uid && process.geteuid!() === uid && process.getgid!() === gid && process.getegid!() === gid && groups.every((g) => g === gid);
  if (!held || regainsRoot()) throw new StartupError(`the switch to ${user}:${group} did not hold (uid ${process.getuid!()}, euid ${process.geteuid!()}, gid ${process.getgid!()}, groups ${groups.join(',')})`);
  return plan.to;
}

/** A saved set-user-id of root would let the process take root back; setuid as root clears it, this proves it. */
function regainsRoot(): boolean {
  try {
    process.seteuid!(0);
    return true;
  } catch {
    return false;
  }
}
