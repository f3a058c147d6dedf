// The listening side: one TLS (or plain TCP) server per Listen address, a certificate per virtual host chosen
// by SNI, and a ClientConnection for every accepted socket.
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ListenerConfig, SticklerConfig, VirtualHostConfig } from '../config/model.ts';
import { selectVirtualHost } from '../proxy/vhost.ts';
import { ClientConnection, type ClientTimeouts } from './client.ts';
import { Runtime } from './runtime.ts';

export interface ServerOptions {
  timeouts?: Partial<ClientTimeouts>;
  /** Balancer state buffers shared with the other worker threads. */
  sharedStates?: ReadonlyMap<string, SharedArrayBuffer>;
  /** Bind with SO_REUSEPORT so several worker threads accept on the same port and the kernel spreads connections. */
  reusePort?: boolean;
}

export interface BoundListener {
  config: ListenerConfig;
  address: string;
  port: number;
  tls: boolean;
}

export class StartupError extends Error {}

export class Stickler {
  readonly runtime: Runtime;
  readonly listeners: BoundListener[] = [];
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly timeouts: ClientTimeouts;

  private readonly reusePort: boolean;

  constructor(config: SticklerConfig, options: ServerOptions = {}) {
    this.runtime = new Runtime(config, options.sharedStates);
    this.timeouts = { keepAlive: 5_000, request: 20_000, ...options.timeouts };
    this.reusePort = options.reusePort ?? false;
  }

  async start(): Promise<void> {
    for (const listener of this.runtime.config.listeners) {
      const server = listener.tls ? this.tlsServer(listener) : net.createServer((s) => this.accept(s, 'http'));
      await listen(server, listener, this.reusePort);
      const address = server.address() as net.AddressInfo;
      this.servers.push(server);
      this.listeners.push({ config: listener, address: address.address, port: address.port, tls: listener.tls });
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const socket of this.sockets) socket.destroy();
    await this.runtime.close();
  }

  private accept(socket: net.Socket, scheme: 'https' | 'http'): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    new ClientConnection(this.runtime, socket, scheme, this.timeouts);
  }

  private tlsServer(listener: ListenerConfig): tls.Server {
    const vhosts = this.runtime.config.virtualHosts.filter((vh) => vh.tls && (vh.port === listener.port || vh.port === 0));
    const contexts = vhosts.map((vh) => ({ vh, context: tls.createSecureContext(secureOptions(vh)) }));
    const fallback = contexts[0];
    if (!fallback) throw new StartupError(`${listener.source.file}:${listener.source.line}: Listen: port ${listener.port} serves TLS but no virtual host on it has a certificate`);
    const server = tls.createServer({
      ...secureOptions(fallback.vh),
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername, done) => {
        const chosen = selectVirtualHost(vhosts, listener.port, servername, undefined);
        done(null, (contexts.find((c) => c.vh === chosen) ?? fallback).context);
      },
    });
    server.on('secureConnection', (socket) => this.accept(socket, 'https'));
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    return server;
  }
}

function secureOptions(vh: VirtualHostConfig): tls.SecureContextOptions {
  const files = vh.tls!;
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new StartupError(`${files.source.file}:${files.source.line}: ${what}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
  };
  const cert = read(files.certificateFile, 'SSLCertificateFile');
  const chain = files.chainFile ? read(files.chainFile, 'SSLCertificateChainFile') : undefined;
  return { cert: chain ? Buffer.concat([cert, Buffer.from('\n'), chain]) : cert, key: read(files.keyFile, 'SSLCertificateKeyFile') };
}

function listen(server: net.Server, listener: ListenerConfig, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new StartupError(`${listener.source.file}:${listener.source.line}: Listen: cannot listen on ${listener.host}:${listener.port}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen({ host: listener.host, port: listener.port, reusePort }, () => {
      server.removeListener('error', onError);
      server.on('error', () => {});
      resolve();
    });
  });
}
