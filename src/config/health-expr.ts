// Health-check conditions (`ProxyHCExpr name {expr}`, native `health-check.expr`): the part of httpd's ap_expr
// language that such conditions use. A response's status and body are all a check can see, so the operands are
// `%{REQUEST_STATUS}`, the body (`hc('body')`, or `%{HC_BODY}`), quoted strings and numbers. Anything else
// httpd would accept is refused when the configuration is read, never guessed at while checking.
// Regular-expression literals are read, and held to linear time, by health-regex.ts.
import type { RE2JS } from 're2js';
import { regexLiteral } from './health-regex.ts';

export type HealthExpr =
  | { kind: 'and' | 'or'; left: HealthExpr; right: HealthExpr }
  | { kind: 'not'; operand: HealthExpr }
  | { kind: 'constant'; value: boolean }
  | { kind: 'match'; subject: Operand; regex: RE2JS; negate: boolean }
  | { kind: 'compare'; op: CompareOp; left: Operand; right: Operand };

type Operand = { kind: 'status' } | { kind: 'body' } | { kind: 'literal'; value: string };

type CompareOp = '==' | '!=' | '-eq' | '-ne' | '-lt' | '-le' | '-gt' | '-ge';

/** What a check saw; `body` is empty for HEAD and OPTIONS, and cut at the probe's cap. */
export interface CheckedResponse {
  status: number;
  body: string;
}

export const SUPPORTED_EXPRESSIONS =
  "%{REQUEST_STATUS}, hc('body') or %{HC_BODY} with =~ /regex/, !~ /regex/, == 'text', != 'text', " +
  '-eq, -ne, -lt, -le, -gt or -ge and a number; true, false; combined with &&, ||, ! and parentheses';

/** A value that is not a number met -eq and the like: httpd fails the check then, and so does Stickler. */
export class HealthExprError extends Error {}

export function parseHealthExpr(text: string): { expr: HealthExpr } | { error: string } {
  try {
    const parser = new Parser(tokens(text));
    const expr = parser.expression();
    parser.expectEnd();
    return { expr };
  } catch (err) {
    if (err instanceof SyntaxError) return { error: err.message };
    throw err;
  }
}

/** Throws HealthExprError when a numeric comparison meets a value that is not a whole number. */
export function evaluateHealthExpr(expr: HealthExpr, response: CheckedResponse): boolean {
  switch (expr.kind) {
    case 'and':
      return evaluateHealthExpr(expr.left, response) && evaluateHealthExpr(expr.right, response);
    case 'or':
      return evaluateHealthExpr(expr.left, response) || evaluateHealthExpr(expr.right, response);
    case 'not':
      return !evaluateHealthExpr(expr.operand, response);
    case 'constant':
      return expr.value;
    case 'match':
      return expr.regex.test(valueOf(expr.subject, response)) !== expr.negate;
    case 'compare':
      return compare(expr.op, valueOf(expr.left, response), valueOf(expr.right, response));
  }
}

/** Whether the check must read the response body (only then is a GET's body read at all). */
export function readsBody(expr: HealthExpr): boolean {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return readsBody(expr.left) || readsBody(expr.right);
    case 'not':
      return readsBody(expr.operand);
    case 'constant':
      return false;
    case 'match':
      return expr.subject.kind === 'body';
    case 'compare':
      return expr.left.kind === 'body' || expr.right.kind === 'body';
  }
}

function valueOf(operand: Operand, response: CheckedResponse): string {
  if (operand.kind === 'status') return String(response.status);
  return operand.kind === 'body' ? response.body : operand.value;
}

function compare(op: CompareOp, left: string, right: string): boolean {
  if (op === '==') return left === right;
  if (op === '!=') return left !== right;
  const a = integer(left, op);
  const b = integer(right, op);
  switch (op) {
    case '-eq': return a === b;
    case '-ne': return a !== b;
    case '-lt': return a < b;
    case '-le': return a <= b;
    case '-gt': return a > b;
    case '-ge': return a >= b;
  }
}

function integer(value: string, op: CompareOp): number {
  if (!/^\s*[-+]?\d{1,15}\s*$/.test(value)) {
    throw new HealthExprError(`${op} needs whole numbers, got "${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`);
  }
  return Number(value);
}

