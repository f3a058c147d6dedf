// Where manager changes are kept: the overlay in memory, written to the state file after every change (when one
// is configured), and the audit log. The state file is replaced atomically — written beside it, flushed to disk,
// then renamed over it — so a crash at any moment leaves the old file or the new one, never part of either.
import { appendFileSync, readFileSync, renameSync } from 'node:fs';
import { removeLeftoverTemporaries, writeFileAtomically } from '../fs/atomic-file.ts';
import type { AuditEntry, Actor, Edit } from './model.ts';
import { emptyOverlay, readOverlay, withEdit, type Overlay } from './overlay.ts';

/** How many audit entries the console can show without reading the log file back. */
const RECENT_AUDIT = 200;

/** A shared edit's journal entry: the instance that took it and the entry's id. */
export interface EditOrigin {
  instance: string;
  id: string;
}

export interface StoreOptions {
  /** Persist changes here (BalancerPersist On / `manager.state-file`); undefined keeps them for this run only. */
  stateFile?: string;
  /** Append audit entries here as JSON lines; undefined writes them to `log` only. */
  auditLog?: string;
  /** Where problems and audit lines go when there is no audit file (standard error). */
  log: (line: string) => void;
}

/** Keeps `entry` among the last RECENT_AUDIT of `recent`, where every thread keeps them for its console. */
export function rememberAudit(recent: AuditEntry[], entry: AuditEntry): void {
  recent.push(entry);
  if (recent.length > RECENT_AUDIT) recent.shift();
}

export class ManagerStore {
  overlay: Overlay;
  readonly recent: AuditEntry[] = [];
  private readonly options: StoreOptions;

  constructor(options: StoreOptions) {
    this.options = options;
    if (options.stateFile) removeLeftoverTemporaries(options.stateFile);
    this.overlay = options.stateFile ? readState(options.stateFile, options.log) : emptyOverlay();
  }

  get persisted(): boolean {
    return this.options.stateFile !== undefined;
  }

  /** After an edit was applied: fold it into the overlay, save it, and audit it (with where it came from, if shared). */
  record(edit: Edit, actor: Actor, before: unknown, after: unknown, origin?: EditOrigin, now = new Date()): AuditEntry {
    this.overlay = withEdit(this.overlay, edit);
    this.save();
    const from = origin && { instance: origin.instance, journalId: origin.id };
    const entry: AuditEntry = { time: now.toISOString(), user: actor.user, ip: actor.ip, ...from, edit, before, after };
    rememberAudit(this.recent, entry);
    const line = JSON.stringify(entry);
    if (this.options.auditLog) {
      try {
        appendFileSync(this.options.auditLog, `${line}\n`);
      } catch (err) {
        this.options.log(`stickler: manager: cannot append to the audit log ${this.options.auditLog}: ${(err as NodeJS.ErrnoException).code ?? err}; audit: ${line}`);
      }
    } else this.options.log(`stickler: manager audit: ${line}`);
    return entry;
  }

  /** A line for the operator, where the store's own problems go (standard error). */
  tell(line: string): void {
    this.options.log(line);
  }

  /** Replaces the overlay (after a reload dropped what no longer applies) and saves it. */
  replace(overlay: Overlay): void {
    this.overlay = overlay;
    this.save();
  }

  private save(): void {
    const file = this.options.stateFile;
    if (!file) return;
    try {
      writeFileAtomically(file, `${JSON.stringify(this.overlay, null, 2)}\n`);
    } catch (err) {
      this.options.log(`stickler: manager: cannot save the state file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}; the change applies but will not survive a restart`);
    }
  }
}

/** The saved overlay; a missing file is a first start, an unreadable one is reported and set aside. */
function readState(file: string, log: (line: string) => void): Overlay {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`stickler: manager: cannot read the state file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}; starting from the configuration`);
    return emptyOverlay();
  }
  try {
    const read = readOverlay(JSON.parse(text));
    if (!read.ok) throw new Error(read.reason);
    return read.value;
  } catch (err) {
    const aside = `${file}.unreadable-${Date.now()}`;
    try {
      renameSync(file, aside);
    } catch {
      // Reported below either way; the next save replaces the file.
    }
    log(`stickler: manager: the state file ${file} is not a state Stickler wrote (${(err as Error).message}); moved to ${aside}, starting from the configuration`);
    return emptyOverlay();
  }
}
