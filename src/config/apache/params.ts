// key=value parameters of ProxyPass, BalancerMember and ProxySet (mod_proxy.c set_worker_param /
// set_balancer_param). Keys are case-insensitive as in httpd; ranges and defaults follow docs/apache-semantics.md#parameter-ranges.
import type { BalancerConfig, HealthCheckConfig, MemberConfig } from '../model.ts';
import {
  NAME_LIMIT, because, parseLbMethod, parseLbset, parseLoadfactor, parseMaxAttempts, parseRouteName, parseStatusFlags, parseStickySession,
  type Verdict,
} from '../balancer-values.ts';
import { HEALTH_CHECK_DEFAULTS, HEALTH_METHODS, MIN_HEALTH_INTERVAL, healthUri } from '../health-check.ts';
import { didYouMean } from './nearest.ts';
import { parseDuration, parseInteger, parseOnOff } from './values.ts';

export interface Param {
  key: string;
  value: string;
}

/** An error message, a warning message (the parameter is accepted but has no effect), or nothing. */
export type ParamOutcome = { error: string } | { warning: string } | undefined;

export function splitParam(word: string): Param | undefined {
  const eq = word.indexOf('=');
  if (eq <= 0) return undefined;
  return { key: word.slice(0, eq).toLowerCase(), value: word.slice(eq + 1) };
}

/** The hc* parameters, in both places httpd takes them: a member's line and a ProxyHCTemplate. */
export const HEALTH_KEYS = ['hcmethod', 'hcuri', 'hcinterval', 'hcpasses', 'hcfails', 'hcexpr', 'hctemplate'];

const WORKER_KEYS = ['route', 'loadfactor', 'status', 'retry', 'timeout', 'connectiontimeout', 'lbset', 'redirect', ...HEALTH_KEYS];
const BALANCER_KEYS = ['lbmethod', 'stickysession', 'stickysessionsep', 'scolonpathdelim', 'nofailover', 'maxattempts', 'timeout', 'forcerecovery', 'failonstatus', 'failontimeout', 'growth'];

/** Real mod_proxy worker parameters that tune httpd's own connection handling; Stickler manages that itself. */
const IGNORED_WORKER_KEYS = new Set(['acquire', 'ping', 'keepalive', 'disablereuse', 'enablereuse', 'max', 'smax', 'min', 'ttl',
  'iobuffersize', 'receivebuffersize', 'responsefieldsize', 'flushpackets', 'flushwait', 'addressttl', 'upgrade', 'secret',
  'flusher', 'mapping']);
const IGNORED_BALANCER_KEYS = new Set(['nonce']);

/** The value a shared rule (balancer-values.ts) gives, handed to `set`; else the rule's reason about `key "value"`. */
function setChecked<T>(key: string, value: string, verdict: Verdict<T>, set: (v: T) => void): ParamOutcome {
  if (!verdict.ok) return { error: because(`${key} "${value}"`, verdict.reason) };
  set(verdict.value);
  return undefined;
}

/** What worker parameters may refer to beyond their own line. */
export interface WorkerParamContext {
  /** The ProxyHCExpr defined so far under this name (case-insensitive, as httpd's table), for `hcexpr=`. */
  healthExpr(name: string): HealthName<NonNullable<HealthCheckConfig['expr']>> | undefined;
  /** The ProxyHCTemplate defined so far under this name (case-insensitive, the first of that name, as httpd finds it), for `hctemplate=`. */
  healthTemplate(name: string): HealthName<HealthSettings> | undefined;
}

/** What a name found; `warning`: httpd would not find it there (see BalancerRegistry), Stickler uses it anyway. */
export interface HealthName<T> {
  value: T;
  warning?: string;
}

/**
 * hc* settings as httpd keeps them for a worker or a ProxyHCTemplate: every value, whatever the method, since a
 * later hcmethod (on the same line, a ProxySet, a template) checks with them. `on`: the method is not NONE;
 * `methodSet`: a method was given (hcmethod, or a template's), rather than left as a member's default NONE.
 */
export interface HealthSettings {
  check: HealthCheckConfig;
  on: boolean;
  methodSet: boolean;
}

/** A ProxyHCTemplate before its parameters: httpd's template starts as TCP, not NONE, with the other defaults. */
export function newHealthTemplate(): HealthSettings {
  return { check: { method: 'TCP', ...HEALTH_CHECK_DEFAULTS }, on: true, methodSet: true };
}

