// The listening side: one TLS (or plain TCP) server per Listen address, a certificate per virtual host chosen
// by SNI, and a ClientConnection for every accepted socket. A reload swaps the runtime under the listening
// sockets, which stay open, so no connection attempt is ever refused or reset by a reload.
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import { formatDiagnostic, listenerAt, withSwappedFiles, type ClientCertificates, type ListenerConfig, type SticklerConfig, type TlsFiles, type VirtualHostConfig } from '../config/model.ts';
import { managedHosts } from '../config/managed-domains.ts';
import { selectVirtualHost } from '../proxy/vhost.ts';
import { loadCredentials, type Credentials, type FileProblem, type ReadFile } from '../tls/credentials.ts';
import { ClientConnection } from './client.ts';
import { H2Front } from './h2.ts';
import { memberCredentialProblems, Runtime, type SharedBalancer } from './runtime.ts';
import { pastReserve } from './descriptors.ts';
import { BurstLog } from '../upstream/exhaustion.ts';
import { startHealthChecks } from '../health/checker.ts';
import type { ManagerAuth } from '../manager/auth.ts';
import { LocalControl, ManagerHost } from '../manager/coordinator.ts';
import { idleStopMoot, startIdleStops } from '../manager/idle-stop.ts';
import { managerAuth } from '../manager/exposure.ts';
import { Manager, type ManagerControl } from '../manager/handler.ts';
import type { AuditEntry, ManagerOverview, SharedStatus } from '../manager/model.ts';
import { SharedEdits, type EditApplier } from '../shared/shared-edits.ts';
import { drainActivity, overview, type MergeActivity } from '../manager/overview.ts';
import { GroupReports, reportPeriod } from '../shared/group-reports.ts';
import { reopenLogFiles } from '../log/sink.ts';
import { clientVerdict, refusalLine } from '../tls/client-verify.ts';
import { clientCertificateFacts } from './peer.ts';
import { ChallengeBoard, type PendingChallenge } from '../acme/challenges.ts';
import { alpnFront } from '../acme/alpn-responder.ts';
import type { DomainStatus } from '../acme/renewer.ts';
import type { CertificateOverview } from '../manager/model.ts';

export interface ServerOptions {
  /** Balancer state buffers shared with the other worker threads, with this thread's busy ledgers. */
  shared?: ReadonlyMap<string, SharedBalancer>;
  /** Bind with SO_REUSEPORT so several worker threads accept on the same port and the kernel spreads connections. */
  reusePort?: boolean;
  /** TLS session ticket keys (48 bytes) shared by every worker, so a client resumes whichever thread it reaches. */
  ticketKeys?: Buffer;
  /** Run the members' health checks here (default); worker threads leave them to the main thread. */
  healthChecks?: boolean;
  /**
   * For a worker thread: the balancer manager's secret and nonces, shared by every worker, and the control that
   * sends edits to the main thread, which decides them. Without it the server is its own manager host: it lays
   * saved changes over each configuration and decides edits itself.
   */
  manager?: {
    secret: Buffer;
    nonces: (config: SticklerConfig) => ReadonlyMap<string, string>;
    control: ManagerControl;
    persisted: boolean;
    recent: () => readonly AuditEntry[];
    /** With shared state: this instance's view of it (the main thread's, for a worker). */
    sharedState?: () => SharedStatus;
    /** With shared state: a draining member's activity over the group, from the main thread's reports. */
    mergeActivity?: MergeActivity;
  };
}

export interface BoundListener {
  config: ListenerConfig;
  address: string;
  port: number;
  tls: boolean;
}

export class StartupError extends Error {}

/** The certificates of one TLS port, rebuilt from each configuration. */
interface PortCertificates {
  vhosts: VirtualHostConfig[];
  /** What the port asks of clients' certificates (its virtual hosts agree), with the CAs they are judged by. */
  client?: { settings: ClientCertificates; cas: X509Certificate[] };
  /** When each host's certificate ends, ms since the epoch. */
  expiry: Map<VirtualHostConfig, number>;
  contexts: Map<VirtualHostConfig, tls.SecureContext>;
  fallback: { vh: VirtualHostConfig; options: tls.SecureContextOptions };
  /** OCSP responses to staple, each with the DER certificate it was configured with; one per virtual host, so a swap replaces its own. */
  staples: Map<VirtualHostConfig, { certificate: Buffer; response: Buffer }>;
}

