// mod_headers' `Header` and `RequestHeader` rules, compiled once and applied to a head's fields as httpd applies
// them (modules/metadata/mod_headers.c): apr table operations on a list whose names match without regard to case,
// value formats evaluated per request, regular expressions run on RE2 (request data never meets a backtracking
// engine). Which rules a request gets (its <Location>, its <Proxy>) is decided here too; the exchange only calls.
import type { RE2JS } from 're2js';
import type { BalancerFacts } from '../balancer/balancer.ts';
import { compilePattern, headerRulePattern, isFramedByStickler, parseHeaderValue, type HeaderValuePiece } from '../config/header-value.ts';
import { prefixLength } from '../config/path-prefix.ts';
import type { HeaderRule } from '../config/model.ts';
import { equalsLowerCase } from '../http/field-name.ts';
import { asFieldValue } from '../http/syntax.ts';
import type { HeaderList } from '../http/head.ts';
import type { AccessEntry } from '../log/entry.ts';
import { environmentValue, sslVariable } from '../log/format.ts';

/** What a rule's values and conditions read of the request. */
export interface RuleContext {
  /** The request as logged so far: its fields, arrival time, scheme and TLS connection. */
  entry: AccessEntry;
  /** Apache's BALANCER_* facts; undefined for request rules, which httpd applies before the balancer chooses. */
  facts: BalancerFacts | undefined;
  /** Microseconds since the request arrived (`%D`). */
  elapsedUs: number;
}

/** Where a request is: its path, for <Location> rules, and the balancer and path it is proxied to, for <Proxy> rules. */
export interface RulePlace {
  path: string;
  balancer?: string | undefined;
  /** The path (and query) the member is asked for, below the balancer's or origin's URL. */
  backendPath?: string | undefined;
}

type Part = (c: RuleContext) => string;

export interface CompiledRule {
  readonly rule: HeaderRule;
  readonly value: Part | undefined;
  readonly regex: RE2JS | undefined;
}

/** A virtual host's rules by the table they edit; absent when it has none, so a request without rules pays nothing. */
export interface HeaderRules {
  request: CompiledRule[];
  onsuccess: CompiledRule[];
  always: CompiledRule[];
}

/** A value in mod_headers' format, compiled from its checked pieces (config/header-value.ts) into one function. */
export function compileValue(text: string): Part | string {
  const pieces = parseHeaderValue(text);
  if (typeof pieces === 'string') return pieces;
  const parts = pieces.map(pieceRenderer);
  return parts.length === 1 ? parts[0]! : (c) => parts.map((p) => p(c)).join('');
}

function pieceRenderer(piece: HeaderValuePiece): Part {
  switch (piece.kind) {
    case 'text':
      return () => piece.text;
    case 'time':
      return (c) => `t=${c.entry.time.getTime() * 1000}`;
    case 'elapsed':
      return (c) => `D=${Math.floor(c.elapsedUs)}`;
    case 'env':
      return (c) => unwrap(environmentValue(c.facts, c.entry, piece.name));
    case 'ssl':
      return (c) => unwrap(sslVariable(c.entry, piece.name));
  }
}

/**
 * httpd's unwrap_header: a variable's CR and LF become spaces; an unset one is `(null)`, as httpd writes it. Any
 * other byte no field may hold becomes a space too, where httpd would send it raw: mod_ssl escapes the certificate's
 * control characters, but a client's SNI (SSL_TLS_SNI) is its own bytes, and a value the head cannot carry would
 * fail the request (and, in a `Header always` rule, the error response after it).
 */
function unwrap(value: string | undefined): string {
  return value === undefined ? '(null)' : asFieldValue(value);
}

