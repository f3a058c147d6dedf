// Who applies manager edits, once, for every thread. With one thread the server itself checks an edit, changes
// the shared state and its own configuration objects, saves and audits. With worker threads the main thread
// does all of that on its copy, then tells every worker to apply the local half, then answers the worker that
// asked: one place decides, so two edits can never take the same member slot or interleave half-applied.
import { randomBytes, randomUUID } from 'node:crypto';
import type { SticklerConfig } from '../config/model.ts';
import { memberLoopProblem, type OwnListener } from '../proxy/member-loop.ts';
import { thisMachine } from '../proxy/this-machine.ts';
import { applyShared, asAsked, planEdit, type EditTarget, type PlannedEdit } from './edits.ts';
import type { ManagerControl } from './handler.ts';
import type { Actor, AuditEntry, Edit, EditOutcome } from './model.ts';
import { applyOverlay } from './overlay.ts';
import { ManagerStore } from './store.ts';

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
    let result;
    try {
      result = applyOverlay(config, this.store.overlay);
    } catch (err) {
      this.log(`stickler: manager: the saved changes cannot be applied (${(err as Error).message}); starting from the configuration`);
      this.store.replace({ version: 1, balancers: {} });
      return config;
    }
    for (const line of result.dropped) this.log(`stickler: manager: ${line}`);
    if (result.dropped.length > 0) this.store.replace(result.overlay);
    return result.config;
  }

  /** Apache's nonce per balancer: a random UUID, kept across reloads for balancers that stay. */
  noncesFor(config: SticklerConfig): Map<string, string> {
    for (const b of config.balancers) if (!this.nonces.has(b.name)) this.nonces.set(b.name, randomUUID());
    return new Map(config.balancers.map((b) => [b.name, this.nonces.get(b.name)!]));
  }
}

/**
 * Checks and applies an edit where edits are decided: the shared half once, then saves and audits. `broadcast`
 * applies the local half, to the deciding thread's own objects and to every other thread's. A new member may not
 * be one of `listeners`, the ports this process serves (see member-loop.ts).
 */
export function decide(
  targets: ReadonlyMap<string, EditTarget>,
  store: ManagerStore,
  edit: Edit,
  actor: Actor,
  broadcast: (edit: PlannedEdit, entry: AuditEntry) => void,
  listeners: readonly OwnListener[],
): EditOutcome {
  const planned = planEdit(targets, edit);
  if (!planned.ok) return planned;
  const loop = edit.kind === 'add-member' ? memberLoopProblem(edit.url, listeners, thisMachine()) : undefined;
  if (loop !== undefined) return { ok: false, status: 400, reason: loop };
  const target = targets.get(edit.balancer)!;
  applyShared(target, planned.edit);
  const entry = store.record(asAsked(planned.edit), actor, planned.before, planned.after);
  broadcast(planned.edit, entry);
  return { ok: true, before: planned.before, after: planned.after };
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

  async submit(edit: Edit, actor: Actor): Promise<EditOutcome> {
    const { targets, apply, listeners } = this.targets();
    return decide(targets, this.store, edit, actor, (planned) => apply(planned), listeners);
  }
}