interface OpenListener {
  bound: BoundListener;
  /** What listens: the TLS server itself, or the front that hands it connections (TLS-ALPN-01, see openListeners). */
  server: net.Server;
  tls?: tls.Server;
}

export class Stickler {
  /** The runtime new connections get; connections keep the one they started with until they close. */
  runtime: Runtime;
  private readonly open = new Map<string, OpenListener>();
  private certificates = new Map<number, PortCertificates>();
  private readonly sockets = new Set<net.Socket>();
  /** Connections on the listeners other than the manager's own, against the client policy's maxConnections. */
  private clients = 0;
  private readonly reusePort: boolean;
  private readonly ticketKeys: Buffer | undefined;
  private readonly h2 = new H2Front();
  private stopping = false;
  private readonly checksHere: boolean;
  private health: ReturnType<typeof startHealthChecks> | undefined;
  /** With shared state: health verdicts and drain activity exchanged with the group's other instances. */
  private readonly group: GroupReports | undefined;
  /** With shared state: a draining member's activity over the group's live instances. */
  private readonly mergeActivity: MergeActivity | undefined;
  /** Drained members stopped once idle (manager/idle-stop.ts): where health checks run, across reloads. */
  private idleStops: { stop(): void } | undefined;
  private readonly managerSetup: NonNullable<ServerOptions['manager']> & { host?: ManagerHost; shared?: SharedEdits };
  /** The configuration as its file says, before the manager's changes: a snapshot taken from Redis is laid over it. */
  private fileConfig: SticklerConfig;
  private manager: Manager | undefined;
  /** The ACME challenges pending (setChallenges), answered on the plain ports (HTTP-01) and TLS ports (TLS-ALPN-01). */
  private readonly challenges = new ChallengeBoard();
  private renewals: readonly DomainStatus[] = [];
  /** Connections closed because proxied sockets reached the descriptors kept for the manager, logged per burst. */
  private readonly reserveRefusals = new BurstLog(10_000);
  /** Clients refused for their certificate, logged per burst of each reason. */
  private readonly certificateRefusals = new Map<string, BurstLog>();

  constructor(config: SticklerConfig, options: ServerOptions = {}) {
    this.managerSetup = options.manager ?? (() => {
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const host = new ManagerHost(config, log);
      const local = new LocalControl(() => ({
        targets: this.runtime.editTargets(),
        apply: (edit) => this.runtime.applyEdit(edit),
        listeners: this.listeners.map((l) => ({ host: l.address, port: l.port })),
      }), host.store);
      const shared = config.sharedState && openShared(config.sharedState, {
        check: (edit) => local.refusal(edit),
        apply: async (edit, actor, origin) => idleStopMoot(this.runtime.editTargets(), edit, actor) ?? local.submit(edit, actor, origin),
        replace: (overlay) => {
          host.store.replace(overlay);
          return this.reload(this.fileConfig);
        },
        overlay: () => host.store.overlay,
      }, log);
      const setup = { secret: host.secret, nonces: (c: SticklerConfig) => host.noncesFor(c), control: shared ?? local, persisted: host.store.persisted, recent: () => host.store.recent, host };
      return shared ? { ...setup, shared, sharedState: () => shared.status() } : setup;
    })();
    this.fileConfig = config;
    this.runtime = new Runtime(this.managerSetup.host?.prepare(config) ?? config, options.shared);
    this.runtime.challenges = this.challenges;
    this.reusePort = options.reusePort ?? false;
    this.ticketKeys = options.ticketKeys;
    this.checksHere = options.healthChecks ?? true;
    const shared = this.managerSetup.shared;
    this.group = shared && new GroupReports(shared.connection, shared.keys, shared.instance, config.sharedState?.healthRule ?? 'local', () => ({
      verdicts: this.health?.verdicts() ?? [],
      activity: drainActivity(this.runtime.balancers.values(), Date.now()),
    }), (line) => void process.stderr.write(`${line}\n`));
    const group = this.group;
    this.mergeActivity = group ? (b, m, local) => group.activity(b, m, local) : this.managerSetup.mergeActivity;
  }

