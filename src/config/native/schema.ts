// The shape of a native YAML configuration file. Mappings are strict so a misspelt key is an error instead of
// a silently ignored setting. Scalars go through the parsers of values.ts so every message says what was
// expected; cross-references (routes to balancers, duplicates) are checked later, in build.ts.

import { z } from 'zod';
import { parseLbMethod, parseLbset, parseLoadfactor, parseMaxAttempts, parseRouteName } from '../balancer-values.ts';
import {
  CHALLENGE_TYPES, HEADER_ACTIONS, HEALTH_RULES, KEY_TYPES, MEMBER_SCHEMES, RENEW_MODES, caUrlProblem, contactEmailProblem, managedNameProblem,
  parseRenewWindow, type ChallengeType, type ClientCertificates, type ClientPolicy, type HeaderRule, type Millis, type RenewWindow, type TlsVersion,
} from '../model.ts';
import { upgradeProtocols } from '../upgrade.ts';
import { parseAccount, type AccountSpec } from '../account.ts';
import { checkRedisUrl } from '../shared-state-url.ts';
import { isToken } from '../../http/syntax.ts';
import { parseIpRange } from '../ip-range.ts';
import { TLS_VERSIONS } from '../tls-profile.ts';
import { MAX_VERIFY_DEPTH, VERIFY_LEVELS, crlCheckProblem } from '../client-certificates.ts';
import { parseHealthExpr } from '../health-expr.ts';
import { HEALTH_METHODS, MIN_HEALTH_INTERVAL, healthHost, healthUri } from '../health-check.ts';
import {
  parseChoice, parseDuration, parseHostMatch, parseNumber, parseReadTimeout, parseRequire, parseSeparator, parseSize,
  parseStatus, parseSticky, parseSwitch, parseText, describe, parseLogFormat, parseLogCondition, checked, type Parsed,
} from './values.ts';

function required<T>(parse: (input: unknown) => Parsed<T>) {
  return z.unknown().transform((input, ctx): T => {
    const result = input === undefined ? { ok: false as const, message: 'is required' } : parse(input);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: result.message });
    return z.NEVER;
  });
}

function optional<T>(parse: (input: unknown) => Parsed<T>) {
  return required(parse).optional();
}

const text = (what: string) => (input: unknown) => parseText(input, what);
/** A backend path may be empty: `ProxyPass /app balancer://x` converts to `backend-path: ""`. */
const pathText = (input: unknown): Parsed<string> =>
  typeof input === 'string' ? { ok: true, value: input } : parseText(input, 'the path prefix sent to the backend');
const int = (min: number, max: number) => (input: unknown) => parseNumber(input, min, max, true);
const duration = (min: Millis) => (input: unknown) => parseDuration(input, min);

/** A TCP port, wherever one is written: listeners, the manager, a health check. */
const portNumber = int(1, 65535);
const port = required(portNumber);
const path = required(text('a URL path such as / or /app/'));
const list = <T extends z.ZodType>(item: T) => z.array(item).optional();

const upgrade = (input: unknown): Parsed<string[]> => {
  const words = Array.isArray(input) ? input : [input];
  if (!words.every((w) => typeof w === 'string')) return { ok: false, message: `expected protocol names such as websocket, or ANY, got ${describe(input)}` };
  const parsed = upgradeProtocols(words);
  return 'error' in parsed ? { ok: false, message: parsed.error } : { ok: true, value: parsed.protocols };
};

const workerCount = (input: unknown): Parsed<number | 'auto'> => {
  if (input === 'auto') return { ok: true, value: 'auto' };
  const n = parseNumber(input, 1, 64, true);
  return n.ok ? n : { ok: false, message: `expected auto or a number of worker threads from 1 to 64, got ${describe(input)}` };
};

const account = (kind: 'user' | 'group') => (input: unknown): Parsed<AccountSpec> => {
  if (typeof input !== 'string' && typeof input !== 'number') return { ok: false, message: `expected a ${kind} name such as www-data, or a number such as 33, got ${describe(input)}` };
  const parsed = parseAccount(input, kind);
  return 'error' in parsed ? { ok: false, message: parsed.error } : { ok: true, value: parsed };
};