/** A rule's value and regular expression, compiled; a sentence saying what is wrong otherwise. */
export function compileRule(rule: HeaderRule): CompiledRule | string {
  const value = rule.value === undefined ? undefined : compileValue(rule.value);
  if (typeof value === 'string') return value;
  const source = headerRulePattern(rule);
  const regex = source === undefined ? undefined : compilePattern(source);
  if (typeof regex === 'string') return regex;
  return { rule, value, regex };
}

/** A virtual host's rules, already checked when the configuration was read; undefined when it has none. */
export function compileHeaderRules(rules: readonly HeaderRule[] | undefined): HeaderRules | undefined {
  if (rules === undefined || rules.length === 0) return undefined;
  const out: HeaderRules = { request: [], onsuccess: [], always: [] };
  for (const rule of rules) {
    const compiled = compileRule(rule);
    if (typeof compiled === 'string') throw new Error(`${rule.source.file}:${rule.source.line}: ${compiled}`);
    (rule.direction === 'request' ? out.request : out[rule.condition]).push(compiled);
  }
  return out;
}

/** Whether a rule of a <Location> or <Proxy> section covers the request. */
function covers(rule: HeaderRule, place: RulePlace): boolean {
  if (rule.location !== undefined && prefixLength(place.path, rule.location) === 0) return false;
  if (rule.proxy !== undefined && (place.balancer === undefined || (rule.proxy !== '*' && rule.proxy !== place.balancer))) return false;
  // httpd's proxy_walk compares the section's URL with the proxied one as a plain string prefix, not by segments.
  return rule.proxyPath === undefined || (place.backendPath ?? '').startsWith(rule.proxyPath);
}

/** The env= condition, read as httpd reads its environment table: set means present, even when empty. */
function conditionHolds(rule: HeaderRule, c: RuleContext): boolean {
  if (rule.env === undefined) return true;
  return (environmentValue(c.facts, c.entry, rule.env.variable) !== undefined) !== rule.env.negate;
}

/** Applies `rules` in order to `headers`, in place, as httpd's do_headers_fixup edits one table. */
export function applyHeaderRules(rules: readonly CompiledRule[], headers: HeaderList, place: RulePlace, c: RuleContext): HeaderList {
  for (const compiled of rules) {
    const { rule } = compiled;
    if (!covers(rule, place) || !conditionHolds(rule, c)) continue;
    apply(compiled, headers, c);
  }
  return headers;
}

function apply({ rule, value, regex }: CompiledRule, headers: HeaderList, c: RuleContext): void {
  const name = rule.header;
  const lower = name.toLowerCase();
  switch (rule.action) {
    case 'add':
      return void headers.push([name, value!(c)]);
    case 'set':
      return setField(headers, name, lower, value!(c));
    case 'setifempty':
      if (find(headers, lower) < 0) headers.push([name, value!(c)]);
      return;
    case 'append':
      return mergeField(headers, name, lower, value!(c));
    case 'merge': {
      const v = value!(c);
      const first = find(headers, lower);
      if (first < 0 || !hasToken(headers[first]![1], v)) mergeField(headers, name, lower, v);
      return;
    }
    case 'unset':
      return unsetField(headers, lower);
    case 'echo':
      // The client's framing and hop-by-hop fields describe its own connection, never the response.
      for (const [n, v] of c.entry.requestHeaders ?? []) if (regex!.matcher(n).find() && !isFramedByStickler(n)) headers.push([n, v]);
      return;
    case 'edit':
    case 'edit*': {
      if (find(headers, lower) < 0) return;
      // httpd edits every field of the name, then puts the edited ones last.
      const substitution = value!(c);
      const edited: HeaderList = [];
      for (const [n, v] of headers) if (equalsLowerCase(n, lower)) edited.push([n, edit(regex!, v, substitution, rule.action === 'edit*')]);
      unsetField(headers, lower);
      headers.push(...edited);
      return;
    }
  }
}

/**
 * The client's response fields: `always` rules edit httpd's err_headers_out, empty for Stickler's answers, sent
 * before the rest; `onsuccess` rules edit a member's answer and Stickler's own successful ones (the manager, the
 * console, as httpd's handlers), never Stickler's 4xx and 5xx, which httpd sends as error responses.
 */