  /** Health checks follow the runtime: a reload stops the old ones and starts the new configuration's. */
  private checkHealth(): void {
    this.health?.stop();
    const targets = this.runtime.healthTargets();
    this.health = this.checksHere ? startHealthChecks(targets, { log: logLine, ...(this.group && { group: this.group }) }) : undefined;
    if (this.group) this.group.period = reportPeriod(targets.map((t) => t.balancer));
  }

  get listeners(): BoundListener[] {
    return [...this.open.values()].map((l) => l.bound);
  }

  /** The balancers as the manager shows them, from the state requests are picked from (`stickler status`). */
  overview(): ManagerOverview {
    return overview(this.runtime.balancers.values(), this.managerSetup.persisted, Date.now(), this.managerSetup.sharedState?.(), this.mergeActivity);
  }

  async start(): Promise<void> {
    this.certificates = certificatesFor(this.runtime.config);
    checkCertificates(this.runtime.config, this.certificates);
    this.attachManager(this.runtime, managerAuthOrThrow(this.runtime.config));
    for (const l of await this.openListeners(this.runtime.config.listeners)) this.open.set(key(l.bound.config), l);
    this.checkHealth();
    this.managerSetup.shared?.start();
    this.group?.start();
    if (this.checksHere) {
      const control = this.managerSetup.control;
      // One thread: an edit is decided whole between two turns of the event loop, so nothing comes between.
      this.idleStops = startIdleStops({
        targets: () => this.runtime.editTargets(),
        exclusively: (task) => task(),
        submit: (edit, actor) => control.submit(edit, actor),
        log: logLine,
        ...(this.mergeActivity && { activity: this.mergeActivity }),
      });
    }
  }

  /** Every runtime gets the one manager; a reload brings nonces for new balancers and re-reads the credentials. */
  private attachManager(runtime: Runtime, auth: ManagerAuth): void {
    const setup = this.managerSetup;
    this.manager ??= new Manager({
      secret: setup.secret, control: setup.control, persisted: () => setup.persisted, recentAudit: setup.recent,
      ...(setup.sharedState && { sharedState: setup.sharedState }),
      ...(this.mergeActivity && { mergeActivity: this.mergeActivity }),
      certificates: () => this.certificateOverview(),
    });
    this.manager.configure(setup.nonces(runtime.config), auth);
    runtime.manager = this.manager;
  }

  /**
   * Takes `config` for every new connection. Certificates are read and new ports bound before anything changes,
   * so a failure (a missing key file, a port in use) leaves the running configuration serving untouched.
   * Connections already open finish with the configuration they began with and are then closed, each after a
   * response that says `Connection: close`; listeners the new configuration drops are closed.
   */
  async reload(fileConfig: SticklerConfig, shared?: ReadonlyMap<string, SharedBalancer>): Promise<void> {
    (await this.prepareReload(fileConfig, shared)).commit();
  }

  /**
   * reload() in two steps, for worker threads that must all take a configuration or none: everything that can fail
   * (certificates, credentials, new ports) is done first and changes nothing served; `commit` swaps the runtime,
   * `abort` closes the ports opened for it.
   */
  async prepareReload(fileConfig: SticklerConfig, shared?: ReadonlyMap<string, SharedBalancer>): Promise<{ commit(): void; abort(): void }> {
    const laid = this.managerSetup.host?.lay(fileConfig);
    const config = laid?.config ?? fileConfig;
    const certificates = certificatesFor(config);
    checkCertificates(config, certificates);
    const auth = managerAuthOrThrow(config);
    for (const l of config.listeners) {
      const running = this.open.get(key(l));
      if (running && running.bound.tls !== l.tls) {
        throw new StartupError(`${listenerAt(l)}: ${key(l)} would switch between TLS and plain HTTP; that takes a restart, not a reload`);
      }
    }
    const opened = await this.openListeners(config.listeners.filter((l) => !this.open.has(key(l))), certificates);
    for (const l of this.open.values()) {
      // The front is chosen when a port opens (openListeners): a port already open keeps its way of accepting.
      if (l.tls && l.server === l.tls && answersTlsAlpn(config)) logLine(`TLS-ALPN-01 is answered on port ${l.bound.port} only after a restart (the port was opened without it); HTTP-01 works at once`);
    }
    return {
      commit: () => {
        this.fileConfig = fileConfig;
        laid?.settle();
        for (const l of opened) this.open.set(key(l.bound.config), l);
        const old = this.runtime;
        this.runtime = new Runtime(config, shared, old.inFlight);
        this.runtime.challenges = this.challenges;
        this.attachManager(this.runtime, auth);
        this.checkHealth();
        this.certificates = certificates;
        for (const [k, l] of this.open) {
          if (config.listeners.some((c) => key(c) === k)) {
            if (l.tls) {
              const port = certificates.get(l.bound.port)!;
              l.tls.setSecureContext(port.fallback.options);
              // Read by Node at each accepted connection, like the secure context (node:_tls_wrap).
              (l.tls as tls.Server & { requestCert: boolean }).requestCert = port.client !== undefined;
            }
          } else {
            this.open.delete(k);
            l.server.close();
          }
        }
        old.retire();
      },
      abort: () => {
        for (const { server } of opened) server.close();
      },
    };
  }