const tlsVersions = (input: unknown): Parsed<TlsVersion[]> => {
  const expected = `expected ${TLS_VERSIONS.join(' and/or ')} (one, or a list): Stickler never offers older protocols`;
  const versions = Array.isArray(input) ? input : [input];
  const known = versions.filter((v): v is TlsVersion => TLS_VERSIONS.includes(v));
  if (versions.length === 0 || known.length !== versions.length) return { ok: false, message: `${expected}, got ${describe(input)}` };
  return { ok: true, value: TLS_VERSIONS.filter((v) => known.includes(v)) };
};

const ipRange = (input: unknown): Parsed<string> =>
  typeof input === 'string' && parseIpRange(input) !== undefined
    ? { ok: true, value: input }
    : { ok: false, message: `expected an address or range such as 10.0.0.5 or 10.0.0.0/8, got ${describe(input)}` };

const failOnStatus = (input: unknown): Parsed<number[]> => {
  const codes = Array.isArray(input) ? input : [input];
  for (const code of codes) {
    if (!parseNumber(code, 100, 599, true).ok) {
      return { ok: false, message: `expected HTTP status codes from 100 to 599 (one, or a list), got ${describe(code)}` };
    }
  }
  return { ok: true, value: codes as number[] };
};

const accessRule = z.strictObject({
  require: optional((input) => parseRequire(input)),
  order: optional((input) => parseChoice(input, ['deny,allow', 'allow,deny'] as const)),
  allow: list(required(parseHostMatch)),
  deny: list(required(parseHostMatch)),
});

const rewrite = z.strictObject({
  from: required(text('the backend value to replace')),
  to: required(text('the public value')),
});

/** Text, then a shared rule (health-check.ts) that gives the value kept or what is wrong with it. */
const textBy = (what: string, rule: (text: string) => string | { error: string }) => (input: unknown): Parsed<string> => {
  const text = parseText(input, what);
  if (!text.ok) return text;
  const value = rule(text.value);
  return typeof value === 'string' ? { ok: true, value } : { ok: false, message: value.error };
};

const healthCheck = z.strictObject({
  method: required((input): Parsed<(typeof HEALTH_METHODS)[number]> => {
    const method = HEALTH_METHODS.find((m) => typeof input === 'string' && m === input.toUpperCase());
    return method ? { ok: true, value: method } : { ok: false, message: `expected one of ${HEALTH_METHODS.join(', ')}, got ${describe(input)}` };
  }),
  uri: optional(textBy('a URL path such as /health', healthUri)),
  interval: optional(duration(MIN_HEALTH_INTERVAL)),
  passes: optional(int(1, 1_000_000)),
  fails: optional(int(1, 1_000_000)),
  expr: optional((input): Parsed<string> => {
    const text = parseText(input, "a condition such as \"%{REQUEST_STATUS} =~ /^[23]/\"");
    if (!text.ok) return text;
    const parsed = parseHealthExpr(text.value);
    return 'error' in parsed ? { ok: false, message: parsed.error } : text;
  }),
  scheme: optional((input) => parseChoice(input, MEMBER_SCHEMES)),
  host: optional(textBy('a host name or address such as 10.0.0.5', healthHost)),
  port: optional(portNumber),
});

const clientCertificate = z.strictObject({
  'certificate-file': required(text('a PEM certificate file')),
  'key-file': required(text('a PEM private key file')),
  'chain-file': optional(text('a PEM file of intermediate certificates')),
});

/** A balancer's or a member's own TLS towards members: what it presents when asked. */
const memberTls = z.strictObject({ 'client-certificate': clientCertificate.optional() });

const member = z.strictObject({
  url: required(text('a backend URL such as https://10.0.0.5:9443')),
  route: optional(checked(parseRouteName)),
  redirect: optional(checked(parseRouteName)),
  loadfactor: optional(checked(parseLoadfactor)),
  lbset: optional(checked(parseLbset)),
  status: optional(parseStatus),
  retry: optional(duration(0)),
  timeout: optional(duration(1000)),
  'connection-timeout': optional(duration(1)),
  'health-check': healthCheck.optional(),
  tls: memberTls.optional(),
});