export function responseFields(rules: HeaderRules, headers: HeaderList, status: number, fromMember: boolean, place: RulePlace, c: RuleContext): HeaderList {
  const always = rules.always.length === 0 ? [] : applyHeaderRules(rules.always, [], place, c);
  const success = fromMember || status < 400 ? applyHeaderRules(rules.onsuccess, headers, place, c) : headers;
  return always.length === 0 ? success : [...always, ...success];
}

function find(headers: HeaderList, lower: string): number {
  for (let i = 0; i < headers.length; i++) if (equalsLowerCase(headers[i]![0], lower)) return i;
  return -1;
}

/** apr_table_setn: the first field takes the value (and keeps its name), the others go. */
function setField(headers: HeaderList, name: string, lower: string, value: string): void {
  const first = find(headers, lower);
  if (first < 0) return void headers.push([name, value]);
  headers[first] = [headers[first]![0], value];
  removeAfter(headers, lower, first + 1);
}

/** apr_table_mergen: the first field's value gets `, value`; the others stay as they are. */
function mergeField(headers: HeaderList, name: string, lower: string, value: string): void {
  const first = find(headers, lower);
  if (first < 0) headers.push([name, value]);
  else headers[first] = [headers[first]![0], `${headers[first]![1]}, ${value}`];
}

function unsetField(headers: HeaderList, lower: string): void {
  removeAfter(headers, lower, 0);
}

function removeAfter(headers: HeaderList, lower: string, from: number): void {
  let kept = from;
  for (let i = from; i < headers.length; i++) if (!equalsLowerCase(headers[i]![0], lower)) headers[kept++] = headers[i]!;
  headers.length = kept;
}

/**
 * `merge`'s test: whether `value` is already one of the comma-separated tokens, compared as httpd does (exactly,
 * with case; a token keeps the blanks before its comma; commas inside quotes do not split).
 */
export function hasToken(field: string, value: string): boolean {
  let i = 0;
  while (i < field.length) {
    while (i < field.length && /\s/.test(field[i]!)) i++;
    const start = i;
    while (i < field.length && field[i] !== ',') {
      if (field[i++] === '"') while (i < field.length) if (field[i++] === '"') break;
    }
    if (field.slice(start, i) === value) return true;
    if (i < field.length) i++;
  }
  return false;
}

/**
 * httpd's process_regexp: the first match replaced by the substitution (`$0`-`$9` and `&` for groups, `\` taking
 * the next character as it is); `edit*` goes on in what follows each match, matched as a string of its own (so
 * `^` matches there again, as in httpd). An empty match copies one character before the next try, where httpd
 * would loop.
 */
export function edit(regex: RE2JS, value: string, substitution: string, all: boolean): string {
  let out = '';
  let rest = value;
  for (;;) {
    const m = regex.matcher(rest);
    if (!m.find()) return out + rest;
    out += rest.slice(0, m.start()) + substitute(m, substitution);
    let end = m.end();
    if (end === m.start() && end < rest.length) out += rest[end++];
    rest = rest.slice(end);
    if (!all || rest === '') return out + rest;
  }
}

function substitute(m: ReturnType<RE2JS['matcher']>, substitution: string): string {
  let out = '';
  for (let i = 0; i < substitution.length; i++) {
    const c = substitution[i]!;
    const digit = c === '$' ? substitution[i + 1] ?? '' : '';
    if (c === '&') out += m.group(0) ?? '';
    else if (digit >= '0' && digit <= '9') {
      out += (Number(digit) <= m.groupCount() ? m.group(Number(digit)) : null) ?? '';
      i++;
    } else if (c === '\\' && i + 1 < substitution.length) out += substitution[++i];
    else out += c;
  }
  return out;
}
