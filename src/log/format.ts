// Apache's mod_log_config format language, compiled once into a list of small functions so a request pays only
// for the items its format names. The semantics are httpd's (modules/loggers/mod_log_config.c, mod_logio.c,
// mod_ssl's %{VAR}x): which items are escaped, `-` for an absent value while an empty one stays empty, the status
// conditions and the `<`/`>` modifiers. What Stickler cannot know logs `-`, as httpd logs an absent value.
import { threadId } from 'node:worker_threads';
import type { BalancerFacts } from '../balancer/balancer.ts';
import type { HeaderList } from '../http/head.ts';
import { clientEnvironment, clientVariable } from '../tls/client-variables.ts';
import { clientHost, escapeLogItem, formatLogTime, MONTHS, pad2, timeZone, type AccessEntry } from './entry.ts';

/** One item's value; undefined is httpd's NULL, logged as `-`. */
type Item = (e: AccessEntry) => string | undefined;
type Part = (e: AccessEntry) => string;

export interface LogFormat {
  /** The format as written. */
  readonly text: string;
  /** The line, without its newline. */
  render(e: AccessEntry): string;
}

/** Builds an item from its `{argument}`; httpd refuses no argument, an unknown one is logged as written or as `-`. */
type ItemFactory = (arg: string) => Item;

const pid = String(process.pid);

/** The letters httpd knows with mod_log_config, mod_logio and mod_ssl loaded, and what each becomes here. */
const ITEMS: Record<string, ItemFactory> = {
  a: () => (e) => clientHost(e.clientIp),
  A: () => (e) => e.connection?.localIp,
  B: () => (e) => String(e.bytesSent),
  b: () => (e) => (e.bytesSent > 0 ? String(e.bytesSent) : undefined),
  c: (name) => (e) => escaped(sslCompatItem(e, name)),
  C: (name) => (e) => cookie(e.requestHeaders, name),
  D: () => (e) => String(Math.floor(e.totalMs * 1000)),
  e: (name) => (e) => environment(e, name),
  f: () => () => undefined,
  h: () => (e) => escapeLogItem(clientHost(e.clientIp)),
  H: () => (e) => escapeLogItem(e.protocol),
  i: (name) => (e) => escaped(requestHeader(e.requestHeaders, name)),
  k: () => (e) => String(e.keepalives ?? 0),
  l: () => () => undefined,
  L: () => () => undefined,
  m: () => (e) => escapeLogItem(e.method),
  n: () => () => undefined,
  o: (name) => (e) => escaped(responseHeader(e.responseHeaders, name)),
  p: port,
  P: (which) => {
    const w = which.toLowerCase();
    if (w === '' || w === 'pid') return () => pid;
    if (w === 'tid') return () => String(threadId);
    if (w === 'hextid') return () => threadId.toString(16);
    return () => which;
  },
  q: () => (e) => {
    const q = e.target.indexOf('?');
    return q < 0 ? '' : '?' + escapeLogItem(e.target.slice(q + 1));
  },
  r: () => (e) => escapeLogItem(`${e.method} ${e.target} ${e.protocol}`),
  R: () => (e) => (e.handler === undefined ? undefined : escapeLogItem(e.handler)),
  s: () => (e) => String(e.status),
  t: requestTime,
  T: (unit) => {
    const u = unit.toLowerCase();
    if (u === '' || u === 's') return (e) => String(Math.floor(e.totalMs / 1000));
    if (u === 'ms') return (e) => String(Math.floor(e.totalMs));
    if (u === 'us') return (e) => String(Math.floor(e.totalMs * 1000));
    return () => unit;
  },
  u: () => () => undefined,
  U: () => (e) => escapeLogItem(requestPath(e.target)),
  v: () => (e) => (e.serverName === undefined ? undefined : escapeLogItem(e.serverName)),
  V: () => (e) => {
    const host = hostName(e.host);
    return host !== undefined ? escapeLogItem(host) : e.serverName === undefined ? undefined : escapeLogItem(e.serverName);
  },
  X: () => (e) => (e.aborted ? 'X' : e.keepAlive ? '+' : '-'),
  I: () => (e) => String(e.bytesIn ?? 0),
  O: () => (e) => String(e.bytesOut ?? 0),
  S: () => (e) => String((e.bytesIn ?? 0) + (e.bytesOut ?? 0)),
  // httpd 2.4.71's mod_ssl escapes its items as every other item is escaped: a PEM's newlines are `\n`.
  x: (name) => (e) => escaped(sslVariable(e, name)),
};