/** An attribute of Set-Cookie (RFC 6265 av-octet): printable, without `;`, which would end it. */
const cookieAttribute = (what: string) => (input: unknown): Parsed<string> =>
  typeof input === 'string' && /^[\x21-\x3a\x3c-\x7e]+$/.test(input)
    ? { ok: true, value: input }
    : { ok: false, message: `expected ${what}, without spaces or ";", got ${describe(input)}` };

const balancerCookie = z.strictObject({
  name: required((input): Parsed<string> => typeof input === 'string' && isToken(input)
    ? { ok: true, value: input }
    : { ok: false, message: `expected a cookie name such as ROUTEID (letters, digits and !#$%&'*+-.^_\`|~), got ${describe(input)}` }),
  path: optional((input) => {
    const value = cookieAttribute('a URL path such as / or /app')(input);
    return !value.ok || value.value.startsWith('/') ? value : { ok: false, message: `expected a URL path starting with /, such as / or /app, got ${describe(input)}` };
  }),
  domain: optional(cookieAttribute('a domain such as example.com')),
  secure: optional(parseSwitch),
  'http-only': optional(parseSwitch),
  'same-site': optional((input) => parseChoice(input, ['Lax', 'Strict', 'None'] as const)),
  'max-age': optional((input): Parsed<number | 'session'> =>
    input === 'session' ? { ok: true, value: 'session' } : parseNumber(input, 1, 2 ** 31 - 1, true).ok
      ? { ok: true, value: input as number }
      : { ok: false, message: `expected a number of seconds such as 86400, or session, got ${describe(input)}` }),
  'key-file': optional(text('a file of 32 to 4096 random bytes')),
});

const balancer = z.strictObject({
  lbmethod: optional(checked(parseLbMethod)),
  'sticky-session': optional(parseSticky),
  'sticky-separator': optional(parseSeparator),
  'scolon-path-delim': optional(parseSwitch),
  'no-failover': optional(parseSwitch),
  'max-attempts': optional(checked(parseMaxAttempts)),
  timeout: optional(duration(0)),
  'force-recovery': optional(parseSwitch),
  'fail-on-status': optional(failOnStatus),
  growth: optional(int(0, 1000)),
  'fail-on-timeout': optional(parseSwitch),
  'slow-start': optional(duration(0)),
  'stop-when-idle': optional(duration(0)),
  'retry-body-limit': optional(int(0, 64 * 1024 * 1024)),
  cookie: balancerCookie.optional(),
  tls: memberTls.optional(),
  members: list(member),
});

/** One file, or a list of them. */
const fileList = (what: string) => (input: unknown): Parsed<string[]> => {
  const items = Array.isArray(input) ? input : [input];
  const texts = items.map((item) => parseText(item, what));
  const wrong = texts.find((t) => !t.ok);
  if (items.length === 0 || wrong) return { ok: false, message: `expected ${what} (one, or a list), got ${describe(input)}` };
  return { ok: true, value: texts.map((t) => (t as { value: string }).value) };
};

const crlCheck = (input: unknown): Parsed<ClientCertificates['crlCheck']> => {
  const problem = typeof input === 'string' ? crlCheckProblem(input, []) : `expected none or chain, got ${describe(input)}`;
  return problem === undefined ? { ok: true, value: input as ClientCertificates['crlCheck'] } : { ok: false, message: problem };
};

const clientCertificates = z.strictObject({
  verify: required((input) => parseChoice(input, VERIFY_LEVELS)),
  'verify-depth': optional(int(0, MAX_VERIFY_DEPTH)),
  'ca-file': optional(fileList('a PEM file of CA certificates')),
  'ca-path': optional(text('a directory of PEM CA certificates')),
  'crl-file': optional(fileList('a PEM CRL file')),
  'crl-path': optional(text('a directory of PEM CRLs')),
  'crl-check': optional(crlCheck),
  forward: optional((input) => parseChoice(input, ['none', 'rfc9440'] as const)),
});

