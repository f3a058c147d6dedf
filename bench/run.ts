// `npm run bench`: Stickler against Apache httpd (the seed configuration, which Stickler reads as is), HAProxy
// and nginx (equivalent configurations), and one member measured directly: keep-alive GETs through the seed's
// Tomcat members (where the backend caps everyone), then, with static nginx members so the balancers' own
// cost shows, (a) keep-alive with a sticky cookie, (b) a new TLS connection per request, (c) 1 MiB responses,
// (d) HTTP/2 clients, (e) (a) at a fixed offered rate, (f) new connections with and without TLS session
// resumption and (g) the memory an idle keep-alive connection holds. (a), (c) and (d) also measure HAProxy on
// every core and a bare Node TLS pipe (node-pipe.ts, not the product), Node's own ceiling. Each scenario runs
// its targets round-robin for a few rounds and reports medians, so machine noise hits all alike; (e) to (g)
// run once, on the targets they compare. `BENCH_SHORT=1` is a quick smoke run for CI.

import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testCertificate, type CertificateFiles } from '../test/support/certs.ts';
import { tail } from '../test/support/process.ts';
import { startTomcat, type TomcatNode } from '../test/support/tomcat.ts';
import type { Backend } from './backends.ts';
import { cpuSecondsPer10k, sampleGroupCpu } from './cpu.ts';
import { H2_STREAMS_PER_CONNECTION, h2loadInstalled, runH2load } from './h2load.ts';
import { formatIdleTable, IDLE_CONNECTIONS, IDLE_GOAL_KIB, IDLE_KEEP_ALIVE_SEC, IDLE_RUN_LIMIT_MS, IDLE_TARGETS, runIdleConnections, type IdleReport } from './idle.ts';
import type { LoadGenerator, LoadOptions } from './load.ts';
import { groupPeakRssMiB } from './memory.ts';
import { formatTable, summarize, withRatios, type RunOutcome, type TargetReport } from './report.ts';
import { ONE_MIB_PATH, startStaticBackends, TINY_PATH } from './static-backend.ts';
import { barChartSvg, type Panel } from './svg.ts';
import { withTarget } from './target-run.ts';
import { APACHE, HAPROXY, HAPROXY_ALL_CORES, NGINX, NODE_CEILING, sticklerName, targets, type Target } from './targets.ts';
import { tlsClientLoad } from './tls-load.ts';
import { pacingScript, runWrk } from './wrk.ts';

const SHORT = process.env.BENCH_SHORT === '1';

function benchSeconds(text: string | undefined): number | Error {
  if (SHORT || text === undefined) return SHORT ? 1 : 5;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1) return new Error(`BENCH_SECONDS must be a whole number of seconds >= 1, not ${JSON.stringify(text)}`);
  return seconds;
}

const durationSec = benchSeconds(process.env.BENCH_SECONDS);
if (durationSec instanceof Error) {
  console.error(`bench: ${durationSec.message}`);
  process.exit(2);
}
const ROUNDS = SHORT ? 1 : 2;
const LOAD: LoadOptions = { threads: 2, connections: 50, durationSec };
const WARMUP: LoadOptions = { threads: 2, connections: 10, durationSec: 1 };
const STICKY_COOKIE = 'Cookie: JSESSIONID=x.node1';
const RESULTS_FILE = fileURLToPath(new URL('../.stickler/bench-latest.json', import.meta.url));
const CHART_FILE = fileURLToPath(new URL('../.stickler/bench-latest.svg', import.meta.url));

type MemberKind = 'tomcat' | 'static';

interface Scenario {
  key: string;
  name: string;
  members: MemberKind;
  /** tls-client: the Node client of tls-client.ts, one request per connection. */
  client: 'wrk' | 'h2load' | 'tls-client';
  path: string;
  headers: string[];
  sticklerWorkers: number[];
  /** Rounds, when not ROUNDS. */
  rounds?: number;
  /** The rows measured, when not every target. */
  targets?: string[];
  /** Also measure HAProxy on every core and the Node ceiling, the references beyond HAProxy's one thread. */
  references?: true;
  /** Pace wrk to half of HAProxy's req/s in the scenario with this key, which must have run before. */
  halfRateOf?: string;
  /** tls-client: each client loop offers the TLS session of its previous connection. */
  resume?: boolean;
}

