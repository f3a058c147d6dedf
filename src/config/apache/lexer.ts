// Apache httpd configuration text → logical lines → words, with the same rules as httpd's cfg_getline and
// ap_getword_conf: a trailing `\` joins the next line BEFORE comments are recognised (so a comment ending in
// `\` swallows the next line, as in httpd), `#` starts a comment only as the first non-blank character, and
// words may be quoted with "..." or '...' where a backslash escapes the quote character.

export interface LogicalLine {
  /** Line number (1-based) where the logical line starts. */
  line: number;
  text: string;
}

export function readLogicalLines(text: string): LogicalLine[] {
  const physical = text.split(/\r?\n/);
  const out: LogicalLine[] = [];
  let start = 0;
  let buffer = '';
  let continuing = false;
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i] ?? '';
    if (!continuing) start = i + 1;
    if (raw.endsWith('\\')) {
      buffer += raw.slice(0, -1);
      continuing = true;
      continue;
    }
    buffer += raw;
    continuing = false;
    pushLine(out, start, buffer);
    buffer = '';
  }
  if (continuing) pushLine(out, start, buffer);
  return out;
}

function pushLine(out: LogicalLine[], line: number, text: string): void {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return;
  out.push({ line, text: trimmed });
}

export type Tokens = { ok: true; words: string[] } | { ok: false; message: string };

/**
 * With `braces`, also ap_getword_conf2's `{...}` (braces nest): one word without its braces, quotes and spaces
 * kept, as the few directives that take an expression read it.
 */
export function tokenize(text: string, options: { braces?: boolean } = {}): Tokens {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '{' && options.braces) {
      let depth = 0;
      let j = i;
      for (; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) break;
      }
      if (j >= text.length) return { ok: false, message: `unterminated brace: { opened at column ${i + 1} is never closed; expected a matching }` };
      words.push(text.slice(i + 1, j));
      i = j + 1;
      continue;
    }
    if (c === '"' || c === "'") {
      let word = '';
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\' && text[j + 1] === c) j++;
        word += text[j];
      }
      if (j >= text.length) {
        return { ok: false, message: `unterminated quote: ${c} opened at column ${i + 1} is never closed; expected a matching ${c} before the end of the line` };
      }
      words.push(word);
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < text.length && text[j] !== ' ' && text[j] !== '\t') j++;
    words.push(text.slice(i, j));
    i = j;
  }
  return { ok: true, words };
}

/** One classified configuration line. */
export type Statement =
  /** `rest` is the text after the name as written, for the directives httpd reads raw (ProxyHCExpr). */
  | { kind: 'directive'; name: string; args: string[]; rest: string }
  | { kind: 'open'; name: string; args: string[] }
  | { kind: 'close'; name: string };

export type Classified = { ok: true; statement: Statement } | { ok: false; directive: string; message: string };

/** Splits a logical line into a directive, a `<Section args>` opening or a `</Section>` closing. */
export function classify(text: string): Classified {
  if (text.startsWith('</')) {
    const m = /^<\/\s*([^\s>]+)\s*>$/.exec(text);
    if (!m?.[1]) return { ok: false, directive: text, message: `malformed closing tag; expected </Name>` };
    return { ok: true, statement: { kind: 'close', name: m[1] } };
  }
  if (text.startsWith('<')) {
    const m = /^<([^\s>]+)/.exec(text);
    const name = m?.[1] ?? '';
    if (name === '') return { ok: false, directive: '<', message: 'section tag without a name; expected <Name arguments>' };
    if (!text.endsWith('>')) {
      return { ok: false, directive: `<${name}>`, message: `missing closing '>'; expected <${name} arguments>` };
    }
    const tokens = tokenize(text.slice(name.length + 1, -1));
    if (!tokens.ok) return { ok: false, directive: `<${name}>`, message: tokens.message };
    return { ok: true, statement: { kind: 'open', name, args: tokens.words } };
  }
  const tokens = tokenize(text);
  if (!tokens.ok) return { ok: false, directive: text.split(/[ \t]/)[0] ?? text, message: tokens.message };
  const [name = '', ...args] = tokens.words;
  // A quoted empty word (`""`) is no name; the line is named as written instead.
  if (name === '') return { ok: false, directive: text.split(/[ \t]/)[0] || text, message: 'the directive name is empty; expected Directive [arguments]' };
  return { ok: true, statement: { kind: 'directive', name, args, rest: text.replace(/^\S+[ \t]*/, '') } };
}
