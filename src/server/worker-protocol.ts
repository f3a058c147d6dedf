// The messages between the main thread's WorkerGroup (workers.ts) and each worker thread (worker-thread.ts):
// starting, two-step edits and reloads (prepare, then commit or abort), manager edits decided by the main thread,
// and piped-log lines; and asking a worker for its answer to one step.
import type { Worker } from 'node:worker_threads';
import type { SticklerConfig, TlsFiles } from '../config/model.ts';
import type { FileContents } from '../tls/credentials.ts';
import type { PlannedEdit } from '../manager/edits.ts';
import type { Actor, AuditEntry, Edit, EditOutcome, SharedStatus } from '../manager/model.ts';
import type { SharedBalancer } from './runtime.ts';
import type { Activity } from '../shared/session-activity.ts';
import type { PendingChallenge } from '../acme/challenges.ts';
import type { DomainStatus } from '../acme/renewer.ts';

export interface ListenerAddress {
  address: string;
  port: number;
  tls: boolean;
}

/** What every worker prepares, then commits or drops. */
export type Work =
  | { kind: 'edit'; edit: PlannedEdit }
  /** `clientFiles`: the members' client certificate files as the main thread read them (see memberCredentialProblems). */
  | { kind: 'reload'; config: SticklerConfig; shared: Map<string, SharedBalancer>; nonces: Map<string, string>; clientFiles: FileContents }
  /** A virtual host's certificate swapped in place (Stickler.swapCertificate), with the files as the main thread read them. */
  | { kind: 'certificate'; vhost: number; files: TlsFiles; contents: FileContents };

export type FromWorker =
  | { type: 'ready'; listeners: ListenerAddress[] }
  | { type: 'failed'; message: string }
  /** A manager edit for the main thread to decide. */
  | { type: 'edit'; id: number; edit: Edit; actor: Actor }
  /** The work is ready to commit; nothing has changed yet. */
  | { type: 'prepared'; id: number }
  /** The work cannot be done here; `clean` when nothing changed and the worker can go on serving as it was. */
  | { type: 'refused'; id: number; message: string; clean: boolean }
  | { type: 'committed'; id: number; listeners: ListenerAddress[] }
  | { type: 'commit-failed'; id: number; message: string }
  /** The runtime reload `id` retired has closed: nothing in this worker uses the states from before it any more. */
  | { type: 'retired'; id: number }
  /** A batch of lines for the piped logger of `destination`, which runs in the main thread. */
  | { type: 'log'; id: number; destination: string; data: Uint8Array }
  /** The worker's log files are open again, but for those `failures` name. */
  | { type: 'reopened'; id: number; failures: string[] };
export type ToWorker =
  | { type: 'stop' }
  | { type: 'prepare'; id: number; work: Work }
  /** Every worker prepared it: take it (an edit brings its audit entry for the console). */
  | { type: 'commit'; id: number; entry?: AuditEntry }
  /** Some worker could not: drop it. */
  | { type: 'abort'; id: number }
  /** The answer to the worker that asked. */
  | { type: 'edited'; id: number; outcome: EditOutcome }
  /** The batch `id` is queued for its piped logger, or refused with `error`. */
  | { type: 'logged'; id: number; error?: string }
  /** Open every log file again (SIGUSR1). */
  | { type: 'reopen-logs'; id: number }
  /**
   * With shared state, every report period: the other instances' session activity on each member draining here,
   * as the main thread last heard it, for the drain views the worker answers. It replaces the last such message.
   */
  | { type: 'group-activity'; others: GroupActivity }
  /** Every ACME challenge pending now (the main thread orders); it replaces the last such list. */
  | { type: 'acme-challenges'; pending: PendingChallenge[] }
  /** How the managed domains' renewals go, after each order, for the console and /metrics. */
  | { type: 'acme-renewals'; renewals: DomainStatus[] };

/** The other instances' activity on each member draining here: one entry a draining member, so bounded by the configuration. */
export type GroupActivity = Array<{ balancer: string; member: string } & Activity>;