const tlsFiles = z.strictObject({
  // Required unless the virtual host's certificate is ordered (acme), which build.ts checks.
  'certificate-file': optional(text('a PEM certificate file')),
  'key-file': optional(text('a PEM private key file')),
  'chain-file': optional(text('a PEM file of intermediate certificates')),
  'ocsp-response-file': optional(text('a DER OCSP response file')),
  profile: optional((input) => parseChoice(input, ['intermediate', 'modern'] as const)),
  protocols: optional(tlsVersions),
  ciphers: optional(text('an OpenSSL cipher list for TLS 1.2, such as ECDHE+AESGCM')),
  'cipher-suites': optional(text('TLS 1.3 suite names separated by colons')),
  'honor-cipher-order': optional(parseSwitch),
  hsts: z.strictObject({
    'max-age': optional(int(0, 4_294_967_295)),
    'include-subdomains': optional(parseSwitch),
    preload: optional(parseSwitch),
  }).optional(),
  'client-certificates': clientCertificates.optional(),
  'ssl-options': z.strictObject({
    'export-cert-data': optional(parseSwitch),
    'std-env-vars': optional(parseSwitch),
  }).optional(),
});

const accessLog = z.strictObject({
  access: required(text('a file path, - for standard output, or |command for a piped logger')),
  format: optional(parseLogFormat),
  when: optional(parseLogCondition),
});

/** Any string, empty included: a header value or pattern is checked as a whole by config/header-value.ts. */
const anyText = (what: string) => (input: unknown): Parsed<string> =>
  typeof input === 'string' ? { ok: true, value: input } : { ok: false, message: `expected ${what} as a string, got ${describe(input)}` };

const headerRule = z.strictObject({
  direction: required((input) => parseChoice(input, ['request', 'response'] as const)),
  condition: optional((input) => parseChoice(input, ['onsuccess', 'always'] as const)),
  action: required((input) => parseChoice(input, HEADER_ACTIONS)),
  header: optional(text('a header name such as X-Forwarded-Proto')),
  value: optional(anyText("a value in mod_headers' format, such as \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/\"")),
  pattern: optional(anyText('a regular expression')),
  env: optional((input): Parsed<NonNullable<HeaderRule['env']>> => {
    const negate = typeof input === 'string' && input.startsWith('!');
    const variable = typeof input === 'string' ? input.slice(negate ? 1 : 0) : '';
    return /^[^\s=!]+$/.test(variable)
      ? { ok: true, value: { variable, negate } }
      : { ok: false, message: `expected VARIABLE or !VARIABLE, such as BALANCER_ROUTE_CHANGED, got ${describe(input)}` };
  }),
  location: optional(text('a URL path prefix such as /app/')),
  proxy: optional(text('a balancer name, *, or a <Proxy> URL such as balancer://mycluster/app/')),
});

/** Text, then a shared check (model-acme.ts) that says what is wrong with it. */
const checkedText = (what: string, problem: (text: string) => string | undefined) => (input: unknown): Parsed<string> => {
  const t = parseText(input, what);
  const wrong = t.ok ? problem(t.value) : undefined;
  return wrong === undefined ? t : { ok: false, message: wrong };
};

const renewWindow = (input: unknown): Parsed<RenewWindow> => {
  const t = parseText(typeof input === 'number' ? `${input}d` : input, 'a percentage such as 33% or a duration such as 30d');
  if (!t.ok) return t;
  const parsed = parseRenewWindow(t.value);
  return typeof parsed === 'string' ? { ok: false, message: parsed } : { ok: true, value: parsed };
};

const challengeTypes = (input: unknown): Parsed<ChallengeType[]> => {
  const items = Array.isArray(input) ? input : [input];
  const out: ChallengeType[] = [];
  for (const item of items) {
    const c = parseChoice(item, CHALLENGE_TYPES);
    if (!c.ok) return c;
    out.push(c.value);
  }
  return out.length > 0 ? { ok: true, value: out } : { ok: false, message: `expected at least one of ${CHALLENGE_TYPES.join(', ')}` };
};

