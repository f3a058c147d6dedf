// Several worker threads serving the same listeners, as one balancer. Each thread binds every listener with
// SO_REUSEPORT (the kernel spreads new connections, no thread in between) and picks members from one state
// per balancer in a SharedArrayBuffer, taken under a lock: so byrequests picks the same sequence as a single
// process, whatever thread a request lands on. A worker that dies is replaced and the busy counts it held are
// given back (its ledger); the others keep serving.
//
// Manager edits and reloads are all or nothing: every worker prepares its part first, and only when all have does
// anything change, the main thread's configuration and the shared state included; then every worker commits. A
// worker that cannot prepare or commit its part (or does not answer) is replaced by one started on the
// configuration in force; edits, reloads and replacements run one at a time, so none starts on a half-made one.
// A new worker that does not say it is ready in time is ended: at start that fails the start; a replacement is
// tried a few times, then the group serves on with a thread fewer and says so, rather than holding up the queue.
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { formatDiagnostic, withSwappedFiles, type SticklerConfig, type TlsFiles } from '../config/model.ts';
import { managedHosts } from '../config/managed-domains.ts';
import { fromContents, readTlsFiles, type FileContents } from '../tls/credentials.ts';
import type { PendingChallenge } from '../acme/challenges.ts';
import type { DomainStatus } from '../acme/renewer.ts';
import { BalancerState } from '../balancer/state.ts';
import { check, commit, ManagerHost } from '../manager/coordinator.ts';
import { idleStopMoot, startIdleStops } from '../manager/idle-stop.ts';
import { applyLocal, type EditTarget } from '../manager/edits.ts';
import type { Actor, AuditEntry, Edit, EditOutcome, ManagerOverview } from '../manager/model.ts';
import { drainActivity, overview } from '../manager/overview.ts';
import { GroupReports, reportPeriod } from '../shared/group-reports.ts';
import type { Activity } from '../shared/session-activity.ts';
import { Balancer } from '../balancer/balancer.ts';
import { clientCertificateFiles, memberCredentialProblems, memberPool, sharedBalancerStates, type SharedBalancer } from './runtime.ts';
import { startHealthChecks, type LocalVerdict } from '../health/checker.ts';
import type { MemberPool } from '../upstream/pool.ts';
import { openShared, StartupError } from './server.ts';
import type { SharedEdits } from '../shared/shared-edits.ts';
import type { EditOrigin } from '../manager/store.ts';
import { logDestinations } from '../log/access.ts';
import { holdPipedLoggers, writeFromWorker } from '../log/piped.ts';
import { ask, GATE, sharedFlag, writeSharedFlag, type Answer, type FromWorker, type ListenerAddress, type SharedFlag, type ToWorker, type Work, type WorkerData } from './worker-protocol.ts';

/** The addresses the group listens on, part of its API (WorkerGroup.listeners). */
export type { ListenerAddress } from './worker-protocol.ts';

/** How long a worker may take to answer a prepare or a commit before it is taken for stuck and replaced. */
const ANSWER_MS = 10_000;
/** Starts tried for one replacement; after that the group serves with a thread fewer rather than loop. */
const REPLACEMENT_ATTEMPTS = 3;

const workerScript = new URL('./worker-entry.js', import.meta.url);

interface Thread {
  id: number;
  worker: Worker;
  /** The states it serves new connections from, with its ledgers: what is given back when it exits. */
  shared: Map<string, SharedBalancer>;
  /** Earlier states its retired runtimes may still pick from, by the reload that retired them, until it says they closed. */
  retiring: Map<number, Map<string, SharedBalancer>>;
  exited: Promise<void>;
}

