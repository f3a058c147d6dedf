// The small value syntaxes of the native YAML format (durations, status flags, sticky names, access
// expressions, switches). Parsing and printing live side by side so the converter always writes what the
// loader reads back.

import { compileLogFormat } from '../../log/format.ts';
import type { AccessLogFormat, HostMatch, Millis, ReadTimeout, StatusFlag } from '../model.ts';
import { STATUS_FLAGS, because, parseStatusFlags, parseStickySession, statusFlag, type Verdict } from '../balancer-values.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string): Parsed<T> => ({ ok: false, message });

/** A shared rule's verdict (balancer-values.ts), its reason said about the value as YAML messages name it. */
export function checked<T>(parse: (input: unknown) => Verdict<T>): (input: unknown) => Parsed<T> {
  return (input) => {
    const verdict = parse(input);
    return verdict.ok ? ok(verdict.value) : fail(because(describe(input), verdict.reason));
  };
}

/** How a YAML value is named in messages: `got a list`, `got "abc"`. */
export function describe(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'an empty value';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return `"${input}"`;
  return String(input);
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;

/** `60s`, `500ms`, `2m`, `1h`, or a number of seconds; the result must be whole milliseconds >= `min`. */
export function parseDuration(input: unknown, min: Millis): Parsed<Millis> {
  const expected = `expected a duration such as 60s, 500ms or 2m, or a number of seconds`;
  let ms: number;
  if (typeof input === 'number' && Number.isFinite(input) && input >= 0) {
    ms = input * 1000;
  } else if (typeof input === 'string' && DURATION.test(input.trim())) {
    const [, amount, unit] = DURATION.exec(input.trim()) ?? [];
    ms = Number(amount) * (UNIT_MS[unit ?? 's'] ?? 1000);
  } else {
    return fail(`${expected}, got ${describe(input)}`);
  }
  const whole = Math.round(ms);
  if (Math.abs(whole - ms) > 1e-6) return fail(`${describe(input)} is not a whole number of milliseconds`);
  if (whole < min) return fail(`must be at least ${formatDuration(min)}, got ${describe(input)}`);
  return ok(whole);
}

export function formatDuration(ms: Millis): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

const UNIT_BYTES: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
const SIZE = /^(\d+)\s*([kmg])?$/i;

/** A number of bytes, or `64k`, `1m`, `1g` (binary multiples, as nginx reads them); at least `min`. */
export function parseSize(input: unknown, min: number): Parsed<number> {
  const match = typeof input === 'string' ? SIZE.exec(input.trim()) : undefined;
  const bytes = typeof input === 'number' ? input : match ? Number(match[1]) * (UNIT_BYTES[(match[2] ?? '').toLowerCase()] ?? 1) : NaN;
  if (!Number.isSafeInteger(bytes)) return fail(`expected a size in bytes such as 8190, 64k, 1m or 1g, got ${describe(input)}`);
  if (bytes < min) return fail(`must be at least ${min} bytes, got ${describe(input)}`);
  return ok(bytes);
}

export function formatSize(bytes: number): string | number {
  for (const unit of ['g', 'm', 'k']) {
    const factor = UNIT_BYTES[unit]!;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return bytes;
}

const READ_TIMEOUT_KEYS = ['timeout', 'min-rate', 'max'];

/**
 * A stage of reading a request: a duration (fixed, like Apache's `header=20`), or `{ timeout, min-rate, max }`
 * (like `header=20-40,MinRate=500`), where each `min-rate` bytes received earn one more second, up to `max`.
 */
export function parseReadTimeout(input: unknown): Parsed<ReadTimeout> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const fixed = parseDuration(input, 1);
    return fixed.ok ? ok({ timeout: fixed.value, minRate: 0, max: 0 }) : fixed;
  }
  const fields = input as Record<string, unknown>;
  const unknown = Object.keys(fields).find((key) => !READ_TIMEOUT_KEYS.includes(key));
  if (unknown !== undefined) return fail(`unknown key "${unknown}"; expected ${READ_TIMEOUT_KEYS.join(', ')}`);
  const timeout = parseDuration(fields.timeout, 1);
  if (!timeout.ok) return fail(`timeout: ${timeout.message}`);
  const minRate = fields['min-rate'] === undefined ? ok(0) : parseNumber(fields['min-rate'], 1, Infinity, true);
  if (!minRate.ok) return fail(`min-rate: ${minRate.message} (bytes per second)`);
  const max = fields.max === undefined ? ok(0) : parseDuration(fields.max, 1);
  if (!max.ok) return fail(`max: ${max.message}`);
  if (max.value > 0 && minRate.value === 0) return fail('max needs min-rate: without a rate the timeout never grows');
  if (max.value > 0 && max.value <= timeout.value) return fail(`max (${formatDuration(max.value)}) must be longer than timeout (${formatDuration(timeout.value)})`);
  return ok({ timeout: timeout.value, minRate: minRate.value, max: max.value });
}

