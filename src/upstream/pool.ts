// Keep-alive connections to one balancer member, shared by every client connection. Each connection keeps
// its listeners and its response reader for life and hands events to whichever exchange holds it, so
// handing a connection from one request to the next costs no listener or timer churn.
import net from 'node:net';
import tls from 'node:tls';
import type { BackendTls, MemberConfig } from '../config/model.ts';
import { MessageReader } from '../http/reader.ts';
import { pastReserve } from '../server/descriptors.ts';
import { BurstLog, isLocalExhaustion } from './exhaustion.ts';

export interface PoolOptions {
  member: MemberConfig;
  backendTls: BackendTls;
  /** Connect timeout in ms. */
  connectTimeout: number;
  /** Socket inactivity timeout while a request is out (Apache `timeout`/`Timeout`). */
  ioTimeout: number;
  /** Idle connections are closed after this long; below Tomcat's 20 s keep-alive so we close first. */
  idleTimeout?: number;
  maxIdle?: number;
  /**
   * The CAs (backendTls.caFile) and the client certificate of every TLS connection to the member, made once per
   * configuration: node:tls would otherwise build a context per connection from the options, 2 ms to 8 ms (with a
   * CA bundle) of the event loop each. Without it the pool makes one with the defaults.
   */
  secureContext?: tls.SecureContext;
  /** The context holds a client certificate: a member's refusal then says it did not accept it, not that it wants one. */
  presentsCertificate?: boolean;
}

/** An address a connection goes to; `host` without an IPv6 address's brackets. */
export interface Endpoint {
  secure: boolean;
  host: string;
  port: number;
}

export function endpointOf(url: URL): Endpoint {
  const secure = url.protocol === 'https:';
  return { secure, host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port) || (secure ? 443 : 80) };
}

export class ConnectError extends Error {
  readonly code: string;
  /** This process ran out of something (see exhaustion.ts): the member is not to blame. */
  readonly local: boolean;
  constructor(code: string, message: string, local = false) {
    super(message);
    this.code = code;
    this.local = local;
  }
}

/** One line per burst of local failures for the whole thread, whichever member they hit. */
const localFailures = new BurstLog(10_000);

function localFailure(url: string, code: string): ConnectError {
  const quiet = localFailures.note(Date.now());
  if (quiet !== undefined) {
    const before = quiet > 0 ? ` (the previous burst had ${quiet} more)` : '';
    process.stderr.write(`stickler: cannot connect to members, this process is out of resources (${code}, first at ${url}): requests get 503 and no member is put in error; further failures are not logged until 10 s pass without one${before}\n`);
  }
  return new ConnectError(code === 'STK_LOCAL_DESCRIPTORS' ? code : `STK_LOCAL_${code}`, `connect to ${url} failed here: ${code}`, true);
}

/** The exchange currently holding a connection. */
export interface ConnectionUser {
  memberData(chunk: Buffer): void;
  memberClosed(): void;
  memberTimeout(): void;
  memberDrain(): void;
}

export class MemberConnection {
  readonly socket: net.Socket;
  /** One reader for the connection's life: responses must pair with requests in order. */
  readonly reader = new MessageReader('response');
  /** This connection carried an earlier exchange: a failure before any response byte may be a stale keep-alive. */
  reused = false;
  idleSince = 0;
  /** Why the member ended the connection, when its TLS said so: a client certificate it requires or refused. */
  refusal: string | undefined;
  private user: ConnectionUser | undefined;
  private readonly pool: MemberPool;

  constructor(socket: net.Socket, pool: MemberPool) {
    this.socket = socket;
    this.pool = pool;
    socket.setTimeout(pool.ioTimeout);
    socket.on('data', (chunk: Buffer) => {
      if (this.user) this.user.memberData(chunk);
      // A member never talks first on an idle HTTP/1.1 connection; if it does, the connection cannot be trusted.
      else socket.destroy();
    });
    socket.on('timeout', () => {
      if (this.user) this.user.memberTimeout();
      else socket.destroy();
    });
    socket.on('drain', () => this.user?.memberDrain());
    socket.on('error', (err: NodeJS.ErrnoException) => void (this.refusal ??= tlsRefusal(err, pool.presentsCertificate)));
    socket.on('close', () => {
      this.pool.forget(this);
      this.user?.memberClosed();
    });
  }

