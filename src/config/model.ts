// The one internal configuration model. Both front ends (Apache httpd syntax and native YAML) produce it;
// the runtime reads only it. Every object that came from a file line keeps that line, so errors found
// later (TLS files missing, ports taken) can still point at the directive that asked for them.
//
// Its parts live in the model-*.ts modules beside this one (units, client policy, TLS, access rules, balancers,
// logs), which import only each other; everything is re-exported here, so importers name this module only.
import type { ManagedDomain } from './model-acme.ts';
import type { AccessRule } from './model-access.ts';
import type { BalancerConfig } from './model-balancer.ts';
import type { ClientPolicy } from './model-client.ts';
import type { AccessLogConfig, LogConfig } from './model-logging.ts';
import type { SharedStateConfig } from './model-shared.ts';
import type { BackendTls, TlsFiles } from './model-tls.ts';
import type { Millis, Source } from './model-units.ts';

export type { AccessRule, HostMatch } from './model-access.ts';
export type { AcmeSettings, ChallengeType, KeyType, ManagedDomain, RenewMode, RenewWindow } from './model-acme.ts';
export { CHALLENGE_TYPES, DEFAULT_CA_URL, DEFAULT_RENEW_WINDOW, KEY_TYPES, RENEW_MODES, acmeDefaults, caUrlProblem, contactEmailProblem, domainFiles, formatRenewWindow, managedNameProblem, parseRenewWindow } from './model-acme.ts';
export type { BalancerConfig, BalancerCookieConfig, HealthCheckConfig, LbMethod, MemberConfig, MemberScheme, StatusFlag, StickyConfig } from './model-balancer.ts';
export { DEFAULT_GROWTH, DEFAULT_STOP_WHEN_IDLE, LB_METHODS, MEMBER_SCHEMES, formatSticky, isPlainUrl, stopWhenIdleOf } from './model-balancer.ts';
export type { ClientPolicy, ReadTimeout } from './model-client.ts';
export type { HealthRule, SharedStateConfig } from './model-shared.ts';
export { DEFAULT_KEY_PREFIX, HEALTH_RULES } from './model-shared.ts';
export { CLIENT_DEFAULTS, clientPolicy } from './model-client.ts';
export type { AccessLogConfig, AccessLogFormat, LogConfig } from './model-logging.ts';
export type {
  BackendTls,
  ClientCertificate,
  ClientCertificates,
  Hsts,
  SslOptions,
  TlsFiles,
  TlsPolicy,
  TlsProfileName,
  TlsVersion,
  VerifyClient,
} from './model-tls.ts';
export { clientCertificateOf, withSwappedFiles } from './model-tls.ts';
export type { Millis, Source } from './model-units.ts';

