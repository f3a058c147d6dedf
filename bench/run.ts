// `npm run bench`: Stickler against Apache httpd (the seed configuration, which Stickler reads as is), HAProxy
// and nginx (equivalent configurations), and one member measured directly, in five scenarios: keep-alive
// GETs through the seed's Tomcat members (where the backend caps everyone), then, with static nginx members
// so the balancers' own cost shows, (a) keep-alive with a sticky cookie, (b) a new TLS connection per
// request, (c) 1 MiB responses and (d) HTTP/2 clients. Each scenario runs its targets round-robin for a few
// rounds and reports medians, so machine noise hits all alike. `BENCH_SHORT=1` is a quick smoke run for CI.

import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testCertificate, type CertificateFiles } from '../test/support/certs.ts';
import { request } from '../test/support/client.ts';
import { tail } from '../test/support/process.ts';
import { startTomcat, type TomcatNode } from '../test/support/tomcat.ts';
import type { Backend } from './backends.ts';
import { cpuSecondsPer10k, sampleGroupCpu } from './cpu.ts';
import { H2_STREAMS_PER_CONNECTION, h2loadInstalled, runH2load } from './h2load.ts';
import type { LoadGenerator, LoadOptions } from './load.ts';
import { groupPeakRssMiB } from './memory.ts';
import { formatTable, summarize, withRatios, type RunOutcome, type TargetReport } from './report.ts';
import { ONE_MIB_PATH, startStaticBackends, TINY_PATH } from './static-backend.ts';
import { barChartSvg, type Panel } from './svg.ts';
import { APACHE, HAPROXY, sticklerName, targets, type Target } from './targets.ts';
import { runWrk } from './wrk.ts';

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
  client: 'wrk' | 'h2load';
  path: string;
  headers: string[];
  sticklerWorkers: number[];
}

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
  },
  {
    key: 'h2',
    name: `(d) static members, HTTP/2 clients (h2load, ${H2_STREAMS_PER_CONNECTION} streams per connection) GET /tiny.txt`,
    members: 'static',
    client: 'h2load',
    path: TINY_PATH,
    headers: [],
    sticklerWorkers: [1],
  },
];

function chooseScenarios(only: string | undefined): Scenario[] | Error {
  if (SHORT) return ALL_SCENARIOS.filter((s) => s.key === 'sticky-keepalive');
  if (only === undefined) return ALL_SCENARIOS;
  const keys = only.split(',').map((k) => k.trim());
  const unknown = keys.filter((k) => !ALL_SCENARIOS.some((s) => s.key === k));
  if (unknown.length) return new Error(`BENCH_ONLY names unknown scenario(s) ${unknown.join(', ')}; known: ${ALL_SCENARIOS.map((s) => s.key).join(', ')}`);
  return ALL_SCENARIOS.filter((s) => keys.includes(s.key));
}

// BENCH_ONLY=key,key runs some scenarios only, to look into one of them.
const chosenScenarios = chooseScenarios(process.env.BENCH_ONLY);
if (chosenScenarios instanceof Error) {
  console.error(`bench: ${chosenScenarios.message}`);
  process.exit(2);
}
const SCENARIOS = chosenScenarios;
const DIRECT_NAME: Record<MemberKind, string> = { tomcat: 'tomcat (direct)', static: 'static (direct)' };
/** The short run's targets: the member, the seed and Stickler. */
const SHORT_TARGETS = new Set([DIRECT_NAME.static, APACHE, sticklerName(1)]);

const runCount = SCENARIOS.reduce((n, s) => n + ROUNDS * (SHORT ? SHORT_TARGETS.size : 4 + s.sticklerWorkers.length), 0);
// Tomcat's start-up and JIT, then per run its two client runs and a few seconds to start, probe and stop
// (Stickler's stop is cut short after two, see targets.ts).
const TOTAL_LIMIT_MS = (SHORT ? 20_000 : 70_000) + runCount * (WARMUP.durationSec + LOAD.durationSec + 3) * 1000;

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

function firstLine(err: unknown): { skipped: string; detail: string } {
  const detail = err instanceof Error ? err.message : String(err);
  return { skipped: detail.split('\n', 1)[0]!, detail };
}

function generator(scenario: Scenario, dir: string): LoadGenerator {
  return scenario.client === 'wrk' ? runWrk : (url, opts) => runH2load(url, opts, join(dir, 'h2load.log'));
}

/** Starts the target, warms it up, measures it with its CPU time and peak memory, and stops it. */
async function measure(target: Target, scenario: Scenario, dir: string): Promise<RunOutcome & { url?: string }> {
  let server;
  try {
    server = await target.start();
  } catch (err) {
    return firstLine(err);
  }
  const url = `https://127.0.0.1:${server.port}${scenario.path}`;
  const load = generator(scenario, dir);
  try {
    const probe = await request(url);
    if (probe.status !== 200) throw new Error(`GET ${scenario.path} answered ${probe.status}, expected 200`);
    await load(url, { ...WARMUP, headers: scenario.headers });
    const before = server.pid === undefined ? undefined : await sampleGroupCpu(server.pid);
    const result = await load(url, { ...LOAD, headers: scenario.headers });
    if (server.pid === undefined || before === undefined) return { url, result };
    const cpuPer10k = cpuSecondsPer10k(before, await sampleGroupCpu(server.pid), result.requests);
    return { url, result, cpuPer10k, peakRssMiB: await groupPeakRssMiB(server.pid) };
  } catch (err) {
    return { url, ...firstLine(err) };
  } finally {
    const note = await server.stop?.();
    if (note) console.log(`    ${target.name} stop: ${note}`);
  }
}

