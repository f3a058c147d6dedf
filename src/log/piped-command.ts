// How httpd 2.4 turns a piped log's destination into the program it runs (server/log.c ap_open_piped_log):
// `|$command` through the shell, `|command` and `||command` directly, the words split as APR splits them.

export interface PipedCommand {
  file: string;
  args: string[];
  /** Whether the command goes through /bin/sh (`|$`). */
  shell: boolean;
}

export function pipedCommand(destination: string): PipedCommand {
  let program = destination.slice(1);
  if (program.startsWith('|')) program = program.slice(1);
  if (program.startsWith('$')) return { file: '/bin/sh', args: ['-c', program.slice(1)], shell: true };
  const [file = '', ...args] = splitArguments(program);
  return { file, args, shell: false };
}

const blank = (c: string | undefined): boolean => c === ' ' || c === '\t';

/**
 * APR's apr_tokenize_to_argv, quirks included: words split on spaces and tabs; a `"` or `'` groups only at the
 * start of a word, and the word ends at the same quote; a backslash before a blank or a quote keeps that character
 * in the word. Inside a quoted word a blank also shields the character after it, so `"a " b` is one word. Every
 * backslash is then removed but one that follows another (`\\` is `\`).
 */
export function splitArguments(text: string): string[] {
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (blank(text[i])) i++;
    if (i >= text.length) return words;
    const quote = text[i] === '"' || text[i] === "'" ? text[i] : undefined;
    if (quote !== undefined) i++;
    const start = i;
    for (; i < text.length; i++) {
      const c = text[i]!;
      const next = text[i + 1];
      if ((quote !== undefined && blank(c)) || (c === '\\' && (blank(next) || next === '"' || next === "'"))) {
        i++;
        continue;
      }
      if (quote === undefined ? blank(c) : c === quote) break;
    }
    const end = Math.min(i, text.length);
    words.push(removeEscapes(text.slice(start, end)));
    i = end + 1;
  }
}

function removeEscapes(word: string): string {
  if (!word.includes('\\')) return word;
  let out = '';
  for (let i = 0; i < word.length; i++) {
    if (word[i] === '\\') i++;
    if (i < word.length) out += word[i];
  }
  return out;
}
