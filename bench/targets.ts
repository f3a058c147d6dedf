// The servers a scenario measures: one member directly, then Apache httpd (the seed configuration), Stickler
// (the same configuration file), HAProxy on one thread and on every core, nginx (equivalent configurations), and
// the Node ceiling (node-pipe.ts, not the product). Every start gets a fresh directory, so a target can be
// started again in the next round.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apacheConfig, startApache } from '../test/support/apache.ts';
import type { CertificateFiles } from '../test/support/certs.ts';
import { freePort } from '../test/support/ports.ts';
import { CLI, startStickler, type SticklerProcess } from '../test/support/stickler.ts';
import type { Backend } from './backends.ts';
import { startForegroundTls } from './foreground.ts';
import { startHaproxy } from './haproxy.ts';
import { startNginx } from './nginx.ts';

/** A measured server, up and answering. */
export interface Started {
  port: number;
  /** Leader of the process group whose CPU time and peak RSS are the target's cost; absent for direct runs. */
  pid?: number;
  /** Resolves once stopped, with a note when the stop was not clean. */
  stop?: () => Promise<string | void>;
}

export interface Target {
  name: string;
  /** Resolves once the target answers, or throws why it cannot run. */
  start: () => Promise<Started>;
}

export interface TargetSetup {
  cert: CertificateFiles;
  members: Backend[];
  /** Parent of every target's own directory. */
  dir: string;
  /** Name of the row that measures members[0] without a balancer. */
  directName: string;
  /** Offer HTTP/2 at the front. */
  h2: boolean;
  /** One Stickler row per entry, started with `--workers N`. */
  sticklerWorkers: number[];
  /** Client connections to hold at once, and for how long idle ones stay open, when more than the defaults. */
  idle?: { maxConnections: number; keepAliveTimeoutSec: number };
}

export const HAPROXY = 'haproxy';
/** HAProxy with as many threads as the machine has cores: what it does when nothing holds it to one. */
export const HAPROXY_ALL_CORES = `haproxy -t${cpus().length} (all cores)`;
/** bench/node-pipe.ts, not the product: what Node's TLS and sockets alone cost per request. */
export const NODE_CEILING = 'node pipe (ceiling)';
export const APACHE = 'apache';
export const NGINX = 'nginx';
export const sticklerName = (workers: number): string => `stickler -w${workers}`;

// mod_http2 is not among the seed's modules; LoadModule belongs to the server context, so it goes right after
// the modules the seed loads, and Protocols into the virtual host.
const APACHE_H2_MODULE = 'LoadModule http2_module /usr/lib/apache2/modules/mod_http2.so';

/** The seed httpd.conf for these members, with HTTP/2 switched on and a longer KeepAliveTimeout when asked. */
export function benchApacheConfig(port: number, setup: TargetSetup, serverRoot: string): string {
  const members = setup.members.map((m) => ({ url: `https://127.0.0.1:${m.port}`, route: m.route }));
  const text = apacheConfig({ port, ...setup.cert, members, dir: serverRoot, ...(setup.h2 ? { extraVhost: ' Protocols h2 http/1.1' } : {}) });
  const h2 = setup.h2 ? text.replace(/^LoadModule ssl_module .*$/m, (line) => `${line}\n${APACHE_H2_MODULE}`) : text;
  return setup.idle ? `${h2}\nKeepAliveTimeout ${setup.idle.keepAliveTimeoutSec}\n` : h2;
}

// SIGTERM drains gracefully; a drain still running after this long is reported and cut short, so that it
// does not eat into the bench's time budget.
const STICKLER_STOP_GRACE_MS = 2_000;

async function stopStickler(server: SticklerProcess): Promise<string | void> {
  const started = Date.now();
  process.kill(server.pid, 'SIGTERM');
  const exited = await Promise.race([server.exited.then(() => true), new Promise<false>((r) => setTimeout(r, STICKLER_STOP_GRACE_MS, false))]);
  if (exited) return;
  server.kill();
  await server.exited;
  return `still draining ${((Date.now() - started) / 1000).toFixed(1)} s after SIGTERM; killed`;
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const NODE_PIPE = fileURLToPath(new URL('./node-pipe.ts', import.meta.url));

export function targets(setup: TargetSetup): Target[] {
  const seedConfig = async (name: string): Promise<{ port: number; serverRoot: string; text: string }> => {
    const port = await freePort();
    const serverRoot = await mkdtemp(join(setup.dir, `${name}-`));
    return { port, serverRoot, text: benchApacheConfig(port, setup, serverRoot) };
  };
  const stickler = (workers: number): Target => ({
    name: sticklerName(workers),
    start: async () => {
      if (!existsSync(CLI)) throw new Error(`${CLI} does not exist yet`);
      const { port, serverRoot, text } = await seedConfig('stickler');
      const configFile = join(serverRoot, 'httpd.conf');
      await writeFile(configFile, text);
      const server = await startStickler(configFile, { args: ['--workers', String(workers)] });
      return { port, pid: server.pid, stop: () => stopStickler(server) };
    },
  });
  const haproxy = (name: string, threads: number): Target => ({
    name,
    start: async () => {
      const port = await freePort();
      const dir = await mkdtemp(join(setup.dir, 'haproxy-'));
      const server = await startHaproxy({ port, ...setup.cert, backends: setup.members, dir, h2: setup.h2, maxConnections: setup.idle?.maxConnections, threads });
      return { port, pid: server.pid, stop: server.stop };
    },
  });
  return [
    { name: setup.directName, start: async () => ({ port: setup.members[0]!.port }) },
    {
      name: APACHE,
      start: async () => {
        const { port, serverRoot, text } = await seedConfig('apache');
        const apache = await startApache(text);
        // -DFOREGROUND: the pid file names the process spawned, which leads the group with the worker child.
        return { port, pid: await readPid(join(serverRoot, 'httpd.pid')), stop: apache.stop };
      },
    },
    ...setup.sticklerWorkers.map(stickler),
    haproxy(HAPROXY, 1),
    haproxy(HAPROXY_ALL_CORES, cpus().length),
    {
      name: NGINX,
      start: async () => {
        const port = await freePort();
        const dir = await mkdtemp(join(setup.dir, 'nginx-'));
        const server = await startNginx({ port, ...setup.cert, backends: setup.members, dir, h2: setup.h2, maxConnections: setup.idle?.maxConnections });
        return { port, pid: server.pid, stop: server.stop };
      },
    },
    {
      name: NODE_CEILING,
      start: async () => {
        if (setup.h2) throw new Error('- (h2 does not apply: the pipe speaks HTTP/1.1 only)');
        const port = await freePort();
        const { certFile, keyFile } = setup.cert;
        const server = await startForegroundTls(NODE_CEILING, process.execPath, [NODE_PIPE, String(port), certFile, keyFile, String(setup.members[0]!.port)], [port]);
        return { port, pid: server.pid, stop: server.stop };
      },
    },
  ];
}
