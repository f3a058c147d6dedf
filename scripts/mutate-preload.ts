// Loaded (--import) into every test process `npm run mutate` starts (stryker.config.mjs).
//
// Every mutant reruns test files that load the same instrumented sources: Node's compile cache nearly halves each
// run. It is turned on here rather than through NODE_COMPILE_CACHE, which the tests' own child processes would
// inherit (one runs under `ulimit -f 0`, where writing the cache kills it).
//
// A mutant that loops forever is timed out by Stryker, which kills its runner but not this process, and a
// looping process never runs its SIGTERM handler: it would spin on a shared core until someone noticed. A worker
// thread is not blocked by the loop; it ends the process once its parent is gone.
import { enableCompileCache } from 'node:module';
import { Worker } from 'node:worker_threads';

enableCompileCache();

const watchdog = `
  const parent = ${process.ppid};
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL');
  }, 500);
`;
new Worker(watchdog, { eval: true }).unref();