export class WorkerGroup {
  readonly count: number;
  listeners: ListenerAddress[] = [];
  /** Replacements started after a worker died or failed its part of an edit or reload, for logs and tests. */
  replaced = 0;
  private config: SticklerConfig;
  private states: Map<string, SharedArrayBuffer>;
  /** The workers serving, which take part in every edit and reload. */
  private readonly threads = new Map<number, Thread>();
  /** Workers replaced, finishing the requests they have. */
  private readonly leaving = new Set<Thread>();
  private readonly ticketKeys = randomBytes(48);
  private readonly log: (line: string) => void;
  /** How long a new worker may take to say it is ready before it is taken for stuck and ended. */
  private readonly readyMs: number;
  private nextId = 1;
  private nextWork = 1;
  private stopping = false;
  private queue: Promise<unknown> = Promise.resolve();
  /** Lets go of the piped loggers the workers send lines to, which run in this thread. */
  private releasePipes = async (): Promise<void> => {};
  /** Loggers of earlier configurations, let go once the runtimes that write to them have closed. */
  private readonly releasing = new Set<Promise<void>>();

  /** Manager changes: laid over every configuration here, decided here, applied by every worker. */
  private readonly host: ManagerHost;
  /** With shared state: edits go through the journal, which this thread follows and applies (shared-edits.ts). */
  private readonly shared: SharedEdits | undefined;
  private readonly sharedFlag: SharedFlag | undefined;
  /** The configuration as its file says, before the manager's changes: a snapshot taken from Redis is laid over it. */
  private fileConfig: SticklerConfig;

  /** Held while the process is root (the start before the drop to User/Group): the workers bind but serve nothing. */
  private readonly gate: Int32Array | undefined;

  /**
   * `readyMs` defaults to the time any answer is given, a start being no slower than a reload's prepare. `held`:
   * the workers serve only from serve(), called once the process no longer runs as root.
   */
  constructor(config: SticklerConfig, count: number, log: (line: string) => void = () => {}, { readyMs = ANSWER_MS, held = false } = {}) {
    this.gate = held ? new Int32Array(new SharedArrayBuffer(4)) : undefined;
    this.host = new ManagerHost(config, log);
    this.config = this.host.prepare(config);
    this.fileConfig = config;
    this.shared = config.sharedState && openShared(config.sharedState, {
      check: (edit) => {
        const planned = check(this.editTargets(), edit, this.ownListeners());
        return planned.ok ? undefined : planned;
      },
      apply: (edit, actor, origin) => this.serially(async () => idleStopMoot(this.editTargets(), edit, actor) ?? this.decideNow(edit, actor, origin)),
      replace: (overlay) => {
        this.host.store.replace(overlay);
        return this.reload(this.fileConfig);
      },
      overlay: () => this.host.store.overlay,
    }, log);
    if (this.shared) {
      const flag = sharedFlag(this.shared.instance);
      writeSharedFlag(flag, this.shared.status());
      this.shared.onStatus((status) => writeSharedFlag(flag, status));
      this.sharedFlag = flag;
    }
    const shared = this.shared;
    this.group = shared && new GroupReports(shared.connection, shared.keys, shared.instance, config.sharedState?.healthRule ?? 'local', () => ({
      verdicts: this.health?.verdicts() ?? [],
      activity: drainActivity(this.balancers(), Date.now()),
    }), log);
    this.count = count;
    this.log = log;
    this.readyMs = readyMs;
    this.states = sharedBalancerStates(this.config);
  }

  /** The members' client certificate files of the configuration in force, read here once for every thread. */
  private clientFiles: FileContents = new Map();

  /** Health checks run here, once per member whatever the number of workers, with pools of their own. */
  private health: { stop(): void; verdicts(): LocalVerdict[]; pools: MemberPool[] } | undefined;
  /** With shared state: health verdicts and drain activity exchanged with the group's other instances. */
  private readonly group: GroupReports | undefined;
  /** Sends the workers the group's activity on each draining member, for the drain views they answer. */
  private groupActivityTimer: NodeJS.Timeout | undefined;
  /** The ACME challenges pending, and the renewals' state, as last set. */
  private challenges: PendingChallenge[] = [];
  private renewals: DomainStatus[] = [];

