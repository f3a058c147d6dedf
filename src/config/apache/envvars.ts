// Debian's /etc/apache2/envvars, read as apache2ctl reads it: apache2ctl sources it (`. $APACHE_ENVVARS`) after
// taking its own environment, so an unconditional assignment in the file wins over the environment, and only
// exported variables reach httpd's ${VAR}. The file is a shell script; this reads the subset Debian's and RHEL's
// files use (assignments, export, unset, ${VAR:-default}, ${VAR##prefix}, `if [ a != b ]; then ... else ... fi`)
// and reports every other line instead of guessing what a shell would make of it.
import { dirname, join, resolve } from 'node:path';
import type { Source } from '../model.ts';

export interface Envvars {
  /** The environment httpd would start with: the given one, with the file's exports applied. */
  env: Record<string, string>;
  /** Lines that are not in the subset read here, with what was done instead. */
  skipped: Array<{ source: Source; message: string }>;
}

/**
 * Which envvars file apache2ctl sources: $APACHE_ENVVARS when set, else $APACHE_CONFDIR/envvars when APACHE_CONFDIR
 * is set, each only if it is a file (`test -f`), with no fallback; apache2ctl's default APACHE_CONFDIR is
 * /etc/apache2, and Stickler's is the main file's directory. `skipped` says why a named file is not read.
 */
export function envvarsLookup(mainFile: string, env: Readonly<Record<string, string | undefined>>, isFile: (path: string) => boolean): { file?: string; skipped?: string } {
  const named = env.APACHE_ENVVARS ? { path: resolve(env.APACHE_ENVVARS), by: 'APACHE_ENVVARS' } : env.APACHE_CONFDIR ? { path: join(resolve(env.APACHE_CONFDIR), 'envvars'), by: 'APACHE_CONFDIR' } : undefined;
  if (named === undefined) {
    const beside = join(dirname(mainFile), 'envvars');
    return isFile(beside) ? { file: beside } : {};
  }
  if (isFile(named.path)) return { file: named.path };
  return { skipped: `${named.path} (from ${named.by} in the environment) is not a file; apache2ctl reads no envvars then, and neither does Stickler; expected the envvars file there, or --envvars FILE` };
}

const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const ASSIGNMENT = new RegExp(`^(${NAME})=(.*)$`);

interface Branch {
  /** This branch's lines are run. */
  taking: boolean;
  /** The `if` around it was itself being run; an `else` flips only then. */
  outer: boolean;
  source: Source;
}

/** `env` is the environment apache2ctl runs with (APACHE_CONFDIR already set); the result is a new object. */
export function readEnvvars(text: string, file: string, env: Readonly<Record<string, string | undefined>>): Envvars {
  const vars = new Map<string, string>();
  const exported = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    vars.set(name, value);
    exported.add(name);
  }
  const skipped: Envvars['skipped'] = [];
  const branches: Branch[] = [];
  text.split('\n').forEach((raw, index) => {
    const source = { file, line: index + 1 };
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const taking = branches.at(-1)?.taking ?? true;
    const skip = (message: string) => void skipped.push({ source, message });
    const condition = /^if\s+\[\s+(.*?)\s+\]\s*;\s*then$/.exec(line);
    if (condition) {
      const holds = taking ? test(condition[1]!, vars) : false;
      if (typeof holds === 'string') skip(holds);
      branches.push({ taking: taking && holds === true, outer: taking, source });
      return;
    }
    if (line === 'else' || line === 'fi') {
      const branch = branches.at(-1);
      if (branch === undefined) return skip(`"${line}" without an "if"; the line is left out`);
      if (line === 'fi') branches.pop();
      else branch.taking = branch.outer && !branch.taking;
      return;
    }
    if (!taking) return;
    const words = splitWords(line, vars);
    if (typeof words === 'string') return skip(words);
    const [command, ...args] = words;
    if (command === 'unset' && args.length > 0) {
      for (const name of args) {
        vars.delete(name);
        exported.delete(name);
      }
      return;
    }
    const assignments = command === 'export' ? args : words;
    if (command !== 'export' && !assignments.every((w) => ASSIGNMENT.test(w))) {
      return skip(`"${line}" is not an assignment, export or unset; apache2ctl would run it, Stickler leaves it out`);
    }
    for (const word of assignments) {
      const m = ASSIGNMENT.exec(word);
      if (m) vars.set(m[1]!, m[2]!);
      else if (!new RegExp(`^${NAME}$`).test(word)) return skip(`"${word}" is not a variable name; the line is left out`);
      if (command === 'export') exported.add(m?.[1] ?? word);
    }
  });
  for (const open of branches) skipped.push({ source: open.source, message: '"if" is never closed by "fi"; the lines after it were read only if its test held' });
  const out: Record<string, string> = {};
  for (const name of exported) {
    const value = vars.get(name);
    if (value !== undefined) out[name] = value;
  }
  return { env: out, skipped };
}