interface ScenarioReport {
  key: string;
  name: string;
  client: string;
  path: string;
  headers: string[];
  targets: TargetReport[];
  /** Why the scenario did not run (members did not start, client not installed). */
  error?: string;
  note?: string;
}

const H2LOAD_MISSING = 'skipped: h2load is not installed (Debian package nghttp2-client: apt-get install nghttp2-client)';

async function runScenario(scenario: Scenario, setup: { cert: CertificateFiles; members: Backend[]; dir: string }): Promise<ScenarioReport> {
  const base = { key: scenario.key, name: scenario.name, client: scenario.client, path: scenario.path, headers: scenario.headers };
  console.log(`\n${scenario.name}`);
  if (scenario.client === 'h2load' && !h2loadInstalled()) {
    console.log(`  ${H2LOAD_MISSING}`);
    return { ...base, targets: [], note: H2LOAD_MISSING };
  }
  const dir = await mkdtemp(join(setup.dir, `${scenario.key}-`));
  const all = targets({ ...setup, dir, directName: DIRECT_NAME[scenario.members], h2: scenario.client === 'h2load', sticklerWorkers: scenario.sticklerWorkers });
  const chosen = SHORT ? all.filter((t) => SHORT_TARGETS.has(t.name)) : all;
  const runs = new Map<string, (RunOutcome & { url?: string })[]>(chosen.map((t) => [t.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const target of chosen) {
      const runStarted = Date.now();
      const outcome = await measure(target, scenario, dir);
      runs.get(target.name)!.push(outcome);
      const figure = outcome.result ? `${outcome.result.requestsPerSec.toFixed(0)} req/s` : `skipped: ${outcome.skipped}`;
      console.log(`  round ${round}/${ROUNDS} ${target.name}: ${figure} (${((Date.now() - runStarted) / 1000).toFixed(1)} s with start and stop)`);
      if (outcome.detail && outcome.detail !== outcome.skipped) console.log(tail(outcome.detail, 12).replace(/^/gm, '    | '));
    }
  }
  const reports = withRatios(
    chosen.map((t) => {
      const targetRuns = runs.get(t.name)!;
      return summarize(t.name, targetRuns, targetRuns.find((r) => r.url)?.url);
    }),
    HAPROXY,
  );
  console.log(`\n== ${scenario.name} ==\n${formatTable(reports)}`);
  return { ...base, targets: reports };
}

async function runMemberGroup(kind: MemberKind, scenarios: Scenario[], cert: CertificateFiles, dir: string): Promise<ScenarioReport[]> {
  const started = Date.now();
  let members: Members;
  try {
    members = await startMembers(kind, cert, dir);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    console.log(`\n${kind} members did not start:\n${tail(error, 12).replace(/^/gm, '    | ')}`);
    return scenarios.map((s) => ({ key: s.key, name: s.name, client: s.client, path: s.path, headers: s.headers, targets: [], error }));
  }
  console.log(`\n${kind} members up in ${Date.now() - started} ms`);
  try {
    const reports: ScenarioReport[] = [];
    for (const scenario of scenarios) reports.push(await runScenario(scenario, { cert, members: members.members, dir }));
    return reports;
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
threads are inside its one process). xHAP: the figure over HAProxy's; for req/s above 1 is faster, for CPU
and RSS above 1 costs more. HAProxy runs 1 thread, nginx 1 worker (one core, like one Node event loop);
Apache is the seed's one process of 64 threads; stickler -wN runs N worker threads. The sticky cookie
sends every request of (a) to node1. The members speak HTTP/1.1 to every balancer; (d) is HTTP/2 only
between client and balancer. wrk, the members and the balancer share the same ${cpus().length} CPUs, so compare
ratios, not absolutes.`;

let benchDir: string | undefined;

async function main(): Promise<void> {
  benchDir = await mkdtemp(join(tmpdir(), 'stickler-bench-'));
  try {
    const cert = await testCertificate(benchDir);
    const load = loadavg();
    console.log(`${SHORT ? 'BENCH_SHORT: ' : ''}${SCENARIOS.length} scenario(s), ${runCount} runs of ${WARMUP.durationSec}+${LOAD.durationSec} s; watchdog ${Math.round(TOTAL_LIMIT_MS / 1000)} s; load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
    const reports: ScenarioReport[] = [];
    for (const kind of ['tomcat', 'static'] as const) {
      const group = SCENARIOS.filter((s) => s.members === kind);
      if (group.length) reports.push(...(await runMemberGroup(kind, group, cert, await mkdtemp(join(benchDir, `${kind}-`)))));
    }

    console.log(`\n${EXPLANATION}\n`);
    for (const r of reports) console.log(`== ${r.name} ==\n${r.targets.length ? formatTable(r.targets) : (r.note ?? `members did not start: ${r.error?.split('\n', 1)[0]}`)}\n`);

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
    };
    await writeFile(RESULTS_FILE, `${JSON.stringify(json, null, 2)}\n`);
    await writeFile(CHART_FILE, barChartSvg(`Stickler bench ${json.date.slice(0, 16)}: requests/s, median of ${ROUNDS}`, 'req/s', chartPanels(reports)));
    console.log(`Results written to ${RESULTS_FILE} and ${CHART_FILE}`);
    // Only a broken harness or a Stickler that cannot serve fails the run; other servers may be missing.
    const sticklerFailed = reports.some((r) => r.targets.some((t) => t.name.startsWith('stickler') && t.median === undefined));
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