/** mod_logio's two-letter items after `^`: trailers and time to first byte, which Stickler does not keep. */
const CARET_ITEMS = new Set(['ti', 'to', 'FB']);

const KNOWN_ITEMS = Object.keys(ITEMS).join('');

/** Compiles a format; the error says which item is wrong, as httpd refuses the LogFormat. */
export function compileLogFormat(text: string): LogFormat | { error: string } {
  const parts: Part[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '%') {
      const end = text.indexOf('%', i);
      const literal = unescapeLiteral(text.slice(i, end < 0 ? text.length : end));
      parts.push(() => literal);
      i = end < 0 ? text.length : end;
      continue;
    }
    const parsed = parseItem(text, i + 1);
    if ('error' in parsed) return parsed;
    parts.push(parsed.part);
    i = parsed.next;
  }
  return { text, render: joinParts(parts) };
}

function joinParts(parts: Part[]): (e: AccessEntry) => string {
  if (parts.length === 1) return parts[0]!;
  return (e) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) out += parts[i]!(e);
    return out;
  };
}

/** httpd's parse_log_item: `%%`, then any of `!<>,` digits and `{arg}` in any order, then the letter. */
function parseItem(text: string, start: number): { part: Part; next: number } | { error: string } {
  if (text[start] === '%') return { part: () => '%', next: start + 1 };
  let negate = false;
  let arg = '';
  let statuses: number[] | undefined;
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '!') negate = !negate;
    else if (c === '<' || c === '>' || c === ',') {
      // Stickler makes no internal redirects: the original and the final request are the same one.
    } else if (c === '{') {
      const close = text.indexOf('}', i + 1);
      arg = text.slice(i + 1, close < 0 ? text.length : close);
      i = close < 0 ? text.length : close;
    } else if (c >= '0' && c <= '9') {
      let j = i;
      while (j < text.length && text[j]! >= '0' && text[j]! <= '9') j++;
      (statuses ??= []).push(Number(text.slice(i, j)));
      i = j - 1;
    } else {
      const caret = c === '^' ? text.slice(i + 1, i + 3) : '';
      if (CARET_ITEMS.has(caret)) return { part: conditioned(() => undefined, statuses, negate), next: i + 3 };
      const factory = Object.hasOwn(ITEMS, c) ? ITEMS[c] : undefined;
      if (factory === undefined) {
        return { error: `unknown format item %${c} at "${text.slice(start - 1, i + 1)}"; expected one of %${[...KNOWN_ITEMS].join(' %')} (see the table in docs/apache-compat.md)` };
      }
      return { part: conditioned(factory(arg), statuses, negate), next: i + 1 };
    }
    i++;
  }
  return { error: `format item "${text.slice(start - 1)}" ends before its letter; expected a letter such as %h after ${text.slice(start - 1)}` };
}

/** `%400,501{User-agent}i` logs the item only for those statuses, `%!200,304...` for all others; `-` otherwise. */
function conditioned(item: Item, statuses: number[] | undefined, negate: boolean): Part {
  if (statuses === undefined) return (e) => item(e) ?? '-';
  const set = new Set(statuses);
  return (e) => (set.has(e.status) !== negate ? (item(e) ?? '-') : '-');
}

/** Literal text: httpd turns `\n`, `\r`, `\t` and `\\` into their characters and keeps any other backslash. */
function unescapeLiteral(s: string): string {
  return s.includes('\\') ? s.replace(/\\([\\nrt])/g, (_, c: string) => ({ '\\': '\\', n: '\n', r: '\r', t: '\t' })[c]!) : s;
}

const escaped = (v: string | undefined): string | undefined => (v === undefined ? undefined : escapeLogItem(v));

/** httpd merges repeated request fields with ", " before anything reads them. */
function requestHeader(headers: HeaderList | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const lower = name.toLowerCase();
  let value: string | undefined;
  for (const [n, v] of headers) if (n.toLowerCase() === lower) value = value === undefined ? v : `${value}, ${v}`;
  return value;
}