  private checkHealth(): void {
    this.stopHealth();
    const targets = this.config.balancers.map((b) => ({
      balancer: b,
      state: BalancerState.attach(this.states.get(b.name)!),
      pools: b.members.map((m) => memberPool(this.config, b, m)),
    }));
    const checks = startHealthChecks(targets, { log: (line) => this.log(`stickler: ${line}`), ...(this.group && { group: this.group }) });
    this.health = { stop: () => checks.stop(), verdicts: () => checks.verdicts(), pools: targets.flatMap((t) => t.pools) };
    if (this.group) this.group.period = reportPeriod(targets.map((t) => t.balancer));
  }

  /** Drained members stopped once idle (manager/idle-stop.ts), decided here like every edit, across reloads. */
  private idleStops: { stop(): void } | undefined;

  private stopHealth(): void {
    this.health?.stop();
    for (const pool of this.health?.pools ?? []) pool.close();
    this.health = undefined;
  }

  /** Runs `task` once every edit, reload and worker start queued before it is done: they never interleave. */
  private serially<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  /** The main thread's copy of each balancer over the shared state: where edits are checked and decided. */
  private editTargets(): Map<string, EditTarget> {
    return new Map(this.config.balancers.map((b) => [b.name, { config: b, state: BalancerState.attach(this.states.get(b.name)!) }]));
  }

  private decide(from: Worker, id: number, edit: Edit, actor: Actor): void {
    // Shared: the journal orders edits, and its follower applies them through the queue.
    const outcome = this.shared ? this.shared.submit(edit, actor) : this.serially(() => this.decideNow(edit, actor));
    void outcome.then((o) => from.postMessage({ type: 'edited', id, outcome: o } satisfies ToWorker));
  }

  private ownListeners(): Array<{ host: string; port: number }> {
    return this.listeners.map((l) => ({ host: l.address, port: l.port }));
  }

  private async decideNow(edit: Edit, actor: Actor, origin?: EditOrigin): Promise<EditOutcome> {
    const targets = this.editTargets();
    const planned = check(targets, edit, this.ownListeners());
    if (!planned.ok) return planned;
    const prepared = await this.prepareEverywhere(() => ({ kind: 'edit', edit: planned.edit }));
    if (!prepared.ok) return { ok: false, status: 503, reason: `${prepared.reason}; nothing was changed, try again` };
    const entry = commit(targets, this.host.store, planned, actor, origin);
    applyLocal(targets.get(planned.edit.balancer)!, planned.edit);
    await this.commitEverywhere(prepared.id, prepared.threads, entry);
    return { ok: true, before: planned.before, after: planned.after };
  }

  /**
   * Has every serving worker prepare its `work`. When one cannot, those that could drop it, and each that failed
   * other than cleanly is replaced; the reason is the first refusal's.
   */
  private async prepareEverywhere(work: (thread: Thread) => Work): Promise<{ ok: true; id: number; threads: Thread[] } | { ok: false; reason: string }> {
    const id = this.nextWork++;
    const threads = [...this.threads.values()];
    const works = threads.map(work);
    const answers = await Promise.all(threads.map((t, i) => ask(t.worker, { type: 'prepare', id, work: works[i]! }, ANSWER_MS)));
    const failed = threads.flatMap((t, i) => {
      const answer = answers[i]!;
      if (answer === 'late') return [{ thread: t, message: `worker ${t.id} did not answer within ${ANSWER_MS / 1000} s`, clean: false }];
      if (answer !== 'gone' && answer.type === 'refused') return [{ thread: t, message: answer.message, clean: answer.clean }];
      return [];
    });
    const took = threads.filter((_, i) => answers[i] !== 'gone' && (answers[i] as FromWorker).type === 'prepared');
    if (failed.length === 0) return { ok: true, id, threads: took };
    for (const t of took) t.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
    for (const f of failed) if (!f.clean) this.replace(f.thread, `could not prepare ${{ edit: 'an edit', reload: 'a reload', certificate: 'a certificate' }[works[0]!.kind]} (${f.message})`);
    const first = failed[0]!;
    return { ok: false, reason: first.clean ? first.message : `worker ${first.thread.id} could not apply it (${first.message}) and is being replaced` };
  }