export function formatReadTimeout(stage: ReadTimeout): string | Record<string, unknown> {
  if (stage.minRate === 0) return formatDuration(stage.timeout);
  return { timeout: formatDuration(stage.timeout), 'min-rate': stage.minRate, ...(stage.max > 0 && { max: formatDuration(stage.max) }) };
}

export function parseNumber(input: unknown, min: number, max: number, integer: boolean): Parsed<number> {
  const kind = integer ? 'a whole number' : 'a number';
  const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
  if (typeof input !== 'number' || !Number.isFinite(input) || (integer && !Number.isInteger(input)) || input < min || input > max) {
    return fail(`expected ${kind} ${range}, got ${describe(input)}`);
  }
  return ok(input);
}

/** YAML booleans, plus Apache's `on`/`off` so migrated habits keep working. */
export function parseSwitch(input: unknown): Parsed<boolean> {
  if (typeof input === 'boolean') return ok(input);
  if (typeof input === 'string' && /^(on|off)$/i.test(input)) return ok(input.toLowerCase() === 'on');
  return fail(`expected true or false, got ${describe(input)}`);
}

export function parseText(input: unknown, what: string): Parsed<string> {
  if (typeof input === 'string' && input.trim() !== '') return ok(input);
  return fail(`expected ${what}, got ${describe(input)}`);
}

export function parseChoice<T extends string>(input: unknown, choices: readonly T[]): Parsed<T> {
  const found = choices.find((c) => c === input);
  return found === undefined ? fail(`expected one of ${choices.join(', ')}, got ${describe(input)}`) : ok(found);
}

/** `combined` (Stickler's line), `json`, or a mod_log_config format string such as `%h %l %u %t "%r" %>s %b`. */
export function parseLogFormat(input: unknown): Parsed<AccessLogFormat> {
  if (input === 'combined') return ok({ kind: 'stickler' });
  if (input === 'json') return ok({ kind: 'json' });
  if (typeof input !== 'string' || !input.includes('%')) return fail(`expected combined, json or a format such as "%h %l %u %t \\"%r\\" %>s %b", got ${describe(input)}`);
  const compiled = compileLogFormat(input);
  return 'error' in compiled ? fail(compiled.error) : ok({ kind: 'apache', text: input });
}

/** The YAML value of a format. */
export function formatLogFormat(format: AccessLogFormat): string {
  return format.kind === 'stickler' ? 'combined' : format.kind === 'json' ? 'json' : format.text;
}

/** `VAR` or `!VAR`: log only the requests where the environment variable is set, or is not. */
export function parseLogCondition(input: unknown): Parsed<{ variable: string; negate: boolean }> {
  const m = typeof input === 'string' ? /^(!?)([A-Za-z_][A-Za-z0-9_]*)$/.exec(input) : null;
  return m ? ok({ variable: m[2]!, negate: m[1] === '!' }) : fail(`expected a variable name such as BALANCER_ROUTE_CHANGED, or !NAME, got ${describe(input)}`);
}

export function formatLogCondition(condition: { variable: string; negate: boolean }): string {
  return `${condition.negate ? '!' : ''}${condition.variable}`;
}

