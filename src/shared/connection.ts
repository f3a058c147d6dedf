// The one connection to Redis an instance has, as two clients: one for commands, and one that spends its time
// blocked in XREAD waiting for the next journal entry (a blocked connection can do nothing else). Both reconnect
// by themselves, with a backoff; `connected` is true only while both are up, since an instance that can write
// the journal but not read it back would answer edits it cannot apply. With Sentinel, each client is a Sentinel
// client of @redis/client, which asks the sentinels for the primary and follows it through a failover.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createClient, createSentinel, type RedisClientOptions } from '@redis/client';
import { secretFileExposure } from '../config/key-file.ts';
import type { SharedStateConfig } from '../config/model.ts';

/** Reconnection waits grow from this, doubling, up to RECONNECT_MAX_MS, so a Redis back up is seen within that. */
const RECONNECT_FIRST_MS = 50;
const RECONNECT_MAX_MS = 1_000;
/** A Redis that stops answering (not one that closes connections, which is seen at once) is noticed within this. */
const PING_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
const SENTINEL_SCAN_MS = 1_000;
/** With Sentinel, how long a write waits for a replica to have it before it is refused as not durable. */
export const REPLICA_WAIT_MS = 2_000;

/** What the shared-state modules ask of a client: a command as its argument list, answered or rejected. */
export interface RedisLink {
  sendCommand(args: string[]): Promise<unknown>;
}

/** The client options, plus the sentinels to ask for the primary when the configuration names them. */
export type ConnectionOptions = RedisClientOptions & { sentinel?: { name: string; nodes: Array<{ host: string; port: number }> } };

interface Client extends RedisLink {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  on(event: string, listener: (err: Error | string) => void): unknown;
  connect(): Promise<unknown>;
  destroy(): unknown;
}

/** This instance's name: the configured one, else host:pid. */
export function instanceName(config: SharedStateConfig): string {
  return config.instance ?? `${hostname()}:${process.pid}`;
}

/** The client options `config` asks for, reading the password and TLS files now; or what is wrong with them. */
export function clientOptions(config: SharedStateConfig): ConnectionOptions | { error: string } {
  const secure = config.url.startsWith('rediss:');
  let password: string | undefined;
  try {
    if (config.passwordFile !== undefined) password = readPassword(config.passwordFile);
    const tls = secure && {
      tls: true as const,
      ...(config.tls?.caFile !== undefined && { ca: readFileSync(config.tls.caFile) }),
      ...(config.tls?.certificateFile !== undefined && { cert: readFileSync(config.tls.certificateFile) }),
      ...(config.tls?.keyFile !== undefined && { key: readFileSync(config.tls.keyFile) }),
    };
    return {
      url: config.url,
      ...(password !== undefined && { password }),
      // A command asked while Redis is away fails at once instead of waiting in a queue: edits are refused, not held.
      disableOfflineQueue: true,
      pingInterval: PING_MS,
      socket: {
        connectTimeout: CONNECT_TIMEOUT_MS,
        reconnectStrategy: (retries: number) => Math.min(RECONNECT_FIRST_MS * 2 ** Math.min(retries, 10), RECONNECT_MAX_MS) * (0.75 + Math.random() / 2),
        ...tls,
      },
      ...(config.sentinels !== undefined && config.masterName !== undefined && { sentinel: { name: config.masterName, nodes: config.sentinels } }),
    };
  } catch (err) {
    return { error: `shared-state: ${(err as Error).message}` };
  }
}

/** The password file's first line; a file others may read is refused, as key files are. */
function readPassword(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const exposure = secretFileExposure(fstatSync(fd).mode);
    if (exposure !== undefined) throw new Error(`password-file ${file} is ${exposure}; expected a file only its owner can read (chmod 600)`);
    const password = readFileSync(fd, 'utf8').split('\n')[0]!.trim();
    if (password === '') throw new Error(`password-file ${file} is empty; expected the Redis password on its first line`);
    return password;
  } finally {
    closeSync(fd);
  }
}

/**
 * A client of the primary that Sentinel names. Its master pool has one connection, so that a WAIT runs on the
 * connection that made the write it waits for; the data nodes get the URL's database and the password, the
 * sentinels neither (they are not the data, and Debian's sentinel asks for none).
 */
