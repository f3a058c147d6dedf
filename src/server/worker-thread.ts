// What runs inside each worker thread: a whole Stickler (listeners bound with SO_REUSEPORT, its own member
// pools) whose balancers pick from the state buffers shared by every worker. Manager edits go to the main thread,
// which decides them and has every worker apply them.
import { parentPort, workerData } from 'node:worker_threads';
import type { ManagerControl } from '../manager/handler.ts';
import type { AuditEntry, EditOutcome } from '../manager/model.ts';
import { rememberAudit } from '../manager/store.ts';
import { keepRunningOnUncaughtErrors } from './last-resort.ts';
import { Stickler, StartupError } from './server.ts';
import type { FromWorker, ToWorker, WorkerData } from './workers.ts';

const { config, sharedStates, ticketKeys, id, manager } = workerData as WorkerData;
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

const stickler = new Stickler(config, {
  sharedStates,
  reusePort: true,
  ticketKeys: Buffer.from(ticketKeys),
  // One checker for all threads: the main thread (workers.ts).
  healthChecks: false,
  manager: { secret: Buffer.from(manager.secret), nonces: () => nonces, control, persisted: manager.persisted, recent: () => recent },
});
try {
  await stickler.start();
  tell({ type: 'ready', listeners: addresses() });
} catch (err) {
  tell({ type: 'failed', message: reason(err) });
  await stickler.close();
  process.exit(1);
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'stop':
      return void stickler.close().then(() => process.exit(0));
    case 'apply':
      stickler.runtime.applyEdit(message.edit);
      rememberAudit(recent, message.entry);
      return;
    case 'edited':
      waiting.get(message.id)?.(message.outcome);
      waiting.delete(message.id);
      return;
    case 'reload':
      nonces = message.nonces;
      stickler.reload(message.config, message.sharedStates).then(
        () => tell({ type: 'reloaded', listeners: addresses() }),
        (err: unknown) => tell({ type: 'reload-failed', message: reason(err) }),
      );
  }
});
