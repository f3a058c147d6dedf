// The one connection to Redis an instance has, as two clients: one for commands, and one that spends its time
// blocked in XREAD waiting for the next journal entry (a blocked connection can do nothing else). Both reconnect
// by themselves, with a backoff; `connected` is true only while both are up, since an instance that can write
// the journal but not read it back would answer edits it cannot apply.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createClient, type RedisClientOptions } from '@redis/client';
import { secretFileExposure } from '../config/key-file.ts';
import type { SharedStateConfig } from '../config/model.ts';

/** Reconnection waits grow from this, doubling, up to RECONNECT_MAX_MS, so a Redis back up is seen within that. */
const RECONNECT_FIRST_MS = 50;
const RECONNECT_MAX_MS = 1_000;
/** A Redis that stops answering (not one that closes connections, which is seen at once) is noticed within this. */
const PING_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;

type Client = ReturnType<typeof createClient>;

/** This instance's name: the configured one, else host:pid. */
export function instanceName(config: SharedStateConfig): string {
  return config.instance ?? `${hostname()}:${process.pid}`;
}

/** The client options `config` asks for, reading the password and TLS files now; or what is wrong with them. */
export function clientOptions(config: SharedStateConfig): RedisClientOptions | { error: string } {
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

export class RedisConnection {
  readonly commands: Client;
  /** Dedicated to blocking reads. */
  readonly reader: Client;
  private readonly listeners = new Set<(connected: boolean) => void>();
  private wasConnected = false;
  private closed = false;

  constructor(options: RedisClientOptions, log: (line: string) => void) {
    this.commands = createClient(options);
    this.reader = createClient(options);
    let lastError = '';
    for (const client of [this.commands, this.reader]) {
      // Without a listener an error event would end the process; each distinct one is said once.
      client.on('error', (err: Error) => {
        const message = err.message || String(err);
        if (message !== lastError) log(`stickler: shared state: ${message}`);
        lastError = message;
      });
      client.on('ready', () => {
        lastError = '';
        this.changed();
      });
      client.on('end', () => this.changed());
      client.on('reconnecting', () => this.changed());
      client.connect().catch(() => {});
    }
  }

  get connected(): boolean {
    return !this.closed && this.commands.isReady && this.reader.isReady;
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
    for (const client of [this.commands, this.reader]) if (client.isOpen) client.destroy();
  }
}
