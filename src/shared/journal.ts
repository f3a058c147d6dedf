// The journal protocol, as pure functions: what an entry of the edit journal (a Redis Stream) holds, how it is
// written and read back, how stream ids compare, and how an instance that was away decides where to catch up
// from. Everything read here came from Redis, written by any instance of any version, so it is checked field by
// field; an entry that is not one is reported, skipped by every instance alike, and never stops the reading.
import { readEdit } from '../manager/edit-input.ts';
import type { Actor, Edit } from '../manager/model.ts';
import { readOverlay, type Overlay } from '../manager/overlay.ts';

/** A stream id, `milliseconds-sequence`. */
const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;

export interface JournalEntry {
  /** The instance that took the edit. */
  instance: string;
  actor: Actor;
  edit: Edit;
  /** The last journal id the taking instance had applied when it checked the edit: the version it expected. */
  seen: string;
}

export type ReadEntry = { id: string; entry: JournalEntry } | { id: string; problem: string };

/** The field/value list XADD writes for `entry`. */
export function entryFields(entry: JournalEntry): string[] {
  return ['instance', entry.instance, 'user', entry.actor.user, 'ip', entry.actor.ip, 'edit', JSON.stringify(entry.edit), 'seen', entry.seen];
}

export function isStreamId(value: unknown): value is string {
  return typeof value === 'string' && STREAM_ID.test(value);
}

/** Negative, zero or positive as stream id `a` is before, equal to or after `b`. */
export function compareIds(a: string, b: string): number {
  const [, am, as] = STREAM_ID.exec(a)!;
  const [, bm, bs] = STREAM_ID.exec(b)!;
  const ms = BigInt(am!) - BigInt(bm!);
  const diff = ms !== 0n ? ms : BigInt(as!) - BigInt(bs!);
  return diff < 0n ? -1 : diff > 0n ? 1 : 0;
}

/** The entries of an XRANGE reply, or of the one stream of an XREAD reply (null when nothing came). */
export function readXRead(reply: unknown): ReadEntry[] | { problem: string } {
  if (reply === null) return [];
  // node-redis hands a raw XREAD reply over as a map of stream name to entries.
  if (typeof reply === 'object' && !Array.isArray(reply)) {
    const streams = Object.values(reply);
    return streams.length === 1 ? readRange(streams[0]) : { problem: 'XREAD answered with something other than one stream' };
  }
  if (!Array.isArray(reply) || reply.length !== 1 || !Array.isArray(reply[0]) || reply[0].length !== 2) {
    return { problem: 'XREAD answered with something other than one stream' };
  }
  return readRange(reply[0][1]);
}

export function readRange(reply: unknown): ReadEntry[] | { problem: string } {
  if (!Array.isArray(reply)) return { problem: 'expected a list of stream entries' };
  const entries: ReadEntry[] = [];
  for (const raw of reply) {
    if (!Array.isArray(raw) || raw.length !== 2 || !isStreamId(raw[0])) return { problem: 'expected stream entries of an id and fields' };
    entries.push(readEntry(raw[0], raw[1]));
  }
  return entries;
}

function readEntry(id: string, raw: unknown): ReadEntry {
  const fields = readFields(raw);
  if (typeof fields === 'string') return { id, problem: fields };
  const { instance, user, ip, edit, seen } = fields;
  if (instance === undefined || user === undefined || ip === undefined || edit === undefined || seen === undefined) {
    return { id, problem: 'expected the fields instance, user, ip, edit and seen' };
  }
  if (!STREAM_ID.test(seen)) return { id, problem: `seen: expected a stream id, got ${JSON.stringify(seen.slice(0, 40))}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(edit);
  } catch {
    return { id, problem: 'edit: not JSON' };
  }
  const read = readEdit(parsed);
  if (!read.ok) return { id, problem: `edit: ${read.reason}` };
  return { id, entry: { instance, actor: { user, ip }, edit: read.value, seen } };
}

/**
 * A field/value list as a record of own keys, or what is wrong: a stream entry's flat list, or HGETALL's, which
 * @redis/client 6 hands over as an object (whatever RESP says) while XRANGE's entries stay flat lists.
 */
export function readFields(raw: unknown): Record<string, string> | string {
  const pairs = Array.isArray(raw) ? raw : raw !== null && typeof raw === 'object' ? Object.entries(raw).flat() : undefined;
  if (pairs === undefined || pairs.length % 2 !== 0) return 'expected a list of field/value pairs';
  const fields: Record<string, string> = Object.create(null);
  for (let i = 0; i < pairs.length; i += 2) {
    const [name, value] = [pairs[i], pairs[i + 1]];
    if (typeof name !== 'string' || typeof value !== 'string') return 'expected text fields and values';
    fields[name] = value;
  }
  return fields;
}

export interface Snapshot {
  /** The journal id it covers, up to and including. */
  id: string;
  overlay: Overlay;
}

/** The snapshot hash (HGETALL's reply); undefined when there is none, or what is wrong with it. */
export function readSnapshot(raw: unknown): Snapshot | undefined | { problem: string } {
  const fields = readFields(raw);
  if (typeof fields === 'string') return { problem: fields };
  if (fields.id === undefined && fields.overlay === undefined) return undefined;
  if (!isStreamId(fields.id)) return { problem: 'id: expected a stream id' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(fields.overlay ?? '');
  } catch {
    return { problem: 'overlay: not JSON' };
  }
  const overlay = readOverlay(parsed);
  return overlay.ok ? { id: fields.id, overlay: overlay.value } : { problem: `overlay: ${overlay.reason}` };
}

/**
 * Where an instance that has applied the journal up to `lastId` (undefined: never, since it started) resumes:
 * right after `lastId` when the journal still holds everything since, otherwise from the snapshot. Trimming
 * removes only entries older than the snapshot (see `trimBefore`), so the journal is enough when the instance is
 * at or past the snapshot, or when the journal still starts at or before `lastId`.
 */
export function catchUpFrom(lastId: string | undefined, snapshotId: string | undefined, firstId: string | undefined): 'snapshot' | 'journal' {
  if (snapshotId === undefined) return 'journal';
  if (lastId === undefined) return 'snapshot';
  if (compareIds(lastId, snapshotId) >= 0) return 'journal';
  return firstId !== undefined && compareIds(firstId, lastId) <= 0 ? 'journal' : 'snapshot';
}

/**
 * The id before which the journal may be trimmed once a snapshot covers `snapshotId`: entries older than the
 * snapshot by more than `keepMs` too, so that an instance briefly away still catches up from the journal alone.
 */
export function trimBefore(snapshotId: string, keepMs: number): string {
  const ms = BigInt(STREAM_ID.exec(snapshotId)![1]!) - BigInt(keepMs);
  return `${ms > 0n ? ms : 0n}-0`;
}