  /**
   * Serves `files` as the certificate of virtual host number `vhost` (its index in the running configuration's
   * `virtualHosts`) from the next handshake on, with no reload: connections and handshakes under way keep the
   * certificate they began with. For certificates renewed while running (ACME). Only the files change: what the
   * handshakes offer and HSTS stay as configured. A file that cannot be used throws a StartupError naming it, and
   * the certificate in use keeps serving. The next reload reads the files the configuration names again.
   */
  swapCertificate(vhost: number, files: TlsFiles, read: ReadFile = readFileSync): void {
    this.prepareCertificateSwap(vhost, files, read).commit();
  }

  /**
   * A managed domain's certificate, just renewed, served on every virtual host that takes it in the configuration
   * running now (the renewer's own view may be a reload behind); how many.
   */
  swapManagedCertificate(domain: string, read: ReadFile = readFileSync): number {
    const swaps = managedHosts(this.runtime.config, domain).map(({ vhost, files }) => this.prepareCertificateSwap(vhost, files, read));
    for (const swap of swaps) swap.commit();
    return swaps.length;
  }

  /** swapCertificate() in two steps, for worker threads that must all take a certificate or none (see prepareReload). */
  prepareCertificateSwap(vhost: number, files: TlsFiles, read: ReadFile = readFileSync): { commit(): void; abort(): void } {
    const { config } = this.runtime;
    const vh = config.virtualHosts[vhost];
    if (!vh) throw new StartupError(`no virtual host number ${vhost} in the running configuration, which has ${config.virtualHosts.length}`);
    if (![...this.certificates.keys()].some((port) => vh.port === port || vh.port === 0)) {
      throw new StartupError(`virtual host number ${vhost} (${vh.source.file}:${vh.source.line}) is on no TLS port: a certificate swapped in would never be served`);
    }
    const credentials = loadCredentials(withSwappedFiles(vh.tls, files), config.dialect, read);
    if (Array.isArray(credentials)) throw new StartupError(credentials.map(formatDiagnostic).join('\n'));
    return {
      commit: () => {
        for (const [port, current] of this.certificates) {
          if (vh.port !== port && vh.port !== 0) continue;
          const swapped = withCertificate(current, config.virtualHosts, vh, credentials);
          this.certificates.set(port, swapped);
          if (swapped.fallback === current.fallback) continue;
          for (const l of this.open.values()) {
            if (l.bound.config.port === port) l.tls?.setSecureContext(swapped.fallback.options);
          }
        }
      },
      abort: () => {},
    };
  }

  /** With shared state: the connection, keys and name the group's ACME orders go through (acme/shared-orders.ts). */
  get sharedEdits(): SharedEdits | undefined {
    return this.managerSetup.shared;
  }

  /** How the managed domains' renewals go, as the thread that orders last said (Renewer). */
  setRenewals(renewals: readonly DomainStatus[]): void {
    this.renewals = renewals;
  }

  /** Every certificate this thread serves, by port and virtual host, with its domain's renewal where ACME orders it. */
  private certificateOverview(): CertificateOverview[] {
    return [...this.certificates].flatMap(([port, served]) => served.vhosts.map((vh): CertificateOverview => {
      const renewal = vh.acme && this.renewals.find((r) => r.names[0] === vh.acme!.names[0]);
      return {
        vhost: vh.serverName ?? `${vh.host}:${vh.port}`, port, notAfter: served.expiry.get(vh) ?? 0,
        ...(renewal && { acme: { name: renewal.names[0]!, failures: renewal.failures, failing: renewal.failing, ...(renewal.lastError !== undefined && { lastError: renewal.lastError }) } }),
      };
    }));
  }