/** httpd's log_header_out: Content-Type without its parameters, every Set-Cookie joined, else the first field. */
function responseHeader(headers: HeaderList | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  const lower = name.toLowerCase();
  if (lower === 'set-cookie') return requestHeader(headers, name);
  const value = headers.find(([n]) => n.toLowerCase() === lower)?.[1];
  if (lower === 'content-type' && value !== undefined) return value.split(';')[0]!.trimEnd();
  return value;
}

/** httpd's log_cookie: name=value pairs split on `;`, names matched without case, blanks around both trimmed. */
function cookie(headers: HeaderList | undefined, name: string): string | undefined {
  const all = requestHeader(headers, 'cookie');
  if (all === undefined) return undefined;
  for (const pair of all.split(';')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) continue;
    const key = pair.slice(0, eq).replace(/^[ \t]+/, '').trimEnd();
    if (key === '' || key.toLowerCase() !== name.toLowerCase()) continue;
    return escapeLogItem(pair.slice(eq + 1).replace(/^[ \t]+/, '').trimEnd());
  }
  return undefined;
}

/** The variables Stickler sets in a request's environment: mod_proxy_balancer's and mod_ssl's HTTPS. */
export const ENVIRONMENT: ReadonlySet<string> = new Set([
  'BALANCER_NAME', 'BALANCER_WORKER_NAME', 'BALANCER_WORKER_ROUTE', 'BALANCER_SESSION_STICKY', 'BALANCER_SESSION_ROUTE', 'BALANCER_ROUTE_CHANGED', 'HTTPS',
] satisfies Array<keyof BalancerFacts | 'HTTPS'>);

/** Whether a request's environment can hold `name`: ENVIRONMENT, or one of the SSL_* variables mod_ssl puts there. */
export function isEnvironmentName(name: string): boolean {
  const upper = name.toUpperCase();
  return ENVIRONMENT.has(name) || upper.startsWith('SSL_CLIENT_') || ['SSL_TLS_SNI', 'SSL_PROTOCOL', 'SSL_CIPHER'].includes(upper);
}

/** The request's environment as httpd's would hold it for a proxied request (ENVIRONMENT), escaped for a log. */
export function environment(e: AccessEntry, name: string): string | undefined {
  return escaped(environmentValue(e.balancer, e, name));
}

/**
 * A variable of the request's environment as it is (ENVIRONMENT): the balancer's facts once it has chosen, mod_ssl's
 * HTTPS, and the SSL_CLIENT_* variables its SSLOptions +StdEnvVars and +ExportCertData put there. httpd's
 * environment is a table whose names are matched without regard to case.
 */
export function environmentValue(facts: BalancerFacts | undefined, e: AccessEntry, name: string): string | undefined {
  const upper = name.toUpperCase();
  if (upper.startsWith('BALANCER_')) return (facts as Record<string, string | undefined> | undefined)?.[upper];
  if (upper === 'HTTPS') return e.scheme === 'https' ? 'on' : undefined;
  if (!upper.startsWith('SSL_') || e.scheme !== 'https') return undefined;
  // ssl_hook_Fixup sets SSL_TLS_SNI on every TLS request, the rest only as SSLOptions say.
  if (upper === 'SSL_TLS_SNI') return sslVariable(e, upper);
  if (e.sslOptions === undefined) return undefined;
  if (upper === 'SSL_PROTOCOL' || upper === 'SSL_CIPHER') return e.sslOptions.stdEnvVars ? sslVariable(e, upper) : undefined;
  if (!upper.startsWith('SSL_CLIENT_')) return undefined;
  // Looked up once per request (the environment itself is kept per connection): its rules and log lines may ask for many.
  let env = clientEnvironments.get(e);
  if (env === undefined) clientEnvironments.set(e, (env = clientEnvironment(e.connection?.tls?.().client, e.sslOptions)));
  return env.get(upper);
}
const clientEnvironments = new WeakMap<AccessEntry, ReadonlyMap<string, string>>();

/**
 * mod_ssl's variables Stickler knows, as ssl_var_lookup gives them: byte strings, names without regard to case; an
 * empty value is none, as mod_ssl logs and mod_headers read it.
 */
