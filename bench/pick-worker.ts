// One thread of `npm run bench:picks`: picks members of the shared balancer in a tight loop, each pick the
// choose and release a request makes (one take of the state's lock, in choose), until its time is up, then posts what
// it counted (picks-report.ts's ThreadCount).

import { threadCpuUsage } from 'node:process';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { Balancer } from '../src/balancer/balancer.ts';
import { BalancerState } from '../src/balancer/state.ts';
import type { SessionRoute } from '../src/sticky/route.ts';
import { PICK_ROUTES, pickBalancerConfig, type PickWorkerData } from './pick-balancer.ts';
import type { ThreadCount } from './picks-report.ts';

const { buffer, ledger, mode, seconds, gate } = workerData as PickWorkerData;
const balancer = new Balancer(pickBalancerConfig(mode), BalancerState.attach(buffer, ledger));
// Many sessions, as real traffic has, so the session table is written all over rather than in one slot.
const SESSIONS = 1024;
const sessions: SessionRoute[] = Array.from({ length: SESSIONS }, (_, i) => {
  const route = PICK_ROUTES[i % PICK_ROUTES.length]!;
  return { name: 'JSESSIONID', route, session: `${threadId.toString(16)}${i.toString(16).padStart(8, '0')}.${route}` };
});
// The clock is read once per batch, so that reading it is not what is measured.
const BATCH = 256;
// Picks before the start, enough for the JIT to have optimised the path, so no run measures the interpreter.
const WARM_UP_PICKS = 50_000;

function pickBatch(first: number, ms: number): void {
  for (let i = first; i < first + BATCH; i++) {
    const choice = balancer.choose(mode === 'sticky' ? sessions[i % SESSIONS] : undefined, ms);
    if (!choice.ok) throw new Error(`pick refused: ${choice.reason}`);
    balancer.release(choice.member, 0, 0, 1, ms);
  }
}

for (let done = 0; done < WARM_UP_PICKS; done += BATCH) pickBatch(done, Date.now());
parentPort!.postMessage('ready');
Atomics.wait(new Int32Array(gate), 0, 0);
const cpuBefore = threadCpuUsage();
const started = process.hrtime.bigint();
const deadline = started + BigInt(Math.round(seconds * 1e9));
let picks = 0;
let now = process.hrtime.bigint();
while (now < deadline) {
  pickBatch(picks, Date.now());
  picks += BATCH;
  now = process.hrtime.bigint();
}
const cpu = threadCpuUsage(cpuBefore);
const count: ThreadCount = { picks, wallNs: Number(now - started), cpuNs: (cpu.user + cpu.system) * 1000 };
parentPort!.postMessage(count);
