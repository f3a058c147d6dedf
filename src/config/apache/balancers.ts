// Balancers are global by name in httpd: a <Proxy balancer://x> inside one virtual host defines `x` for all.
// This registry collects their definitions, members and parameters from wherever they appear, and checks them
// once everything is read. A ProxyPass to a plain URL gets a one-member balancer named after the URL's origin
// (`https://host:port`), shared by every rule to that origin as httpd shares the worker.
import { MEMBER_SCHEMES, type BalancerConfig, type HealthCheckConfig, type MemberConfig, type Source } from '../model.ts';
import { healthCheckWarnings } from '../health-check.ts';
import type { HealthName, HealthSettings, Param, ParamOutcome, WorkerParamContext } from './params.ts';
import { hasDormantHealthCheck, newBalancer, newMember, setBalancerParam, setWorkerParam } from './params.ts';
import type { Report } from './report.ts';

interface Entry {
  config: BalancerConfig;
  /** Where it was defined (<Proxy balancer://>, BalancerMember or ProxySet); undefined = only referenced. */
  definedAt?: { source: Source; directive: string };
  firstReference?: { source: Source; directive: string };
}

export type BackendUrl =
  | { kind: 'balancer'; name: string; path: string }
  | { kind: 'worker'; origin: string; path: string };

const BALANCER_URL = /^balancer:\/\/([^/]+)(\/.*)?$/i;

/** Classifies a ProxyPass/ProxySet/<Proxy> target; a string is the error message. */
export function parseBackendUrl(url: string): BackendUrl | string {
  const b = BALANCER_URL.exec(url);
  if (b?.[1]) return { kind: 'balancer', name: b[1], path: b[2] ?? '' };
  const origin = parseWorkerUrl(url);
  if (typeof origin === 'string') return origin;
  return { kind: 'worker', origin: origin.origin, path: origin.path };
}

/** An http(s) member URL split into its origin (as written) and path. */
export function parseWorkerUrl(url: string): { origin: string; path: string } | string {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)$/i.exec(url);
  if (!m?.[1] || !m[2]) return `"${url}" is not a URL; expected http://host[:port][/path], https://... or balancer://name[/path]`;
  const scheme = m[1].toLowerCase();
  if (!MEMBER_SCHEMES.some((s) => s === scheme)) {
    return `scheme ${scheme}:// of "${url}" is not supported by Stickler; expected http://, https:// or balancer://`;
  }
  try {
    new URL(url);
  } catch {
    return `"${url}" is not a valid URL; expected http://host[:port][/path]`;
  }
  return { origin: `${m[1]}://${m[2]}`, path: m[3] ?? '' };
}

