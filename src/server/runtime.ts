// Everything the request path needs, built once from a validated configuration: balancers with their
// shared state, one connection pool per member, virtual hosts, the access log.
import { Balancer } from '../balancer/balancer.ts';
import { BalancerState } from '../balancer/state.ts';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { clientCertificateOf, clientPolicy, DEFAULT_GROWTH, formatDiagnostic, type BackendTls, type BalancerConfig, type ClientCertificate, type ClientPolicy, type MemberConfig, type SticklerConfig, type VirtualHostConfig } from '../config/model.ts';
import { backendTlsOf } from '../config/member-tls.ts';
import { loadClientCertificate, readTlsFiles, TLS_FILE_NAMES, type ClientCredentials, type FileContents, type FileProblem, type ReadFile } from '../tls/credentials.ts';
import { prepareLocal, type EditTarget, type PlannedEdit } from '../manager/edits.ts';
import type { Manager } from '../manager/handler.ts';
import type { ChallengeBoard } from '../acme/challenges.ts';
import type { HealthTarget } from '../health/checker.ts';
import { openConfiguredLogs, type AccessLog, type ConfiguredLogs } from '../log/access.ts';
import { compileHeaderRules, type HeaderRules } from '../proxy/header-rules.ts';
import type { ReverseContext } from '../proxy/reverse.ts';
import { MemberPool } from '../upstream/pool.ts';
import { InFlight } from './in-flight.ts';

export interface BalancerRuntime {
  config: BalancerConfig;
  balancer: Balancer;
  pools: MemberPool[];
}

export interface VirtualHostRuntime {
  config: VirtualHostConfig;
  /** Fixed part of the ProxyPassReverse context; the Host header is filled in per request. */
  reverse: Omit<ReverseContext, 'hostHeader'>;
  serverName: string;
  /** Its own logs, or the server's when it has none. */
  accessLog: AccessLog;
  /** Its Header and RequestHeader rules, compiled; undefined when it has none. */
  headerRules: HeaderRules | undefined;
}

/**
 * A member's connection pool: the TLS settings of the virtual host that routes to its balancer, the client
 * certificate it presents, its timeouts. Throws when the client certificate cannot be read (memberCredentialProblems
 * says so first).
 */
export function memberPool(stickler: SticklerConfig, config: BalancerConfig, member: MemberConfig): MemberPool {
  const backendTls = backendTlsOf(stickler, config);
  const credentials = memberCredentials(stickler, config, member);
  if (Array.isArray(credentials)) throw new Error(credentials.map(formatDiagnostic).join('\n'));
  const ioTimeout = member.timeout ?? stickler.timeout;
  return new MemberPool({ member, backendTls, ioTimeout, connectTimeout: member.connectionTimeout ?? ioTimeout, secureContext: memberContext(stickler, backendTls, credentials), presentsCertificate: credentials !== undefined });
}

/**
 * TLS contexts towards members, by the backend TLS and the client credentials they are made of: one per
 * configuration and certificate, not per member (a CA bundle takes milliseconds to load), and the CA file read once.
 */
const contexts = new WeakMap<BackendTls, Map<ClientCredentials | undefined, tls.SecureContext>>();

/** Throws, at the line naming the CA file, when it cannot be read (the configuration's check says so first). */
function memberContext(stickler: SticklerConfig, backendTls: BackendTls, credentials: ClientCredentials | undefined): tls.SecureContext {
  let byCredentials = contexts.get(backendTls);
  if (byCredentials === undefined) contexts.set(backendTls, (byCredentials = new Map()));
  let context = byCredentials.get(credentials);
  if (context === undefined) {
    const ca = backendTls.caFile === undefined ? undefined : readCa(stickler, backendTls, backendTls.caFile);
    byCredentials.set(credentials, (context = tls.createSecureContext({ ...credentials, ...(ca && { ca }) })));
  }
  return context;
}

