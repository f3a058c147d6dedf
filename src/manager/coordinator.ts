// Who applies manager edits, once, for every thread. With one thread the server itself checks an edit, changes
// the shared state and its own configuration objects, saves and audits. With worker threads the main thread
// checks it, has every worker prepare its local half, and only once all have does it change the shared state,
// save, audit, apply its own copy and have every worker commit (workers.ts): one place decides, so two edits can
// never take the same member slot or interleave half-applied, and an edit a worker cannot take changes nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import type { SticklerConfig } from '../config/model.ts';
import { memberLoopProblem, type OwnListener } from '../config/member-loop.ts';
import { thisMachine } from '../config/this-machine.ts';
import { applyShared, asAsked, enabledLine, planEdit, type EditTarget, type Planned, type PlannedEdit } from './edits.ts';
import type { ManagerControl } from './handler.ts';
import type { Actor, AuditEntry, Edit, EditOutcome } from './model.ts';
import { applyOverlay } from './overlay.ts';
import { ManagerStore, type EditOrigin } from './store.ts';

/** What outlives reloads: the store of changes, the session secret, each balancer's nonce. */
export class ManagerHost {
  readonly store: ManagerStore;
  readonly secret = randomBytes(32);
  private readonly nonces = new Map<string, string>();
  private readonly log: (line: string) => void;

  constructor(config: SticklerConfig, log: (line: string) => void) {
    this.log = log;
    this.store = new ManagerStore({
      ...(config.manager?.stateFile !== undefined && { stateFile: config.manager.stateFile }),
      ...(config.manager?.auditLog !== undefined && { auditLog: config.manager.auditLog }),
      log,
    });
  }

  /** `config` with the manager's changes laid over it; state for what the file no longer has is dropped, and said so. */
  prepare(config: SticklerConfig): SticklerConfig {
    const laid = this.lay(config);
    laid.settle();
    return laid.config;
  }

  /**
   * `config` with the manager's changes laid over it, changing nothing yet; `settle`, once the configuration is
   * taken, drops the saved state for what the file no longer has, and says so.
   */
  lay(config: SticklerConfig): { config: SticklerConfig; settle(): void } {
    let result;
    try {
      result = applyOverlay(config, this.store.overlay);
    } catch (err) {
      return {
        config,
        settle: () => {
          this.log(`stickler: manager: the saved changes cannot be applied (${(err as Error).message}); starting from the configuration`);
          this.store.replace({ version: 1, balancers: {} });
        },
      };
    }
    const { dropped, overlay } = result;
    return {
      config: result.config,
      settle: () => {
        for (const line of dropped) this.log(`stickler: manager: ${line}`);
        if (dropped.length > 0) this.store.replace(overlay);
      },
    };
  }

  /** Apache's nonce per balancer: a random UUID, kept across reloads for balancers that stay. */
  noncesFor(config: SticklerConfig): Map<string, string> {
    for (const b of config.balancers) if (!this.nonces.has(b.name)) this.nonces.set(b.name, randomUUID());
    return new Map(config.balancers.map((b) => [b.name, this.nonces.get(b.name)!]));
  }
}

/**
 * Checks an edit where edits are decided, changing nothing: planEdit, and a new member may not be one of
 * `listeners`, the ports this process serves (see member-loop.ts).
 */
export function check(targets: ReadonlyMap<string, EditTarget>, edit: Edit, listeners: readonly OwnListener[]): Planned {
  const planned = planEdit(targets, edit);
  if (!planned.ok || planned.edit.kind !== 'add-member') return planned;
  const loop = memberLoopProblem(planned.edit.url, listeners, thisMachine());
  return loop === undefined ? planned : { ok: false, status: 400, reason: loop };
}

/**
 * Makes a checked edit where edits are decided: the shared half once, then saves and audits it. Every thread
 * (the deciding one included) applies the local half itself; with worker threads, only once each has prepared it.
 */
export function commit(targets: ReadonlyMap<string, EditTarget>, store: ManagerStore, planned: Extract<Planned, { ok: true }>, actor: Actor, origin?: EditOrigin): AuditEntry {
  const target = targets.get(planned.edit.balancer)!;
  const enabled = enabledLine(target, planned.edit, actor);
  applyShared(target, planned.edit);
  const entry = store.record(asAsked(planned.edit), actor, planned.before, planned.after, origin);
  if (enabled !== undefined) store.tell(`stickler: ${enabled}`);
  return entry;
}

interface LocalTargets {
  targets: Map<string, EditTarget>;
  apply: (edit: PlannedEdit) => void;
  listeners: readonly OwnListener[];
}

/** One thread: the server's own runtime is where edits are decided and applied. */
export class LocalControl implements ManagerControl {
  private readonly targets: () => LocalTargets;
  private readonly store: ManagerStore;

  constructor(targets: () => LocalTargets, store: ManagerStore) {
    this.targets = targets;
    this.store = store;
  }

  async submit(edit: Edit, actor: Actor, origin?: EditOrigin): Promise<EditOutcome> {
    const { targets, apply, listeners } = this.targets();
    const planned = check(targets, edit, listeners);
    if (!planned.ok) return planned;
    commit(targets, this.store, planned, actor, origin);
    apply(planned.edit);
    return { ok: true, before: planned.before, after: planned.after };
  }

  /** Whether `edit` could be made now, changing nothing. */
  refusal(edit: Edit): Extract<EditOutcome, { ok: false }> | undefined {
    const { targets, listeners } = this.targets();
    const planned = check(targets, edit, listeners);
    return planned.ok ? undefined : planned;
  }
}

