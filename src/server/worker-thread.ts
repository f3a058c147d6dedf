// What runs inside each worker thread: a whole Stickler (listeners bound with SO_REUSEPORT, its own member
// pools) whose balancers pick from the state buffers shared by every worker.
import { parentPort, workerData } from 'node:worker_threads';
import type { SticklerConfig } from '../config/model.ts';
import { keepRunningOnUncaughtErrors } from './last-resort.ts';
import { Stickler, StartupError } from './server.ts';
import type { FromWorker, ToWorker } from './workers.ts';

interface WorkerData {
  config: SticklerConfig;
  sharedStates: Map<string, SharedArrayBuffer>;
  ticketKeys: Uint8Array;
  id: number;
}

const { config, sharedStates, ticketKeys, id } = workerData as WorkerData;
const port = parentPort!;
const tell = (message: FromWorker) => port.postMessage(message);
const addresses = () => stickler.listeners.map(({ address, port, tls }) => ({ address, port, tls }));
keepRunningOnUncaughtErrors(`worker ${id}`);

const stickler = new Stickler(config, { sharedStates, reusePort: true, ticketKeys: Buffer.from(ticketKeys) });
try {
  await stickler.start();
  tell({ type: 'ready', listeners: addresses() });
} catch (err) {
  tell({ type: 'failed', message: err instanceof StartupError ? err.message : String((err as Error)?.stack ?? err) });
  await stickler.close();
  process.exit(1);
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'stop') void stickler.close().then(() => process.exit(0));
  else {
    stickler.reload(message.config, message.sharedStates).then(
      () => tell({ type: 'reloaded', listeners: addresses() }),
      (err: unknown) => tell({ type: 'reload-failed', message: err instanceof StartupError ? err.message : String((err as Error)?.stack ?? err) }),
    );
  }
});