export interface SticklerConfig {
  /** Where the configuration came from: `apache` keeps Apache's defaults (no backend verification...). */
  dialect: 'apache' | 'native';
  listeners: ListenerConfig[];
  virtualHosts: VirtualHostConfig[];
  /** Balancers by name (`wso2.identity.domain`, without `balancer://`), in definition order. */
  balancers: BalancerConfig[];
  log: LogConfig;
  /** Default backend I/O timeout (Apache `Timeout`/`ProxyTimeout`, default 60 s). */
  timeout: Millis;
  /** Idle time allowed between requests on a client's kept-alive connection (Apache `KeepAliveTimeout`, 5 s). */
  keepAliveTimeout: Millis;
  /**
   * How long connections that began before a reload or a stop may take to finish (long downloads, WebSockets)
   * before they are closed; 0 waits for them however long (Apache `GracefulShutdownTimeout`).
   */
  gracefulShutdownTimeout: Millis;
  /** Worker threads serving the listeners with one balancer state; `auto` is one per core. Default 1. */
  workers?: number | 'auto';
  /** How the balancer manager is protected and where its changes are kept; where it is served is a location. */
  manager?: ManagerConfig;
  /** The Redis that a group of instances keeps the manager's edits in, so that they behave as one. */
  sharedState?: SharedStateConfig;
  /** Certificates ordered from an ACME CA and renewed by Stickler (mod_md's `MDomain`, native `acme`), one per domain. */
  managedDomains?: ManagedDomain[];
  /**
   * Peers (addresses or ranges, as in `Require ip`) whose X-Forwarded-*, Forwarded and client-certificate headers
   * are kept and appended to; from any other peer they are replaced (native `trusted-proxies`).
   */
  trustedProxies?: string[];
  /**
   * What the file says about the limits and timeouts clients get, and only that: the rest is CLIENT_DEFAULTS
   * (see clientPolicy), so a converted file states what its source stated.
   */
  client?: Partial<ClientPolicy>;
  /**
   * Variables Apache's envvars file sets (APACHE_LOG_DIR...) that Stickler's own environment lacks or has otherwise:
   * apache2ctl exports them into httpd's environment, so httpd's piped loggers inherit them, and Stickler's get them
   * over its own.
   */
  environment?: Record<string, string>;
  /**
   * The account Stickler serves as once it has bound its listeners and read its keys as root (Apache `User` and
   * `Group`, native `user` and `group`); without `group`, the user's own group.
   */
  runAs?: RunAs;
}

/** An account by name, or by number as Apache's `#1000`. */
export type AccountRef = { source: Source } & ({ name: string } | { id: number });

export interface RunAs {
  user: AccountRef;
  group?: AccountRef;
}

export interface ManagerConfig {
  source: Source;
  /**
   * The native `manager` section made a listener and virtual host of its own (the last of each in the model);
   * otherwise the manager is served only where a location mounts it.
   */
  ownListener?: boolean;
  /** HTTP Basic users, bcrypt entries only (Apache `AuthUserFile` in the manager's `<Location>`). */
  htpasswdFile?: string;
  /** Bearer tokens for scripts, one per line. */
  tokenFile?: string;
  /** Changes made through the manager are kept here and survive restarts (Apache `BalancerPersist On`). */
  stateFile?: string;
  /** Audit log of changes, JSON lines; without it they go to standard error. */
  auditLog?: string;
}

export interface ListenerConfig {
  source: Source;
  /** `0.0.0.0`, `127.0.0.1`, `::`; `*` from Apache becomes `0.0.0.0`. */
  host: string;
  port: number;
  /** A listener serves TLS when any virtual host on it has TLS on. */
  tls: boolean;
  /**
   * Opened for a `<VirtualHost host:port>` of a configuration that has no Listen at all (a virtual-host file read on
   * its own), at that section's line; messages name the section, not a Listen the operator never wrote.
   */
  implied?: true;
}

/** `file:line: Listen` (or `<VirtualHost>` for an implied listener), to begin a message about a listener. */
export function listenerAt(l: ListenerConfig): string {
  return `${l.source.file}:${l.source.line}: ${l.implied ? '<VirtualHost>' : 'Listen'}`;
}

export interface VirtualHostConfig {
  source: Source;
  /** Address part of `<VirtualHost host:port>`; `*` means any. */
  host: string;
  port: number;
  serverName?: string;
  serverAliases: string[];
  serverAdmin?: string;
  /** Its certificate is this managed domain's (ACME); `tls` then names the domain's files in the store. */
  acme?: ManagedDomain;
  tls?: TlsFiles;
  backendTls: BackendTls;
  preserveHost: boolean;
  addForwardedHeaders: boolean;
  /** ProxyPass rules in the order Apache tries them (Location-scoped first, then server-level). */
  routes: RouteConfig[];
  reverse: ReverseRule[];
  cookiePaths: CookieRewrite[];
  cookieDomains: CookieRewrite[];
  /** `<Location>` blocks that carry a handler or access rules. */
  locations: LocationConfig[];
  /** Access rules of `<Proxy *>` / `<Proxy balancer://...>`: checked before anything is proxied. */
  proxyAccess: AccessRule[];
  /** The host's own access logs; a host with none logs to the server's (`log`), as httpd's CustomLog does. */
  logs?: AccessLogConfig[];
  /** mod_headers' rules of the main server, the host, then its <Proxy> and <Location> sections, in httpd's merge order. */
  headerRules?: HeaderRule[];
}