export function setWorkerParam(m: MemberConfig, { key, value }: Param, context?: WorkerParamContext): ParamOutcome {
  switch (key) {
    case 'route':
    case 'redirect':
      return setChecked(key, value, parseRouteName(value), (name) => void (m[key] = name));
    case 'loadfactor':
      return setChecked(key, value, parseLoadfactor(value), (n) => void (m.loadfactor = n));
    case 'lbset':
      return setChecked(key, value, parseLbset(value), (n) => void (m.lbset = n));
    case 'status':
      return setChecked(key, value, parseStatusFlags(value, m.status), (flags) => void (m.status = flags));
    case 'retry':
      return setDuration(value, 0, `retry "${value}" is not a time; expected whole seconds (or a number with ms, s, mi or h)`, (ms) => {
        m.retry = ms;
      });
    case 'timeout':
      return setTimeoutParam(value, (ms) => {
        m.timeout = ms;
      });
    case 'connectiontimeout':
      return setDuration(value, 1, `connectiontimeout "${value}" is not a valid time; expected at least 1ms (seconds by default)`, (ms) => {
        m.connectionTimeout = ms;
      });
  }
  if (HEALTH_KEYS.includes(key)) return setMemberHealthParam(m, { key, value }, context);
  if (IGNORED_WORKER_KEYS.has(key)) return { warning: `ignored: parameter ${key} has no meaning for Stickler (it manages backend connections itself)` };
  const hint = BALANCER_KEYS.includes(key) ? ` (${key} is a balancer parameter: put it on the ProxyPass or ProxySet of the balancer)` : didYouMean(key, WORKER_KEYS);
  return { error: `unknown parameter "${key}"${hint}; expected one of ${WORKER_KEYS.join(', ')}` };
}

/** A time in seconds by default (or with ms, s, mi or h) of at least `min` ms, handed to `set`; else `error`. */
function setDuration(value: string, min: number, error: string, set: (ms: number) => void): ParamOutcome {
  const ms = parseDuration(value, 's');
  if (ms === undefined || ms < min) return { error };
  set(ms);
  return undefined;
}

/** `timeout=` means the same on a member and on a balancer. */
function setTimeoutParam(value: string, set: (ms: number) => void): ParamOutcome {
  return setDuration(value, 1000, `timeout "${value}" is not a valid time; expected at least one second`, set);
}

/** Each member's hc* settings once one is given; only a member whose method is not NONE has `healthCheck` in the model. */
const memberHealth = new WeakMap<MemberConfig, HealthSettings>();

/** hc* parameters without any hcmethod: nothing checks the member, which is probably not what was meant. */
export function hasDormantHealthCheck(m: MemberConfig): boolean {
  const settings = memberHealth.get(m);
  return settings !== undefined && !settings.methodSet;
}

function setMemberHealthParam(m: MemberConfig, param: Param, context: WorkerParamContext | undefined): ParamOutcome {
  // The method is a placeholder until hcmethod names one; the member is not checked before that.
  const settings = memberHealth.get(m) ?? { check: { method: 'TCP', ...HEALTH_CHECK_DEFAULTS }, on: false, methodSet: false };
  const outcome = setHealthParam(settings, param, context);
  // A refused first parameter leaves no settings behind, so it is not reported again as hc* values without a method.
  if (outcome === undefined || !('error' in outcome)) memberHealth.set(m, settings);
  if (settings.on) m.healthCheck = settings.check;
  else delete m.healthCheck;
  return outcome;
}

/** mod_proxy_hcheck's set_worker_hc_param (hc.c), with its ranges, on a member's settings or a template's. */
export function setHealthParam(settings: HealthSettings, { key, value }: Param, context: WorkerParamContext | undefined): ParamOutcome {
  const { check } = settings;
  switch (key) {
    case 'hcmethod':
      return setHealthMethod(settings, value);
    case 'hcuri': {
      if (value.length > NAME_LIMIT) return { error: `hcuri "${value}" is too long (${value.length} characters); expected at most ${NAME_LIMIT}` };
      const uri = healthUri(value);
      if (typeof uri !== 'string') return { error: `hcuri ${uri.error}` };
      check.uri = uri;
      return undefined;
    }
    case 'hcinterval':
      return setDuration(value, MIN_HEALTH_INTERVAL, `hcinterval "${value}" is not a valid time; expected at least ${MIN_HEALTH_INTERVAL}ms (seconds by default)`, (ms) => {
        check.interval = ms;
      });
    case 'hcpasses':
    case 'hcfails': {
      const n = parseInteger(value, 0, 1_000_000);
      if (n === undefined) return { error: `${key} "${value}" is not a whole number; expected 1 or more (0 counts as 1, as in httpd)` };
      // httpd takes the member out (or back) once the count reaches the threshold, so 0 acts as 1.
      check[key === 'hcpasses' ? 'passes' : 'fails'] = Math.max(1, n);
      return undefined;
    }
    case 'hcexpr': {
      const expr = context?.healthExpr(value);
      if (expr === undefined) return { error: `hcexpr "${value}" names no ProxyHCExpr defined before this line; expected ProxyHCExpr ${value} {expression} above it` };
      check.expr = expr.value;
      return expr.warning === undefined ? undefined : { warning: expr.warning };
    }
    default: {
      const template = context?.healthTemplate(value);
      if (template === undefined) return { error: `hctemplate "${value}" names no ProxyHCTemplate defined before this line; expected ProxyHCTemplate ${value} hcmethod=... above it` };
      // httpd copies every hc* value of the template, replacing those given before it: later ones override it.
      settings.check = { ...template.value.check };
      settings.on = template.value.on;
      settings.methodSet = true;
      return template.warning === undefined ? undefined : { warning: template.warning };
    }
  }
}

