// The one internal configuration model. Both front ends (Apache httpd syntax and native YAML) produce it;
// the runtime reads only it. Every object that came from a file line keeps that line, so errors found
// later (TLS files missing, ports taken) can still point at the directive that asked for them.

export interface Source {
  file: string;
  line: number;
}

/** Durations are whole milliseconds everywhere in the model, whatever unit the front end used. */
export type Millis = number;

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
}

/**
 * One stage of reading a request, as Apache's RequestReadTimeout sees it: `timeout` to begin with, one more
 * second for every `minRate` bytes received, never beyond `max`.
 */
export interface ReadTimeout {
  timeout: Millis;
  /** 0: the timeout is fixed, whatever arrives. */
  minRate: number;
  /** 0: no ceiling. */
  max: Millis;
}

/** The limits and timeouts of the client side: what one client may send, how slowly, and how many may connect. */
export interface ClientPolicy {
  /** Request line, CRLF excluded (Apache `LimitRequestLine`); beyond → 414. */
  requestLine: number;
  /** One header field line, CRLF excluded (Apache `LimitRequestFieldSize`); beyond → 431. */
  fieldSize: number;
  /** Header fields of a request, or of its trailers (Apache `LimitRequestFields`); beyond → 431. 0: no limit. */
  fields: number;
  /** The whole request head; beyond → 431. */
  headSize: number;
  /** Request body (Apache `LimitRequestBody`); beyond → 413. 0: no limit. */
  bodySize: number;
  /** Client connections one thread holds; beyond, new ones are closed as soon as accepted. 0: no limit. */
  maxConnections: number;
  /** Concurrent streams of one HTTP/2 connection (Apache `H2MaxSessionStreams`); beyond, REFUSED_STREAM. */
  maxStreams: number;
  /** Proxied requests one thread has in flight, whatever the protocol; beyond → 503. 0: no limit. */
  maxRequests: number;
  /** TLS handshake (Apache `RequestReadTimeout handshake=`). */
  handshakeTimeout: Millis;
  /** Request head, from its first byte (Apache `RequestReadTimeout header=`); then 408 and close. */
  headerTimeout: ReadTimeout;
  /** Request body (Apache `RequestReadTimeout body=`); then 408 and close. */
  bodyTimeout: ReadTimeout;
  /** How long a client may leave Stickler's send buffer full before it is dropped (Apache `Timeout`). */
  sendTimeout: Millis;
}

/** Apache's defaults (httpd 2.4.54+) where Apache has one, nginx's send_timeout, and a connection cap of our own. */
export const CLIENT_DEFAULTS: Readonly<ClientPolicy> = Object.freeze({
  requestLine: 8190,
  fieldSize: 8190,
  fields: 100,
  headSize: 64 * 1024,
  bodySize: 1024 * 1024 * 1024,
  // About 1 GiB of idle TLS connections at the benchmark's 51 KiB each.
  maxConnections: 20_000,
  maxStreams: 100,
  // A hundred Tomcats with their default 200 threads each: beyond, members would only queue the requests.
  maxRequests: 20_000,
  handshakeTimeout: 10_000,
  headerTimeout: Object.freeze({ timeout: 20_000, minRate: 500, max: 40_000 }),
  bodyTimeout: Object.freeze({ timeout: 20_000, minRate: 500, max: 0 }),
  sendTimeout: 60_000,
});