/** What mod_headers does to a field (`edit*` edits every match, `edit` the first). */
export const HEADER_ACTIONS = ['set', 'append', 'add', 'merge', 'unset', 'setifempty', 'edit', 'edit*', 'echo'] as const;
export type HeaderAction = (typeof HEADER_ACTIONS)[number];

/** One `Header` or `RequestHeader` line, as data: src/proxy/header-rules.ts compiles and applies it. */
export interface HeaderRule {
  source: Source;
  /** `RequestHeader` edits the head sent to the member, `Header` the one sent to the client. */
  direction: 'request' | 'response';
  /**
   * `onsuccess` (the default) edits the headers of a member's answer; `always` edits httpd's err_headers_out,
   * sent before them and on Stickler's own answers too. Request rules are `onsuccess`.
   */
  condition: 'onsuccess' | 'always';
  action: HeaderAction;
  /** The field name; for `echo`, a regular expression on request field names. */
  header: string;
  /** The value in mod_headers' format (`%{VAR}e`...); for `edit`, the substitution. */
  value?: string;
  /** `edit` and `edit*`: the regular expression matched against each value. */
  pattern?: string;
  /** `env=VAR` (only when the variable is set) or `env=!VAR` (only when it is not). */
  env?: { variable: string; negate: boolean };
  /** Only for requests under this `<Location>` path. */
  location?: string;
  /** Only for requests proxied to this balancer (a `<Proxy>` URL's name or origin), or `*` for any proxied one. */
  proxy?: string;
  /** With `proxy`: only when the proxied path starts with this (the `<Proxy>` URL's path), as httpd matches it. */
  proxyPath?: string;
}

export interface RouteConfig {
  source: Source;
  /** URL-path prefix, as written (`/`, `/app/`). */
  path: string;
  /**
   * `exclude` is `ProxyPass /path !`; a plain URL target is modelled as a one-member balancer. `upgrade` lists the
   * protocols (lower case, `*` for any) a client may switch to through this route (`upgrade=websocket`).
   */
  target: { kind: 'exclude' } | { kind: 'balancer'; balancer: string; path: string; upgrade?: string[] };
}

export interface ReverseRule {
  source: Source;
  /** The front-end path prefix (`fake` in Apache's source). */
  path: string;
  /** Backend URL as written: `https://localhost:9443/` or `balancer://name/`. */
  url: string;
}

export interface CookieRewrite {
  source: Source;
  from: string;
  to: string;
}

export interface LocationConfig {
  source: Source;
  path: string;
  handler?: 'balancer-manager';
  access: AccessRule[];
}

/** A problem found while reading configuration. Errors stop the load; warnings are printed and kept. */
export interface Diagnostic {
  severity: 'error' | 'warning';
  file: string;
  line: number;
  /** The directive or YAML key the problem is about. */
  directive: string;
  message: string;
  /** A directive with no meaning for a load balancer (AddIcon, LoadModule...): summed up in one line unless --verbose. */
  inert?: true;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}: ${d.directive}: ${d.message}`;
}

/** A configuration file that cannot be read at all: line 0, the whole file. */
export function unreadable(file: string, err: unknown): Diagnostic {
  const reason = err instanceof Error ? err.message : String(err);
  return { severity: 'error', file, line: 0, directive: 'file', message: `cannot read the configuration file: ${reason}` };
}

export interface LoadResult {
  config?: SticklerConfig;
  diagnostics: Diagnostic[];
  /**
   * The files holding the virtual hosts and balancers of a configuration that was read but refused by the
   * verification: the printer still shows the warnings about the operator's own sites first.
   */
  sites?: string[];
}
