// Manager edits as they arrive from outside: the JSON API's body, a worker thread's message, the saved state
// file. Only the fields listed here are read, each as an own data property of a plain object, and the result is
// rebuilt as fresh plain data. An inherited name (`constructor`, `toString`, `__proto__`) is as unknown as a
// typo and is refused by name, so nothing but checked data reaches the shared state, the state file or the
// worker threads.
import {
  because, parseLbMethod, parseLbset, parseLoadfactor, parseManagerMaxAttempts, parseManagerStopWhenIdleMs, parseManagerTimeoutMs, parseRouteName, parseStickySession,
  type Verdict,
} from '../config/balancer-values.ts';
import { formatSticky } from '../config/model.ts';
import { STATUS_SWITCHES, type BalancerChange, type Edit, type MemberChange } from './model.ts';

/** What was read, or why not (naming the key). */
export type Read<T> = { ok: true; value: T } | { ok: false; reason: string };

const EDIT_FIELDS: Record<Edit['kind'], readonly string[]> = {
  member: ['kind', 'balancer', 'member', 'change'],
  balancer: ['kind', 'balancer', 'change'],
  'add-member': ['kind', 'balancer', 'url', 'change'],
  'remove-member': ['kind', 'balancer', 'member'],
};

const refuse = <T>(reason: string): Read<T> => ({ ok: false, reason });
const quoted = (names: readonly string[]) => names.map((n) => JSON.stringify(n)).join(', ');
/** A refused value as a message shows it; anything JSON cannot write (a cycle, a function) by its type. */
function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/**
 * The own entries of a plain object, each holding a plain value (no getter, no symbol key); `what` names it in
 * messages. The result has no prototype, so no lookup in it can find an inherited name.
 */
export function ownRecord(value: unknown, what: string): Read<Record<string, unknown>> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse(`${what}: expected an object`);
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return refuse(`${what}: expected a plain object`);
  const fields: Record<string, unknown> = Object.create(null);
  for (const key of Reflect.ownKeys(value)) {
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    if (typeof key !== 'string' || !('value' in descriptor)) return refuse(`${what}.${String(key)}: expected a plain value`);
    fields[key] = descriptor.value;
  }
  return { ok: true, value: fields };
}

/** ownRecord, when every key is in `allowed`; an unknown or inherited name is refused by name, as an unknown `noun`. */
export function ownFields(value: unknown, allowed: readonly string[], what: string, noun = 'field'): Read<Record<string, unknown>> {
  const fields = ownRecord(value, what);
  if (!fields.ok) return fields;
  const unknown = Object.keys(fields.value).filter((k) => !allowed.includes(k));
  if (unknown.length) return refuse(`${what}: unknown ${noun} ${quoted(unknown)}; expected ${allowed.join(', ')}`);
  return fields;
}

/** The edit a JSON body asks for, with its change checked; the balancer, member and URL are checked against the running balancers by planEdit. */
export function readEdit(body: unknown): Read<Edit> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return refuse('expected a JSON object: {"kind": "member", "balancer": ..., "member": ..., "change": {...}}');
  }
  const kind = Object.getOwnPropertyDescriptor(body, 'kind')?.value;
  if (typeof kind !== 'string' || !Object.hasOwn(EDIT_FIELDS, kind)) {
    return refuse(`"kind": expected ${Object.keys(EDIT_FIELDS).join(', ')}, got ${shown(kind)}`);
  }
  const fields = ownFields(body, EDIT_FIELDS[kind as Edit['kind']], 'the edit');
  if (!fields.ok) return fields;
  const f = fields.value;
  const text = (key: string, what: string): Read<string> =>
    typeof f[key] === 'string' && f[key] !== '' ? { ok: true, value: f[key] } : refuse(`"${key}": expected ${what}`);
  const balancer = text('balancer', 'the balancer name (without balancer://)');
  if (!balancer.ok) return balancer;
  if (kind === 'remove-member') {
    const member = text('member', 'the member URL');
    return member.ok ? { ok: true, value: { kind, balancer: balancer.value, member: member.value } } : member;
  }
  if (kind === 'balancer') {
    const change = readBalancerChange(f.change ?? {});
    return change.ok ? { ok: true, value: { kind, balancer: balancer.value, change: change.value } } : change;
  }
  const change = readMemberChange(f.change ?? {});
  if (!change.ok) return change;
  if (kind === 'add-member') {
    if (typeof f.url !== 'string') return refuse('"url": expected the new member URL, http://host[:port][/path] or https://...');
    return { ok: true, value: { kind, balancer: balancer.value, url: f.url, change: change.value } };
  }
  const member = text('member', 'the member URL');
  return member.ok ? { ok: true, value: { kind: 'member', balancer: balancer.value, member: member.value, change: change.value } } : member;
}

