// Debian's redis-server for the shared-state tests: on a free loopback port with a data directory of its own,
// appending every write to disk before answering (so a kill loses no acknowledged edit), and restartable on the
// same port and directory. RedisRelay stands between one Stickler and Redis so a test can cut that one off.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { spawnManaged, type ManagedProcess } from './process.ts';

const REDIS_SERVER = '/usr/bin/redis-server';
const READY_MS = 15_000;

export class RedisServer {
  readonly port: number;
  readonly dir: string;
  private process: ManagedProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  static async start(): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'stickler-redis-')));
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  /** Starts it again (after kill or stop) on the same port and data directory. */
  async restart(): Promise<void> {
    const p = spawnManaged('redis-server', REDIS_SERVER, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '',
      '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--protected-mode', 'yes',
    ]);
    this.process = p;
    await p.waitForStdout((out) => out.includes('Ready to accept connections'), READY_MS, 'redis-server ready');
  }

  /** SIGKILL, as a crash. */
  async kill(): Promise<void> {
    this.process?.kill();
    await this.process?.exited;
  }

  async stop(): Promise<void> {
    await this.process?.stop(5_000);
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A TCP relay to `port` on loopback; `sever` cuts every connection and refuses new ones until `restore`. */
export class RedisRelay {
  readonly port: number;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private severed = false;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(target: number): Promise<RedisRelay> {
    let relay: RedisRelay | undefined;
    const server = createServer((client) => {
      if (relay!.severed) return void client.destroy();
      const upstream = connect(target, '127.0.0.1');
      for (const s of [client, upstream]) {
        relay!.sockets.add(s);
        s.on('close', () => relay!.sockets.delete(s));
        s.on('error', () => {});
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new RedisRelay(server, (server.address() as { port: number }).port);
    return relay;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  sever(): void {
    this.severed = true;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.severed = false;
  }

  close(): void {
    this.sever();
    this.server.close();
  }
}