function setHealthMethod(settings: HealthSettings, value: string): ParamOutcome {
  const name = value.toUpperCase();
  if (name === 'NONE') {
    settings.on = false;
    settings.methodSet = true;
    return undefined;
  }
  // httpd's OPTIONS11, HEAD11 and GET11 differ only in sending HTTP/1.1, which every Stickler check sends.
  const method = HEALTH_METHODS.find((h) => h === name || `${h}11` === name);
  if (method === undefined || (method === 'TCP' && name !== 'TCP')) {
    const why = name === 'CPING' ? ' (it is for AJP members; Stickler speaks HTTP only)' : name === 'PROVIDER' ? ' (httpd does not implement it either)' : '';
    return { error: `hcmethod "${value}" is not supported${why}; expected NONE, TCP, OPTIONS, HEAD or GET` };
  }
  settings.check.method = method;
  settings.on = true;
  settings.methodSet = true;
  return undefined;
}

export function setBalancerParam(b: BalancerConfig, { key, value }: Param): ParamOutcome {
  switch (key) {
    case 'lbmethod':
      return setChecked(key, value, parseLbMethod(value), (method) => void (b.lbmethod = method));
    case 'stickysession':
      return setChecked(key, value, parseStickySession(value), (sticky) => void (b.sticky = sticky));
    case 'stickysessionsep':
      if (value.toLowerCase() === 'off') b.stickySeparator = null;
      else if ([...value].length === 1) b.stickySeparator = value;
      else return { error: `stickysessionsep "${value}" is not a single character; expected one character (such as .) or Off` };
      return undefined;
    case 'scolonpathdelim':
    case 'nofailover':
    case 'failontimeout':
    case 'forcerecovery': {
      const on = parseOnOff(value);
      if (on === undefined) return { error: `${key} "${value}" is not On or Off; expected On or Off` };
      if (key === 'scolonpathdelim') b.scolonPathDelim = on;
      else if (key === 'nofailover') b.nofailover = on;
      else if (key === 'failontimeout') b.failOnTimeout = on;
      else b.forceRecovery = on;
      return undefined;
    }
    case 'maxattempts':
      return setChecked(key, value, parseMaxAttempts(value), (n) => void (b.maxAttempts = n));
    case 'timeout':
      return setTimeoutParam(value, (ms) => {
        b.timeout = ms;
      });
    case 'growth': {
      const n = parseInteger(value, 0, 100);
      if (n === undefined) return { error: `growth "${value}" is not a number from 0 to 100 (spare member slots for the balancer manager)` };
      b.growth = n;
      return undefined;
    }
    case 'failonstatus': {
      const codes: number[] = [];
      for (const part of value.split(/[ ,]+/).filter((p) => p !== '')) {
        const code = parseInteger(part, 100, 599);
        if (code === undefined) return { error: `failonstatus "${value}" contains "${part}"; expected HTTP status codes from 100 to 599 separated by commas` };
        codes.push(code);
      }
      b.failOnStatus = codes;
      return undefined;
    }
  }
  if (IGNORED_BALANCER_KEYS.has(key)) return { warning: `ignored: balancer parameter ${key} is not implemented by Stickler` };
  const hint = WORKER_KEYS.includes(key) ? ` (${key} is a member parameter: put it on the BalancerMember line)` : didYouMean(key, BALANCER_KEYS);
  return { error: `unknown balancer parameter "${key}"${hint}; expected one of ${BALANCER_KEYS.join(', ')}` };
}

export function newMember(url: string, source: MemberConfig['source']): MemberConfig {
  return { source, url, route: '', redirect: '', loadfactor: 1, lbset: 0, status: [], retry: 60_000 };
}

export function newBalancer(name: string, source: BalancerConfig['source']): BalancerConfig {
  return {
    source, name, lbmethod: 'byrequests', stickySeparator: '.', scolonPathDelim: false, nofailover: false,
    timeout: 0, forceRecovery: true, failOnStatus: [], members: [],
    // httpd's default: no room for members added through the balancer manager unless growth= says so.
    growth: 0,
  };
}