export class BalancerRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #report: Report;
  /**
   * ProxyHCExpr conditions. Members keep the definition object itself, so a later ProxyHCExpr of the same name,
   * which httpd's table lets win for every member, is updated in place.
   */
  readonly #healthExprs = new ServerNames<NonNullable<HealthCheckConfig['expr']>>('ProxyHCExpr');
  readonly #healthTemplates = new ServerNames<{ name: string; settings: HealthSettings; source: Source }>('ProxyHCTemplate');
  /** The server whose lines are being read: undefined for the main server, else its <VirtualHost>. */
  #server: object | undefined;
  /** What hcexpr= and hctemplate= find: what is defined so far, as httpd reads its lines in order. */
  readonly healthNames: WorkerParamContext = {
    healthExpr: (name) => this.#healthExprs.find(this.#server, name, (e) => e),
    healthTemplate: (name) => this.#healthTemplates.find(this.#server, name, (t) => t.settings),
  };

  constructor(report: Report) {
    this.#report = report;
  }

  #entry(name: string, source: Source): Entry {
    const key = name.toLowerCase();
    let e = this.#entries.get(key);
    if (e === undefined) {
      e = { config: newBalancer(name, source) };
      this.#entries.set(key, e);
    }
    return e;
  }

  get(name: string): BalancerConfig | undefined {
    return this.#entries.get(name.toLowerCase())?.config;
  }

  define(name: string, source: Source, directive: string): BalancerConfig {
    const e = this.#entry(name, source);
    if (e.definedAt === undefined) {
      e.definedAt = { source, directive };
      e.config.source = source;
    }
    return e.config;
  }

  reference(name: string, source: Source, directive: string): BalancerConfig {
    const e = this.#entry(name, source);
    e.firstReference ??= { source, directive };
    return e.config;
  }

  /** The one-member balancer standing for a plain worker URL; created (and so defined) on first use. */
  worker(origin: string, source: Source, directive: string): { balancer: BalancerConfig; member: MemberConfig } {
    const balancer = this.define(origin, source, directive);
    let member = balancer.members[0];
    if (member === undefined) {
      member = newMember(origin, source);
      balancer.members.push(member);
    }
    return { balancer, member };
  }

  addMember(balancerName: string, url: string, params: Param[], source: Source): void {
    const worker = parseWorkerUrl(url);
    if (typeof worker === 'string') {
      this.#report.error(source, 'BalancerMember', worker);
      return;
    }
    const balancer = this.define(balancerName, source, 'BalancerMember');
    const member = newMember(url, source);
    this.applyWorkerParams(member, params, source, 'BalancerMember');
    const twin = balancer.members.find((m) => m.url.toLowerCase() === url.toLowerCase());
    if (twin !== undefined) {
      this.#report.error(source, 'BalancerMember', `${url} is already a member of balancer://${balancer.name} (${where(twin.source, source)}); expected each member once`);
      return;
    }
    const sameRoute = member.route === '' ? undefined : balancer.members.find((m) => m.route === member.route);
    if (sameRoute !== undefined) {
      this.#report.error(source, 'BalancerMember', `route "${member.route}" is already used by ${sameRoute.url} (${where(sameRoute.source, source)}) in balancer://${balancer.name}; expected a unique route per member`);
    }
    balancer.members.push(member);
  }

  applyWorkerParams(member: MemberConfig, params: Param[], source: Source, directive: string): void {
    for (const p of params) this.#outcome(setWorkerParam(member, p, this.healthNames), source, directive);
  }

  applyBalancerParams(balancer: BalancerConfig, params: Param[], source: Source, directive: string): void {
    for (const p of params) {
      this.#outcome(setBalancerParam(balancer, p), source, directive);
      if (p.key === 'stickysession' && p.value === 'JSESSIONID') {
        this.#report.warning(source, directive, 'stickysession=JSESSIONID also looks for the URL parameter "JSESSIONID" (case-sensitive, as in httpd), but Tomcat\'s URL rewriting writes ";jsessionid=" in lower case, so sessions carried in the URL are not sticky; expected stickysession=JSESSIONID|jsessionid scolonpathdelim=On');
      }
    }
  }

  #outcome(outcome: ParamOutcome, source: Source, directive: string): void {
    if (outcome === undefined) return;
    if ('error' in outcome) this.#report.error(source, directive, outcome.error);
    else this.#report.warning(source, directive, outcome.warning);
  }

  /** Reads `lines` as those of a <VirtualHost>: the ProxyHCExpr and ProxyHCTemplate names it defines are its own. */
  inVirtualHost(server: object, lines: () => void): void {
    this.#server = server;
    try {
      lines();
    } finally {
      this.#server = undefined;
    }
  }

  defineHealthExpr(name: string, text: string, source: Source): void {
    const earlier = this.#healthExprs.own(this.#server, name);
    if (earlier === undefined) {
      this.#healthExprs.set(this.#server, name, { name, text, source });
      return;
    }
    this.#report.warning(source, 'ProxyHCExpr', `replaces the ProxyHCExpr ${earlier.name} at ${where(earlier.source, source)}: httpd keeps the last definition of a name, for every member that uses it`);
    Object.assign(earlier, { text, source });
  }

  /** httpd keeps every template and hctemplate= finds the first of a name, so a later one is never used. */
  defineHealthTemplate(name: string, settings: HealthSettings, source: Source): void {
    const earlier = this.#healthTemplates.own(this.#server, name);
    if (earlier === undefined) {
      this.#healthTemplates.set(this.#server, name, { name, settings, source });
      return;
    }
    this.#report.warning(source, 'ProxyHCTemplate', `ignored: the ProxyHCTemplate ${earlier.name} at ${where(earlier.source, source)} has this name already, and httpd's hctemplate= uses the first definition of a name; expected another name`);
  }

  /** Balancers that are usable: referenced-only or memberless ones are reported and left out. */
  finish(): BalancerConfig[] {
    const out: BalancerConfig[] = [];
    for (const { config, definedAt, firstReference } of this.#entries.values()) {
      if (definedAt === undefined) {
        const at = firstReference?.source ?? config.source;
        this.#report.error(at, firstReference?.directive ?? 'ProxyPass', `balancer://${config.name} is used but never defined; expected a <Proxy balancer://${config.name}> section with BalancerMember lines`);
        continue;
      }
      if (config.members.length === 0) {
        this.#report.error(definedAt.source, definedAt.directive, `balancer://${config.name} has no members; expected at least one BalancerMember`);
        continue;
      }
      for (const member of config.members) this.#checkHealth(member);
      out.push(config);
    }
    return out;
  }

  #checkHealth(member: MemberConfig): void {
    if (hasDormantHealthCheck(member)) {
      this.#report.warning(member.source, 'BalancerMember', `ignored: hc* parameters without hcmethod do nothing (httpd's default method is NONE); expected hcmethod=GET, HEAD, OPTIONS or TCP to check ${member.url}`);
    }
    if (member.healthCheck === undefined) return;
    for (const warning of healthCheckWarnings(member.healthCheck, { uri: 'hcuri', expr: 'hcexpr' })) this.#report.warning(member.source, 'BalancerMember', warning);
  }
}