function readCa(stickler: SticklerConfig, backendTls: BackendTls, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const at = backendTls.caSource ?? backendTls.source;
    throw new Error(`${at ? `${at.file}:${at.line}: ` : ''}${TLS_FILE_NAMES[stickler.dialect].ca}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** The client certificates' files of `stickler`, each read once: what the main thread gives its worker threads. */
export function clientCertificateFiles(stickler: SticklerConfig): FileContents {
  const contents: FileContents = new Map();
  for (const b of stickler.balancers) {
    for (const m of b.members) {
      const files = clientCertificateOf(m, b, backendTlsOf(stickler, b));
      if (files) readTlsFiles(files, readFileSync, contents);
    }
  }
  return contents;
}

/** Client certificates as read, by the model object naming them: read once per configuration, again at each reload. */
const clientCredentials = new WeakMap<ClientCertificate, ClientCredentials | FileProblem[]>();

function memberCredentials(stickler: SticklerConfig, config: BalancerConfig, member: MemberConfig, read: ReadFile = readFileSync): ClientCredentials | FileProblem[] | undefined {
  const files = clientCertificateOf(member, config, backendTlsOf(stickler, config));
  if (!files) return undefined;
  let loaded = clientCredentials.get(files);
  if (loaded === undefined) clientCredentials.set(files, (loaded = loadClientCertificate(files, stickler.dialect, read)));
  return loaded;
}

/**
 * Every problem with the client certificates members are reached with, read now (through `read`) for the runtime
 * built next: worker threads are given what the main thread read, so its health checks and their traffic present
 * the same certificate, and a file changed meanwhile cannot make them differ.
 */
export function memberCredentialProblems(stickler: SticklerConfig, read?: ReadFile): FileProblem[] {
  const seen = new Set<FileProblem[]>();
  return stickler.balancers.flatMap((b) => b.members.flatMap((m) => {
    const loaded = memberCredentials(stickler, b, m, read);
    if (!Array.isArray(loaded) || seen.has(loaded)) return [];
    seen.add(loaded);
    return loaded;
  }));
}

/**
 * A balancer's state as one worker thread sees it: the buffer every thread shares, and the thread's own ledger of
 * the busy it holds, given back if the thread dies (see balancer/state.ts).
 */
export interface SharedBalancer {
  state: SharedArrayBuffer;
  ledger: SharedArrayBuffer;
}

/** One SharedArrayBuffer per balancer, for worker threads that must pick from one state. */
export function sharedBalancerStates(config: SticklerConfig): Map<string, SharedArrayBuffer> {
  return new Map(config.balancers.map((b) => [b.name, BalancerState.create(b.members, { shared: true, growth: b.growth ?? DEFAULT_GROWTH }).buffer as SharedArrayBuffer]));
}

export class Runtime {
  readonly config: SticklerConfig;
  readonly balancers = new Map<string, BalancerRuntime>();
  readonly virtualHosts: VirtualHostRuntime[];
  /** For requests no virtual host took; each host has its own (VirtualHostRuntime.accessLog). */
  readonly accessLog: AccessLog;
  private readonly logs: ConfiguredLogs;
  /** The configuration's client policy, with defaults, computed once for every connection and stream. */
  readonly client: ClientPolicy;
  /** The thread's proxied requests in flight, handed from runtime to runtime across reloads. */
  readonly inFlight: InFlight;
  /** The balancer manager, when a location or listener serves it. */
  manager: Manager | undefined;
  /** The ACME challenges this thread answers (HTTP-01 on the plain port), the one board every runtime shares. */
  challenges: ChallengeBoard | undefined;

  /**
   * `shared` holds each balancer's state buffer and this thread's ledger by name when several worker threads serve
   * one balancer (see workers.ts); without it every balancer gets a private state.
   */
  constructor(config: SticklerConfig, shared?: ReadonlyMap<string, SharedBalancer>, inFlight = new InFlight()) {
    this.config = config;
    this.client = clientPolicy(config);
    this.inFlight = inFlight;
    for (const b of config.balancers) {
      const mine = shared?.get(b.name);
      this.balancers.set(b.name, this.buildBalancer(b, mine ? BalancerState.attach(mine.state, mine.ledger) : undefined));
    }
    this.logs = openConfiguredLogs(config);
    this.accessLog = this.logs.server;
    this.virtualHosts = config.virtualHosts.map((vh) => ({
      config: vh,
      serverName: vh.serverName ?? 'localhost',
      reverse: {
        rules: vh.reverse,
        balancers: config.balancers,
        cookiePaths: vh.cookiePaths,
        cookieDomains: vh.cookieDomains,
        scheme: vh.tls ? 'https' : 'http',
      },
      accessLog: this.logs.forHost(vh),
      headerRules: compileHeaderRules(vh.headerRules),
    }));
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
  }

  private buildBalancer(config: BalancerConfig, state: BalancerState | undefined): BalancerRuntime {
    const balancer = new Balancer(config, state, { log: (line) => process.stderr.write(`stickler: ${line}\n`) });
    return { config, balancer, pools: config.members.map((member) => this.pool(config, member)) };
  }

  private pool(config: BalancerConfig, member: MemberConfig): MemberPool {
    return memberPool(this.config, config, member);
  }

  /** What the health checks of this runtime's members need (see health/checker.ts). */
  healthTargets(): HealthTarget[] {
    return [...this.balancers.values()].map((b) => ({ balancer: b.config, state: b.balancer.state, pools: b.pools }));
  }

  /** What the manager's edits check and change, by balancer name. */
  editTargets(): Map<string, EditTarget> {
    return new Map([...this.balancers].map(([name, b]) => [name, { config: b.config, state: b.balancer.state }]));
  }

  /**
   * This thread's half of a manager edit (see manager/edits.ts), made ready without changing anything: a new member
   * gets its connection pool, which `abort` closes. Throws when this runtime does not hold what the edit was planned on.
   */
  prepareEdit(edit: PlannedEdit): { commit(): void; abort(): void } {
    const b = this.balancers.get(edit.balancer);
    if (!b) throw new Error(`no balancer://${edit.balancer} in this thread's configuration`);
    const local = prepareLocal({ config: b.config, state: b.balancer.state }, edit);
    const pool = local.added && this.pool(b.config, local.added);
    return {
      commit: () => {
        local.commit();
        if (pool) b.pools[edit.slot] = pool;
        if (edit.kind === 'remove-member') b.pools[edit.slot]?.close();
      },
      abort: () => pool?.close(),
    };
  }

  applyEdit(edit: PlannedEdit): void {
    this.prepareEdit(edit).commit();
  }

  /** A reload or a stop replaced this runtime: its connections take no new request once their current one is answered. */
  retired = false;
  /** Settles once retired and the last connection using this runtime is gone, and its pools and log are closed. */
  readonly closed: Promise<void>;
  private markClosed: () => void = () => {};
  private readonly connections = new Set<RuntimeConnection>();
  private deadline: NodeJS.Timeout | undefined;

  connectionOpened(connection: RuntimeConnection): void {
    this.connections.add(connection);
  }

  connectionClosed(connection: RuntimeConnection): void {
    this.connections.delete(connection);
    if (this.retired && this.connections.size === 0) void this.shutDown();
  }

  /**
   * Asks every connection to finish (`stopping`: idle ones close now) and closes those still open when the
   * graceful shutdown timeout runs out.
   */
  retire(stopping = false): void {
    if (this.retired) return;
    this.retired = true;
    if (this.connections.size === 0) return void this.shutDown();
    for (const c of this.connections) c.retire(stopping);
    const grace = this.config.gracefulShutdownTimeout;
    if (grace > 0) {
      this.deadline = setTimeout(() => {
        for (const c of this.connections) c.destroy();
      }, grace);
      this.deadline.unref();
    }
  }

  private async shutDown(): Promise<void> {
    clearTimeout(this.deadline);
    for (const b of this.balancers.values()) for (const p of b.pools) p.close();
    await this.logs.close();
    this.markClosed();
  }
}

/** What a runtime needs of each connection (HTTP/1.x, HTTP/2 session, tunnel) that uses it, to retire it. */
export interface RuntimeConnection {
  /** Take no new request; when `stopping`, a connection with nothing in progress closes now. */
  retire(stopping: boolean): void;
  /** The graceful shutdown timeout ran out: close at once. */
  destroy(): void;
}
