// `npm run bench:picks`: how many member picks one balancer makes per second when 1, 2, 4, 8 and 16 worker
// threads pick on it at once, as Stickler's worker threads do over one SharedArrayBuffer: no network, each
// thread running the real Balancer.choose (under the state's lock) and release (lock-free) in a tight loop for
// a bounded time, with sticky picks (a session cookie with a route) and balanced ones (byrequests). Threads
// beyond the free cores share them, so past that count only the CPU time per pick says whether the lock
// serialises them; the wall time per pick grows with the time slicing alone.

import { cpus, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DEFAULT_GROWTH } from '../src/config/model.ts';
import { BalancerState } from '../src/balancer/state.ts';
import { pickBalancerConfig, type PickWorkerData } from './pick-balancer.ts';
import { formatPickTable, parsePickArgs, pickRow, PICKS_USAGE, type PickMode, type PickRow, type ThreadCount } from './picks-report.ts';

const WORKER = new URL('./pick-worker.ts', import.meta.url);
const MODES: PickMode[] = ['balanced', 'sticky'];
// Starting threads and loading their modules takes a few seconds at worst on a loaded machine; a run that has
// not reported this long after its picking time is stuck.
const RUN_MARGIN_MS = 30_000;

/** Starts `threads` threads on one fresh balancer, lets them pick together for `seconds`, and collects their counts. */
async function run(mode: PickMode, threads: number, seconds: number): Promise<ThreadCount[]> {
  const config = pickBalancerConfig(mode);
  const state = BalancerState.create(config.members, { shared: true, growth: config.growth ?? DEFAULT_GROWTH });
  const gate = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const workers = Array.from({ length: threads }, () => {
    const workerData: PickWorkerData = { buffer: state.buffer as SharedArrayBuffer, ledger: state.newLedger(), mode, seconds, gate };
    return new Worker(WORKER, { workerData });
  });
  const message = (worker: Worker): Promise<unknown> =>
    new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`a picking thread exited (code ${code}) before it reported`)));
    });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${threads} thread(s) did not report within ${seconds} s + ${RUN_MARGIN_MS / 1000} s`)), seconds * 1000 + RUN_MARGIN_MS);
  });
  try {
    await Promise.race([Promise.all(workers.map(message)), timeout]);
    const counts = Promise.all(workers.map(message));
    // Should the timeout win, the threads' exits on terminate() reject this too, with nobody left to listen.
    counts.catch(() => undefined);
    const view = new Int32Array(gate);
    Atomics.store(view, 0, 1);
    Atomics.notify(view, 0);
    return (await Promise.race([counts, timeout])) as ThreadCount[];
  } finally {
    clearTimeout(timer);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const options = parsePickArgs(process.argv.slice(2));
if (options instanceof Error) {
  console.error(`bench:picks: ${options.message}\n${PICKS_USAGE}`);
  process.exit(2);
}
console.log(`bench:picks: ${options.seconds} s per run, threads ${options.threads.join(', ')}; ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const rows: PickRow[] = [];
try {
  for (const mode of MODES) {
    for (const threads of options.threads) {
      const row = pickRow(mode, await run(mode, threads, options.seconds));
      console.log(`  ${mode}, ${threads} thread(s): ${Math.round(row.totalPerSec).toLocaleString('en-US')} picks/s`);
      rows.push(row);
    }
  }
} catch (err) {
  console.error(`bench:picks failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
console.log(`\nEach pick is one Balancer.choose (one take of the shared state's lock) and its release, two members,
byrequests; sticky picks carry one of 1 024 sessions per thread, half routed to each member. "per thread"
figures are means over the threads. ns/pick wall: each thread's time over its picks, which grows with threads
beyond the ${cpus().length} CPUs by time slicing alone; ns/pick CPU: its CPU time over its picks, which grows only
with the cost of contending (the lock, cache lines moving between cores).\n`);
console.log(formatPickTable(rows));
