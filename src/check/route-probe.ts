// `stickler --check --probe`: one session started on each member of each sticky balancer, straight through the
// member's own URL with the connection settings traffic uses (its pool: TLS verification, timeouts), to read the
// route its session cookie carries beside the route= it is configured with, before a user meets the mismatch.
import type { BalancerConfig, MemberConfig, SticklerConfig } from '../config/model.ts';
import { getHeaders, type ResponseHead } from '../http/head.ts';
import type { ReaderEvent } from '../http/reader.ts';
import { mapRequest, memberRequestTarget } from '../proxy/mapping.ts';
import { parseTarget } from '../proxy/target.ts';
import { issuedRoute } from '../sticky/route-mismatch.ts';
import { memberPool } from '../server/runtime.ts';
import type { ConnectionUser, MemberConnection } from '../upstream/pool.ts';

/** What one member answered: its session's route, or why there is none to judge. */
export type ProbeResult =
  | { kind: 'issued'; matches: boolean; seen: string | null }
  /** The session carries no route, and needs none: the balancer's own cookie, named `cookie`, carries it. */
  | { kind: 'by-cookie'; cookie: string }
  | { kind: 'no-session'; status: number }
  | { kind: 'failed'; reason: string };

export interface RouteProbe {
  balancer: string;
  member: MemberConfig;
  /** The request-target sent: the member's path joined with the path its balancer is mounted on. */
  target: string;
  result: ProbeResult;
}

/**
 * Where a request for `path` goes on the member, mapped as traffic is (ProxyPass, then the member URL's path):
 * by default the path the balancer is mounted on. undefined when `path` is not proxied to this balancer, or is
 * not a path a client could send.
 */
export function probeTarget(config: SticklerConfig, balancer: BalancerConfig, member: MemberConfig, path?: string): string | undefined {
  const routes = config.virtualHosts.flatMap((vh) => vh.routes);
  const asked = path ?? routes.find((r) => r.target.kind === 'balancer' && r.target.balancer === balancer.name)?.path ?? '/';
  let target;
  try {
    target = parseTarget(asked);
  } catch {
    return undefined;
  }
  for (const vh of config.virtualHosts) {
    const mapping = mapRequest(vh.routes, target);
    if (mapping?.kind === 'proxy' && mapping.balancer === balancer.name) return memberRequestTarget(member.url, mapping.backendPath);
  }
  return path === undefined ? memberRequestTarget(member.url, '/') : undefined;
}

/** `balancer://c member URL: route=node1, issues node9: MISMATCH ...`: one line per member, as people read it. */
export function probeLine(probe: RouteProbe): string {
  const { member, result } = probe;
  const head = `balancer://${probe.balancer} ${member.url}: route=${member.route}`;
  switch (result.kind) {
    case 'failed':
      return `${head}, not probed: ${result.reason}`;
    case 'no-session':
      return `${head}, no session issued at ${probe.target} (status ${result.status}, no session cookie)`;
    case 'by-cookie':
      return `${head}, issues no route: ok, the balancer cookie ${result.cookie} carries the route`;
    case 'issued': {
      const issues = result.seen === null ? 'issues no route' : `issues ${result.seen}`;
      return result.matches ? `${head}, issues ${member.route}: ok`
        : `${head}, ${issues}: MISMATCH (Tomcat: jvmRoute="${member.route}" on the <Engine> in server.xml; WSO2: the node's route in deployment.toml; Keycloak: its route settings)`;
    }
  }
}

/** What member `member` of `balancer` issued in the response `head` (a session's route judged by issuedRoute). */
export function probeResult(balancer: BalancerConfig, member: MemberConfig, head: Pick<ResponseHead, 'status' | 'headers'>): ProbeResult {
  const issued = issuedRoute(getHeaders(head.headers, 'set-cookie'), [balancer.sticky!.cookie, balancer.sticky!.urlParam],
    balancer.stickySeparator, member.route, balancer.cookie !== undefined);
  if (issued === undefined) return { kind: 'no-session', status: head.status };
  if (!issued.matches) return { kind: 'issued', matches: false, seen: issued.seen };
  return issued.byCookie && balancer.cookie ? { kind: 'by-cookie', cookie: balancer.cookie.name } : { kind: 'issued', matches: true, seen: member.route };
}

/** 2 when a member issues a wrong route, else 1 when one could not be probed, else 0. */
export function probeExitCode(probes: readonly RouteProbe[]): number {
  if (probes.some((p) => p.result.kind === 'issued' && !p.result.matches)) return 2;
  return probes.some((p) => p.result.kind === 'failed') ? 1 : 0;
}

/**
 * Probes every member with a route= of every balancer with a stickysession, all at once, at `path` (a client's
 * URL path, such as the page that starts a session) or at the balancer's mount point.
 */
export function probeRoutes(config: SticklerConfig, path?: string): Promise<RouteProbe[]> {
  const probes = config.balancers.flatMap((balancer) => balancer.sticky === undefined ? []
    : balancer.members.filter((m) => m.route !== '').map(async (member): Promise<RouteProbe> => {
      const target = probeTarget(config, balancer, member, path);
      if (target === undefined) {
        return { balancer: balancer.name, member, target: path!, result: { kind: 'failed', reason: `${path} is not proxied to this balancer` } };
      }
      return { balancer: balancer.name, member, target, result: await probeOne(config, balancer, member, target) };
    }));
  return Promise.all(probes);
}

async function probeOne(config: SticklerConfig, balancer: BalancerConfig, member: MemberConfig, target: string): Promise<ProbeResult> {
  const pool = memberPool(config, balancer, member);
  try {
    const conn = await pool.connectFresh();
    const head = await new Promise<ResponseHead | string>((resolve) => new HeadExchange(conn, pool.ioTimeout, resolve).send(target, pool));
    return typeof head === 'string' ? { kind: 'failed', reason: head } : probeResult(balancer, member, head);
  } catch (err) {
    return { kind: 'failed', reason: (err as Error).message };
  } finally {
    pool.close();
  }
}

/** One GET on a fresh connection, up to its final response head; the body is not read. */
class HeadExchange implements ConnectionUser {
  private readonly conn: MemberConnection;
  private readonly resolve: (head: ResponseHead | string) => void;
  private readonly timer: NodeJS.Timeout;
  private done = false;

  constructor(conn: MemberConnection, timeoutMs: number, resolve: (head: ResponseHead | string) => void) {
    this.conn = conn;
    this.resolve = resolve;
    this.timer = setTimeout(() => this.memberTimeout(), timeoutMs);
  }

  send(target: string, pool: { host: string; port: number }): void {
    const host = pool.host.includes(':') ? `[${pool.host}]` : pool.host;
    this.conn.reader.expectResponseTo('GET');
    this.conn.attach(this);
    this.conn.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${host}:${pool.port}\r\nUser-Agent: Stickler-probe\r\nConnection: close\r\n\r\n`, 'latin1'));
  }

  memberData(chunk: Buffer): void {
    try {
      this.handle(this.conn.reader.push(chunk));
    } catch (err) {
      this.finish(`its response is invalid: ${(err as Error).message}`);
    }
  }

  memberClosed(): void {
    this.finish('it closed the connection before answering');
  }

  memberTimeout(): void {
    this.finish('no response head within its timeout');
  }

  memberDrain(): void {}

  private handle(events: ReaderEvent[]): void {
    for (const event of events) {
      if (event.type === 'head' && 'status' in event.head && event.head.status >= 200) return this.finish(event.head);
    }
  }

  private finish(outcome: ResponseHead | string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.conn.detach(false);
    this.resolve(outcome);
  }
}
