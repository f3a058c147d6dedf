// The regular expressions of health-check conditions (`=~ /regex/`, `!~ m#regex#i`), read as httpd's PCRE would
// read them and run on RE2 (re2js): a check runs on the thread that may also serve traffic, and a backtracking
// engine can spend hours on one pattern and one body (httpd's PCRE stops at a match limit instead). Their automata
// are built whole as they are parsed (health-automaton.ts), so a check never builds one. Problems are thrown as
// SyntaxError with the literal's column, which health-expr.ts reports as the expression's error.
import { RE2JS } from 're2js';
import { buildAutomaton } from './health-automaton.ts';

/** `/regex/` or `m#regex#`, with an optional `i` flag (ap_expr's only flag). */
export function regexLiteral(text: string, start: number): [RE2JS, number] {
  const open = text[start] === 'm' ? start + 1 : start;
  const delimiter = text[open]!;
  let source = '';
  let i = open + 1;
  for (; i < text.length && text[i] !== delimiter; i++) {
    if (text[i] === '\\' && i + 1 < text.length) {
      // An escaped delimiter is the delimiter itself; other escapes belong to the regular expression.
      source += text[i + 1] === delimiter && delimiter !== '/' ? delimiter : text.slice(i, i + 2);
      i++;
    } else {
      source += text[i];
    }
  }
  if (i >= text.length) throw new SyntaxError(`the regular expression at column ${start + 1} is never closed; expected a closing ${delimiter}`);
  i++;
  let flags = 0;
  if (text[i] === 'i') {
    flags = RE2JS.CASE_INSENSITIVE;
    i++;
  }
  if (/\w/.test(text[i] ?? '')) throw new SyntaxError(`unknown regular expression flag "${text[i]}" at column ${i + 1}; expected none or i`);
  const literal = `the regular expression ${text.slice(start, i)} at column ${start + 1}`;
  const translated = fromPcre(source);
  if (typeof translated !== 'string') {
    throw new SyntaxError(`${literal} uses ${translated.unsupported}, which a health check cannot run: its patterns are matched in linear time (RE2), without backreferences or lookaround`);
  }
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(translated, flags);
  } catch (err) {
    throw new SyntaxError(`${literal} is invalid: ${(err as Error).message.replace(/^error parsing regexp: /, '')}`);
  }
  const tooCostly = buildAutomaton(regex);
  if (tooCostly !== undefined) {
    throw new SyntaxError(`${literal} is too complex for a health check: ${tooCostly}; expected a simpler pattern, with fewer or smaller counted repeats such as {1,9}`);
  }
  return [regex, i];
}

/** Constructs only a backtracking engine can run, found outside character classes. */
const BACKTRACKING: ReadonlyArray<[RegExp, string]> = [
  [/^\\[1-9gk]/, 'a backreference'],
  [/^\(\?<?[=!]/, 'a lookaround assertion'],
  [/^\(\?>/, 'an atomic group'],
];

/**
 * httpd matches with PCRE, where `$` and `\Z` also match before a final newline: a body of "UP\n" matches /^UP$/.
 * RE2's `$` does not and it has no `\Z`, so both become "an optional final newline, then the end": a pattern goes on
 * matching after `$` only past that newline, which only patterns that expect a newline after `$` can tell apart.
 */
export function fromPcre(source: string): string | { unsupported: string } {
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    for (const [construct, name] of inClass ? [] : BACKTRACKING) {
      const found = construct.exec(source.slice(i, i + 4));
      if (found) return { unsupported: `${name} (${found[0]})` };
    }
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      i++;
      if (!inClass && next === 'Z') out += END;
      else if (!inClass && next === 'Q') {
        // \Q...\E is literal text, `$` included.
        const end = source.indexOf('\\E', i + 1);
        const stop = end < 0 ? source.length : end + 2;
        out += source.slice(i - 1, stop);
        i = stop - 1;
      } else out += c + next;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
      if (source[i + 1] === '^') out += source[++i];
      // As in PCRE, a `]` right after the opening bracket is a literal, not the end of the class.
      if (source[i + 1] === ']') out += source[++i];
    } else {
      out += c === '$' ? END : c;
    }
  }
  return out;
}

const END = '(?:\\n?\\z)';