export function clientPolicy(config: SticklerConfig): ClientPolicy {
  return { ...CLIENT_DEFAULTS, ...config.client };
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

export interface TlsFiles {
  /** Where the certificate file is named; the other files' lines follow, where they differ. */
  source: Source;
  certificateFile: string;
  keyFile: string;
  /** Where the key file is named; undefined where it is the certificate's line (a key in the certificate's file). */
  keySource?: Source;
  chainFile?: string;
  chainSource?: Source;
  /** A DER OCSP response stapled to this certificate's handshakes, re-read at each reload (nginx `ssl_stapling_file`). */
  ocspResponseFile?: string;
  ocspSource?: Source;
  /** What the handshakes offer; undefined is Mozilla's intermediate profile as it is. */
  policy?: TlsPolicy;
  /** Sent as Strict-Transport-Security on every response of this virtual host; undefined sends none. */
  hsts?: Hsts;
}

/** Mozilla's server-side TLS configurations (guidelines 6.0), see src/config/tls-profile.ts. */
export type TlsProfileName = 'intermediate' | 'modern';

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

/**
 * A Mozilla profile, possibly narrowed; never widened. One per TLS port: Node switches only the certificate by SNI,
 * so the virtual hosts of a port must agree (checked when the configuration is read).
 */
export interface TlsPolicy {
  source: Source;
  profile: TlsProfileName;
  /** A subset of the profile's versions (Apache `SSLProtocol`); undefined is all of them. */
  protocols?: TlsVersion[];
  /** OpenSSL cipher string for TLS 1.2 (Apache `SSLCipherSuite`): only the profile's ciphers it selects are offered. */
  ciphers?: string;
  /** TLS 1.3 suite names, colon-separated (Apache `SSLCipherSuite TLSv1.3`): only the profile's named ones are offered. */
  cipherSuites?: string;
  /** The server's order of ciphers wins (Apache `SSLHonorCipherOrder on`); Mozilla leaves it to the client. */
  honorCipherOrder: boolean;
}

/** RFC 6797 Strict-Transport-Security. */
export interface Hsts {
  source: Source;
  /** Seconds. */
  maxAge: number;
  includeSubDomains: boolean;
  preload: boolean;
}

export interface BackendTls {
  /** SSLProxyEngine: may https:// members be used at all. */
  enabled: boolean;
  /** SSLProxyVerify: `none` = no verification (Apache's default); `require` = verify the chain. */
  verify: 'none' | 'require';
  /** SSLProxyCheckPeerName / SSLProxyCheckPeerCN: check the certificate's names against the member host. */
  checkPeerName: boolean;
  caFile?: string;
  /** Where caFile is named. */
  caSource?: Source;
  source?: Source;
}

export interface VirtualHostConfig {
  source: Source;
  /** Address part of `<VirtualHost host:port>`; `*` means any. */
  host: string;
  port: number;
  serverName?: string;
  serverAliases: string[];
  serverAdmin?: string;
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
export type HeaderAction = 'set' | 'append' | 'add' | 'merge' | 'unset' | 'setifempty' | 'edit' | 'edit*' | 'echo';

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

/**
 * Access control, both Apache generations. `legacy` is mod_access_compat (Order/Allow/Deny), `require` is
 * mod_authz_host. Apache evaluates Require and ignores Order/Allow/Deny when both appear in one section.
 */
export type AccessRule =
  | { kind: 'legacy'; source: Source; order: 'deny,allow' | 'allow,deny'; allow: HostMatch[]; deny: HostMatch[] }
  | { kind: 'require'; source: Source; negate: boolean; match: 'all-granted' | 'all-denied' | 'local' | HostMatch };

export type HostMatch =
  | { kind: 'all' }
  | { kind: 'ip'; cidr: string }
  | { kind: 'host'; name: string };

/** Apache's lbmethods that Stickler implements (heartbeat needs mod_heartmonitor's multicast, which it does not do). */
export const LB_METHODS = ['byrequests', 'bybusyness', 'bytraffic'] as const;
export type LbMethod = (typeof LB_METHODS)[number];

export interface StickyConfig {
  /** Cookie name (`JSESSIONID`). */
  cookie: string;
  /** URL parameter name; equals `cookie` when no `|` form was given, as in Apache. */
  urlParam: string;
}

/**
 * `stickysession=` as it reads: one name when the cookie and the URL parameter are the same (whether written once or
 * twice, httpd keeps the same pair), `COOKIE|urlparam` when they differ. Everything that shows it uses this.
 */
export function formatSticky(sticky: StickyConfig): string {
  return sticky.cookie === sticky.urlParam ? sticky.cookie : `${sticky.cookie}|${sticky.urlParam}`;
}

export interface BalancerConfig {
  source: Source;
  name: string;
  lbmethod: LbMethod;
  sticky?: StickyConfig;
  /** stickysessionsep: one character, or null for `Off` (the whole value is the route). */
  stickySeparator: string | null;
  scolonPathDelim: boolean;
  nofailover: boolean;
  /** undefined = Apache's default: members - 1 (0 for a single member). */
  maxAttempts?: number;
  /** Balancer `timeout`: wait this long for a usable member before answering 503. */
  timeout: Millis;
  forceRecovery: boolean;
  failOnStatus: number[];
  members: MemberConfig[];
  /** Room for members added through the manager (Apache `growth=`); undefined = 5. */
  growth?: number;
  /** A response timeout also puts the member in error (Apache `failontimeout`, default Off). */
  failOnTimeout?: boolean;
  /**
   * A member back from an error or a failed health check takes new sessions gradually: its weight ramps from
   * almost nothing to its loadfactor over this time (HAProxy `slowstart`). Undefined or 0: at once, as Apache.
   */
  slowStart?: Millis;
  /**
   * Request bodies up to this size are kept while they are sent, so an idempotent request whose member failed
   * before answering can be sent again, whole, to another member. Larger ones fail with 502 instead. Default 64 KiB.
   */
  retryBodyLimit?: number;
}

/** Apache's BalancerGrowth default. */
export const DEFAULT_GROWTH = 5;

/** Apache worker status flags that can be set from configuration (`status=+H`...). */
export type StatusFlag = 'I' | 'N' | 'D' | 'S' | 'E' | 'H' | 'R' | 'C';

export interface MemberConfig {
  source: Source;
  /** `https://localhost:9443` or `http://10.0.0.5:8080/app`, as written. */
  url: string;
  route: string;
  redirect: string;
  /** Apache's loadfactor (1..100, decimals allowed), not multiplied. */
  loadfactor: number;
  lbset: number;
  status: StatusFlag[];
  retry: Millis;
  /** Socket I/O timeout; undefined = the global timeout. */
  timeout?: Millis;
  /** Connect timeout; undefined = the I/O timeout. */
  connectionTimeout?: Millis;
  /** Active health checks (mod_proxy_hcheck's `hcmethod`...); undefined = none, as without mod_proxy_hcheck. */
  healthCheck?: HealthCheckConfig;
}

export interface HealthCheckConfig {
  /** TCP: connect (and the TLS handshake for https members); OPTIONS asks `OPTIONS *`; HEAD and GET request `uri`. */
  method: 'TCP' | 'OPTIONS' | 'HEAD' | 'GET';
  /** Path and query checked; default `/` (Apache `hcuri`, relative to the member URL's path). */
  uri: string;
  /** Time between checks (Apache `hcinterval`, default 30 s). */
  interval: Millis;
  /** Consecutive passes that bring a failed member back (Apache `hcpasses`, default 1). */
  passes: number;
  /** Consecutive failures that take a member out (Apache `hcfails`, default 1). */
  fails: number;
  /**
   * When a response passes (Apache `hcexpr` naming a `ProxyHCExpr`): the expression's text, e.g.
   * `%{REQUEST_STATUS} =~ /^[23]/`. Without it a status below 400 passes, as mod_proxy_hcheck decides.
   */
  expr?: { name: string; text: string; source: Source };
}

export interface LogConfig {
  /** Access log destination: a file path, `-` for stdout, `|command` for a piped logger, or undefined for none. */
  access?: string;
  /** Where `access` is named; undefined when the command line named it. */
  source?: Source;
  /** The format of `access`; see AccessLogConfig.format. */
  format: AccessLogFormat;
  /** More access logs of the main server (Apache's CustomLog and TransferLog lines). */
  logs?: AccessLogConfig[];
}

/**
 * What a log writes: Stickler's own line (Apache's combined plus route= and backend_ms=), one JSON object, or a
 * mod_log_config format string, whose text is never taken for the name of one of the other two.
 */
export type AccessLogFormat = { kind: 'stickler' } | { kind: 'json' } | { kind: 'apache'; text: string };

export interface AccessLogConfig {
  source?: Source;
  /** The directive or key that named it (`CustomLog`, `TransferLog`), for messages. */
  directive?: string;
  /**
   * A file path, `-` for standard output, or a piped logger: `|command` and `||command` run the command
   * without a shell, `|$command` through /bin/sh, as httpd 2.4 does.
   */
  destination: string;
  format: AccessLogFormat;
  /** Apache's `env=VAR` (log when the variable is set) or `env=!VAR` (when it is not). */
  condition?: { variable: string; negate: boolean };
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