  /** Has every worker that prepared work `id` commit it; one that cannot is replaced. */
  private async commitEverywhere(id: number, threads: Thread[], entry?: AuditEntry): Promise<Answer[]> {
    const answers = await Promise.all(threads.map((t) => ask(t.worker, { type: 'commit', id, ...(entry && { entry }) }, ANSWER_MS)));
    threads.forEach((t, i) => {
      const answer = answers[i]!;
      if (answer === 'late') this.replace(t, `did not commit within ${ANSWER_MS / 1000} s`);
      else if (answer !== 'gone' && answer.type === 'commit-failed') this.replace(t, `could not commit (${answer.message})`);
    });
    return answers;
  }

  /** A worker that failed its part: it finishes the requests it has and stops, and a new one starts on the configuration in force. */
  private replace(thread: Thread, reason: string): void {
    if (!this.threads.delete(thread.id)) return;
    this.leaving.add(thread);
    this.log(`stickler: worker ${thread.id} ${reason}; replacing it`);
    this.stopWorker(thread);
    this.respawn();
  }

  private respawn(): void {
    this.replaced++;
    void this.serially(async () => {
      for (let attempt = 1; !this.stopping; attempt++) {
        try {
          await this.spawn();
          return this.log(`stickler: replacement worker ready`);
        } catch (err) {
          const reason = (err as Error)?.message ?? String(err);
          if (attempt < REPLACEMENT_ATTEMPTS) {
            this.log(`stickler: replacement worker failed to start (${reason}); trying again`);
            continue;
          }
          return this.log(
            `stickler: no replacement worker started after ${REPLACEMENT_ATTEMPTS} attempts (last: ${reason}); ` +
              `serving with ${this.threads.size} of ${this.count} worker threads until restarted`,
          );
        }
      }
    });
  }

