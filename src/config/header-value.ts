// The syntax of mod_headers' values and patterns, checked once where both readers and the request path meet: the
// Apache reader refuses a bad one with its file and line, and src/proxy/header-rules.ts renders the pieces per
// request. Values parse into data, not code, so that this module stays on the configuration's floor.
import { RE2JS } from 're2js';
import { fromPcre } from './health-regex.ts';
import { isToken } from '../http/syntax.ts';
import type { HeaderRule } from './model.ts';

/** One piece of a value: literal text, or a format tag read per request. */
export type HeaderValuePiece =
  | { kind: 'text'; text: string }
  /** `%t`: when the request arrived. */
  | { kind: 'time' }
  /** `%D`: how long since it arrived. */
  | { kind: 'elapsed' }
  /** `%{NAME}e`: the request's environment (BALANCER_*, HTTPS). */
  | { kind: 'env'; name: string }
  /** `%{NAME}s`: a mod_ssl variable Stickler knows. */
  | { kind: 'ssl'; name: string };

const FORMATS = '%%, %t, %D, %{VARIABLE}e or %{VARIABLE}s';

/** mod_headers' format tags that read httpd's process pool, which Stickler does not have. */
const POOL_TAGS: Record<string, string> = { l: 'the load average', i: 'the idle percentage of httpd\'s workers', b: 'the busy percentage of httpd\'s workers' };

const TAGS: Record<string, (arg: string) => HeaderValuePiece> = {
  t: () => ({ kind: 'time' }),
  D: () => ({ kind: 'elapsed' }),
  e: (name) => ({ kind: 'env', name }),
  s: (name) => ({ kind: 'ssl', name }),
};

/**
 * A value in mod_headers' format: literal text with `\t`, `\\` escapes, and `%` tags. Returns what is wrong with
 * it as a sentence. CR and LF are refused: httpd would send them and split the head.
 */
export function parseHeaderValue(text: string): HeaderValuePiece[] | string {
  if (text.startsWith('expr=')) return `an expr= value (ap_expr) is not supported by Stickler; expected a value in mod_headers' format with ${FORMATS}`;
  const pieces: HeaderValuePiece[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === 'r' || next === 'n') return `"${text}" holds \\${next}, which would split the head; expected a value on one line`;
      if (next === '\\' || next === 't') {
        literal += next === 't' ? '\t' : '\\';
        i++;
      } else literal += c;
      continue;
    }
    if (c !== '%') {
      literal += c;
      continue;
    }
    // `%%`, and a `%` that ends the value, are a `%`.
    if (text[i + 1] === '%' || i + 1 === text.length) {
      literal += '%';
      i++;
      continue;
    }
    let arg = '';
    let j = i + 1;
    if (text[j] === '{') {
      const close = text.indexOf('}', j);
      if (close < 0) return `the format tag at "${text.slice(i)}" is never closed; expected %{VARIABLE}e or %{VARIABLE}s`;
      arg = text.slice(j + 1, close);
      j = close + 1;
    }
    const tag = text[j];
    const make = tag !== undefined && Object.hasOwn(TAGS, tag) ? TAGS[tag] : undefined;
    if (make === undefined) {
      const pool = tag !== undefined && Object.hasOwn(POOL_TAGS, tag) ? POOL_TAGS[tag] : undefined;
      if (pool !== undefined) return `%${tag} is ${pool}, which Stickler does not have; expected ${FORMATS}`;
      return `unknown format tag "${text.slice(i, j + 1)}"; expected ${FORMATS}`;
    }
    if (literal !== '') pieces.push({ kind: 'text', text: asBytes(literal) });
    literal = '';
    pieces.push(make(arg));
    i = j;
  }
  if (literal !== '' || pieces.length === 0) pieces.push({ kind: 'text', text: asBytes(literal) });
  return pieces;
}

/**
 * Fields Stickler writes itself, on both sides: how a message is framed and what holds for one hop only. A rule
 * that set them (or `Header echo` copying a client's) could send a head whose framing contradicts its body.
 */
const FRAMED_BY_STICKLER = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade']);

export function isFramedByStickler(name: string): boolean {
  return FRAMED_BY_STICKLER.has(name.toLowerCase());
}

/** What is wrong with a rule's field name, as a sentence; undefined when it is one a rule may write. */
export function headerNameProblem(name: string): string | undefined {
  if (!isToken(name)) return `"${name}" is not a field name (letters, digits and !#$%&'*+-.^_\`|~ only); expected a header name`;
  if (isFramedByStickler(name)) return `${name} is framing or hop-by-hop: Stickler writes it itself for each connection, so a rule cannot set it; expected another header name`;
  return undefined;
}

/**
 * httpd sends a value's bytes as the configuration file holds them: `café` in a UTF-8 file goes out as its UTF-8
 * bytes. Heads are latin1 strings here, one character per byte, so the text is turned into those bytes.
 */
function asBytes(text: string): string {
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** A regular expression of the configuration, as PCRE reads it, run on RE2; a sentence when it cannot be. */
export function compilePattern(source: string): RE2JS | string {
  const translated = fromPcre(source);
  if (typeof translated !== 'string') return `"${source}" uses ${translated.unsupported}, which Stickler cannot run: its patterns are matched in linear time (RE2), without backreferences or lookaround`;
  try {
    return RE2JS.compile(translated);
  } catch (err) {
    return `"${source}" is not a valid regular expression: ${(err as Error).message.replace(/^error parsing regexp: /, '')}`;
  }
}

/** The regular expression a rule carries: echo's header pattern, or edit's. */
export function headerRulePattern(rule: HeaderRule): string | undefined {
  return rule.action === 'echo' ? rule.header : rule.pattern;
}

/** What is wrong with a rule's value or pattern, as a sentence; undefined when the request path can run it. */
export function headerRuleProblem(rule: HeaderRule): string | undefined {
  // echo's "name" is a pattern over the request's field names, checked as one below.
  const name = rule.action === 'echo' ? undefined : headerNameProblem(rule.header);
  if (name !== undefined) return name;
  const value = rule.value === undefined ? undefined : parseHeaderValue(rule.value);
  if (typeof value === 'string') return value;
  const source = headerRulePattern(rule);
  const regex = source === undefined ? undefined : compilePattern(source);
  return typeof regex === 'string' ? regex : undefined;
}
