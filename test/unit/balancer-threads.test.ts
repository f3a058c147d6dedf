// Picks from several worker threads on one shared balancer state, as Stickler's workers make them: the counts
// each thread adds without the lock (elected, busy, requests, bytes, latencies) come out exact, and the picks made
// under it come out as one thread would have made them. Bounded by iterations, not by the clock: each thread
// makes a fixed number of picks, and the test checks sums that any lost update would change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { BalancerState } from '../../src/balancer/state.ts';
import type { BalancerConfig } from '../../src/config/model.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

const THREADS = 4;
/** Per thread; a multiple of 6, the length of one weighted round of loadfactors 1, 2 and 3. */
const PICKS = 6_000;
/** Starting threads and loading modules on a loaded machine takes seconds; this only catches a hang. */
const THREAD_TIMEOUT_MS = 120_000;

interface Counted {
  /** Picks this thread got, per member. */
  picked: number[];
  bytesTo: number;
  bytesFrom: number;
}

/**
 * Each thread, once all are loaded, makes `PICKS` picks (a route `routes[i % routes.length]`, or none) and
 * releases each at once with a few bytes and a latency, and reports what it picked; or, given `plain`, adds one
 * to the Float64 there under the state's lock as many times, a read-modify-write that only the lock makes whole.
 */
const THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { balancerModule, stateModule, config, buffer, ledger, gate, picks, routes, plain } = workerData;
Promise.all([import(balancerModule), import(stateModule)]).then(([{ Balancer }, { BalancerState }]) => {
  const state = BalancerState.attach(buffer, ledger);
  const balancer = new Balancer(config, state);
  const picked = config.members.map(() => 0);
  let bytesTo = 0;
  let bytesFrom = 0;
  parentPort.postMessage('ready');
  if (Atomics.wait(new Int32Array(gate), 0, 0, ${THREAD_TIMEOUT_MS}) === 'timed-out') throw new Error('never started');
  if (plain) {
    const counter = new Float64Array(plain);
    for (let i = 0; i < picks; i++) state.withLock(() => { counter[0] = counter[0] + 1; });
    return parentPort.postMessage({ picked, bytesTo, bytesFrom });
  }
  for (let i = 0; i < picks; i++) {
    const route = routes.length > 0 ? routes[i % routes.length] : undefined;
    const choice = balancer.choose(route === undefined ? undefined : { name: 'JSESSIONID', route, session: i + '.' + route }, 1_000_000);
    if (!choice.ok) throw new Error(choice.reason);
    picked[choice.member]++;
    bytesTo += i % 7;
    bytesFrom += i % 11;
    balancer.release(choice.member, i % 7, i % 11, (i % 4) * 3.5, 1_000_000);
  }
  parentPort.postMessage({ picked, bytesTo, bytesFrom });
});`;

async function pickFromThreads(config: BalancerConfig, state: BalancerState, routes: string[], plain?: SharedArrayBuffer, picks = PICKS): Promise<Counted[]> {
  const gate = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const workerData = {
    balancerModule: new URL('../../src/balancer/balancer.ts', import.meta.url).href,
    stateModule: new URL('../../src/balancer/state.ts', import.meta.url).href,
    config, buffer: state.buffer, gate, picks, routes, plain,
  };
  const workers = Array.from({ length: THREADS }, () => new Worker(THREAD, { eval: true, workerData: { ...workerData, ledger: state.newLedger() } }));
  const next = (worker: Worker): Promise<unknown> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a picking thread was silent for ${THREAD_TIMEOUT_MS} ms`)), THREAD_TIMEOUT_MS);
    worker.once('message', (value) => { clearTimeout(timer); resolve(value); });
    worker.once('error', (err) => { clearTimeout(timer); reject(err); });
  });
  try {
    await Promise.all(workers.map(next));
    const counts = Promise.all(workers.map(next));
    Atomics.store(new Int32Array(gate), 0, 1);
    Atomics.notify(new Int32Array(gate), 0);
    return (await counts) as Counted[];
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

function assertCountsExact(state: BalancerState, counted: Counted[], members: number): void {
  const total = THREADS * PICKS;
  const picked = Array.from({ length: members }, (_, m) => sum(counted.map((c) => c.picked[m]!)));
  const all = Array.from({ length: members }, (_, m) => m);
  assert.deepEqual(all.map((m) => state.elected(m)), picked, 'elected: one per pick, none lost');
  assert.deepEqual(all.map((m) => state.requests(m)), picked, 'requests: one per release');
  assert.deepEqual(all.map((m) => state.busy(m)), all.map(() => 0), 'busy: every pick released');
  assert.equal(sum(all.map((m) => state.transferred(m))), sum(counted.map((c) => c.bytesTo)));
  assert.equal(sum(all.map((m) => state.read(m))), sum(counted.map((c) => c.bytesFrom)));
  // Latencies 0, 3.5, 7 and 10.5 ms in turn: a quarter of the picks in each, two buckets.
  assert.equal(sum(all.map((m) => state.latencySum(m))), (total / 4) * (3.5 + 7 + 10.5));
  const buckets = all.map((m) => state.latencyBuckets(m)).reduce((a, b) => a.map((n, i) => n + b[i]!));
  assert.deepEqual(buckets.slice(0, 3), [total / 2, total / 4, total / 4]);
  assert.equal(sum(all.map((m) => state.recentTraffic(m, 1_000_000).requests)), total, 'the last minute counts them all too');
  assert.equal(sum(all.map((m) => state.lbstatus(m))), 0, 'every credit paid back: lbstatus sums to zero');
}

test('balanced picks from 4 threads: byrequests rounds exactly as one thread would, counts exact', async () => {
  const config = balancerConfig([1, 2, 3].map((loadfactor, i) => memberConfig({ url: `http://m${i}`, route: `m${i}`, loadfactor })));
  const state = BalancerState.create(config.members, { shared: true });
  const counted = await pickFromThreads(config, state, []);
  assertCountsExact(state, counted, 3);
  // Whole weighted rounds of 1 + 2 + 3 picks: each member exactly its share, every credit back where it began.
  const rounds = (THREADS * PICKS) / 6;
  assert.deepEqual([0, 1, 2].map((m) => state.elected(m)), [rounds, 2 * rounds, 3 * rounds]);
  assert.deepEqual([0, 1, 2].map((m) => state.lbstatus(m)), [0, 0, 0]);
});

const stickyConfig = (): BalancerConfig => balancerConfig([memberConfig({ url: 'http://a', route: 'a' }), memberConfig({ url: 'http://b', route: 'b' })],
  { sticky: { cookie: 'JSESSIONID', urlParam: 'jsessionid' } });

test('sticky picks from 4 threads, half to each member: counts exact, credits even', async () => {
  const config = stickyConfig();
  const state = BalancerState.create(config.members, { shared: true });
  assertCountsExact(state, await pickFromThreads(config, state, ['a', 'b']), 2);
  assert.deepEqual([state.elected(0), state.elected(1)], [THREADS * PICKS / 2, THREADS * PICKS / 2], 'each route its member');
  assert.deepEqual([state.lbstatus(0), state.lbstatus(1)], [0, 0], 'as many credits to each as debits');
});

test('sticky and balanced picks mixed (a route no member has) from 4 threads: counts exact', async () => {
  const config = stickyConfig();
  const state = BalancerState.create(config.members, { shared: true });
  assertCountsExact(state, await pickFromThreads(config, state, ['a', 'b', 'nowhere']), 2);
});

test('the lock is exclusive across threads, through its spinning and its sleeping: no increment made under it is lost', async () => {
  const config = stickyConfig();
  const state = BalancerState.create(config.members, { shared: true });
  const plain = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT);
  // Many more rounds than picks: a bare increment is short, and the rounds must overlap to tell.
  const rounds = 200_000;
  await pickFromThreads(config, state, [], plain, rounds);
  assert.equal(new Float64Array(plain)[0], THREADS * rounds);
});
