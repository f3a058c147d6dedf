// What the manager changed, kept apart from the configuration file: the sum of every edit since the state was
// created. It is laid over the file's configuration at startup and at every reload (Apache's BalancerPersist,
// without its trap of silently ignoring later edits to the file: here the file's members decide which
// members exist, and state for a member the file no longer has is dropped and said so).
import type { SticklerConfig } from '../config/model.ts';
import { changedBalancer, changedMember, newMember } from './edits.ts';
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

/** `overlay` with `edit` folded in, as a new object. */
export function withEdit(overlay: Overlay, edit: Edit): Overlay {
  const next: Overlay = structuredClone(overlay);
  const b = (next.balancers[edit.balancer] ??= { settings: {}, members: {}, added: [], removed: [] });
  switch (edit.kind) {
    case 'balancer':
      b.settings = { ...b.settings, ...edit.change };
      break;
    case 'member': {
      const added = b.added.find((a) => a.url === edit.member);
      if (added) added.change = merge(added.change, edit.change);
      else b.members[edit.member] = merge(b.members[edit.member] ?? {}, edit.change);
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
      k.members[url] = change;
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
        k.members[a.url] = a.change;
      } else {
        b.members.push(newMember(a.url, a.change));
        k.added.push(a);
      }
    }
    balancers[index] = b;
    kept.balancers[name] = k;
  }
  return { config: { ...config, balancers }, overlay: kept, dropped };
}