/** The rows of the single-round scenarios: Stickler on one core, the seed and the two peers. */
const COMPARED = [sticklerName(1), APACHE, HAPROXY, NGINX];

/** (f) and (f'): one request per TLS connection from the Node client, which can resume sessions or not. */
const NEW_CONNECTIONS: Omit<Scenario, 'key' | 'name'> = {
  members: 'static',
  client: 'tls-client',
  path: TINY_PATH,
  headers: ['Connection: close'],
  sticklerWorkers: [1],
  rounds: 1,
  targets: COMPARED,
};

const ALL_SCENARIOS: Scenario[] = [
  {
    key: 'tomcat-keepalive',
    name: 'seed: Tomcat members, keep-alive GET /tiny.txt',
    members: 'tomcat',
    client: 'wrk',
    path: TINY_PATH,
    headers: [],
    sticklerWorkers: [1],
  },
  {
    key: 'sticky-keepalive',
    name: `(a) static members, keep-alive GET /tiny.txt with ${STICKY_COOKIE}`,
    members: 'static',
    client: 'wrk',
    path: TINY_PATH,
    headers: [STICKY_COOKIE],
    sticklerWorkers: [1, 2],
    references: true,
  },
  {
    key: 'new-connection',
    name: '(b) static members, a new TLS connection per request (Connection: close)',
    members: 'static',
    client: 'wrk',
    path: TINY_PATH,
    headers: ['Connection: close'],
    sticklerWorkers: [1, 2],
  },
  {
    key: 'one-mib',
    name: `(c) static members, keep-alive GET ${ONE_MIB_PATH} (1 MiB)`,
    members: 'static',
    client: 'wrk',
    path: ONE_MIB_PATH,
    headers: [],
    sticklerWorkers: [1],
    references: true,
  },
  {
    key: 'h2',
    name: `(d) static members, HTTP/2 clients (h2load, ${H2_STREAMS_PER_CONNECTION} streams per connection) GET /tiny.txt`,
    members: 'static',
    client: 'h2load',
    path: TINY_PATH,
    headers: [],
    sticklerWorkers: [1],
    references: true,
  },
  {
    key: 'fixed-rate',
    name: "(e) as (a), at a fixed offered rate of half HAProxy's (a) req/s (wrk paced by a Lua script)",
    members: 'static',
    client: 'wrk',
    path: TINY_PATH,
    headers: [STICKY_COOKIE],
    sticklerWorkers: [1],
    rounds: 1,
    targets: COMPARED,
    halfRateOf: 'sticky-keepalive',
  },
  { ...NEW_CONNECTIONS, key: 'tls-fresh', name: '(f) a new TLS connection per request, full handshakes (Node TLS client)', resume: false },
  { ...NEW_CONNECTIONS, key: 'tls-resumed', name: "(f') as (f), each client loop resuming its previous TLS session", resume: true },
];

/** BENCH_ONLY's name for (g), which is not a load scenario. */
const IDLE_KEY = 'idle-connections';