  /** Resolves once every worker listens; rejects with the first worker's startup error. */
  async start(): Promise<void> {
    try {
      this.releasePipes = holdPipedLoggers(logDestinations(this.config), this.config.environment);
      this.clientFiles = readClientFiles(this.config);
      const ready = await this.serially(() => Promise.all(Array.from({ length: this.count }, () => this.spawn())));
      this.listeners.push(...ready[0]!);
      this.checkHealth();
      this.shared?.start();
      this.shareGroupActivity();
      const shared = this.shared;
      const group = this.group;
      this.idleStops = startIdleStops({
        targets: () => this.editTargets(),
        // Shared, the journal's order is the one that counts; its follower needs the queue to apply the edit.
        exclusively: shared ? (task) => task() : (task) => this.serially(task),
        submit: shared ? (edit, actor) => shared.submit(edit, actor) : (edit, actor) => this.decideNow(edit, actor),
        log: (line) => this.log(`stickler: ${line}`),
        ...(group && { activity: (b: string, m: string, local: Activity) => group.activity(b, m, local) }),
      });
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /**
   * Every worker takes `config` (see Stickler.reload), with fresh balancer states as Apache's graceful restart
   * starts fresh counters, or none does. Rejects with the first worker's reason when the configuration cannot be
   * served; the previous one then keeps serving everywhere.
   */
  reload(fileConfig: SticklerConfig): Promise<void> {
    return this.serially(async () => {
      const laid = this.host.lay(fileConfig);
      const { config } = laid;
      const nonces = this.host.noncesFor(config);
      const states = sharedBalancerStates(config);
      const shared = new Map([...this.threads.values()].map((t) => [t, withLedgers(states)]));
      const clientFiles = readClientFiles(config);
      const prepared = await this.prepareEverywhere((t) => ({ kind: 'reload', config, shared: shared.get(t)!, nonces, clientFiles }));
      if (!prepared.ok) throw new StartupError(prepared.reason);
      this.clientFiles = clientFiles;
      // The new configuration's loggers first, so a command both name keeps its child; the old ones are let go
      // once every worker's retired runtime has closed, which writes its last lines as it closes.
      const releaseOld = this.releasePipes;
      this.releasePipes = holdPipedLoggers(logDestinations(config), config.environment);
      const released = Promise.all(prepared.threads.map((t) => this.retirement(t, prepared.id))).then(releaseOld);
      this.releasing.add(released);
      void released.then(() => this.releasing.delete(released));
      this.config = config;
      this.fileConfig = fileConfig;
      this.states = states;
      laid.settle();
      for (const t of prepared.threads) {
        t.retiring.set(prepared.id, t.shared);
        t.shared = shared.get(t)!;
      }
      const answers = await this.commitEverywhere(prepared.id, prepared.threads);
      for (const a of answers) if (a !== 'gone' && a !== 'late' && a.type === 'committed' && a.listeners.length > 0) this.listeners = a.listeners;
      this.checkHealth();
    });
  }

  /**
   * Stickler.swapCertificate on every worker, all or none: the files are read here once and sent to each, so every
   * thread serves the same certificate. Workers started later take it too; the next reload reads the files the
   * configuration names again. Rejects with the reason (the file and what is wrong with it) when nothing changed.
   */
  swapCertificate(vhost: number, files: TlsFiles): Promise<void> {
    return this.serially(() => this.swapNow(vhost, files));
  }

  /**
   * Stickler.swapManagedCertificate on every worker: the hosts are found in the configuration the workers run once
   * the reloads queued before are done.
   */
  swapManagedCertificate(domain: string): Promise<number> {
    return this.serially(async () => {
      const hosts = managedHosts(this.config, domain);
      for (const { vhost, files } of hosts) await this.swapNow(vhost, files);
      return hosts.length;
    });
  }

  private async swapNow(vhost: number, files: TlsFiles): Promise<void> {
    // What each worker will load: the new files with the host's configured CAs and CRLs, all read here.
    const swapped = withSwappedFiles(this.config.virtualHosts[vhost]?.tls, files);
    const contents = readTlsFiles(swapped, (path) => readFileSync(path));
    const prepared = await this.prepareEverywhere(() => ({ kind: 'certificate', vhost, files, contents }));
    if (!prepared.ok) throw new StartupError(prepared.reason);
    this.config = { ...this.config, virtualHosts: this.config.virtualHosts.map((vh, i) => (i === vhost ? { ...vh, tls: swapped } : vh)) };
    await this.commitEverywhere(prepared.id, prepared.threads);
  }

  /** With shared state: the connection, keys and name the group's ACME orders go through (acme/shared-orders.ts). */
  get sharedEdits(): SharedEdits | undefined {
    return this.shared;
  }

  /** How the renewals go, for every worker's console and /metrics. */
  setRenewals(renewals: readonly DomainStatus[]): void {
    this.renewals = [...renewals];
    for (const worker of this.workers) worker.postMessage({ type: 'acme-renewals', renewals: this.renewals } satisfies ToWorker);
  }

  /** The ACME challenges every worker answers from now on; a worker started later is told at once. */
  setChallenges(pending: readonly PendingChallenge[]): void {
    this.challenges = [...pending];
    for (const worker of this.workers) worker.postMessage({ type: 'acme-challenges', pending: this.challenges } satisfies ToWorker);
  }

  /**
   * Every worker opens its log files again (SIGUSR1); not queued behind edits and reloads, which may take seconds,
   * as a worker that starts meanwhile opens the files afresh anyway. The reasons of those that could not.
   */
  async reopenLogs(): Promise<string[]> {
    const id = this.nextWork++;
    const answers = await Promise.all(this.workers.map((worker) => ask(worker, { type: 'reopen-logs', id }, ANSWER_MS)));
    return answers.flatMap((answer) => (answer === 'late' ? [`a worker did not reopen its logs within ${ANSWER_MS / 1000} s`] : answer !== 'gone' && answer.type === 'reopened' ? answer.failures : []));
  }

  /** The balancers as the manager shows them, read from the state every worker picks from (`stickler status`). */
  overview(): ManagerOverview {
    const group = this.group;
    return overview(this.balancers(), this.host.store.persisted, Date.now(), this.shared?.status(), group && ((b, m, local) => group.activity(b, m, local)));
  }

  /** Every balancer over the state every worker picks from: what this instance as a whole has seen. */
  private balancers(): Array<{ balancer: Balancer }> {
    return this.config.balancers.map((b) => ({ balancer: new Balancer(b, BalancerState.attach(this.states.get(b.name)!)) }));
  }

  /**
   * With shared state: exchanges reports with the group, and at every report period tells each worker the other
   * instances' activity on the members draining here (this instance's own is in the state they share).
   */
  private shareGroupActivity(): void {
    const group = this.group;
    if (!group) return;
    group.start();
    const send = (): void => {
      const none = { active: 0, lastRequestAt: null };
      const others = drainActivity(this.balancers(), Date.now()).map(({ balancer, member }) => ({ balancer, member, ...group.activity(balancer, member, none) }));
      for (const worker of this.workers) worker.postMessage({ type: 'group-activity', others } satisfies ToWorker);
      this.groupActivityTimer = setTimeout(send, group.period).unref();
    };
    send();
  }

  /** The state buffer every worker picks `balancer`'s members from. */
  sharedState(balancer: string): SharedArrayBuffer | undefined {
    return this.states.get(balancer);
  }

  get workers(): Worker[] {
    return [...this.threads.values()].map((t) => t.worker);
  }

  /** The workers serve from now on; workers started later serve at once. */
  serve(): void {
    this.setGate(GATE.open);
  }

  private setGate(value: number): void {
    if (!this.gate || Atomics.load(this.gate, 0) !== GATE.held) return;
    Atomics.store(this.gate, 0, value);
    Atomics.notify(this.gate, 0);
  }

  async close(): Promise<void> {
    this.stopping = true;
    // Workers still held never served: they leave without serving, the process being root still.
    this.setGate(GATE.closed);
    this.stopHealth();
    this.idleStops?.stop();
    this.group?.close();
    clearTimeout(this.groupActivityTimer);
    await this.shared?.close();
    for (const t of this.threads.values()) this.stopWorker(t);
    await Promise.all([...this.threads.values(), ...this.leaving].map((t) => t.exited));
    await Promise.all([...this.releasing, this.releasePipes()]);
  }

  /** Resolves when the runtime that reload `id` retires in `thread` has closed, or the thread has exited. */
  private retirement(thread: Thread, id: number): Promise<void> {
    return new Promise((resolve) => {
      const onMessage = (message: FromWorker): void => {
        if (message.type === 'retired' && message.id === id) done();
      };
      const done = (): void => {
        thread.worker.off('message', onMessage);
        resolve();
      };
      thread.worker.on('message', onMessage);
      void thread.exited.then(done);
    });
  }

  /** Asks a worker to finish its requests and stop; one that does not in time is ended all the same. */
  private stopWorker(thread: Thread): void {
    thread.worker.postMessage({ type: 'stop' } satisfies ToWorker);
    const grace = this.config.gracefulShutdownTimeout;
    if (grace > 0) setTimeout(() => void thread.worker.terminate(), grace + 5_000).unref();
  }

  private spawn(): Promise<ListenerAddress[]> {
    const id = this.nextId++;
    const shared = withLedgers(this.states);
    const manager = {
      secret: this.host.secret, nonces: this.host.noncesFor(this.config), persisted: this.host.store.persisted, recent: this.host.store.recent,
      ...(this.sharedFlag && { shared: this.sharedFlag }),
    };
    const workerData: WorkerData = { config: this.config, clientFiles: this.clientFiles, shared, ticketKeys: this.ticketKeys, id, manager, ...(this.gate && { gate: this.gate }) };
    const worker = new Worker(workerScript, { workerData });
    const thread: Thread = { id, worker, shared, retiring: new Map(), exited: new Promise((resolve) => worker.once('exit', () => resolve())) };
    this.threads.set(id, thread);
    return new Promise((resolve, reject) => {
      let started = false;
      // A worker that did not start takes no part in what the queue runs next, even before it has exited.
      const failed = (err: Error) => {
        clearTimeout(stuck);
        if (this.threads.delete(id)) this.leaving.add(thread);
        reject(err);
      };
      const stuck = setTimeout(() => {
        failed(new StartupError(`worker ${id} did not say it was ready within ${this.readyMs / 1000} s; it was ended`));
        void worker.terminate();
      }, this.readyMs);
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'edit') this.decide(worker, message.id, message.edit, message.actor);
        else if (message.type === 'retired') thread.retiring.delete(message.id);
        else if (message.type === 'log') {
          const data = Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength);
          writeFromWorker(message.destination, data, (err) => worker.postMessage({ type: 'logged', id: message.id, ...(err && { error: err.message }) } satisfies ToWorker));
        }
        else if (message.type === 'ready') {
          if (this.challenges.length > 0) worker.postMessage({ type: 'acme-challenges', pending: this.challenges } satisfies ToWorker);
          if (this.renewals.length > 0) worker.postMessage({ type: 'acme-renewals', renewals: this.renewals } satisfies ToWorker);
          started = true;
          clearTimeout(stuck);
          resolve(message.listeners);
        } else if (message.type === 'failed') failed(new StartupError(message.message));
      });
      worker.on('error', (err: Error) => {
        if (!started) failed(err);
        else this.log(`stickler: worker ${id} failed: ${err.stack ?? err}`);
      });
      const workerThreadId = worker.threadId;
      worker.on('exit', (code) => {
        const serving = this.threads.delete(id);
        this.leaving.delete(thread);
        this.releaseHeldBy(thread, workerThreadId);
        if (!started) failed(new StartupError(`worker ${id} exited with code ${code} before it listened`));
        if (!started || this.stopping || !serving) return;
        this.log(`stickler: worker ${id} exited with code ${code}; starting a replacement`);
        this.respawn();
      });
    });
  }

  /**
   * Whatever a worker held dies with it: the busy counts of the requests it was serving, in every state it used,
   * and the lock of any state a thread may still pick from (a retired runtime's, until the end of its grace
   * period), which would otherwise stop that thread at its next pick.
   */
  private releaseHeldBy(thread: Thread, deadThreadId: number): void {
    for (const { state, ledger } of [thread.shared, ...thread.retiring.values()].flatMap((g) => [...g.values()])) {
      BalancerState.attach(state).releaseLedger(ledger);
    }
    const inUse = new Set(this.states.values());
    for (const t of [thread, ...this.threads.values(), ...this.leaving]) {
      for (const generation of [t.shared, ...t.retiring.values()]) for (const { state } of generation.values()) inUse.add(state);
    }
    for (const state of inUse) BalancerState.attach(state).releaseIfHeldBy(deadThreadId);
  }
}

/** `states` with a new ledger each, for one worker. */
function withLedgers(states: ReadonlyMap<string, SharedArrayBuffer>): Map<string, SharedBalancer> {
  return new Map([...states].map(([name, state]) => [name, { state, ledger: BalancerState.attach(state).newLedger() }]));
}

/**
 * The members' client certificate files of `config`, read once and checked here, before any worker is asked: this
 * thread's health checks present what the workers do, and cannot fail to build once the workers took the configuration.
 */
function readClientFiles(config: SticklerConfig): FileContents {
  const contents = clientCertificateFiles(config);
  const problems = memberCredentialProblems(config, fromContents(contents));
  if (problems.length > 0) throw new StartupError(problems.map(formatDiagnostic).join('\n'));
  return contents;
}