export function sslVariable(e: AccessEntry, name: string): string | undefined {
  const upper = name.toUpperCase();
  if (upper === 'HTTPS') return e.scheme === 'https' ? 'on' : 'off';
  if (e.scheme !== 'https') return undefined;
  const tls = e.connection?.tls?.();
  if (upper.startsWith('SSL_CLIENT_')) return clientVariable(tls?.client, name);
  const value = upper === 'SSL_PROTOCOL' ? tls?.protocol : upper === 'SSL_CIPHER' ? tls?.cipher : upper === 'SSL_TLS_SNI' ? tls?.sni : undefined;
  return value || undefined;
}

/** mod_ssl's `%{name}c`, kept for formats written for mod_ssl 1.x: names for a few of its variables. */
function sslCompatItem(e: AccessEntry, name: string): string | undefined {
  const variable = SSL_COMPAT_ITEMS.get(name);
  if (e.scheme !== 'https' || variable === undefined) return undefined;
  // errcode is always `-`; errstr is a refused certificate's reason, and a refused client never gets this far.
  return variable === '-' ? '-' : variable === '' ? undefined : sslVariable(e, variable);
}
const SSL_COMPAT_ITEMS = new Map([
  ['version', 'SSL_PROTOCOL'],
  ['cipher', 'SSL_CIPHER'],
  ['subjectdn', 'SSL_CLIENT_S_DN'],
  ['clientcert', 'SSL_CLIENT_S_DN'],
  ['issuerdn', 'SSL_CLIENT_I_DN'],
  ['cacert', 'SSL_CLIENT_I_DN'],
  ['errcode', '-'],
  ['errstr', ''],
]);

/**
 * `%p`, `%{canonical}p`: httpd's ap_get_server_port with UseCanonicalName and UseCanonicalPhysicalPort Off: the
 * Host field's port, else the scheme's default port (a ServerName's own port is not kept); `local`, `remote`.
 */
function port(which: string): Item {
  const w = which.toLowerCase();
  if (w === '' || w === 'canonical') {
    return (e) => {
      const m = e.host === undefined ? null : /:(\d+)$/.exec(e.host);
      return m ? String(Number(m[1])) : e.scheme === 'https' ? '443' : '80';
    };
  }
  if (w === 'local') return (e) => String(e.localPort ?? 0);
  if (w === 'remote') return (e) => String(e.connection?.remotePort ?? 0);
  return () => which;
}

/** r->hostname: the Host field's host, lower-cased, without its port. */
function hostName(host: string | undefined): string | undefined {
  if (host === undefined || host === '') return undefined;
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d*)?$/.exec(host);
  return (m ? m[1]! : host).toLowerCase();
}

/** r->uri: the path of the target, %-decoded byte by byte (latin1, as escapeLogItem reads it). */
function requestPath(target: string): string {
  let path = target;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(path);
  if (scheme) path = path.slice(scheme[0].length) || '/';
  const q = path.indexOf('?');
  if (q >= 0) path = path.slice(0, q);
  return path.includes('%') ? path.replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : path;
}

const TIME_UNITS = ['sec', 'msec', 'usec', 'msec_frac', 'usec_frac'];