function chooseScenarios(only: string | undefined): { scenarios: Scenario[]; idle: boolean } | Error {
  if (SHORT && only === undefined) return { scenarios: ALL_SCENARIOS.filter((s) => s.key === 'sticky-keepalive'), idle: false };
  if (only === undefined) return { scenarios: ALL_SCENARIOS, idle: true };
  const keys = only.split(',').map((k) => k.trim());
  const known = [...ALL_SCENARIOS.map((s) => s.key), IDLE_KEY];
  const unknown = keys.filter((k) => !known.includes(k));
  if (unknown.length) return new Error(`BENCH_ONLY names unknown scenario(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return { scenarios: ALL_SCENARIOS.filter((s) => keys.includes(s.key)), idle: keys.includes(IDLE_KEY) };
}

// BENCH_ONLY=key,key runs some scenarios only, to look into one of them (in the short run too).
const selection = chooseScenarios(process.env.BENCH_ONLY);
if (selection instanceof Error) {
  console.error(`bench: ${selection.message}`);
  process.exit(2);
}
const { scenarios: SCENARIOS, idle: RUN_IDLE } = selection;
const DIRECT_NAME: Record<MemberKind, string> = { tomcat: 'tomcat (direct)', static: 'static (direct)' };

/** Every row a scenario may have, in the order each round runs them. */
function allRows(s: Scenario): string[] {
  const references = s.references ? [HAPROXY_ALL_CORES, NODE_CEILING] : [];
  return [DIRECT_NAME[s.members], APACHE, ...s.sticklerWorkers.map(sticklerName), HAPROXY, ...references, NGINX];
}

/** The short run's targets: the member, the seed, Stickler and the Node ceiling. */
const SHORT_TARGETS = [DIRECT_NAME.static, APACHE, sticklerName(1), NODE_CEILING];

function chooseTargets(only: string | undefined): string[] | undefined | Error {
  if (only === undefined) return SHORT ? SHORT_TARGETS : undefined;
  const names = only.split(',').map((n) => n.trim());
  const known = [...new Set(ALL_SCENARIOS.flatMap(allRows))];
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) return new Error(`BENCH_TARGETS names unknown target(s) ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return names;
}

// BENCH_TARGETS=name,name measures only these rows, in the scenarios that have them.
const targetChoice = chooseTargets(process.env.BENCH_TARGETS);
if (targetChoice instanceof Error) {
  console.error(`bench: ${targetChoice.message}`);
  process.exit(2);
}
const TARGETS: string[] | undefined = targetChoice;

/** The rows a scenario measures: its own list or all it may have, within BENCH_TARGETS (the short run's). */
function rowsOf(s: Scenario): string[] {
  return allRows(s).filter((name) => (s.targets?.includes(name) ?? true) && (TARGETS?.includes(name) ?? true));
}

const roundsOf = (s: Scenario): number => s.rounds ?? ROUNDS;
const runCount = SCENARIOS.reduce((n, s) => n + roundsOf(s) * rowsOf(s).length, 0);
// Tomcat's start-up and JIT, then per run its two client runs and a few seconds to start, probe and stop
// (Stickler's stop is cut short after two, see targets.ts), and (g)'s runs.
const TOTAL_LIMIT_MS =
  (SHORT ? 20_000 : 70_000) + runCount * (WARMUP.durationSec + LOAD.durationSec + 3) * 1000 + (RUN_IDLE ? IDLE_TARGETS.length * IDLE_RUN_LIMIT_MS : 0);

/** Members every target of a scenario forwards to. */
interface Members {
  members: Backend[];
  stop(): Promise<void>;
}

async function startTomcatMembers(cert: CertificateFiles): Promise<Members> {
  // Full JIT: the fast-start default (C1 only) would make the backend even more of the bottleneck.
  const javaOpts = ['-Xmx512m', '-XX:TieredStopAtLevel=4'];
  const settled = await Promise.allSettled(['node1', 'node2'].map((jvmRoute) => startTomcat({ jvmRoute, ...cert, javaOpts })));
  const nodes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((n: TomcatNode) => n.stop()));
  };
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { members: nodes.map((n) => ({ route: n.jvmRoute, port: n.port })), stop };
}

function startMembers(kind: MemberKind, cert: CertificateFiles, dir: string): Promise<Members> {
  return kind === 'tomcat' ? startTomcatMembers(cert) : startStaticBackends(cert, join(dir, 'members'), 2);
}

/** The scenario's client; `ratePerSec` paces wrk (scenario (e)). */
function generator(scenario: Scenario, dir: string, ratePerSec?: number): LoadGenerator {
  if (scenario.client === 'tls-client') return tlsClientLoad(scenario.resume === true);
  if (scenario.client === 'h2load') return (url, opts) => runH2load(url, opts, join(dir, 'h2load.log'));
  if (ratePerSec === undefined) return runWrk;
  return async (url, opts) => {
    const script = join(dir, 'pace.lua');
    await writeFile(script, pacingScript(ratePerSec, opts.threads));
    return runWrk(url, opts, script);
  };
}