/** `line 24`, or `other.conf:24` when the earlier line is in another file. */
/**
 * Names mod_proxy_hcheck keeps per server: it does not merge server configurations, so a <VirtualHost> starts with
 * none of the main server's and sees only those defined inside it (case-insensitive, as its tables). A name
 * defined only in another server is still used, with a warning, since httpd would refuse the line.
 */
class ServerNames<T extends { name: string; source: Source }> {
  readonly #directive: string;
  readonly #tables = new Map<object | undefined, Map<string, T>>();

  constructor(directive: string) {
    this.#directive = directive;
  }

  own(server: object | undefined, name: string): T | undefined {
    return this.#tables.get(server)?.get(name.toLowerCase());
  }

  set(server: object | undefined, name: string, value: T): void {
    const table = this.#tables.get(server) ?? new Map<string, T>();
    this.#tables.set(server, table);
    table.set(name.toLowerCase(), value);
  }

  find<V>(server: object | undefined, name: string, valueOf: (entry: T) => V): HealthName<V> | undefined {
    const own = this.own(server, name);
    if (own !== undefined) return { value: valueOf(own) };
    for (const [other, table] of this.#tables) {
      const entry = table.get(name.toLowerCase());
      if (entry === undefined) continue;
      const defined = other === undefined ? 'the main server' : 'another <VirtualHost>';
      const here = server === undefined ? 'the main server' : 'this <VirtualHost>';
      return {
        value: valueOf(entry),
        warning: `${this.#directive} ${entry.name} is defined in ${defined} (${entry.source.file}:${entry.source.line}), and httpd keeps these names per server, so it would refuse to start on this line; Stickler uses it; expected a ${this.#directive} ${entry.name} in ${here}`,
      };
    }
    return undefined;
  }
}

export function where(s: Source, from: Source): string {
  return s.file === from.file ? `line ${s.line}` : `${s.file}:${s.line}`;
}
