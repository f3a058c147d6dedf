// The manager's edits shared by a group of instances through the journal (journal.ts, in Redis). An edit taken
// here is checked, then appended to the journal and answered only once this instance has read it back and applied
// it, in journal order, as every other instance does: the journal, not the instance that took an edit, decides the
// order, so two edits to one member made at once on two instances end the same way everywhere, both audited.
// Without Redis, edits are refused (503) and the instance serves on the state it has; once Redis is back it
// catches up from where it stopped, or from the snapshot when the journal no longer goes back that far.
import { randomUUID } from 'node:crypto';
import type { Actor, Edit, EditOutcome, SharedStatus } from '../manager/model.ts';
import type { EditOrigin } from '../manager/store.ts';
import type { ManagerControl } from '../manager/handler.ts';
import type { Overlay } from '../manager/overlay.ts';
import type { SharedStateConfig } from '../config/model.ts';
import { clientOptions, instanceName, RedisConnection, UnacknowledgedWrite } from './connection.ts';
import { catchUpFrom, entryFields, readRange, readSnapshot, readXRead, trimBefore, type ReadEntry } from './journal.ts';
import { sharedKeys, type SharedKeys } from './keys.ts';

/** How long a read blocks before it is asked again: bounds how late a closed client notices. */
const BLOCK_MS = 2_000;
const BATCH = 100;
/** After a failed read with Redis still up, before the next try. */
const RETRY_MS = 500;
/** How long an edit taken here may take to come back from the journal before its answer says so. */
const READ_BACK_MS = 5_000;
/** Journal entries older than the snapshot kept this much longer, so an instance away briefly replays them. */
const KEEP_MS = 10 * 60_000;
/** Outcomes of this instance's entries read back before XADD's answer came, kept until claimed. */
const UNCLAIMED = 1_000;

/** What the follower does with what it reads: where the manager's state lives (coordinator.ts and the servers). */
export interface EditApplier {
  /** Whether `edit` could be applied now, changing nothing: a refusal is answered without touching the journal. */
  check(edit: Edit): Extract<EditOutcome, { ok: false }> | undefined;
  /** Applies a journal entry (every instance, in journal order), audited as taken by `origin.instance`. */
  apply(edit: Edit, actor: Actor, origin: EditOrigin): Promise<EditOutcome>;
  /** Takes `overlay` as the manager's whole state (a catch-up from the snapshot). */
  replace(overlay: Overlay): Promise<void>;
  overlay(): Overlay;
}

/** The refusal while Redis is away, one wording for the JSON API and Apache's form. */
/** Why a journal write failed, as the operator is told: Redis unreachable, or reached but not vouching for the edit. */
export function writeRefusal(err: unknown): string {
  const message = (err as Error)?.message ?? String(err);
  return err instanceof UnacknowledgedWrite ? message : `${DISCONNECTED} (${message})`;
}

export const DISCONNECTED = 'the shared state (Redis) is unreachable from this instance: edits are refused so that the instances do not diverge; it serves on its last state and catches up when Redis is back';

// Keeps the newer snapshot only (two instances may write theirs in either order), then trims the journal of
// entries the snapshot covers, older than ARGV[3]. ARGV[4] = '1' writes only when there is no snapshot yet.
const WRITE_SNAPSHOT = `
local cur = redis.call('HGET', KEYS[1], 'id')
if cur then
  if ARGV[4] == '1' then return 0 end
  local cm, cs = string.match(cur, '^(%d+)-(%d+)$')
  local nm, ns = string.match(ARGV[1], '^(%d+)-(%d+)$')
  if cm and (tonumber(cm) > tonumber(nm) or (tonumber(cm) == tonumber(nm) and tonumber(cs) >= tonumber(ns))) then return 0 end
end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'overlay', ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3])
return 1`;

export class SharedEdits implements ManagerControl {
  private lastId: string | undefined;
  private lostAt: number | undefined;
  private epoch: string | undefined;
  private readonly statusListeners = new Set<(status: SharedStatus) => void>();
  private closed = false;
  private readonly waiters = new Map<string, (outcome: EditOutcome) => void>();
  private readonly unclaimed = new Map<string, EditOutcome>();
  private wake: (() => void) | undefined;
  private following: Promise<void> | undefined;