/** Reads one field's value found at `path`: what to keep, or why not (the message starts with the path). */
type FieldReader = (value: unknown, path: string) => Read<unknown>;

const kept = (value: unknown): Read<unknown> => ({ ok: true, value });
/** A field read by a shared rule (balancer-values.ts); its reason is said about the value as JSON shows it. */
const checked = <T>(parse: (value: unknown) => Verdict<T>, keep: (value: T) => unknown = (v) => v): FieldReader => (value, path) => {
  const verdict = parse(value);
  return verdict.ok ? kept(keep(verdict.value)) : refuse(`${path}: ${because(shown(value), verdict.reason)}`);
};
const trueOrFalse: FieldReader = (value, path) => (typeof value === 'boolean' ? kept(value) : refuse(`${path}: expected true or false, got ${shown(value)}`));
const routeText = checked((value) => (typeof value === 'string' ? parseRouteName(value) : parseRouteName(undefined)));
const SWITCH_FIELDS = Object.fromEntries(STATUS_SWITCHES.map((name) => [name, trueOrFalse]));

const MEMBER_FIELDS: Record<keyof MemberChange, FieldReader> = {
  status: (value, path) => readFields(value, SWITCH_FIELDS, path, 'switch'),
  loadfactor: checked(parseLoadfactor),
  lbset: checked(parseLbset),
  route: routeText,
  redirect: routeText,
};

const BALANCER_FIELDS: Record<keyof BalancerChange, FieldReader> = {
  lbmethod: checked(parseLbMethod),
  timeoutMs: checked(parseManagerTimeoutMs),
  maxAttempts: checked(parseManagerMaxAttempts),
  nofailover: trueOrFalse,
  // null takes stickiness away.
  stickySession: (value, path) => (value === null ? kept(null) : checked(parseStickySession, formatSticky)(value, path)),
  stopWhenIdleMs: checked(parseManagerStopWhenIdleMs),
};

/** The fields of the object at `path` that `readers` accept, each read by its reader into a fresh object. */
function readFields(value: unknown, readers: Record<string, FieldReader>, path: string, noun: string): Read<Record<string, unknown>> {
  const fields = ownFields(value, Object.keys(readers), path, noun);
  if (!fields.ok) return fields;
  const result: Record<string, unknown> = {};
  for (const [key, reader] of Object.entries(readers)) {
    if (fields.value[key] === undefined) continue;
    const read = reader(fields.value[key], `${path}.${key}`);
    if (!read.ok) return read;
    result[key] = read.value;
  }
  return { ok: true, value: result };
}

/** A change to a member, found at `path`: the fields of MemberChange, in range. */
export const readMemberChange = (value: unknown, path = 'change') => readFields(value, MEMBER_FIELDS, path, 'member field') as Read<MemberChange>;

/** A change to a balancer's settings, found at `path`: the fields of BalancerChange, in range. */
export const readBalancerChange = (value: unknown, path = 'change') => readFields(value, BALANCER_FIELDS, path, 'balancer field') as Read<BalancerChange>;