/** Starts the target, warms it up, measures it with its CPU time and peak memory, and stops it. */
function measure(target: Target, scenario: Scenario, load: LoadGenerator): Promise<RunOutcome & { url?: string }> {
  return withTarget(target, scenario.path, async (server, url) => {
    await load(url, { ...WARMUP, headers: scenario.headers });
    const before = server.pid === undefined ? undefined : await sampleGroupCpu(server.pid);
    const result = await load(url, { ...LOAD, headers: scenario.headers });
    if (server.pid === undefined || before === undefined) return { result };
    const cpuPer10k = cpuSecondsPer10k(before, await sampleGroupCpu(server.pid), result.requests);
    return { result, cpuPer10k, peakRssMiB: await groupPeakRssMiB(server.pid) };
  });
}

interface ScenarioReport {
  key: string;
  name: string;
  client: string;
  path: string;
  headers: string[];
  targets: TargetReport[];
  /** Requests per second offered in total, for a paced scenario. */
  offeredRatePerSec?: number;
  /** Why the scenario did not run (members did not start, client not installed). */
  error?: string;
  note?: string;
}

/** Half of HAProxy's median req/s in an earlier scenario, or why there is none. */
function halfHaproxyRate(key: string, earlier: ScenarioReport[]): number | string {
  const haproxy = earlier.find((r) => r.key === key)?.targets.find((t) => t.name === HAPROXY)?.median?.requestsPerSec;
  return haproxy === undefined ? `skipped: the offered rate is half of HAProxy's req/s in ${key}, which did not run or has no HAProxy figure (BENCH_ONLY=${key},...)` : haproxy / 2;
}

const H2LOAD_MISSING = 'skipped: h2load is not installed (Debian package nghttp2-client: apt-get install nghttp2-client)';

interface GroupSetup {
  cert: CertificateFiles;
  members: Backend[];
  dir: string;
}

