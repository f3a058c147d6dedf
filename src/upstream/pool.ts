// Keep-alive connections to one balancer member, shared by every client connection. Idle connections are
// reused newest first (the one least likely to have been closed by the member's keep-alive timer).
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { BackendTls, MemberConfig } from '../config/model.ts';

export interface PoolOptions {
  member: MemberConfig;
  backendTls: BackendTls;
  /** Connect timeout in ms. */
  connectTimeout: number;
  /** Idle connections are closed after this long; below Tomcat's 20 s keep-alive so we close first. */
  idleTimeout?: number;
  maxIdle?: number;
}

export class ConnectError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** One open connection to a member. `reused` tells the caller a failure before the first response byte may be a stale keep-alive. */
export interface UpstreamConnection {
  socket: net.Socket;
  reused: boolean;
}

export class MemberPool {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** `host[:port]` as Apache sends it in Host when ProxyPreserveHost is Off. */
  readonly url: URL;
  private readonly idle: net.Socket[] = [];
  private readonly options: PoolOptions;
  private readonly tlsOptions?: tls.ConnectionOptions;
  /** The last TLS session ticket: resuming saves a full handshake each time the member closes a keep-alive connection. */
  private tlsSession?: Buffer;
  private closed = false;

  constructor(options: PoolOptions) {
    this.options = options;
    this.url = new URL(options.member.url);
    this.secure = this.url.protocol === 'https:';
    this.host = this.url.hostname.replace(/^\[|\]$/g, '');
    this.port = Number(this.url.port) || (this.secure ? 443 : 80);
    if (this.secure) this.tlsOptions = tlsClientOptions(options.backendTls, this.host);
  }

  /** An idle connection if one is alive, otherwise a new one; rejects with ConnectError on refusal or timeout. */
  acquire(): Promise<UpstreamConnection> {
    while (this.idle.length > 0) {
      const socket = this.idle.pop()!;
      socket.removeListener('close', onIdleClose);
      socket.removeListener('error', ignore);
      socket.removeListener('data', onIdleData);
      socket.setTimeout(0);
      if (!socket.destroyed && socket.readyState === 'open') return Promise.resolve({ socket, reused: true });
      socket.destroy();
    }
    return this.connect().then((socket) => ({ socket, reused: false }));
  }

  /** Hand a connection back after a complete exchange whose framing allows reuse. */
  release(socket: net.Socket): void {
    if (this.closed || socket.destroyed || this.idle.length >= (this.options.maxIdle ?? 256)) {
      socket.destroy();
      return;
    }
    socket.removeAllListeners('data');
    socket.removeAllListeners('end');
    socket.removeAllListeners('error');
    socket.removeAllListeners('timeout');
    socket.removeAllListeners('drain');
    socket.on('error', ignore);
    socket.once('close', onIdleClose);
    // A member never talks first on an idle HTTP/1.1 connection; if it does, the connection cannot be trusted.
    socket.once('data', onIdleData);
    socket.setTimeout(this.options.idleTimeout ?? 15_000, () => socket.destroy());
    (socket as PooledSocket)[kPool] = this;
    this.idle.push(socket);
    socket.resume();
  }

  dropIdle(socket: net.Socket): void {
    const i = this.idle.indexOf(socket);
    if (i >= 0) this.idle.splice(i, 1);
  }

  close(): void {
    this.closed = true;
    for (const s of this.idle.splice(0)) s.destroy();
  }

  get idleCount(): number {
    return this.idle.length;
  }

  private connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const timeout = this.options.connectTimeout;
      let socket: net.Socket;
      const fail = (code: string, message: string) => {
        socket.destroy();
        reject(new ConnectError(code, message));
      };
      if (this.tlsOptions) {
        const secure = tls.connect({ ...this.tlsOptions, host: this.host, port: this.port, session: this.tlsSession });
        secure.on('session', (session) => (this.tlsSession = session));
        secure.once('secureConnect', () => done());
        socket = secure;
      } else {
        socket = net.connect({ host: this.host, port: this.port });
        socket.once('connect', () => done());
      }
      socket.setNoDelay(true);
      const timer = setTimeout(() => fail('STK_UPSTREAM_CONNECT_TIMEOUT', `connect to ${this.options.member.url} timed out after ${timeout} ms`), timeout);
      const onError = (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        fail('STK_UPSTREAM_CONNECT', `connect to ${this.options.member.url} failed: ${err.code ?? err.message}`);
      };
      socket.once('error', onError);
      const done = () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(socket);
      };
    });
  }
}

const kPool = Symbol('stickler.pool');
interface PooledSocket extends net.Socket {
  [kPool]?: MemberPool;
}

function ignore(): void {}

function onIdleClose(this: PooledSocket): void {
  this[kPool]?.dropIdle(this);
}

function onIdleData(this: PooledSocket): void {
  this[kPool]?.dropIdle(this);
  this.destroy();
}

function tlsClientOptions(backend: BackendTls, host: string): tls.ConnectionOptions {
  const options: tls.ConnectionOptions = {
    rejectUnauthorized: backend.verify === 'require',
    ALPNProtocols: ['http/1.1'],
  };
  if (net.isIP(host) === 0) options.servername = host;
  if (backend.caFile) options.ca = readFileSync(backend.caFile);
  if (backend.verify === 'require' && !backend.checkPeerName) options.checkServerIdentity = () => undefined;
  return options;
}