  readonly connection: RedisConnection;
  readonly keys: SharedKeys;
  readonly instance: string;
  private readonly applier: EditApplier;
  private readonly log: (line: string) => void;

  constructor(connection: RedisConnection, keys: SharedKeys, instance: string, applier: EditApplier, log: (line: string) => void) {
    this.connection = connection;
    this.keys = keys;
    this.instance = instance;
    this.applier = applier;
    this.log = log;
    connection.onChange((connected) => {
      this.log(`stickler: shared state: ${connected ? 'connected to Redis; catching up' : 'Redis is unreachable; serving on the last state, edits refused until it is back'}`);
      this.wake?.();
      this.statusChanged();
    });
  }

  /** Connects (in the background: Redis may be down now) as `config` says; throws when its files cannot be read. */
  static open(config: SharedStateConfig, applier: EditApplier, log: (line: string) => void): SharedEdits {
    const options = clientOptions(config);
    if ('error' in options) throw new Error(options.error);
    return new SharedEdits(new RedisConnection(options, log), sharedKeys(config.keyPrefix), instanceName(config), applier, log);
  }

  status(): SharedStatus {
    return { connected: this.connection.connected, instance: this.instance, lastId: this.lastId ?? null, ...(this.lostAt !== undefined && { lostAt: this.lostAt }) };
  }

  /** `listener` is told the status each time it changes: Redis reached or lost, an entry applied, the state lost. */
  onStatus(listener: (status: SharedStatus) => void): void {
    this.statusListeners.add(listener);
  }

  private statusChanged(): void {
    const status = this.status();
    for (const listener of this.statusListeners) listener(status);
  }

  /** Starts following the journal; edits are taken from then on. */
  start(): void {
    this.following ??= this.follow();
  }

  async submit(edit: Edit, actor: Actor): Promise<EditOutcome> {
    const refused = this.applier.check(edit);
    if (refused) return refused;
    if (!this.connection.connected) return { ok: false, status: 503, reason: DISCONNECTED };
    let id: string;
    try {
      const entry = entryFields({ instance: this.instance, actor, edit, seen: this.lastId ?? '0-0' });
      id = String(await this.connection.write(['XADD', this.keys.journal, '*', ...entry]));
    } catch (err) {
      return { ok: false, status: 503, reason: writeRefusal(err) };
    }
    return this.readBack(id);
  }

  /** The outcome of applying journal entry `id`, which this instance wrote, once the follower has read it. */
  private readBack(id: string): Promise<EditOutcome> {
    const done = this.unclaimed.get(id);
    if (done) {
      this.unclaimed.delete(id);
      return Promise.resolve(done);
    }
    return new Promise((resolve) => {
      const late = setTimeout(() => {
        this.waiters.delete(id);
        resolve({ ok: false, status: 503, reason: `the edit is in the shared journal as ${id} but this instance has not read it back within ${READ_BACK_MS / 1000} s; every instance applies it once it reads it` });
      }, READ_BACK_MS);
      this.waiters.set(id, (outcome) => {
        clearTimeout(late);
        resolve(outcome);
      });
    });
  }

  private async follow(): Promise<void> {
    while (!this.closed) {
      if (!this.connection.connected) {
        await this.sleep();
        continue;
      }
      try {
        await this.catchUp();
        while (!this.closed && this.connection.connected) await this.readNext();
      } catch (err) {
        if (!this.closed && this.connection.connected) {
          this.log(`stickler: shared state: reading the journal failed (${(err as Error).message}); trying again`);
          await this.sleep(RETRY_MS);
        }
      }
    }
  }

  /** Waits until the connection changes, or `ms` pass. */
  private sleep(ms = BLOCK_MS): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** After a (re)connection: from the snapshot when the journal no longer reaches back to the last id applied. */
  private async catchUp(): Promise<void> {
    await this.checkEpoch();
    const commands = this.connection.commands;
    const [snapshotId, first] = await Promise.all([
      commands.sendCommand(['HGET', this.keys.snapshot, 'id']),
      commands.sendCommand(['XRANGE', this.keys.journal, '-', '+', 'COUNT', '1']),
    ]);
    const firstEntries = readRange(first);
    const firstId = Array.isArray(firstEntries) ? firstEntries[0]?.id : undefined;
    const snapshot = typeof snapshotId === 'string' ? snapshotId : undefined;
    if (snapshot === undefined) {
      // The first instance of a group publishes what it has, so that the next one starts from it.
      await this.writeSnapshot(this.lastId ?? '0-0', true);
      return;
    }
    if (catchUpFrom(this.lastId, snapshot, firstId) === 'journal') return;
    const read = readSnapshot(await commands.sendCommand(['HGETALL', this.keys.snapshot]));
    if (read === undefined) return;
    if ('problem' in read) {
      this.log(`stickler: shared state: the snapshot in Redis is not one Stickler wrote (${read.problem}); replaying the journal instead`);
      return;
    }
    await this.applier.replace(read.overlay);
    this.lastId = read.id;
    this.statusChanged();
    this.log(`stickler: shared state: took the snapshot at ${read.id}`);
  }