/** The ACME settings: the top-level `acme` section's defaults, each of which a virtual host's `acme` may override. */
const acmeSettings = {
  'ca-url': optional(checkedText('the ACME directory URL of the CA', caUrlProblem)),
  'ca-certificate-file': optional(text("a PEM file of the CA certificates the ACME server's HTTPS is verified with")),
  'contact-email': optional(checkedText('an e-mail address', contactEmailProblem)),
  'agreement-accepted': optional(parseSwitch),
  'store-dir': optional(text('a directory for the ACME account, keys and certificates')),
  'renew-window': optional(renewWindow),
  challenges: optional(challengeTypes),
  'key-type': optional((input) => parseChoice(input, KEY_TYPES)),
  'renew-mode': optional((input) => parseChoice(input, RENEW_MODES)),
  'port-map': z.strictObject({ http: optional(portNumber), https: optional(portNumber) }).optional(),
};

const acme = z.strictObject(acmeSettings);

/** A virtual host's `acme`: `true` takes the section's settings and the host's names. */
const virtualHostAcme = z.preprocess((input) => (input === true ? {} : input), z.strictObject({
  names: list(required(checkedText('a DNS name', managedNameProblem))),
  ...acmeSettings,
}));

const virtualHost = z.strictObject({
  host: optional(text('an address or * for any')),
  port,
  'server-name': optional(text('a host name')),
  'server-aliases': list(required(text('a host name'))),
  'server-admin': optional(text('an e-mail address')),
  tls: tlsFiles.optional(),
  acme: virtualHostAcme.optional(),
  'backend-tls': z.strictObject({
    enabled: optional(parseSwitch),
    verify: optional((input) => parseChoice(input, ['require', 'none'] as const)),
    'check-peer-name': optional(parseSwitch),
    'ca-file': optional(text('a PEM file of trusted CA certificates')),
    'client-certificate': clientCertificate.optional(),
  }).optional(),
  'preserve-host': optional(parseSwitch),
  'forwarded-headers': optional(parseSwitch),
  routes: list(z.strictObject({
    path,
    balancer: optional(text('the name of a balancer defined under balancers')),
    'backend-path': optional(pathText),
    exclude: optional(parseSwitch),
    upgrade: optional(upgrade),
  })),
  reverse: list(z.strictObject({
    path,
    url: required(text('a backend URL or balancer://name/')),
  })),
  'cookie-paths': list(rewrite),
  'cookie-domains': list(rewrite),
  locations: list(z.strictObject({
    path,
    handler: optional((input) => parseChoice(input, ['balancer-manager'] as const)),
    access: list(accessRule),
  })),
  'proxy-access': list(accessRule),
  logs: list(accessLog),
  'header-rules': list(headerRule),
});

const manager = z.strictObject({
  'own-listener': optional(parseSwitch),
  host: optional(text('the address the manager listens on, such as 127.0.0.1')),
  port: optional(portNumber),
  path: optional(text('the URL path of the manager, such as /balancer-manager')),
  tls: tlsFiles.optional(),
  access: list(accessRule),
  'htpasswd-file': optional(text('an htpasswd file with bcrypt entries (htpasswd -B)')),
  'token-file': optional(text('a file of bearer tokens, one per line')),
  'state-file': optional(text('the file that keeps manager changes across restarts')),
  'audit-log': optional(text('the file the audit log of manager changes is appended to')),
});

const sentinelAddress = (input: unknown): Parsed<{ host: string; port: number }> => {
  const t = parseText(input, 'a Sentinel address such as 10.0.0.7:26379');
  if (!t.ok) return t;
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):([0-9]{1,5})$/.exec(t.value);
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) return { ok: false, message: `expected HOST:PORT such as 10.0.0.7:26379, got "${t.value}"` };
  return { ok: true, value: { host: m[1]!.replace(/^\[|\]$/g, ''), port } };
};

const sharedState = z.strictObject({
  url: required(textBy('a Redis URL such as redis://10.0.0.7:6379/0', checkRedisUrl)),
  'key-prefix': optional(text('the prefix of every key Stickler writes, such as stickler:')),
  'password-file': optional(text('a file holding the Redis password, readable by its owner only')),
  tls: z.strictObject({
    'ca-file': optional(text('a PEM file of the CA that signed Redis\'s certificate')),
    'certificate-file': optional(text('a PEM client certificate')),
    'key-file': optional(text('the PEM private key of the client certificate')),
  }).optional(),
  sentinels: list(required(sentinelAddress)),
  'master-name': optional(text('the name Sentinel knows the primary by, such as stickler')),
  instance: optional(text('this instance\'s name in the journal and the audit log, such as lb1')),
  'health-rule': optional((input) => parseChoice(input, HEALTH_RULES)),
});

