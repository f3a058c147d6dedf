// Balancers in the configuration model: how each chooses among its members, the members, and their health checks.
import type { Millis, Source } from './model-units.ts';
import type { ClientCertificate } from './model-tls.ts';

/** Apache's lbmethods that Stickler implements (heartbeat needs mod_heartmonitor's multicast, which it does not do). */
export const LB_METHODS = ['byrequests', 'bybusyness', 'bytraffic'] as const;

/** The schemes a member (and its health check) is reached by: Stickler speaks HTTP only, in clear or over TLS. */
export const MEMBER_SCHEMES = ['http', 'https'] as const;
export type MemberScheme = (typeof MEMBER_SCHEMES)[number];
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

/** A balancer named after a URL's origin stands for a ProxyPass to that plain URL: one member, no choice. */
export function isPlainUrl(balancer: string): boolean {
  return balancer.includes('://');
}

/**
 * A route cookie the balancer issues itself, for members whose sessions carry no route (no jvmRoute): its name
 * joins the names routes are read from, and a response whose route changed sets it (the native `cookie` key).
 */
export interface BalancerCookieConfig {
  /** A token (RFC 6265 cookie-name), different from the sticky-session cookie. */
  name: string;
  path: string;
  domain?: string;
  /** undefined: Secure when the client's connection is TLS (and always with SameSite=None). */
  secure?: boolean;
  httpOnly: boolean;
  sameSite: 'Lax' | 'Strict' | 'None';
  /** Seconds; undefined: a session cookie, gone when the browser closes. */
  maxAge?: number;
  /**
   * The HMAC key read from `key-file` when the configuration was loaded; undefined: the cookie is the bare route.
   * Bytes, not a path, so every worker thread and every reload signs with what was checked.
   */
  key?: Uint8Array;
}

export interface BalancerConfig {
  source: Source;
  name: string;
  lbmethod: LbMethod;
  sticky?: StickyConfig;
  /** The balancer's own route cookie; undefined: none, routes come only from `sticky`. */
  cookie?: BalancerCookieConfig;
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
   * A draining member none of whose sessions sent a request for this long is stopped by itself (drain until
   * empty). Undefined: DEFAULT_STOP_WHEN_IDLE; 0: never.
   */
  stopWhenIdle?: Millis;
  /**
   * Request bodies up to this size are kept while they are sent, so an idempotent request whose member failed
   * before answering can be sent again, whole, to another member. Larger ones fail with 502 instead. Default 64 KiB.
   */
  retryBodyLimit?: number;
  /** Presented to its members that ask for one, unless a member has its own (Apache `<Proxy>` SSLProxyMachineCertificateFile). */
  clientCertificate?: ClientCertificate;
}

/** The servlet session timeout (Tomcat's default): a session idle for less may still come back. */
export const DEFAULT_STOP_WHEN_IDLE: Millis = 30 * 60_000;

/** How long a draining member of `balancer` waits with no active session before it is stopped; 0: never. */
export const stopWhenIdleOf = (balancer: Pick<BalancerConfig, 'stopWhenIdle'>): Millis => balancer.stopWhenIdle ?? DEFAULT_STOP_WHEN_IDLE;

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
  /** Presented to this member when it asks for one (native only: Apache sets it per balancer or virtual host). */
  clientCertificate?: ClientCertificate;
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
  /**
   * Where the check goes when the application serves its health elsewhere than its traffic (Keycloak's management
   * port): each part left undefined is the member URL's. The check is then a request to scheme://host:port, as
   * that URL would be asked: Host, SNI and the certificate's name are `host`'s. Native format only.
   */
  scheme?: MemberScheme;
  host?: string;
  port?: number;
}
