// `npm run bench`: two scenarios, each measured directly against one member and through Apache httpd (the seed
// configuration), Stickler (the same configuration file), HAProxy and nginx (equivalent configurations); wrk
// measures each in turn with keep-alive HTTPS GETs of a tiny static file. With the seed's Tomcat members the
// backend caps every balancer on a small machine; with static nginx members the balancers' own cost shows.

import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apacheConfig, startApache } from '../test/support/apache.ts';
import { testCertificate, type CertificateFiles } from '../test/support/certs.ts';
import { request } from '../test/support/client.ts';
import { freePort } from '../test/support/ports.ts';
import { tail } from '../test/support/process.ts';
import { CLI, startStickler } from '../test/support/stickler.ts';
import { startTomcat, type TomcatNode } from '../test/support/tomcat.ts';
import type { Backend } from './backends.ts';
import { startHaproxy } from './haproxy.ts';
import { groupPeakRssMiB } from './memory.ts';
import { startNginx } from './nginx.ts';
import { formatTable, withRatios, type ReportRow, type TargetOutcome } from './report.ts';
import { startStaticBackends } from './static-backend.ts';
import { runWrk, type WrkOptions } from './wrk.ts';

function benchSeconds(text: string | undefined): number | Error {
  if (text === undefined) return 8;
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds < 1) return new Error(`BENCH_SECONDS must be a whole number of seconds >= 1, not ${JSON.stringify(text)}`);
  return seconds;
}

const durationSec = benchSeconds(process.env.BENCH_SECONDS);
if (durationSec instanceof Error) {
  console.error(`bench: ${durationSec.message}`);
  process.exit(2);
}
const WRK: WrkOptions = { threads: 2, connections: 50, durationSec };
const WARMUP: WrkOptions = { threads: 2, connections: 10, durationSec: 2 };
const PATH = '/tiny.txt';
const TARGETS_PER_SCENARIO = 5;
const SCENARIO_COUNT = 2;
// Tomcat start-up and JIT, plus per target its wrk runs and a few seconds to start, probe and stop it.
const TOTAL_LIMIT_MS = 70_000 + SCENARIO_COUNT * TARGETS_PER_SCENARIO * (WARMUP.durationSec + WRK.durationSec + 6) * 1000;
const RESULTS_FILE = fileURLToPath(new URL('../.stickler/bench-latest.json', import.meta.url));

/** A measured server, up and answering. */
interface Started {
  port: number;
  /** Leader of the process group whose peak RSS is the target's memory cost; absent for direct runs. */
  pid?: number;
  stop?: () => Promise<void>;
}

interface Target {
  name: string;
  /** Resolves once the target answers, or throws why it cannot run. */
  start: () => Promise<Started>;
}

/** Members every target of a scenario forwards to. */
interface Members {
  members: Backend[];
  stop(): Promise<void>;
}