/** `[ a = b ]` and `[ a != b ]`, the only tests envvars files use; anything else is reported and taken as false. */
function test(expression: string, vars: ReadonlyMap<string, string>): boolean | string {
  const words = splitWords(expression, vars);
  if (typeof words === 'string') return words;
  if (words.length === 3 && (words[1] === '=' || words[1] === '!=')) return (words[0] === words[2]) === (words[1] === '=');
  return `the test [ ${expression} ] is not "a = b" or "a != b"; taken as false`;
}

/**
 * A line as the shell splits it into words after expansion: quotes, $VAR, ${VAR}, ${VAR:-default} and
 * ${VAR##prefix} (a literal prefix). Unquoted expansions are not split again: envvars values hold no spaces.
 */
export function splitWords(line: string, vars: ReadonlyMap<string, string>): string[] | string {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const add = (s: string) => void (word = (word ?? '') + s);
  while (i < line.length) {
    const c = line[i]!;
    if (c === '#' && word === undefined) break;
    if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return 'a single quote is never closed; the line is left out';
      add(line.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let inner = '';
      while (j < line.length && line[j] !== '"') {
        if (line[j] === '$') {
          const expanded = expand(line, j, vars);
          if (typeof expanded === 'string') return expanded;
          inner += expanded.value;
          j = expanded.end;
        } else if (line[j] === '\\' && j + 1 < line.length) {
          inner += line[j + 1];
          j += 2;
        } else inner += line[j++];
      }
      if (j >= line.length) return 'a double quote is never closed; the line is left out';
      add(inner);
      i = j + 1;
    } else if (c === '$') {
      const expanded = expand(line, i, vars);
      if (typeof expanded === 'string') return expanded;
      add(expanded.value);
      i = expanded.end;
    } else if (c === '\\' && i + 1 < line.length) {
      add(line[i + 1]!);
      i += 2;
    } else if (';&|<>`()'.includes(c)) {
      return `"${c}" (a command list, redirection or subshell) is not read by Stickler; the line is left out`;
    } else {
      add(c);
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function expand(line: string, at: number, vars: ReadonlyMap<string, string>): { value: string; end: number } | string {
  const plain = new RegExp(`^\\$(${NAME})`).exec(line.slice(at));
  if (plain) return { value: vars.get(plain[1]!) ?? '', end: at + plain[0].length };
  const braced = new RegExp(`^\\$\\{(${NAME})(?:(:-|##)([^}]*))?\\}`).exec(line.slice(at));
  if (!braced) return `"${line.slice(at, at + 20)}" is an expansion Stickler does not read (expected $VAR, \${VAR}, \${VAR:-default} or \${VAR##prefix}); the line is left out`;
  const [whole, name, op, word = ''] = braced;
  const value = vars.get(name!);
  if (op === ':-') return { value: value === undefined || value === '' ? word : value, end: at + whole.length };
  if (op === '##') {
    if (/[*?[]/.test(word)) return `\${${name}##${word}} uses a pattern; only a literal prefix is read; the line is left out`;
    const v = value ?? '';
    return { value: v.startsWith(word) ? v.slice(word.length) : v, end: at + whole.length };
  }
  return { value: value ?? '', end: at + whole.length };
}