  /** The ACME challenges to answer from now on, all of them (an empty list once the CA has validated). */
  setChallenges(pending: readonly PendingChallenge[]): void {
    this.challenges.set(pending);
  }

  /** Opens this thread's log files again (SIGUSR1); the reasons of those that could not be. */
  async reopenLogs(): Promise<string[]> {
    return reopenLogFiles();
  }

  /**
   * Stops listening, closes idle connections and lets those in progress finish (a long download, a WebSocket)
   * until the graceful shutdown timeout, then closes what is left.
   */
  async close(): Promise<void> {
    this.stopping = true;
    this.health?.stop();
    this.idleStops?.stop();
    this.group?.close();
    await this.managerSetup.shared?.close();
    const servers = [...this.open.values()].map((l) => l.server);
    this.open.clear();
    const closed = Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    this.runtime.retire(true);
    await this.runtime.closed;
    // Only sockets still in their TLS handshake are left; a server's close() waits for them too.
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Opens `listeners` (all or none); the caller takes them into `open`. */
  private async openListeners(listeners: ListenerConfig[], certificates = this.certificates): Promise<OpenListener[]> {
    const opened: OpenListener[] = [];
    try {
      for (const listener of listeners) {
        const secure = listener.tls ? this.tlsServer(listener, certificates.get(listener.port)!) : undefined;
        const server = !secure
          ? net.createServer({ allowHalfOpen: true }, (s) => this.admit(s, listener) && this.accept(s, 'http'))
          : answersTlsAlpn(this.runtime.config) ? this.alpnFront(secure, listener) : secure;
        await listen(server, listener, this.reusePort);
        const address = server.address() as net.AddressInfo;
        opened.push({ server, ...(secure && { tls: secure }), bound: { config: listener, address: address.address, port: address.port, tls: listener.tls } });
      }
    } catch (err) {
      for (const { server } of opened) server.close();
      throw err;
    }
    return opened;
  }

  /**
   * A TLS port of a configuration that proves names with TLS-ALPN-01: a plain listener in front of the TLS server,
   * which reads the ClientHello only while such a challenge is pending (acme/alpn-responder.ts).
   */
  private alpnFront(secure: tls.Server, listener: ListenerConfig): net.Server {
    const front = alpnFront({ board: this.challenges, pass: (socket) => secure.emit('connection', socket), helloTimeout: this.runtime.client.handshakeTimeout });
    // Admitted here, before its hello is read: a client that sends nothing holds a counted connection, as it would
    // at the TLS server, and a stop ends it (the TLS server's own admit skips a socket already tracked).
    return net.createServer({ allowHalfOpen: true }, (socket) => this.admit(socket, listener) && front(socket));
  }

  private accept(socket: net.Socket, scheme: 'https' | 'http'): void {
    if (this.stopping) return void socket.destroy();
    new ClientConnection(this.runtime, socket, scheme);
  }

  /**
   * Every TCP connection as it is accepted, before any TLS: beyond maxConnections it is closed at once, so a flood
   * costs no handshake and cannot crowd out the connections already served. The manager's own listener is not
   * counted, so it stays reachable during a flood.
   */
  private admit(socket: net.Socket, listener: ListenerConfig): boolean {
    this.track(socket);
    const config = this.runtime.config;
    if (config.manager?.ownListener && key(listener) === key(config.listeners.at(-1)!)) return true;
    const max = this.runtime.client.maxConnections;
    if (max > 0 && this.clients >= max) {
      socket.destroy();
      return false;
    }
    if (pastReserve(socket)) {
      socket.destroy();
      const quiet = this.reserveRefusals.note(Date.now());
      if (quiet !== undefined) logLine(`out of descriptors: new connections are closed at once, the last ones are kept for the manager's own listener; further refusals are not logged until 10 s pass without one${quiet > 0 ? ` (the previous burst had ${quiet} more)` : ''}`);
      return false;
    }
    this.clients++;
    socket.once('close', () => this.clients--);
    return true;
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private tlsServer(listener: ListenerConfig, initial: PortCertificates): tls.Server {
    const server = tls.createServer({
      ...initial.fallback.options,
      // A client that half-closes after its request still gets the answer (ClientConnection ends the socket).
      allowHalfOpen: true,
      // A client that connects and never finishes its handshake is dropped (Apache's RequestReadTimeout handshake=);
      // a deadline, not an inactivity timeout. Read when the port opens: a reload does not change it.
      handshakeTimeout: this.runtime.client.handshakeTimeout,
      ...(this.ticketKeys && { ticketKeys: this.ticketKeys }),
      // The verdict is given once the handshake is done (clientVerdict), so a refusal can be logged with its reason.
      requestCert: initial.client !== undefined,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
      // Looked up at each handshake, so a reload's certificates apply to the next connection.
      SNICallback: (servername, done) => {
        const current = this.certificates.get(listener.port) ?? initial;
        const chosen = selectVirtualHost(current.vhosts, listener.port, servername, undefined);
        done(null, (chosen && current.contexts.get(chosen)) || current.contexts.get(current.fallback.vh)!);
      },
    });
    // Tracked from the TCP accept, so close() also ends connections still in their TLS handshake.
    server.on('connection', (socket: net.Socket) => this.sockets.has(socket) || this.admit(socket, listener));
    server.on('secureConnection', (socket: tls.TLSSocket) => {
      const client = (this.certificates.get(listener.port) ?? initial).client;
      if (client && !this.judgeCertificate(socket, client, listener.port)) return;
      if (socket.alpnProtocol !== 'h2') return this.accept(socket, 'https');
      if (this.stopping) return void socket.destroy();
      this.h2.accept(socket, this.runtime);
    });
    server.on('tlsClientError', (_err, socket) => socket.destroy());
    // Asked for by clients that send status_request; Node passes the certificate the handshake chose by SNI.
    server.on('OCSPRequest', (certificate: Buffer, _issuer: Buffer, done: (err: Error | null, response?: Buffer) => void) => {
      const current = this.certificates.get(listener.port) ?? initial;
      done(null, [...current.staples.values()].find((s) => s.certificate.equals(certificate))?.response);
    });
    return server;
  }

  /**
   * Gives the client's certificate its verdict before anything of the connection is read; a refused client is
   * disconnected at once, so none of its bytes reaches a member. The verdict is kept for the log formats and
   * header rules (SSL_CLIENT_VERIFY...).
   */
  private judgeCertificate(socket: tls.TLSSocket, client: NonNullable<PortCertificates['client']>, port: number): boolean {
    const verdict = clientVerdict(client.settings, { sent: sentChain(socket), error: (socket.authorizationError as unknown as string | undefined) ?? null }, client.cas, new Date());
    if (verdict.refusal === undefined) {
      clientCertificateFacts.set(socket, verdict.facts);
      return true;
    }
    const address = socket.remoteAddress ?? '';
    socket.destroy();
    const burst = this.certificateRefusals.get(verdict.refusal) ?? new BurstLog(10_000);
    this.certificateRefusals.set(verdict.refusal, burst);
    const quiet = burst.note(Date.now());
    if (quiet !== undefined) logLine(`${refusalLine(address, port, verdict)}; further refusals for this reason are not logged until 10 s pass without one${quiet > 0 ? ` (the previous burst had ${quiet} more)` : ''}`);
    return false;
  }
}

/** The client's certificate, then the certificates it sent that issued it (Node links them by issuer), each once. */
function sentChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  for (let cert = socket.getPeerX509Certificate(); cert !== undefined && !chain.some((c) => c.fingerprint256 === cert!.fingerprint256); cert = cert.issuerCertificate) {
    chain.push(cert);
  }
  return chain;
}

const logLine = (line: string): void => void process.stderr.write(`stickler: ${line}\n`);

/** The shared state's connection, made now (Redis may be down: it is reached later); unreadable files refuse to start. */
export function openShared(config: NonNullable<SticklerConfig['sharedState']>, applier: EditApplier, log: (line: string) => void): SharedEdits {
  try {
    return SharedEdits.open(config, applier, log);
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

/** The manager's credentials, read now; a configuration that would expose it, or unreadable files, refuse to start. */
function managerAuthOrThrow(config: SticklerConfig): ManagerAuth {
  const { auth, problems } = managerAuth(config);
  if (problems.length > 0) throw new StartupError(problems.map(formatDiagnostic).join('\n'));
  return auth;
}

/** TLS ports get the ALPN front only where a managed domain may be proved by TLS-ALPN-01: nothing changes elsewhere. */
function answersTlsAlpn(config: SticklerConfig): boolean {
  return config.managedDomains?.some((d) => d.settings.challenges.includes('tls-alpn-01')) ?? false;
}

/** Every TLS port has a certificate, and every client certificate for members can be used. */
function checkCertificates(config: SticklerConfig, certificates: Map<number, PortCertificates>): void {
  const problems = memberCredentialProblems(config);
  if (problems.length > 0) throw new StartupError(problems.map(formatDiagnostic).join('\n'));
  for (const l of config.listeners) {
    if (l.tls && !certificates.has(l.port)) {
      throw new StartupError(`${listenerAt(l)}: port ${l.port} serves TLS but no virtual host on it has a certificate`);
    }
  }
}

function key(listener: ListenerConfig): string {
  return `${listener.host}:${listener.port}`;
}

/** Reads every certificate of the configuration, by port; any problem with a file is a StartupError. */
function certificatesFor(config: SticklerConfig): Map<number, PortCertificates> {
  const byPort = new Map<number, PortCertificates>();
  const loaded = new Map<VirtualHostConfig, Credentials>();
  const problems: FileProblem[] = [];
  for (const vh of config.virtualHosts) {
    if (!vh.tls || !config.listeners.some((l) => l.tls && (vh.port === l.port || vh.port === 0))) continue;
    const credentials = loadCredentials(vh.tls, config.dialect, (path) => readFileSync(path));
    if (Array.isArray(credentials)) problems.push(...credentials);
    else loaded.set(vh, credentials);
  }
  if (problems.length > 0) throw new StartupError(problems.map(formatDiagnostic).join('\n'));
  for (const listener of config.listeners) {
    if (!listener.tls) continue;
    const vhosts = config.virtualHosts.filter((vh) => vh.tls && (vh.port === listener.port || vh.port === 0));
    const first = vhosts[0];
    if (!first) continue;
    const contexts = new Map(vhosts.map((vh) => [vh, loaded.get(vh)!.context]));
    const staples = new Map(vhosts.flatMap((vh) => loaded.get(vh)!.staple ? [[vh, loaded.get(vh)!.staple!] as const] : []));
    const settings = first.tls!.clientCertificates;
    const client = settings && { settings, cas: loaded.get(first)!.clientCas ?? [] };
    const expiry = new Map(vhosts.map((vh) => [vh, loaded.get(vh)!.notAfter]));
    byPort.set(listener.port, { vhosts, contexts, expiry, fallback: { vh: first, options: loaded.get(first)!.options }, staples, ...(client && { client }) });
  }
  return byPort;
}

/** A port's certificates with `vh`'s replaced by `credentials` (or added, in configuration order). */
function withCertificate(current: PortCertificates, all: VirtualHostConfig[], vh: VirtualHostConfig, credentials: Credentials): PortCertificates {
  const vhosts = all.filter((v) => v === vh || current.vhosts.includes(v));
  return {
    ...current,
    vhosts,
    contexts: new Map(current.contexts).set(vh, credentials.context),
    expiry: new Map(current.expiry).set(vh, credentials.notAfter),
    fallback: vhosts[0] === vh ? { vh, options: credentials.options } : current.fallback,
    staples: credentials.staple ? new Map(current.staples).set(vh, credentials.staple) : new Map([...current.staples].filter(([v]) => v !== vh)),
  };
}

function listen(server: net.Server, listener: ListenerConfig, reusePort: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new StartupError(`${listenerAt(listener)}: cannot listen on ${listener.host}:${listener.port}${listener.implied ? ' (the configuration has no Listen; this is the address of the virtual host)' : ''}: ${err.code ?? err.message}`));
    server.once('error', onError);
    server.listen({ host: listener.host, port: listener.port, reusePort }, () => {
      server.removeListener('error', onError);
      server.on('error', () => {});
      resolve();
    });
  });
}
