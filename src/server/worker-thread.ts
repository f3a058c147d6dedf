// What runs inside each worker thread: a whole Stickler (listeners bound with SO_REUSEPORT, its own member
// pools) whose balancers pick from the state buffers shared by every worker. Manager edits go to the main thread,
// which decides them; edits and reloads come back in two steps, prepare then commit or abort (see workers.ts).
import { parentPort, workerData } from 'node:worker_threads';
import type { ManagerControl } from '../manager/handler.ts';
import type { AuditEntry, EditOutcome } from '../manager/model.ts';
import { rememberAudit } from '../manager/store.ts';
import { sendPipedLogsThrough } from '../log/piped.ts';
import { keepRunningOnUncaughtErrors } from './last-resort.ts';
import { Stickler, StartupError } from './server.ts';
import { memberCredentialProblems } from './runtime.ts';
import { fromContents } from '../tls/credentials.ts';
import type { MergeActivity } from '../manager/overview.ts';
import { addActivity, type Activity } from '../shared/session-activity.ts';
import { memberKey } from '../shared/report-hash.ts';
import { passGate, sharedStatus, type FromWorker, type ToWorker, type Work, type WorkerData } from './worker-protocol.ts';

const { config, clientFiles, shared, ticketKeys, id, manager, gate } = workerData as WorkerData;
const port = parentPort!;
const tell = (message: FromWorker) => port.postMessage(message);
/** A startup error says what to fix; anything else is a bug, shown with its stack. */
const reason = (err: unknown) => (err instanceof StartupError ? err.message : String((err as Error)?.stack ?? err));
const addresses = () => stickler.listeners.map(({ address, port, tls }) => ({ address, port, tls }));
keepRunningOnUncaughtErrors(`worker ${id}`);

const recent: AuditEntry[] = [...manager.recent];
let nonces = manager.nonces;
let nextEdit = 1;
const waiting = new Map<number, (outcome: EditOutcome) => void>();
const control: ManagerControl = {
  submit: (edit, actor) =>
    new Promise((resolve) => {
      const editId = nextEdit++;
      waiting.set(editId, resolve);
      tell({ type: 'edit', id: editId, edit, actor });
    }),
};

// Piped loggers run in the main thread: each batch is sent there, and its write completes when it is queued.
const logWrites = new Map<number, (err?: Error | null) => void>();
let nextLogWrite = 1;
sendPipedLogsThrough((destination, data, done) => {
  const logId = nextLogWrite++;
  logWrites.set(logId, done);
  tell({ type: 'log', id: logId, destination, data });
});

/** The other instances' activity on each member draining here, by memberKey, as the main thread last sent it. */
let groupOthers = new Map<string, Activity>();
const mergeActivity: MergeActivity = (balancer, member, local) => {
  const others = groupOthers.get(memberKey(balancer, member));
  return others ? addActivity(local, others) : local;
};

memberCredentialProblems(config, fromContents(clientFiles));
const stickler = new Stickler(config, {
  shared,
  reusePort: true,
  ticketKeys: Buffer.from(ticketKeys),
  // One checker for all threads: the main thread (workers.ts).
  healthChecks: false,
  manager: {
    secret: Buffer.from(manager.secret), nonces: () => nonces, control, persisted: manager.persisted, recent: () => recent,
    ...(manager.shared && { sharedState: sharedStatus(manager.shared), mergeActivity }),
  },
});
/** Fault injection for the tests of a worker that never says it is ready (control-plane.test.ts): these worker ids hang here. */
if (process.env.STICKLER_TEST_STUCK_WORKERS?.split(',').includes(String(id))) await new Promise(() => setInterval(() => {}, 60_000));
try {
  await stickler.start();
  tell({ type: 'ready', listeners: addresses() });
  // Nothing between the listen and here has let the event loop turn, so no connection was taken yet.
  if (gate && !passGate(gate)) process.exit(0);
} catch (err) {
  tell({ type: 'failed', message: reason(err) });
  await stickler.close();
  process.exit(1);
}

/** Fault injection for the tests of an edit a worker cannot take (control-plane.test.ts): this worker fails to prepare any. */
const failEdits = process.env.STICKLER_TEST_FAIL_EDITS_IN_WORKER === String(id);
const prepared = new Map<number, { commit(): void; abort(): void }>();

async function prepare(workId: number, work: Work): Promise<{ commit(): void; abort(): void }> {
  if (work.kind === 'edit') {
    if (failEdits) throw new Error(`worker ${id} was told to fail every edit (STICKLER_TEST_FAIL_EDITS_IN_WORKER)`);
    return stickler.runtime.prepareEdit(work.edit);
  }
  if (work.kind === 'certificate') return stickler.prepareCertificateSwap(work.vhost, work.files, fromContents(work.contents));
  memberCredentialProblems(work.config, fromContents(work.clientFiles));
  const reload = await stickler.prepareReload(work.config, work.shared);
  return {
    commit: () => {
      nonces = work.nonces;
      const retired = stickler.runtime;
      reload.commit();
      // Until then its connections still pick from the states before this reload (see releaseHeldBy in workers.ts).
      void retired.closed.then(() => tell({ type: 'retired', id: workId }));
    },
    abort: reload.abort,
  };
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'stop':
      return void stickler.close().then(() => process.exit(0));
    case 'prepare':
      return void prepare(message.id, message.work).then(
        (ready) => {
          prepared.set(message.id, ready);
          tell({ type: 'prepared', id: message.id });
        },
        (err: unknown) => tell({ type: 'refused', id: message.id, message: (err as Error)?.message ?? String(err), clean: err instanceof StartupError }),
      );
    case 'commit': {
      const ready = prepared.get(message.id);
      prepared.delete(message.id);
      try {
        if (!ready) throw new Error(`nothing was prepared under ${message.id}`);
        ready.commit();
        if (message.entry) rememberAudit(recent, message.entry);
        tell({ type: 'committed', id: message.id, listeners: addresses() });
      } catch (err) {
        tell({ type: 'commit-failed', id: message.id, message: reason(err) });
      }
      return;
    }
    case 'abort':
      prepared.get(message.id)?.abort();
      prepared.delete(message.id);
      return;
    case 'edited':
      waiting.get(message.id)?.(message.outcome);
      waiting.delete(message.id);
      return;
    case 'logged':
      logWrites.get(message.id)?.(message.error === undefined ? null : new Error(message.error));
      logWrites.delete(message.id);
      return;
    case 'group-activity':
      groupOthers = new Map(message.others.map(({ balancer, member, ...activity }) => [memberKey(balancer, member), activity]));
      return;
    case 'acme-challenges':
      return stickler.setChallenges(message.pending);
    case 'acme-renewals':
      return stickler.setRenewals(message.renewals);
    case 'reopen-logs':
      return void stickler.reopenLogs().then((failures) => tell({ type: 'reopened', id: message.id, failures }));
  }
});