const size = (min: number) => (input: unknown) => parseSize(input, min);

const client = z.strictObject({
  'request-line': optional(size(1)),
  'header-field-size': optional(size(1)),
  'header-fields': optional(int(0, Infinity)),
  'header-size': optional(size(1)),
  'body-size': optional(size(0)),
  'max-connections': optional(int(0, Infinity)),
  'max-streams': optional(int(1, 2 ** 31 - 1)),
  'max-requests': optional(int(0, Infinity)),
  'handshake-timeout': optional(duration(1)),
  'header-timeout': optional(parseReadTimeout),
  'body-timeout': optional(parseReadTimeout),
  'send-timeout': optional(duration(1)),
});

/** The keys of the `client` section and the model fields they set. */
export const CLIENT_KEYS = {
  'request-line': 'requestLine',
  'header-field-size': 'fieldSize',
  'header-fields': 'fields',
  'header-size': 'headSize',
  'body-size': 'bodySize',
  'max-connections': 'maxConnections',
  'max-streams': 'maxStreams',
  'max-requests': 'maxRequests',
  'handshake-timeout': 'handshakeTimeout',
  'header-timeout': 'headerTimeout',
  'body-timeout': 'bodyTimeout',
  'send-timeout': 'sendTimeout',
} as const satisfies Record<keyof z.output<typeof client>, keyof ClientPolicy>;

export const nativeSchema = z.strictObject({
  timeout: optional(duration(1000)),
  'keep-alive-timeout': optional(duration(1)),
  'graceful-shutdown-timeout': optional(duration(0)),
  workers: optional(workerCount),
  user: optional(account('user')),
  group: optional(account('group')),
  'trusted-proxies': list(required(ipRange)),
  log: z.strictObject({
    access: optional(text('a file path, - for standard output, or |command for a piped logger')),
    format: optional(parseLogFormat),
    logs: list(accessLog),
  }).optional(),
  listeners: list(z.strictObject({
    host: optional(text('an address such as 0.0.0.0, 127.0.0.1 or ::')),
    port,
    tls: optional(parseSwitch),
  })),
  'virtual-hosts': list(virtualHost),
  balancers: z.record(z.string(), balancer).optional(),
  manager: manager.optional(),
  'shared-state': sharedState.optional(),
  acme: acme.optional(),
  client: client.optional(),
});

export type NativeFile = z.output<typeof nativeSchema>;
export type NativeVirtualHost = z.output<typeof virtualHost>;
export type NativeTls = z.output<typeof tlsFiles>;
export type NativeClientCertificate = z.output<typeof clientCertificate>;
export type NativeAcme = z.output<typeof acme>;
export type NativeVirtualHostAcme = z.output<typeof virtualHostAcme>;
export type NativeBalancer = z.output<typeof balancer>;
export type NativeHeaderRule = z.output<typeof headerRule>;
export type NativeAccessRule = z.output<typeof accessRule>;

/** The keys a mapping at `path` accepts, for "unknown key" messages. */
export function keysAt(path: readonly PropertyKey[]): string[] {
  let schema: z.core.$ZodType = nativeSchema;
  const segments = [...path];
  for (;;) {
    const def = schema._zod.def as z.core.$ZodTypeDef & Record<string, unknown>;
    if (def.type === 'optional') schema = def.innerType as z.core.$ZodType;
    else if (segments.length === 0) return def.type === 'object' ? Object.keys(def.shape as object) : [];
    else {
      const segment = segments.shift();
      if (def.type === 'object') schema = (def.shape as Record<string, z.core.$ZodType>)[String(segment)] ?? z.never();
      else if (def.type === 'array') schema = def.element as z.core.$ZodType;
      else if (def.type === 'record') schema = def.valueType as z.core.$ZodType;
      else return [];
    }
  }
}