/** `%t`, `%{format}t` (strftime), `%{sec|msec|usec|msec_frac|usec_frac}t`, each with `begin:` (default) or `end:`. */
function requestTime(arg: string): Item {
  const atEnd = arg.startsWith('end:');
  const format = arg.replace(/^(begin|end):/, '');
  const when = (e: AccessEntry): number => e.time.getTime() + (atEnd ? e.totalMs : 0);
  if (format === '') return atEnd ? (e) => formatLogTime(new Date(when(e))) : (e) => formatLogTime(e.time);
  if (TIME_UNITS.includes(format)) {
    const unit = format;
    return (e) => {
      const ms = when(e);
      if (!Number.isFinite(ms)) return undefined;
      if (unit === 'sec') return String(Math.floor(ms / 1000));
      if (unit === 'msec') return String(Math.floor(ms));
      if (unit === 'usec') return String(Math.floor(ms * 1000));
      if (unit === 'msec_frac') return String(Math.floor(ms) % 1000).padStart(3, '0');
      return String(Math.floor(ms * 1000) % 1_000_000).padStart(6, '0');
    };
  }
  const render = compileStrftime(format);
  return (e) => {
    const d = new Date(when(e));
    return Number.isFinite(d.getTime()) ? render(d) : undefined;
  };
}

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const FULL_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const pad3 = (n: number): string => String(n).padStart(3, '0');
const space2 = (n: number): string => String(n).padStart(2, ' ');
const dayOfYear = (d: Date): number => Math.floor((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86_400_000) + 1;
const hour12 = (d: Date): number => d.getHours() % 12 || 12;
/** ICU knows each zone's abbreviation (CEST, IST, JST) only in the locales where it is in use. */
const ZONE_LOCALES = ['en-US', 'en-GB', 'en-IN', 'en-AU', 'en-NZ', 'ja-JP'];
let zoneFormats: { tz: string | undefined; formats: Intl.DateTimeFormat[] } | undefined;

/** `%Z` as glibc gives it: the zone's abbreviation, else tzdata's numeric one (`-03`, `+0530`). */
function zoneName(d: Date): string {
  const tz = process.env.TZ;
  if (zoneFormats === undefined || zoneFormats.tz !== tz) zoneFormats = { tz, formats: ZONE_LOCALES.map((l) => new Intl.DateTimeFormat(l, { timeZoneName: 'short' })) };
  for (const format of zoneFormats.formats) {
    const name = format.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value;
    if (name !== undefined && /^[A-Z]{2,5}$/.test(name)) return name;
  }
  const offset = timeZone(d);
  return offset.endsWith('00') ? offset.slice(0, 3) : offset;
}

/** strftime conversions in the C locale, local time; an unknown one is copied as glibc copies it. */
const CONVERSIONS: Record<string, (d: Date) => string> = {
  a: (d) => DAYS[d.getDay()]!.slice(0, 3),
  A: (d) => DAYS[d.getDay()]!,
  b: (d) => MONTHS[d.getMonth()]!,
  h: (d) => MONTHS[d.getMonth()]!,
  B: (d) => FULL_MONTHS[d.getMonth()]!,
  c: (d) => `${DAYS[d.getDay()]!.slice(0, 3)} ${MONTHS[d.getMonth()]} ${space2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getFullYear()}`,
  C: (d) => pad2(Math.floor(d.getFullYear() / 100)),
  d: (d) => pad2(d.getDate()),
  D: (d) => `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}/${pad2(d.getFullYear() % 100)}`,
  e: (d) => space2(d.getDate()),
  F: (d) => `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`,
  H: (d) => pad2(d.getHours()),
  I: (d) => pad2(hour12(d)),
  j: (d) => pad3(dayOfYear(d)),
  k: (d) => space2(d.getHours()),
  l: (d) => space2(hour12(d)),
  m: (d) => pad2(d.getMonth() + 1),
  M: (d) => pad2(d.getMinutes()),
  n: () => '\n',
  p: (d) => (d.getHours() < 12 ? 'AM' : 'PM'),
  r: (d) => `${pad2(hour12(d))}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ${d.getHours() < 12 ? 'AM' : 'PM'}`,
  R: (d) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}`,
  s: (d) => String(Math.floor(d.getTime() / 1000)),
  S: (d) => pad2(d.getSeconds()),
  t: () => '\t',
  T: (d) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`,
  u: (d) => String(d.getDay() || 7),
  w: (d) => String(d.getDay()),
  x: (d) => `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}/${pad2(d.getFullYear() % 100)}`,
  X: (d) => `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`,
  y: (d) => pad2(d.getFullYear() % 100),
  Y: (d) => String(d.getFullYear()),
  z: timeZone,
  Z: zoneName,
  '%': () => '%',
};

/** The `%{format}t` format, split once into literal text and conversions. */
export function compileStrftime(format: string): (d: Date) => string {
  const parts: Array<(d: Date) => string> = [];
  let literal = '';
  for (let i = 0; i < format.length; i++) {
    const conversion = format[i] === '%' && i + 1 < format.length ? CONVERSIONS[format[i + 1]!] : undefined;
    if (conversion === undefined) {
      literal += format[i];
      continue;
    }
    if (literal !== '') {
      const text = literal;
      parts.push(() => text);
      literal = '';
    }
    parts.push(conversion);
    i++;
  }
  if (literal !== '') parts.push(() => literal);
  return (d) => parts.map((p) => p(d)).join('');
}