  attach(user: ConnectionUser): void {
    this.user = user;
    this.socket.resume();
  }

  /** The exchange is done with the connection; `reusable` false closes it. */
  detach(reusable: boolean): void {
    this.user = undefined;
    if (reusable && this.reader.idle) {
      // The reader pauses after each message; with nothing buffered, resuming only readies it for the next.
      this.reader.resume();
      this.pool.release(this);
    } else this.socket.destroy();
  }

  /** The connection leaves the pool for good (a protocol switch): the caller owns the socket from now on. */
  handOver(): net.Socket {
    this.user = undefined;
    this.pool.forget(this);
    this.socket.removeAllListeners('close');
    return this.socket;
  }

  write(data: Buffer): boolean {
    return this.socket.write(data);
  }
}

export class MemberPool {
  readonly host: string;
  readonly port: number;
  readonly ioTimeout: number;
  readonly presentsCertificate: boolean;
  private readonly idle: MemberConnection[] = [];
  private readonly options: PoolOptions;
  /** Where traffic goes, built once: `connect` is on the path of every request that finds no idle connection. */
  private readonly home: ConnectTarget;
  /** The last TLS session ticket: resuming saves a full handshake each time the member closes a keep-alive connection. */
  private tlsSession?: Buffer;
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  /** The other address last used, built once as the member's own. */
  private aside?: { key: string; target: ConnectTarget };
  private context?: tls.SecureContext;

  private tlsOptions(host: string): tls.ConnectionOptions {
    const { backendTls: backend } = this.options;
    this.context ??= this.options.secureContext ?? tls.createSecureContext();
    const options: tls.ConnectionOptions = { secureContext: this.context, rejectUnauthorized: backend.verify === 'require', ALPNProtocols: ['http/1.1'] };
    if (net.isIP(host) === 0) options.servername = host;
    if (backend.verify === 'require' && !backend.checkPeerName) options.checkServerIdentity = () => undefined;
    return options;
  }

  constructor(options: PoolOptions) {
    this.options = options;
    this.ioTimeout = options.ioTimeout;
    this.presentsCertificate = options.presentsCertificate ?? false;
    const { secure, host, port } = endpointOf(new URL(options.member.url));
    this.host = host;
    this.port = port;
    this.home = { host, port, tls: secure ? this.tlsOptions(host) : undefined, label: options.member.url };
    const idleTimeout = options.idleTimeout ?? 15_000;
    this.sweeper = setInterval(() => this.sweep(Date.now() - idleTimeout), Math.max(1000, idleTimeout / 3)).unref();
  }

  /** The most recently used idle connection, if any (it is the least likely to have been closed by the member). */
  takeIdle(): MemberConnection | undefined {
    return this.idle.pop();
  }

  /**
   * A new connection; rejects with ConnectError on refusal or timeout. `aside`: to another address of the member
   * (a health check's port), with the same TLS settings and timeouts, its certificate checked for that host.
   */
  async connectFresh(aside?: Endpoint): Promise<MemberConnection> {
    return new MemberConnection(await this.connect(aside && this.asideTarget(aside)), this);
  }

  private asideTarget(to: Endpoint): ConnectTarget {
    const key = `${to.secure}|${to.host}|${to.port}`;
    if (this.aside?.key !== key) {
      const label = `${to.secure ? 'https' : 'http'}://${to.host.includes(':') ? `[${to.host}]` : to.host}:${to.port}`;
      this.aside = { key, target: { ...to, label, tls: to.secure ? this.tlsOptions(to.host) : undefined } };
    }
    return this.aside.target;
  }

  release(conn: MemberConnection): void {
    const { socket } = conn;
    // A member that already sent its FIN (or a socket we cannot write) would fail the next request.
    if (this.closed || socket.destroyed || !socket.writable || socket.readableEnded || this.idle.length >= (this.options.maxIdle ?? 256)) {
      conn.socket.destroy();
      return;
    }
    conn.reused = true;
    conn.idleSince = Date.now();
    this.idle.push(conn);
  }