function sentinelClient(options: ConnectionOptions, sentinel: NonNullable<ConnectionOptions['sentinel']>): Client {
  const { url, sentinel: _, socket, ...node } = options;
  const database = Number(new URL(url!).pathname.slice(1) || '0');
  const client = createSentinel({
    name: sentinel.name,
    sentinelRootNodes: sentinel.nodes,
    masterPoolSize: 1,
    // The sentinels are asked for the primary this often (and at once when it fails), not every 10 s.
    scanInterval: SENTINEL_SCAN_MS,
    // The journal's readers expect RESP2's flat lists, which createClient answers with by default.
    RESP: 2,
    nodeClientOptions: { ...node, database, ...(socket && { socket: socket as object }) },
    sentinelClientOptions: { ...(socket && { socket: socket as object }) },
    passthroughClientErrorEvents: true,
  });
  return {
    sendCommand: (args) => client.sendCommand(false, args),
    get isReady() {
      return client.isReady;
    },
    get isOpen() {
      return client.isOpen;
    },
    on: (event, listener) => client.on(event, listener),
    connect: () => client.connect(),
    destroy: () => client.destroy(),
  };
}

/** Redis was reached and took the write, but cannot vouch that it survives a failover: not a lost connection. */
export class UnacknowledgedWrite extends Error {}

export class RedisConnection {
  readonly commands: RedisLink;
  /** Dedicated to blocking reads. */
  readonly reader: RedisLink;
  private readonly clients: Client[];
  private readonly listeners = new Set<(connected: boolean) => void>();
  private wasConnected = false;
  private closed = false;
  /** Counts losses of the primary, so that a write and its WAIT are known to have met the same one. */
  private epoch = 0;
  private readonly sentinel: boolean;

  constructor(options: ConnectionOptions, log: (line: string) => void) {
    const { sentinel, ...single } = options;
    this.sentinel = sentinel !== undefined;
    const open = (): Client => (sentinel ? sentinelClient(options, sentinel) : createClient(single));
    const [commands, reader] = [open(), open()];
    this.commands = commands;
    this.reader = reader;
    this.clients = [commands, reader];
    let lastError = '';
    for (const client of this.clients) {
      // Without a listener an error event would end the process; each distinct one is said once.
      client.on('error', (err: Error | string) => {
        const message = (err instanceof Error ? err.message : err) || String(err);
        if (message !== lastError) log(`stickler: shared state: ${message}`);
        lastError = message;
      });
      client.on('ready', () => {
        lastError = '';
        this.changed();
      });
      client.on('end', () => this.lost());
      client.on('reconnecting', () => this.lost());
      client.on('topology-change', () => this.lost());
      client.connect().catch(() => {});
    }
  }

  get connected(): boolean {
    return !this.closed && this.clients.every((client) => client.isReady);
  }

  /**
   * Runs a write that must not be lost (the journal's XADD). With Sentinel, it is answered only once a replica
   * has it too (WAIT 1), since an asynchronous replica promoted before it got the write would lose it: a
   * write no replica has within REPLICA_WAIT_MS, or one that met a failover, is rejected, not acknowledged.
   */
  async write(args: string[]): Promise<unknown> {
    const epoch = this.epoch;
    const reply = await this.commands.sendCommand(args);
    if (!this.sentinel) return reply;
    const replicas = Number(await this.commands.sendCommand(['WAIT', '1', String(REPLICA_WAIT_MS)]));
    if (this.epoch !== epoch) throw new UnacknowledgedWrite('the Redis primary changed while the edit was written (a failover), so it may or may not have been kept; it is not acknowledged: look at the balancer state before trying again');
    if (!(replicas >= 1)) throw new UnacknowledgedWrite(`no Redis replica acknowledged the edit within ${REPLICA_WAIT_MS / 1000} s, so a failover could lose it; it is not acknowledged (the primary has it, and the instances apply it unless a failover loses it): look at the replicas, then at the balancer state before trying again`);
    return reply;
  }

  private lost(): void {
    this.epoch++;
    this.changed();
  }

  /** `listener` is told each time `connected` changes. */
  onChange(listener: (connected: boolean) => void): void {
    this.listeners.add(listener);
  }

  private changed(): void {
    const now = this.connected;
    if (now === this.wasConnected) return;
    this.wasConnected = now;
    for (const listener of this.listeners) listener(now);
  }

  close(): void {
    this.closed = true;
    for (const client of this.clients) if (client.isOpen) client.destroy();
  }
}
