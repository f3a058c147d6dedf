// A Redis group watched by Sentinel, as an operator would run one (Debian's redis-server and redis-sentinel): a
// primary, one replica and three sentinels (quorum 2), all on 127.0.0.1 free ports, with a short failure
// detection so that a test can kill the primary and see a replica promoted within seconds.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { spawnManaged, type ManagedProcess } from './process.ts';
import { pollUntil } from './wait.ts';

export const MASTER_NAME = 'stickler';
/** Sentinel's down-after-milliseconds: a primary that stops answering is judged down after this. */
export const DOWN_AFTER_MS = 1_000;
/** Sentinel's failover-timeout: bounds a failover attempt, and the wait before another is tried. */
export const FAILOVER_TIMEOUT_MS = 3_000;
const START_MS = 15_000;

export interface SentinelGroup {
  /** The data nodes, primary first as started; after a failover the roles differ (see `primaryPort`). */
  nodes: Array<{ port: number; process: ManagedProcess }>;
  sentinels: Array<{ port: number; process: ManagedProcess }>;
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>;
  /** Starts data node `index` again, on its port, after a kill: the sentinels make it a replica of the primary. */
  restart(index: number): Promise<void>;
  stop(): Promise<void>;
}

/** One RESP command over a fresh connection; the reply as text (good enough for INFO and SENTINEL answers). */
export function redisCommand(port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${args[0]} on port ${port}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (complete(reply)) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** Whether `reply` holds one whole RESP value (bulk strings, arrays and simple types only). */
function complete(reply: string): boolean {
  let at = 0;
  const value = (): boolean => {
    const end = reply.indexOf('\r\n', at);
    if (end < 0) return false;
    const type = reply[at];
    const n = Number(reply.slice(at + 1, end));
    at = end + 2;
    if (type === '$') {
      if (n < 0) return true;
      if (reply.length < at + n + 2) return false;
      at += n + 2;
      return true;
    }
    if (type === '*') {
      for (let i = 0; i < n; i++) if (!value()) return false;
    }
    return true;
  };
  return value();
}

function startNode(dir: string, port: number, replicaOf?: number): ManagedProcess {
  return spawnManaged(`redis-${port}`, '/usr/bin/redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
    '--dbfilename', `dump-${port}.rdb`, '--loglevel', 'warning', '--repl-diskless-sync-delay', '0',
    ...(replicaOf !== undefined ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
  ]);
}

export async function startSentinelGroup(): Promise<SentinelGroup> {
  const dir = await mkdtemp(join(tmpdir(), 'stickler-sentinel-'));
  const [primary, replica, ...sentinelPorts] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const nodes = [{ port: primary!, process: startNode(dir, primary!) }];
  const group: SentinelGroup = {
    nodes,
    sentinels: [],
    async primaryPort() {
      const reply = await redisCommand(group.sentinels[0]!.port, ['SENTINEL', 'get-master-addr-by-name', MASTER_NAME]);
      return Number(reply.split('\r\n')[4]);
    },
    async restart(index) {
      const node = nodes[index]!;
      await node.process.exited;
      node.process = startNode(dir, node.port);
      await waitPing(node.port);
    },
    async stop() {
      await Promise.all([...group.sentinels, ...nodes].map((n) => n.process.stop(2_000)));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitPing(primary!);
    nodes.push({ port: replica!, process: startNode(dir, replica!, primary) });
    await pollUntil(async () => (await redisCommand(replica!, ['INFO', 'replication'])).includes('master_link_status:up'), {
      timeoutMs: START_MS, what: 'the replica in sync with the primary',
    });
    for (const port of sentinelPorts) {
      // Sentinel rewrites its configuration file (the group it learns), so each has one of its own.
      const file = join(dir, `sentinel-${port}.conf`);
      await writeFile(file, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primary} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} ${DOWN_AFTER_MS}`,
        `sentinel failover-timeout ${MASTER_NAME} ${FAILOVER_TIMEOUT_MS}`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`, '',
      ].join('\n'));
      group.sentinels.push({ port, process: spawnManaged(`sentinel-${port}`, '/usr/bin/redis-sentinel', [file]) });
    }
    // Ready once each sentinel knows the replica and the two others, so that a failover can reach quorum.
    for (const { port } of group.sentinels) {
      await pollUntil(async () => {
        const reply = await redisCommand(port, ['SENTINEL', 'master', MASTER_NAME]);
        const fields = reply.split('\r\n');
        const at = (name: string) => fields[fields.indexOf(name) + 2];
        return at('num-slaves') === '1' && at('num-other-sentinels') === '2';
      }, { timeoutMs: START_MS, what: `sentinel ${port} knowing the replica and the other sentinels` });
    }
    return group;
  } catch (err) {
    await group.stop();
    throw err;
  }
}

async function waitPing(port: number): Promise<void> {
  await pollUntil(async () => (await redisCommand(port, ['PING'])).startsWith('+PONG'), { timeoutMs: START_MS, intervalMs: 50, what: `redis-server on ${port}` });
}
