// The accounts Stickler may serve as (Apache `User`/`Group`, native `user`/`group`), as written and as the system
// lists them: pure parsing, so the start, --check and the tests read them one way.

/** What a `User` or `Group` argument names: an account by name, or by number as Apache's `#1000`. */
export type AccountSpec = { name: string } | { id: number };

/** The highest id Linux gives an account: (uid_t)-1 is "no change" to setuid and friends. */
const MAX_ID = 4294967294;
/** The names useradd and groupadd accept, with Samba's trailing $; nothing a shell or getent would read otherwise. */
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

/** `www-data`, `#33` (Apache's form) or, from YAML, the number 33. */
export function parseAccount(input: string | number, kind: 'user' | 'group'): AccountSpec | { error: string } {
  const expected = `expected a ${kind} name such as www-data, or #${kind === 'user' ? 'uid' : 'gid'} such as #33`;
  const text = String(input);
  const numeric = typeof input === 'number' ? text : /^#\d+$/.test(text) ? text.slice(1) : undefined;
  if (numeric !== undefined) {
    const id = Number(numeric);
    if (!Number.isSafeInteger(id) || id < 0 || id > MAX_ID) return { error: `${kind} id ${numeric} is out of range; ${expected}` };
    return { id };
  }
  return NAME.test(text) ? { name: text } : { error: `"${text}" is not a ${kind} name; ${expected}` };
}

export const formatAccount = (spec: AccountSpec): string => ('name' in spec ? spec.name : `#${spec.id}`);

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

export interface GroupEntry {
  name: string;
  gid: number;
}

/** One line of `getent passwd` (passwd(5)): name:password:uid:gid:gecos:home:shell. */
export function parsePasswdEntry(line: string): PasswdEntry | undefined {
  const fields = line.trim().split(':');
  if (fields.length !== 7) return undefined;
  const [name, , uid, gid] = fields;
  const u = id(uid!);
  const g = id(gid!);
  return name && u !== undefined && g !== undefined ? { name, uid: u, gid: g } : undefined;
}

/** One line of `getent group` (group(5)): name:password:gid:members. */
export function parseGroupEntry(line: string): GroupEntry | undefined {
  const fields = line.trim().split(':');
  if (fields.length !== 4) return undefined;
  const [name, , gid] = fields;
  const g = id(gid!);
  return name && g !== undefined ? { name, gid: g } : undefined;
}

function id(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n <= MAX_ID ? n : undefined;
}