async function runScenario(scenario: Scenario, setup: GroupSetup, earlier: ScenarioReport[]): Promise<ScenarioReport> {
  const base = { key: scenario.key, name: scenario.name, client: scenario.client, path: scenario.path, headers: scenario.headers };
  console.log(`\n${scenario.name}`);
  if (scenario.client === 'h2load' && !h2loadInstalled()) {
    console.log(`  ${H2LOAD_MISSING}`);
    return { ...base, targets: [], note: H2LOAD_MISSING };
  }
  const rate = scenario.halfRateOf === undefined ? undefined : halfHaproxyRate(scenario.halfRateOf, earlier);
  if (typeof rate === 'string') {
    console.log(`  ${rate}`);
    return { ...base, targets: [], note: rate };
  }
  if (rate !== undefined) console.log(`  offered rate: ${rate.toFixed(0)} req/s in total`);
  const dir = await mkdtemp(join(setup.dir, `${scenario.key}-`));
  const load = generator(scenario, dir, rate);
  const all = targets({ ...setup, dir, directName: DIRECT_NAME[scenario.members], h2: scenario.client === 'h2load', sticklerWorkers: scenario.sticklerWorkers });
  const rows = rowsOf(scenario);
  const chosen = all.filter((t) => rows.includes(t.name));
  const rounds = roundsOf(scenario);
  const runs = new Map<string, (RunOutcome & { url?: string })[]>(chosen.map((t) => [t.name, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const target of chosen) {
      const runStarted = Date.now();
      const outcome = await measure(target, scenario, load);
      runs.get(target.name)!.push(outcome);
      const figure = outcome.result ? `${outcome.result.requestsPerSec.toFixed(0)} req/s` : `skipped: ${outcome.skipped}`;
      console.log(`  round ${round}/${rounds} ${target.name}: ${figure} (${((Date.now() - runStarted) / 1000).toFixed(1)} s with start and stop)`);
      if (outcome.detail && outcome.detail !== outcome.skipped) console.log(tail(outcome.detail, 12).replace(/^/gm, '    | '));
    }
  }
  const reports = withRatios(
    chosen.map((t) => {
      const targetRuns = runs.get(t.name)!;
      return summarize(t.name, targetRuns, targetRuns.find((r) => r.url)?.url);
    }),
    { haproxy: HAPROXY, haproxyAllCores: HAPROXY_ALL_CORES, ceiling: NODE_CEILING, compared: (name) => name.startsWith('stickler') },
  );
  console.log(`\n== ${scenario.name} ==\n${formatTable(reports)}`);
  return { ...base, targets: reports, offeredRatePerSec: rate };
}

interface GroupReports {
  scenarios: ScenarioReport[];
  idle?: IdleReport;
}

/** The scenarios on one kind of members, then (g) when asked, which needs the static members too. */
async function runMemberGroup(kind: MemberKind, scenarios: Scenario[], idle: boolean, cert: CertificateFiles, dir: string): Promise<GroupReports> {
  const started = Date.now();
  let members: Members;
  try {
    members = await startMembers(kind, cert, dir);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    console.log(`\n${kind} members did not start:\n${tail(error, 12).replace(/^/gm, '    | ')}`);
    return { scenarios: scenarios.map((s) => ({ key: s.key, name: s.name, client: s.client, path: s.path, headers: s.headers, targets: [], error })) };
  }
  console.log(`\n${kind} members up in ${Date.now() - started} ms`);
  try {
    const setup = { cert, members: members.members, dir };
    const reports: ScenarioReport[] = [];
    for (const scenario of scenarios) reports.push(await runScenario(scenario, setup, reports));
    if (!idle) return { scenarios: reports };
    return { scenarios: reports, idle: await runIdleConnections(IDLE_KEY, { ...setup, dir: await mkdtemp(join(dir, `${IDLE_KEY}-`)), directName: DIRECT_NAME[kind] }) };
  } finally {
    await members.stop();
  }
}

function chartPanels(reports: ScenarioReport[]): Panel[] {
  return reports.map((r) => ({
    title: r.name,
    bars: r.targets.length
      ? r.targets.map((t) => ({ label: t.name, value: t.median?.requestsPerSec, note: t.skipped }))
      : [{ label: '-', note: r.note ?? r.error?.split('\n', 1)[0] ?? 'not run' }],
  }));
}

const EXPLANATION = `Each row is the median over ${ROUNDS} round(s); within a round the targets run one after another, so noise
hits all alike. wrk -t${LOAD.threads} -c${LOAD.connections} (h2load: ${LOAD.connections} connections x ${H2_STREAMS_PER_CONNECTION} streams), ${LOAD.durationSec} s per run after a
${WARMUP.durationSec} s warm-up. MiB/s counts response bytes, headers included. errors: socket errors and non-2xx/3xx
answers, summed over all rounds. CPU s/10k: user+system seconds of the balancer's processes (utime+stime from
/proc/<pid>/stat, every process of its group) per 10 000 requests, during the measured run only. RSS: VmHWM
summed over those processes after the run (Apache parent + child, nginx master + worker; Stickler's worker
threads are inside its one process). xHAP: the figure over HAProxy's (1 thread); for req/s above 1 is
faster, for CPU and RSS above 1 costs more. HAProxy runs 1 thread, nginx 1 worker (one core, like one Node
event loop); Apache is the seed's one process of 64 threads; stickler -wN runs N worker threads.
${HAPROXY_ALL_CORES} runs nbthread ${cpus().length}, and ${NODE_CEILING} is bench/node-pipe.ts, not the product: a
bare Node TLS pipe that finds each message's end and copies the bytes to one member connection per client
connection (node1, the member the sticky cookie names), what Node's TLS and sockets alone cost. For
Stickler's rows, xHAPall is req/s over ${HAPROXY_ALL_CORES}'s and xNode over the pipe's (HTTP/1.1 only: in
(d) it is '-'). With wrk and the members on the same cores, the all-cores rows show more only on free cores.
The sticky cookie sends every request of (a) to node1. The members speak HTTP/1.1 to every balancer; (d) is HTTP/2 only
between client and balancer. wrk, the members and the balancer share the same ${cpus().length} CPUs, so compare
ratios, not absolutes. p99 xHAP: p99 over HAProxy's, above 1 is slower.
(e), (f) and (f') run once on ${COMPARED.join(', ')}; (g) once on ${IDLE_TARGETS.join(', ')}.
(e) offers half of HAProxy's (a) req/s in total (the goal: p99 xHAP <= 2): a wrk Lua script keeps each
thread to a schedule of its share. wrk's pacing is closed-loop per connection: a connection waits for its
answer before it takes its next slot, so a server that falls behind is offered less and its queueing is
under-reported (coordinated omission), the same for every target.
(f) and (f'): one Node process (bench/tls-client.ts) of ${LOAD.connections} loops, each one request per connection
(Connection: close); in (f') each loop offers the session of its previous connection, and "resumed" is the
share of handshakes that resumed (TLSSocket.isSessionReused()). That client is often the bottleneck, and
its queueing is in the latencies: compare (f') with (f) per target, and the CPU column. nginx 1.22 speaks
TLS 1.2 by default, the others TLS 1.3, whose resumption (psk_dhe_ke, OpenSSL's default) still does an
ECDHE key exchange.
(g): the VmRSS growth of the balancer's processes over ${IDLE_CONNECTIONS} TLS connections, each idle after one
keep-alive GET (KeepAliveTimeout ${IDLE_KEEP_ALIVE_SEC} for Stickler), per connection; Stickler's goal is <= ${IDLE_GOAL_KIB} KiB.
"at stop": connections still open when the client closed them, after the sample.`;

let benchDir: string | undefined;

async function main(): Promise<void> {
  benchDir = await mkdtemp(join(tmpdir(), 'stickler-bench-'));
  try {
    const cert = await testCertificate(benchDir);
    const load = loadavg();
    console.log(`${SHORT ? 'BENCH_SHORT: ' : ''}${SCENARIOS.length} scenario(s), ${runCount} runs of ${WARMUP.durationSec}+${LOAD.durationSec} s${RUN_IDLE ? `, (g) on ${IDLE_TARGETS.length} targets` : ''}; watchdog ${Math.round(TOTAL_LIMIT_MS / 1000)} s; load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
    const reports: ScenarioReport[] = [];
    let idle: IdleReport | undefined;
    for (const kind of ['tomcat', 'static'] as const) {
      const group = SCENARIOS.filter((s) => s.members === kind);
      const withIdle = RUN_IDLE && kind === 'static';
      if (group.length === 0 && !withIdle) continue;
      const done = await runMemberGroup(kind, group, withIdle, cert, await mkdtemp(join(benchDir, `${kind}-`)));
      reports.push(...done.scenarios);
      idle ??= done.idle;
    }

    console.log(`\n${EXPLANATION}\n`);
    for (const r of reports) console.log(`== ${r.name} ==\n${r.targets.length ? formatTable(r.targets) : (r.note ?? `members did not start: ${r.error?.split('\n', 1)[0]}`)}\n`);
    if (idle) console.log(`== ${idle.name} ==\n${formatIdleTable(idle)}\n`);

    await mkdir(join(RESULTS_FILE, '..'), { recursive: true });
    const json = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadavgBefore: load,
      loadavgAfter: loadavg(),
      short: SHORT,
      rounds: ROUNDS,
      load: LOAD,
      warmup: WARMUP,
      h2StreamsPerConnection: H2_STREAMS_PER_CONNECTION,
      scenarios: reports,
      idleConnections: idle,
    };
    await writeFile(RESULTS_FILE, `${JSON.stringify(json, null, 2)}\n`);
    await writeFile(CHART_FILE, barChartSvg(`Stickler bench ${json.date.slice(0, 16)}: requests/s, median of ${ROUNDS}`, 'req/s', chartPanels(reports)));
    console.log(`Results written to ${RESULTS_FILE} and ${CHART_FILE}`);
    // Only a broken harness or a Stickler that cannot serve fails the run; other servers may be missing.
    const sticklerFailed =
      reports.some((r) => r.targets.some((t) => t.name.startsWith('stickler') && t.median === undefined)) ||
      (idle?.targets.some((t) => t.name.startsWith('stickler') && t.figures === undefined) ?? false);
    if (reports.some((r) => r.error !== undefined) || sticklerFailed) process.exitCode = 1;
  } finally {
    await rm(benchDir, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${TOTAL_LIMIT_MS / 1000} s; giving up (all started processes are killed)`);
  if (benchDir !== undefined) rmSync(benchDir, { recursive: true, force: true });
  process.exit(1);
}, TOTAL_LIMIT_MS);
watchdog.unref();

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
