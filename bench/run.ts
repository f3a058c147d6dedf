// `npm run bench`: the same two Tomcat nodes behind Apache httpd (the seed configuration), Stickler (the same
// configuration file), HAProxy and nginx (equivalent configurations), and directly; wrk measures each in turn
// with keep-alive HTTPS GETs of a tiny static file, so the balancer, not the backend, is what differs.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
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
import { startNginx } from './nginx.ts';
import { formatTable, withRatios, type TargetOutcome } from './report.ts';
import { runWrk, type WrkOptions } from './wrk.ts';

const WRK: WrkOptions = { threads: 2, connections: 50, durationSec: Number(process.env.BENCH_SECONDS ?? 10) };
const WARMUP: WrkOptions = { threads: 2, connections: 10, durationSec: 2 };
const PATH = '/tiny.txt';
const TOTAL_LIMIT_MS = 170_000;
const RESULTS_FILE = fileURLToPath(new URL('../.stickler/bench-latest.json', import.meta.url));

interface Target {
  name: string;
  /** Resolves to the target's port, or throws why it cannot run. */
  start: () => Promise<number>;
}

const stops: Array<() => Promise<void>> = [];

function balancerTargets(dir: string, cert: CertificateFiles, nodes: TomcatNode[]): Target[] {
  const members = nodes.map((n) => ({ url: n.url, route: n.jvmRoute }));
  const backends: Backend[] = nodes.map((n) => ({ route: n.jvmRoute, port: n.port }));
  const seedConfig = async (name: string): Promise<{ port: number; text: string }> => {
    const port = await freePort();
    const serverRoot = join(dir, name);
    await mkdir(serverRoot);
    return { port, text: apacheConfig({ port, ...cert, members, dir: serverRoot }) };
  };
  return [
    {
      name: 'tomcat (direct)',
      start: async () => nodes[0]!.port,
    },
    {
      name: 'apache',
      start: async () => {
        const { port, text } = await seedConfig('apache');
        const apache = await startApache(text);
        stops.push(apache.stop);
        return port;
      },
    },
    {
      name: 'stickler',
      start: async () => {
        if (!existsSync(CLI)) throw new Error(`${CLI} does not exist yet`);
        const { port, text } = await seedConfig('stickler');
        const configFile = join(dir, 'stickler', 'httpd.conf');
        await writeFile(configFile, text);
        const stickler = await startStickler(configFile);
        stops.push(stickler.stop);
        return port;
      },
    },
    {
      name: 'haproxy',
      start: async () => {
        const port = await freePort();
        const server = await startHaproxy({ port, ...cert, backends, dir });
        stops.push(server.stop);
        return port;
      },
    },
    {
      name: 'nginx',
      start: async () => {
        const port = await freePort();
        const server = await startNginx({ port, ...cert, backends, dir: join(dir, 'nginx') });
        stops.push(server.stop);
        return port;
      },
    },
  ];
}

function skip(name: string, err: unknown, url?: string): TargetOutcome {
  const detail = err instanceof Error ? err.message : String(err);
  return { name, url, skipped: detail.split('\n', 1)[0], detail };
}

async function measure(target: Target): Promise<TargetOutcome> {
  let url: string;
  try {
    url = `https://127.0.0.1:${await target.start()}${PATH}`;
    const probe = await request(url);
    if (probe.status !== 200) throw new Error(`GET ${PATH} answered ${probe.status}, expected 200`);
  } catch (err) {
    return skip(target.name, err);
  }
  try {
    await runWrk(url, WARMUP);
    return { name: target.name, url, result: await runWrk(url, WRK) };
  } catch (err) {
    return skip(target.name, err, url);
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'stickler-bench-'));
  try {
    const cert = await testCertificate(dir);
    const started = Date.now();
    // Full JIT: the fast-start default (C1 only) would make the backend the bottleneck.
    const javaOpts = ['-Xmx512m', '-XX:TieredStopAtLevel=4'];
    const nodes = await Promise.all(['node1', 'node2'].map((jvmRoute) => startTomcat({ jvmRoute, ...cert, javaOpts })));
    for (const n of nodes) stops.push(n.stop);
    console.log(`Tomcat nodes up in ${Date.now() - started} ms; wrk -t${WRK.threads} -c${WRK.connections} -d${WRK.durationSec}s GET ${PATH}`);

    const outcomes: TargetOutcome[] = [];
    for (const target of balancerTargets(dir, cert, nodes)) {
      const outcome = await measure(target);
      console.log(`  ${outcome.name}: ${outcome.result ? `${outcome.result.requestsPerSec.toFixed(0)} req/s` : 'skipped'}`);
      if (outcome.detail) console.log(tail(outcome.detail, 12).replace(/^/gm, '    | '));
      outcomes.push(outcome);
    }
    const rows = withRatios(outcomes, 'apache', 'stickler');
    console.log(`\n${formatTable(rows)}\n`);
    console.log('HAProxy runs 1 thread and nginx 1 worker (one core, like one Node event loop); Apache is the seed\'s');
    console.log(`one process of 64 threads. wrk and the Tomcat nodes share the same ${cpus().length} CPUs, so compare ratios, not absolutes.`);

    await mkdir(join(RESULTS_FILE, '..'), { recursive: true });
    await writeFile(
      RESULTS_FILE,
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: cpus().length, wrk: WRK, path: PATH, results: rows }, null, 2)}\n`,
    );
    console.log(`Results written to ${RESULTS_FILE}`);
  } finally {
    await Promise.allSettled(stops.reverse().map((stop) => stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${TOTAL_LIMIT_MS / 1000} s; giving up (all started processes are killed)`);
  process.exit(1);
}, TOTAL_LIMIT_MS);
watchdog.unref();

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