/** What a worker thread starts with. */
export interface WorkerData {
  config: SticklerConfig;
  /** The members' client certificate files of `config`, as the main thread read them. */
  clientFiles: FileContents;
  shared: Map<string, SharedBalancer>;
  ticketKeys: Uint8Array;
  id: number;
  manager: { secret: Uint8Array; nonces: Map<string, string>; persisted: boolean; recent: AuditEntry[]; shared?: SharedFlag };
  /** Set when the process is root until the drop to User/Group: one value the main thread changes (see GATE). */
  gate?: Int32Array;
}

/**
 * The main thread's view of the shared state, for the workers' consoles, in `words`: a version, odd while the
 * main thread writes (a seqlock: a status is several words, read whole or read again), then connected (0 or 1),
 * the last id applied as milliseconds and sequence, and lostAt; -1 for none.
 */
export interface SharedFlag {
  instance: string;
  words: BigInt64Array;
}

const NONE = -1n;

export function sharedFlag(instance: string): SharedFlag {
  return { instance, words: new BigInt64Array(new SharedArrayBuffer(5 * 8)) };
}

/** Called by the main thread, the one writer. */
export function writeSharedFlag(flag: SharedFlag, status: SharedStatus): void {
  const [ms, seq] = status.lastId === null ? [NONE, NONE] : status.lastId.split('-').map(BigInt) as [bigint, bigint];
  Atomics.add(flag.words, 0, 1n);
  Atomics.store(flag.words, 1, status.connected ? 1n : 0n);
  Atomics.store(flag.words, 2, ms);
  Atomics.store(flag.words, 3, seq);
  Atomics.store(flag.words, 4, status.lostAt === undefined ? NONE : BigInt(status.lostAt));
  Atomics.add(flag.words, 0, 1n);
}

/** A worker's view of the main thread's shared state. */
export function sharedStatus(flag: SharedFlag): () => SharedStatus {
  return () => {
    for (;;) {
      const version = Atomics.load(flag.words, 0);
      const [connected, ms, seq, lostAt] = [1, 2, 3, 4].map((i) => Atomics.load(flag.words, i)) as [bigint, bigint, bigint, bigint];
      if (version % 2n !== 0n || Atomics.load(flag.words, 0) !== version) continue;
      return { connected: connected === 1n, instance: flag.instance, lastId: ms === NONE ? null : `${ms}-${seq}`, ...(lostAt !== NONE && { lostAt: Number(lostAt) }) };
    }
  };
}

/**
 * A worker that has bound its listeners but may not serve yet waits on its gate: the process still runs as root,
 * and a request read then would be read as root. The main thread opens the gate once the drop holds, or closes it
 * when the start failed, and the worker then leaves without having served.
 */
export const GATE = { held: 0, open: 1, closed: 2 } as const;

/** Blocks the worker's thread (so no connection is even accepted by it) until the gate is no longer held. */
export function passGate(gate: Int32Array): boolean {
  while (Atomics.load(gate, 0) === GATE.held) Atomics.wait(gate, 0, GATE.held);
  return Atomics.load(gate, 0) === GATE.open;
}

/** A worker's answer to a prepare or a commit; `gone` if it exited first, `late` if it did not answer in time. */
export type Answer = FromWorker | 'gone' | 'late';

/** Sends `message` to a worker and waits for the answer carrying its id. */
export function ask(worker: Worker, message: Extract<ToWorker, { type: 'prepare' | 'commit' | 'reopen-logs' }>, answerMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    // Edits and log batches carry ids the worker numbers itself: they answer nothing.
    const onMessage = (answer: FromWorker) => {
      if (answer.type !== 'edit' && answer.type !== 'log' && 'id' in answer && answer.id === message.id) done(answer);
    };
    const onExit = () => done('gone');
    const timer = setTimeout(() => done('late'), answerMs);
    const done = (answer: Answer) => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('exit', onExit);
      resolve(answer);
    };
    worker.on('message', onMessage);
    worker.once('exit', onExit);
    try {
      worker.postMessage(message);
    } catch (err) {
      // Work that cannot be copied to a thread is refused by the main thread itself, the worker has nothing to do with it.
      done({ type: 'refused', id: message.id, message: `it cannot be sent to a worker (${(err as Error).message})`, clean: true });
    }
  });
}