interface Scenario {
  name: string;
  directName: string;
  start(cert: CertificateFiles, dir: string): Promise<Members>;
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

const SCENARIOS: Scenario[] = [
  { name: 'seed: Tomcat backends', directName: 'tomcat (direct)', start: (cert) => startTomcatMembers(cert) },
  {
    name: 'static backends (nginx, 1 worker)',
    directName: 'static (direct)',
    start: (cert, dir) => startStaticBackends(cert, join(dir, 'members'), 2),
  },
];

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function targets(dir: string, cert: CertificateFiles, scenario: Scenario, members: Backend[]): Target[] {
  const apacheMembers = members.map((m) => ({ url: `https://127.0.0.1:${m.port}`, route: m.route }));
  const seedConfig = async (name: string): Promise<{ port: number; serverRoot: string; text: string }> => {
    const port = await freePort();
    const serverRoot = join(dir, name);
    await mkdir(serverRoot);
    return { port, serverRoot, text: apacheConfig({ port, ...cert, members: apacheMembers, dir: serverRoot }) };
  };
  return [
    {
      name: scenario.directName,
      start: async () => ({ port: members[0]!.port }),
    },
    {
      name: 'apache',
      start: async () => {
        const { port, serverRoot, text } = await seedConfig('apache');
        const apache = await startApache(text);
        // -DFOREGROUND: the pid file names the process spawned, which leads the group with the worker child.
        return { port, pid: await readPid(join(serverRoot, 'httpd.pid')), stop: apache.stop };
      },
    },
    {
      name: 'stickler',
      start: async () => {
        if (!existsSync(CLI)) throw new Error(`${CLI} does not exist yet`);
        const { port, serverRoot, text } = await seedConfig('stickler');
        const configFile = join(serverRoot, 'httpd.conf');
        await writeFile(configFile, text);
        const stickler = await startStickler(configFile);
        return { port, pid: stickler.pid, stop: stickler.stop };
      },
    },
    {
      name: 'haproxy',
      start: async () => {
        const port = await freePort();
        const server = await startHaproxy({ port, ...cert, backends: members, dir });
        return { port, pid: server.pid, stop: server.stop };
      },
    },
    {
      name: 'nginx',
      start: async () => {
        const port = await freePort();
        const server = await startNginx({ port, ...cert, backends: members, dir: join(dir, 'nginx') });
        return { port, pid: server.pid, stop: server.stop };
      },
    },
  ];
}

function skip(name: string, err: unknown, url?: string): TargetOutcome {
  const detail = err instanceof Error ? err.message : String(err);
  return { name, url, skipped: detail.split('\n', 1)[0], detail };
}

/** Starts the target, measures it, reads its peak memory, and stops it before the next one starts. */
async function measure(target: Target): Promise<TargetOutcome> {
  let server: Started;
  try {
    server = await target.start();
  } catch (err) {
    return skip(target.name, err);
  }
  const url = `https://127.0.0.1:${server.port}${PATH}`;
  try {
    const probe = await request(url);
    if (probe.status !== 200) throw new Error(`GET ${PATH} answered ${probe.status}, expected 200`);
    await runWrk(url, WARMUP);
    const result = await runWrk(url, WRK);
    const peakRssMiB = server.pid === undefined ? undefined : await groupPeakRssMiB(server.pid);
    return { name: target.name, url, result, peakRssMiB };
  } catch (err) {
    return skip(target.name, err, url);
  } finally {
    await server.stop?.();
  }
}

interface ScenarioReport {
  name: string;
  results: ReportRow[];
  /** Why the scenario's members did not start. */
  error?: string;
}

async function runScenario(scenario: Scenario, cert: CertificateFiles, dir: string): Promise<ScenarioReport> {
  await mkdir(dir);
  const started = Date.now();
  let members: Members;
  try {
    members = await scenario.start(cert, dir);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    console.log(`\n${scenario.name}: members did not start:\n${tail(error, 12).replace(/^/gm, '    | ')}`);
    return { name: scenario.name, results: [], error };
  }
  const outcomes: TargetOutcome[] = [];
  try {
    console.log(`\n${scenario.name}: members up in ${Date.now() - started} ms`);
    for (const target of targets(dir, cert, scenario, members.members)) {
      const outcome = await measure(target);
      console.log(`  ${outcome.name}: ${outcome.result ? `${outcome.result.requestsPerSec.toFixed(0)} req/s` : 'skipped'}`);
      if (outcome.detail) console.log(tail(outcome.detail, 12).replace(/^/gm, '    | '));
      outcomes.push(outcome);
    }
  } finally {
    await members.stop();
  }
  const results = withRatios(outcomes, 'apache', 'stickler');
  console.log(`\n== ${scenario.name} ==\n${formatTable(results)}`);
  return { name: scenario.name, results };
}

let benchDir: string | undefined;

async function main(): Promise<void> {
  benchDir = await mkdtemp(join(tmpdir(), 'stickler-bench-'));
  try {
    const cert = await testCertificate(benchDir);
    const load = loadavg();
    console.log(`wrk -t${WRK.threads} -c${WRK.connections} -d${WRK.durationSec}s (after a ${WARMUP.durationSec} s warm-up) GET ${PATH}; load average ${load.map((l) => l.toFixed(2)).join(' ')}`);
    const reports: ScenarioReport[] = [];
    for (const [i, scenario] of SCENARIOS.entries()) reports.push(await runScenario(scenario, cert, join(benchDir, `scenario-${i + 1}`)));

    console.log('\nHAProxy runs 1 thread and nginx 1 worker (one core, like one Node event loop); Apache is the seed\'s');
    console.log(`one process of 64 threads. wrk, the members and the balancer share the same ${cpus().length} CPUs, so compare ratios,`);
    console.log('not absolutes. Peak RSS is VmHWM summed over the balancer\'s processes (Apache parent + child, nginx');
    console.log('master + worker), read after its run; pages they share count once per process.');

    await mkdir(join(RESULTS_FILE, '..'), { recursive: true });
    const json = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: load, wrk: WRK, warmup: WARMUP, path: PATH, scenarios: reports };
    await writeFile(RESULTS_FILE, `${JSON.stringify(json, null, 2)}\n`);
    console.log(`Results written to ${RESULTS_FILE}`);
    if (reports.some((r) => r.error !== undefined)) process.exitCode = 1;
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