// --- tokens ----------------------------------------------------------------------------------------------

type Token =
  | { kind: 'variable'; name: string; column: number }
  | { kind: 'word'; text: string; column: number }
  | { kind: 'string'; value: string; column: number }
  | { kind: 'number'; text: string; column: number }
  | { kind: 'regex'; regex: RE2JS; text: string; column: number }
  | { kind: 'operator'; text: string; column: number }
  | { kind: 'end'; column: number };

/** `<`, `>` and the like are read only to be refused by name. */
const OPERATORS = ['&&', '||', '=~', '!~', '==', '!=', '<=', '>=', '!', '(', ')', '<', '>'];

/** Lazily, so the first problem reported is the leftmost one the grammar meets. */
function* tokens(text: string): Generator<Token, Token> {
  let last: Token | undefined;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const column = i + 1;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '%' && text[i + 1] === '{') {
      const close = text.indexOf('}', i);
      if (close < 0) throw new SyntaxError(`%{ at column ${column} is never closed; expected %{NAME}`);
      yield (last = { kind: 'variable', name: text.slice(i + 2, close), column });
      i = close + 1;
    } else if (c === "'" || c === '"') {
      const [value, next] = quoted(text, i);
      yield (last = { kind: 'string', value, column });
      i = next;
    } else if (/\d/.test(c)) {
      const m = /^\d+/.exec(text.slice(i))![0];
      yield (last = { kind: 'number', text: m, column });
      i += m.length;
    } else if (isMatchOperator(last) && (c === '/' || (c === 'm' && /[^\w\s]/.test(text[i + 1] ?? 'x')))) {
      const [regex, next] = regexLiteral(text, i);
      yield (last = { kind: 'regex', regex, text: text.slice(i, next), column });
      i = next;
    } else if (/[A-Za-z_-]/.test(c)) {
      const m = /^-?[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))?.[0];
      if (m === undefined) throw new SyntaxError(`unexpected "${c}" at column ${column} (supported: ${SUPPORTED_EXPRESSIONS})`);
      yield (last = { kind: 'word', text: m, column });
      i += m.length;
    } else {
      const op = OPERATORS.find((o) => text.startsWith(o, i));
      if (op === undefined) throw new SyntaxError(`unexpected "${c}" at column ${column} (supported: ${SUPPORTED_EXPRESSIONS})`);
      yield (last = { kind: 'operator', text: op, column });
      i += op.length;
    }
  }
  return { kind: 'end', column: text.length + 1 };
}

function isMatchOperator(token: Token | undefined): boolean {
  return token?.kind === 'operator' && (token.text === '=~' || token.text === '!~');
}

/** ap_expr strings: a backslash escapes the quote or a backslash; %{...} inside quotes is not supported here. */
function quoted(text: string, start: number): [string, number] {
  const quote = text[start]!;
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === quote) return [value, i + 1];
    if (c === '\\' && (text[i + 1] === quote || text[i + 1] === '\\')) {
      value += text[++i];
      continue;
    }
    if (c === '%' && text[i + 1] === '{') {
      throw new SyntaxError(`a variable inside quotes (column ${i + 1}) is not supported; write it unquoted, such as %{REQUEST_STATUS} == '200'`);
    }
    value += c;
  }
  throw new SyntaxError(`the string opened with ${quote} at column ${start + 1} is never closed`);
}

// --- grammar ---------------------------------------------------------------------------------------------
// expression := conjunction ('||' conjunction)*
// conjunction := unary ('&&' unary)*
// unary := '!' unary | '(' expression ')' | 'true' | 'false' | operand ('=~'|'!~') regex | operand op operand

const COMPARE_WORDS = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge']);
const VARIABLES: Record<string, Operand> = { REQUEST_STATUS: { kind: 'status' }, HC_BODY: { kind: 'body' } };

class Parser {
  private readonly tokens: Generator<Token, Token>;
  /** The next token, once looked at; reading no further ahead keeps errors in text order. */
  private current: Token | undefined;

  constructor(tokens: Generator<Token, Token>) {
    this.tokens = tokens;
  }

