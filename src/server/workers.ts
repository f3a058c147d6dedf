// Several worker threads serving the same listeners, as one balancer. Each thread binds every listener with
// SO_REUSEPORT (the kernel spreads new connections, no thread in between) and picks members from one state
// per balancer in a SharedArrayBuffer, taken under a lock: so byrequests picks the same sequence as a single
// process, whatever thread a request lands on. A worker that dies is replaced; the others keep serving.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { SticklerConfig } from '../config/model.ts';
import { BalancerState } from '../balancer/state.ts';
import { decide, ManagerHost } from '../manager/coordinator.ts';
import { applyLocal, type EditTarget, type PlannedEdit } from '../manager/edits.ts';
import type { Actor, AuditEntry, Edit, EditOutcome } from '../manager/model.ts';
import { memberPool, sharedBalancerStates } from './runtime.ts';
import { startHealthChecks } from '../health/checker.ts';
import type { MemberPool } from '../upstream/pool.ts';
import { StartupError } from './server.ts';

export interface ListenerAddress {
  address: string;
  port: number;
  tls: boolean;
}

export type FromWorker =
  | { type: 'ready'; listeners: ListenerAddress[] }
  | { type: 'failed'; message: string }
  | { type: 'reloaded'; listeners: ListenerAddress[] }
  | { type: 'reload-failed'; message: string }
  /** A manager edit for the main thread to decide. */
  | { type: 'edit'; id: number; edit: Edit; actor: Actor };
export type ToWorker =
  | { type: 'stop' }
  | { type: 'reload'; config: SticklerConfig; sharedStates: Map<string, SharedArrayBuffer>; nonces: Map<string, string> }
  /** A decided edit: every worker applies its local half. */
  | { type: 'apply'; edit: PlannedEdit; entry: AuditEntry }
  /** The answer to the worker that asked. */
  | { type: 'edited'; id: number; outcome: EditOutcome };

/** What a worker thread starts with. */
export interface WorkerData {
  config: SticklerConfig;
  sharedStates: Map<string, SharedArrayBuffer>;
  ticketKeys: Uint8Array;
  id: number;
  manager: { secret: Uint8Array; nonces: Map<string, string>; persisted: boolean; recent: AuditEntry[] };
}

const workerScript = new URL('./worker-entry.ts', import.meta.url);

function applyLocalHere(targets: Map<string, EditTarget>, edit: PlannedEdit): void {
  const target = targets.get(edit.balancer);
  if (target) applyLocal(target, edit);
}

export class WorkerGroup {
  readonly count: number;
  listeners: ListenerAddress[] = [];
  /** Replacements started after a worker died, for logs and tests. */
  replaced = 0;
  private config: SticklerConfig;
  private sharedStates: Map<string, SharedArrayBuffer>;
  private readonly threads = new Map<number, Worker>();
  private readonly ticketKeys = randomBytes(48);
  private readonly log: (line: string) => void;
  private nextId = 1;
  private stopping = false;

  /** Manager changes: laid over every configuration here, decided here, applied by every worker. */
  private readonly host: ManagerHost;

  constructor(config: SticklerConfig, count: number, log: (line: string) => void = () => {}) {
    this.host = new ManagerHost(config, log);
    this.config = this.host.prepare(config);
    this.count = count;
    this.log = log;
    this.sharedStates = sharedBalancerStates(this.config);
  }

  /** Health checks run here, once per member whatever the number of workers, with pools of their own. */
  private health: { stop(): void; pools: MemberPool[] } | undefined;

  private checkHealth(): void {
    this.stopHealth();
    const targets = this.config.balancers.map((b) => ({
      balancer: b,
      state: BalancerState.attach(this.sharedStates.get(b.name)!),
      pools: b.members.map((m) => memberPool(this.config, b, m)),
    }));
    const checks = startHealthChecks(targets, { log: (line) => this.log(`stickler: ${line}`) });
    this.health = { stop: () => checks.stop(), pools: targets.flatMap((t) => t.pools) };
  }

  private stopHealth(): void {
    this.health?.stop();
    for (const pool of this.health?.pools ?? []) pool.close();
    this.health = undefined;
  }

  /** The main thread's copy of each balancer over the shared state: where edits are checked and decided. */
  private editTargets(): Map<string, EditTarget> {
    return new Map(this.config.balancers.map((b) => [b.name, { config: b, state: BalancerState.attach(this.sharedStates.get(b.name)!) }]));
  }

