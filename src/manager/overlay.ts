// What the manager changed, kept apart from the configuration file: the sum of every edit since the state was
// created. It is laid over the file's configuration at startup and at every reload (Apache's BalancerPersist,
// without its trap of silently ignoring later edits to the file: here the file's members decide which
// members exist, and state for a member the file no longer has is dropped and said so).
import type { SticklerConfig } from '../config/model.ts';
import { ownFields, ownRecord, readBalancerChange, readMemberChange, type Read } from './edit-input.ts';
import { changedBalancer, changedMember, checkNewMemberUrl, newMember } from './edits.ts';
import type { BalancerChange, Edit, MemberChange } from './model.ts';

export interface BalancerOverlay {
  settings: BalancerChange;
  /** Changes to members of the file, by URL. */
  members: Record<string, MemberChange>;
  /** Members added through the manager, in the order they were added, with their changes since. */
  added: Array<{ url: string; change: MemberChange }>;
  /** Members of the file removed through the manager. */
  removed: string[];
}

export interface Overlay {
  version: 1;
  balancers: Record<string, BalancerOverlay>;
}

export function emptyOverlay(): Overlay {
  return { version: 1, balancers: {} };
}

// Balancer names and member URLs come from outside: a balancer may be called `__proto__`, which a plain
// assignment or lookup would take for the object's prototype. Records keyed by them are read and written as own
// entries only.
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A saved overlay read back (the state file): every change read as an edit is, or what is wrong and where. */
export function readOverlay(value: unknown): Read<Overlay> {
  const top = ownFields(value, ['version', 'balancers'], 'the state');
  if (!top.ok) return top;
  if (top.value.version !== 1) return { ok: false, reason: `version: expected 1, got ${String(top.value.version)}` };
  const balancers = ownRecord(top.value.balancers, 'balancers');
  if (!balancers.ok) return balancers;
  const overlay = emptyOverlay();
  for (const [name, saved] of Object.entries(balancers.value)) {
    const read = readBalancerOverlay(saved, `balancers[${JSON.stringify(name)}]`);
    if (!read.ok) return read;
    setOwn(overlay.balancers, name, read.value);
  }
  return { ok: true, value: overlay };
}

function readBalancerOverlay(value: unknown, where: string): Read<BalancerOverlay> {
  const fields = ownFields(value, ['settings', 'members', 'added', 'removed'], where);
  if (!fields.ok) return fields;
  const { settings = {}, members = {}, added = [], removed = [] } = fields.value;
  const refused = (at: string, reason: string): Read<BalancerOverlay> => ({ ok: false, reason: `${where}.${at}: ${reason}` });
  const result: BalancerOverlay = { settings: {}, members: {}, added: [], removed: [] };
  const readSettings = readBalancerChange(settings, `${where}.settings`);
  if (!readSettings.ok) return readSettings;
  result.settings = readSettings.value;
  const byUrl = ownRecord(members, `${where}.members`);
  if (!byUrl.ok) return byUrl;
  for (const [url, change] of Object.entries(byUrl.value)) {
    const read = readMemberChange(change, `${where}.members[${JSON.stringify(url)}]`);
    if (!read.ok) return read;
    setOwn(result.members, url, read.value);
  }
  if (!Array.isArray(added)) return refused('added', 'expected a list of {"url": ..., "change": {...}}');
  for (const [i, entry] of added.entries()) {
    const a = ownFields(entry, ['url', 'change'], `${where}.added[${i}]`);
    if (!a.ok) return a;
    const problem = checkNewMemberUrl(a.value.url);
    if (problem) return refused(`added[${i}].url`, problem);
    const change = readMemberChange(a.value.change ?? {}, `${where}.added[${i}].change`);
    if (!change.ok) return change;
    result.added.push({ url: a.value.url as string, change: change.value });
  }
  if (!Array.isArray(removed) || !removed.every((url) => typeof url === 'string')) return refused('removed', 'expected a list of member URLs');
  result.removed = [...removed];
  return { ok: true, value: result };
}

/** `overlay` with `edit` folded in, as a new object. */
export function withEdit(overlay: Overlay, edit: Edit): Overlay {
  const next: Overlay = structuredClone(overlay);
  let b = own(next.balancers, edit.balancer);
  if (!b) setOwn(next.balancers, edit.balancer, (b = { settings: {}, members: {}, added: [], removed: [] }));
  switch (edit.kind) {
    case 'balancer':
      b.settings = { ...b.settings, ...edit.change };
      break;
    case 'member': {
      const added = b.added.find((a) => a.url === edit.member);
      if (added) added.change = merge(added.change, edit.change);
      else setOwn(b.members, edit.member, merge(own(b.members, edit.member) ?? {}, edit.change));
      break;
    }
    case 'add-member':
      b.removed = b.removed.filter((url) => url !== edit.url);
      b.added.push({ url: edit.url, change: edit.change });
      break;
    case 'remove-member':
      if (b.added.some((a) => a.url === edit.member)) b.added = b.added.filter((a) => a.url !== edit.member);
      else {
        delete b.members[edit.member];
        b.removed.push(edit.member);
      }
      break;
  }
  return next;
}

function merge(a: MemberChange, b: MemberChange): MemberChange {
  return { ...a, ...b, ...((a.status || b.status) && { status: { ...a.status, ...b.status } }) };
}

/**
 * `config` with the overlay's changes applied (a new object; `config` is left alone), the overlay reduced to what
 * still applies, and one line per piece of state dropped because the configuration no longer has its balancer
 * or member.
 */
export function applyOverlay(config: SticklerConfig, overlay: Overlay): { config: SticklerConfig; overlay: Overlay; dropped: string[] } {
  const dropped: string[] = [];
  const kept = emptyOverlay();
  const balancers = config.balancers.map((b) => ({ ...b, members: b.members.map((m) => ({ ...m })) }));
  for (const [name, o] of Object.entries(overlay.balancers)) {
    const index = balancers.findIndex((b) => b.name === name);
    if (index < 0) {
      dropped.push(`balancer://${name}: no longer in the configuration; its manager changes are dropped`);
      continue;
    }
    const k: BalancerOverlay = { settings: o.settings, members: {}, added: [], removed: [] };
    let b = changedBalancer(balancers[index]!, o.settings);
    for (const [url, change] of Object.entries(o.members)) {
      const m = b.members.findIndex((member) => member.url === url);
      if (m < 0) {
        dropped.push(`balancer://${name}: member ${url} is no longer in the configuration; its manager changes are dropped`);
        continue;
      }
      b.members[m] = changedMember(b.members[m]!, change);
      setOwn(k.members, url, change);
    }
    for (const url of o.removed) {
      if (!b.members.some((member) => member.url === url)) continue;
      b = { ...b, members: b.members.filter((member) => member.url !== url) };
      k.removed.push(url);
    }
    for (const a of o.added) {
      // The file gained the same member since: the file's wins, the manager's changes apply to it.
      const m = b.members.findIndex((member) => member.url === a.url);
      if (m >= 0) {
        b.members[m] = changedMember(b.members[m]!, a.change);
        setOwn(k.members, a.url, a.change);
      } else {
        b.members.push(newMember(a.url, a.change));
        k.added.push(a);
      }
    }
    balancers[index] = b;
    setOwn(kept.balancers, name, k);
  }
  return { config: { ...config, balancers }, overlay: kept, dropped };
}