  expression(): HealthExpr {
    let left = this.conjunction();
    while (this.takeOperator('||')) left = { kind: 'or', left, right: this.conjunction() };
    return left;
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.kind !== 'end') throw this.unexpected(token, '&&, || or the end of the expression');
  }

  private conjunction(): HealthExpr {
    let left = this.unary();
    while (this.takeOperator('&&')) left = { kind: 'and', left, right: this.unary() };
    return left;
  }

  private unary(): HealthExpr {
    if (this.takeOperator('!')) return { kind: 'not', operand: this.unary() };
    if (this.takeOperator('(')) {
      const inner = this.expression();
      const close = this.next();
      if (close.kind !== 'operator' || close.text !== ')') throw this.unexpected(close, '")"');
      return inner;
    }
    const token = this.peek();
    if (token.kind === 'word' && (token.text === 'true' || token.text === 'false')) {
      this.next();
      return { kind: 'constant', value: token.text === 'true' };
    }
    const left = this.operand();
    const op = this.next();
    if (op.kind === 'operator' && (op.text === '=~' || op.text === '!~')) {
      const regex = this.next();
      if (regex.kind !== 'regex') throw this.unexpected(regex, 'a regular expression such as /^[23]/');
      return { kind: 'match', subject: left, regex: regex.regex, negate: op.text === '!~' };
    }
    const compareOp = op.kind === 'operator' ? op.text : op.kind === 'word' ? op.text.toLowerCase() : '';
    if (compareOp === '==' || compareOp === '!=' || COMPARE_WORDS.has(compareOp)) {
      return { kind: 'compare', op: compareOp as CompareOp, left, right: this.operand() };
    }
    throw this.unexpected(op, 'an operator: =~, !~, ==, != or -eq, -ne, -lt, -le, -gt, -ge');
  }

  private operand(): Operand {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return { kind: 'literal', value: token.value };
      case 'number':
        return { kind: 'literal', value: token.text };
      case 'variable': {
        const known = VARIABLES[token.name.toUpperCase()];
        if (known) return known;
        throw new SyntaxError(`%{${token.name}} at column ${token.column} is not available to a health check; expected %{REQUEST_STATUS} or %{HC_BODY}`);
      }
      case 'word':
        return this.call(token);
      default:
        throw this.unexpected(token, "an operand: %{REQUEST_STATUS}, hc('body'), a quoted string or a number");
    }
  }

  /** `hc('body')`: mod_proxy_hcheck's one function (case-insensitive, as httpd compares it). */
  private call(name: Extract<Token, { kind: 'word' }>): Operand {
    const open = this.next();
    if (open.kind !== 'operator' || open.text !== '(') {
      throw new SyntaxError(`unexpected "${name.text}" at column ${name.column}; expected an operand: %{REQUEST_STATUS}, hc('body'), a quoted string or a number`);
    }
    if (name.text.toLowerCase() !== 'hc') {
      throw new SyntaxError(`function ${name.text}() at column ${name.column} is not available to a health check; expected hc('body')`);
    }
    const arg = this.next();
    const close = this.next();
    if (arg.kind !== 'string' || arg.value.toLowerCase() !== 'body' || close.kind !== 'operator' || close.text !== ')') {
      throw new SyntaxError(`hc() at column ${name.column} takes one argument, 'body'; expected hc('body')`);
    }
    return { kind: 'body' };
  }

  private takeOperator(text: string): boolean {
    const token = this.peek();
    if (token.kind !== 'operator' || token.text !== text) return false;
    this.current = undefined;
    return true;
  }

  private peek(): Token {
    return (this.current ??= this.tokens.next().value);
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.current = undefined;
    return token;
  }

  private unexpected(token: Token, expected: string): SyntaxError {
    const what = token.kind === 'end' ? 'the expression ends too early' : `unexpected ${describe(token)} at column ${token.column}`;
    return new SyntaxError(`${what}; expected ${expected} (supported: ${SUPPORTED_EXPRESSIONS})`);
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'variable': return `%{${token.name}}`;
    case 'word': return `"${token.text}"`;
    case 'string': return `string '${token.value}'`;
    case 'number': return token.text;
    case 'regex': return `regular expression ${token.text}`;
    case 'operator': return `"${token.text}"`;
    case 'end': return 'end';
  }
}