  private decide(from: Worker, id: number, edit: Edit, actor: Actor): void {
    const targets = this.editTargets();
    const outcome = decide(targets, this.host.store, edit, actor, (planned, entry) => {
      applyLocalHere(targets, planned);
      for (const worker of this.workers) worker.postMessage({ type: 'apply', edit: planned, entry } satisfies ToWorker);
    }, this.listeners.map((l) => ({ host: l.address, port: l.port })));
    from.postMessage({ type: 'edited', id, outcome } satisfies ToWorker);
  }

  /** Resolves once every worker listens; rejects with the first worker's startup error. */
  async start(): Promise<void> {
    try {
      const ready = await Promise.all(Array.from({ length: this.count }, () => this.spawn()));
      this.listeners.push(...ready[0]!);
      this.checkHealth();
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Every worker takes `config` (see Stickler.reload), with fresh balancer states as Apache's graceful restart
   * starts fresh counters. Rejects with the first worker's reason when the configuration cannot be served; the
   * previous one then keeps serving.
   */
  async reload(fileConfig: SticklerConfig): Promise<void> {
    const config = this.host.prepare(fileConfig);
    const nonces = this.host.noncesFor(config);
    const sharedStates = sharedBalancerStates(config);
    const previous = { config: this.config, sharedStates: this.sharedStates };
    // Replacements started during the reload take the new configuration.
    this.config = config;
    this.sharedStates = sharedStates;
    const answers = await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<FromWorker>((resolve) => {
            const onMessage = (message: FromWorker) => {
              if (message.type !== 'reloaded' && message.type !== 'reload-failed') return;
              done(message);
            };
            // A worker that dies meanwhile answers nothing; its replacement starts on the new configuration.
            const onExit = () => done({ type: 'reloaded', listeners: [] });
            const done = (message: FromWorker) => {
              worker.off('message', onMessage);
              worker.off('exit', onExit);
              resolve(message);
            };
            worker.on('message', onMessage);
            worker.once('exit', onExit);
            worker.postMessage({ type: 'reload', config, sharedStates, nonces } satisfies ToWorker);
          }),
      ),
    );
    const failed = answers.find((a) => a.type === 'reload-failed');
    if (failed?.type === 'reload-failed') {
      // Failures come from the configuration itself (a certificate, a port), so every worker refused alike.
      this.config = previous.config;
      this.sharedStates = previous.sharedStates;
      throw new StartupError(failed.message);
    }
    const answered = answers.find((a) => a.type === 'reloaded' && a.listeners.length > 0);
    if (answered?.type === 'reloaded') this.listeners = answered.listeners;
    this.checkHealth();
  }

  /** The state buffer every worker picks `balancer`'s members from. */
  sharedState(balancer: string): SharedArrayBuffer | undefined {
    return this.sharedStates.get(balancer);
  }

  get workers(): Worker[] {
    return [...this.threads.values()];
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.stopHealth();
    await Promise.all(
      [...this.threads.values()].map(
        (worker) =>
          new Promise<void>((resolve) => {
            worker.once('exit', () => resolve());
            worker.postMessage({ type: 'stop' } satisfies ToWorker);
            // A worker that does not finish its goodbyes in time is ended all the same.
            const grace = this.config.gracefulShutdownTimeout;
            if (grace > 0) setTimeout(() => void worker.terminate(), grace + 5_000).unref();
          }),
      ),
    );
  }

  private spawn(): Promise<ListenerAddress[]> {
    const id = this.nextId++;
    const manager = { secret: this.host.secret, nonces: this.host.noncesFor(this.config), persisted: this.host.store.persisted, recent: this.host.store.recent };
    const workerData: WorkerData = { config: this.config, sharedStates: this.sharedStates, ticketKeys: this.ticketKeys, id, manager };
    const worker = new Worker(workerScript, { workerData });
    this.threads.set(id, worker);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'edit') this.decide(worker, message.id, message.edit, message.actor);
        else if (message.type === 'ready') {
          started = true;
          resolve(message.listeners);
        } else if (message.type === 'failed') reject(new StartupError(message.message));
      });
      worker.on('error', (err: Error) => {
        if (!started) reject(err);
        else this.log(`stickler: worker ${id} failed: ${err.stack ?? err}`);
      });
      const workerThreadId = worker.threadId;
      worker.on('exit', (code) => {
        this.threads.delete(id);
        for (const buffer of this.sharedStates.values()) BalancerState.attach(buffer).releaseIfHeldBy(workerThreadId);
        if (!started || this.stopping) return;
        this.log(`stickler: worker ${id} exited with code ${code}; starting a replacement`);
        this.replaced++;
        this.spawn().then(
          () => this.log(`stickler: replacement worker ready`),
          (err: unknown) => this.log(`stickler: replacement worker failed to start: ${(err as Error)?.message ?? err}`),
        );
      });
    });
  }
}