/**
 * Apache's `status=` string (+H-E, as balancer-values.ts reads it), or for readability a list of flags ([H, D]).
 */
export function parseStatus(input: unknown): Parsed<StatusFlag[]> {
  if (!Array.isArray(input)) return checked(parseStatusFlags)(input);
  const set: StatusFlag[] = [];
  for (const item of input) {
    const flag = typeof item === 'string' && item.length === 1 ? statusFlag(item) : undefined;
    if (flag === undefined) return fail(`${describe(item)} is not a flag; expected a list of flags from ${STATUS_FLAGS.join(', ')}, such as [H, D]`);
    if (!set.includes(flag)) set.push(flag);
  }
  return ok(set);
}

export function formatStatus(flags: readonly StatusFlag[]): string {
  return `+${flags.join('')}`;
}

/** `COOKIE` or `COOKIE|urlparam`, as in Apache's `stickysession=`. */
export const parseSticky = checked(parseStickySession);

/** One character, or `off`/`false` for "the whole session value is the route" (stored as null). */
export function parseSeparator(input: unknown): Parsed<string | null> {
  if (input === false || (typeof input === 'string' && input.toLowerCase() === 'off')) return ok(null);
  if (typeof input === 'string' && [...input].length === 1) return ok(input);
  return fail(`expected a single character or off, got ${describe(input)}`);
}

export function formatSeparator(separator: string | null): string {
  return separator ?? 'off';
}

const HOST_MATCH_EXPECTED = 'expected all, ip ADDRESS[/BITS] or host NAME';

/** `all`, `ip 10.0.0.0/8`, `host example.com`: one match per entry, like one argument of `Allow from`. */
export function parseHostMatch(input: unknown): Parsed<HostMatch> {
  if (typeof input !== 'string') return fail(`${HOST_MATCH_EXPECTED}, got ${describe(input)}`);
  const words = input.trim().split(/\s+/);
  const [kind, value] = words;
  if (words.length === 1 && kind === 'all') return ok({ kind: 'all' });
  if (words.length === 2 && value !== undefined) {
    if (kind === 'ip') return ok({ kind: 'ip', cidr: value });
    if (kind === 'host') return ok({ kind: 'host', name: value });
  }
  const hint = words.length > 2 ? ' (write one address or host per entry)' : '';
  return fail(`${HOST_MATCH_EXPECTED}${hint}, got ${describe(input)}`);
}

export function formatHostMatch(match: HostMatch): string {
  if (match.kind === 'all') return 'all';
  return match.kind === 'ip' ? `ip ${match.cidr}` : `host ${match.name}`;
}

export type RequireMatch = 'all-granted' | 'all-denied' | 'local' | HostMatch;

/** Apache's `Require` arguments with one value: `all granted`, `not ip 10.1.0.0/16`, `local`. */
export function parseRequire(input: unknown): Parsed<{ negate: boolean; match: RequireMatch }> {
  const expected = 'expected [not] all granted, all denied, local, ip ADDRESS[/BITS] or host NAME';
  if (typeof input !== 'string') return fail(`${expected}, got ${describe(input)}`);
  const text = input.trim().replace(/\s+/g, ' ');
  const negate = text.startsWith('not ');
  const rest = negate ? text.slice(4) : text;
  if (rest === 'all granted') return ok({ negate, match: 'all-granted' });
  if (rest === 'all denied') return ok({ negate, match: 'all-denied' });
  if (rest === 'local') return ok({ negate, match: 'local' });
  if (rest !== 'all') {
    const host = parseHostMatch(rest);
    if (host.ok) return ok({ negate, match: host.value });
  }
  return fail(`${expected}, got ${describe(input)}`);
}

export function formatRequire(negate: boolean, match: RequireMatch): string {
  const text = match === 'all-granted' ? 'all granted'
    : match === 'all-denied' ? 'all denied'
    : match === 'local' ? 'local'
    : formatHostMatch(match);
  return negate ? `not ${text}` : text;
}
