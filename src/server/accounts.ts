// The account a configuration's `User`/`Group` (native `user`/`group`) names, looked up as the C library does
// (getent goes through NSS, so LDAP or sssd accounts resolve too): --check, the start and every reload use it.
import { spawnSync } from 'node:child_process';
import { formatAccount, parseGroupEntry, parsePasswdEntry, type AccountSpec, type GroupEntry, type PasswdEntry } from '../config/account.ts';
import type { AccountRef, Diagnostic, RunAs, SticklerConfig } from '../config/model.ts';

/** Who Stickler serves as after the drop: one group only, the supplementary ones are dropped. */
export interface Identity {
  user: string;
  uid: number;
  group: string;
  gid: number;
}

export interface AccountLookup {
  user(spec: AccountSpec): PasswdEntry | undefined;
  group(spec: AccountSpec): GroupEntry | undefined;
}

/** Bounds a lookup through a slow directory server; past it the account counts as not found. */
const LOOKUP_TIMEOUT_MS = 10_000;

export const systemAccounts: AccountLookup = {
  user: (spec) => getent('passwd', spec, parsePasswdEntry),
  group: (spec) => getent('group', spec, parseGroupEntry),
};

function getent<T>(database: string, spec: AccountSpec, parse: (line: string) => T | undefined): T | undefined {
  const key = 'name' in spec ? spec.name : String(spec.id);
  const found = spawnSync('getent', [database, key], { encoding: 'utf8', timeout: LOOKUP_TIMEOUT_MS });
  return found.status === 0 ? parse(found.stdout.split('\n')[0] ?? '') : undefined;
}

/** The identity `runAs` names, or the errors at the lines that name it. */
export function resolveRunAs(runAs: RunAs, dialect: SticklerConfig['dialect'], lookup: AccountLookup = systemAccounts): Identity | Diagnostic[] {
  const native = dialect === 'native';
  const names = { user: native ? 'user' : 'User', group: native ? 'group' : 'Group' };
  const problems: Diagnostic[] = [];
  const fail = (ref: AccountRef, directive: string, message: string): void =>
    void problems.push({ severity: 'error', file: ref.source.file, line: ref.source.line, directive, message });
  const entry = lookup.user(runAs.user);
  // A bare number is taken as it is, as Apache's `User #1000` is, even with no passwd entry.
  const uid = entry?.uid ?? ('id' in runAs.user ? runAs.user.id : undefined);
  if (uid === undefined) fail(runAs.user, names.user, `no user ${formatAccount(runAs.user)} on this system (getent passwd); expected an existing account such as www-data`);
  else if (uid === 0) fail(runAs.user, names.user, `${formatAccount(runAs.user)} is root; expected an unprivileged account, the one Stickler serves as once its ports are bound`);
  let group: { name: string; gid: number } | undefined;
  if (runAs.group) {
    const g = lookup.group(runAs.group);
    group = g ?? ('id' in runAs.group ? { name: `#${runAs.group.id}`, gid: runAs.group.id } : undefined);
    if (!group) fail(runAs.group, names.group, `no group ${formatAccount(runAs.group)} on this system (getent group); expected an existing group such as www-data`);
  } else if (entry) {
    group = { name: lookup.group({ id: entry.gid })?.name ?? `#${entry.gid}`, gid: entry.gid };
  } else if (uid !== undefined) {
    fail(runAs.user, names.user, `user #${uid} has no passwd entry, so no group of its own; expected a ${names.group} too`);
  }
  if (problems.length > 0 || uid === undefined || !group) return problems;
  return { user: entry?.name ?? `#${uid}`, uid, group: group.name, gid: group.gid };
}

/** The identity of the configuration's `User`/`Group`, or undefined when it names none or none that resolves. */
export function identityOf(config: SticklerConfig, lookup: AccountLookup = systemAccounts): Identity | undefined {
  if (!config.runAs) return undefined;
  const resolved = resolveRunAs(config.runAs, config.dialect, lookup);
  return Array.isArray(resolved) ? undefined : resolved;
}