  /**
   * Whether Redis still holds the shared state this instance joined (keys.ts, epoch). When it lost it, the
   * instances keep serving on what they have, and the first to notice publishes its state as the snapshot, so
   * that an instance started next does not start from its file alone.
   */
  private async checkEpoch(): Promise<void> {
    const commands = this.connection.commands;
    const current = await commands.sendCommand(['GET', this.keys.epoch]);
    if (this.epoch !== undefined && String(current) === this.epoch) return;
    const lost = this.epoch !== undefined;
    await commands.sendCommand(['SET', this.keys.epoch, randomUUID(), 'NX']);
    this.epoch = String(await commands.sendCommand(['GET', this.keys.epoch]));
    if (!lost) return;
    this.lostAt = Date.now();
    this.log(`stickler: shared state: WARNING: Redis has lost the shared state (FLUSHALL, or a restart without persistence); this instance keeps its state, applied up to ${this.lastId ?? 'none'}, and publishes it as the snapshot unless another instance did first. Edits this instance had not read yet are lost: check the members on every instance`);
    this.statusChanged();
    await this.writeSnapshot(this.lastId ?? '0-0', true);
  }

  private async readNext(): Promise<void> {
    const reply = await this.connection.reader.sendCommand(['XREAD', 'COUNT', String(BATCH), 'BLOCK', String(BLOCK_MS), 'STREAMS', this.keys.journal, this.lastId ?? '0-0']);
    // A quiet journal is the time to check that Redis still holds the shared state: a FLUSHALL closes no connection.
    if (reply === null) return this.checkEpoch();
    const entries = readXRead(reply);
    if ('problem' in entries) throw new Error(entries.problem);
    let tookHere = false;
    for (const read of entries) {
      tookHere = (await this.applyEntry(read)) || tookHere;
      this.lastId = read.id;
    }
    if (entries.length > 0) this.statusChanged();
    if (tookHere) await this.writeSnapshot(this.lastId!, false);
  }

  /** Applies one entry; whether this instance took it. */
  private async applyEntry(read: ReadEntry): Promise<boolean> {
    if ('problem' in read) {
      this.log(`stickler: shared state: journal entry ${read.id} is not an edit Stickler wrote (${read.problem}); skipped`);
      return false;
    }
    const { entry } = read;
    const outcome = await this.applier.apply(entry.edit, entry.actor, { instance: entry.instance, id: read.id });
    if (!outcome.ok) this.log(`stickler: shared state: journal entry ${read.id} from ${entry.instance} no longer applies (${outcome.reason}); skipped here as everywhere`);
    if (entry.instance !== this.instance) return false;
    const waiter = this.waiters.get(read.id);
    if (waiter) {
      this.waiters.delete(read.id);
      waiter(outcome);
    } else {
      this.unclaimed.set(read.id, outcome);
      if (this.unclaimed.size > UNCLAIMED) this.unclaimed.delete(this.unclaimed.keys().next().value!);
    }
    return true;
  }

  /** Publishes this instance's state as covering journal `id`, unless a newer snapshot is there already. */
  private async writeSnapshot(id: string, onlyFirst: boolean): Promise<void> {
    try {
      await this.connection.commands.sendCommand([
        'EVAL', WRITE_SNAPSHOT, '2', this.keys.snapshot, this.keys.journal,
        id, JSON.stringify(this.applier.overlay()), trimBefore(id, KEEP_MS), onlyFirst ? '1' : '0',
      ]);
    } catch (err) {
      this.log(`stickler: shared state: cannot write the snapshot (${(err as Error).message}); the journal still has every edit`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.connection.close();
    await this.following;
  }
}