  forget(conn: MemberConnection): void {
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const c of this.idle.splice(0)) c.socket.destroy();
  }

  get idleCount(): number {
    return this.idle.length;
  }

  /** Idle connections are kept newest last, so the stale ones are at the front. */
  private sweep(cutoff: number): void {
    while (this.idle.length > 0 && this.idle[0]!.idleSince < cutoff) this.idle.shift()!.socket.destroy();
  }

  /**
   * Apache checks the member's certificate names (SSLProxyCheckPeerName, on by default) even when it does not
   * verify the chain (SSLProxyVerify none); node:tls checks names only while verifying, so do it here.
   */
  private nameMismatch(socket: tls.TLSSocket, host: string): string | undefined {
    const { backendTls } = this.options;
    if (backendTls.verify !== 'none' || !backendTls.checkPeerName || socket.isSessionReused()) return undefined;
    return tls.checkServerIdentity(host, socket.getPeerCertificate())?.message;
  }

  private connect(aside?: ConnectTarget): Promise<net.Socket> {
    const to = aside ?? this.home;
    return new Promise((resolve, reject) => {
      const timeout = this.options.connectTimeout;
      const url = to.label;
      let socket: net.Socket;
      const fail = (code: string, message: string) => failWith(new ConnectError(code, message));
      const failWith = (err: ConnectError) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const done = () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        resolve(socket);
      };
      if (to.tls) {
        // The session ticket is the member's own address's; another address starts a full handshake every time.
        const secure = tls.connect({ ...to.tls, host: to.host, port: to.port, session: aside ? undefined : this.tlsSession });
        if (!aside) secure.on('session', (session) => (this.tlsSession = session));
        secure.once('secureConnect', () => {
          const mismatch = this.nameMismatch(secure, to.host);
          if (mismatch) fail('STK_UPSTREAM_TLS_NAME', `${url} presented a certificate for another name: ${mismatch}`);
          else done();
        });
        socket = secure;
      } else {
        socket = net.connect({ host: to.host, port: to.port });
        socket.once('connect', () => socket.destroyed || done());
      }
      // Before any TLS: a member socket in the manager's reserve of descriptors is given back at once.
      socket.prependOnceListener('connect', () => {
        if (pastReserve(socket)) failWith(localFailure(url, 'STK_LOCAL_DESCRIPTORS'));
      });
      socket.setNoDelay(true);
      const timer = setTimeout(() => fail('STK_UPSTREAM_CONNECT_TIMEOUT', `connect to ${url} timed out after ${timeout} ms`), timeout);
      const onError = (err: NodeJS.ErrnoException) => {
        if (isLocalExhaustion(err.code)) failWith(localFailure(url, err.code!));
        else fail('STK_UPSTREAM_CONNECT', `connect to ${url} failed: ${err.code ?? err.message}`);
      };
      socket.once('error', onError);
    });
  }
}

/**
 * A TLS alert from the member, in words. TLS 1.3 ends the handshake before the server has judged the client's
 * certificate, so a member that requires one closes the connection after it was made, with this alert (OpenSSL
 * servers send unknown_ca or bad_certificate for one they do not trust; Node's just close the connection).
 */
export function tlsRefusal(err: NodeJS.ErrnoException, presented: boolean): string | undefined {
  const code = err.code ?? '';
  if (!/^ERR_SSL_.*ALERT/.test(code)) return undefined;
  const said = `ended the TLS connection with an alert (${code})`;
  if (!/CERTIFICATE|HANDSHAKE_FAILURE|UNKNOWN_CA|ACCESS_DENIED/.test(code)) return said;
  return presented
    ? `${said}; it did not accept the client certificate presented: expected one issued by a CA it trusts in client-certificate (SSLProxyMachineCertificateFile)`
    : `${said}; it requires a client certificate it trusts: expected one in client-certificate (SSLProxyMachineCertificateFile)`;
}

/** Where `connect` goes, with its TLS options when it is secure, and the URL its errors name. */
interface ConnectTarget {
  host: string;
  port: number;
  tls: tls.ConnectionOptions | undefined;
  label: string;
}
