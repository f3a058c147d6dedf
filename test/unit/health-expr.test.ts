// The ProxyHCExpr language: what mod_proxy_hcheck's documented conditions mean, and exact refusals for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateHealthExpr, parseHealthExpr, readsBody, type HealthExpr } from '../../src/health/expr.ts';

function parse(text: string): HealthExpr {
  const parsed = parseHealthExpr(text);
  if ('error' in parsed) assert.fail(`${text}: ${parsed.error}`);
  return parsed.expr;
}

function passes(text: string, status: number, body = ''): boolean {
  return evaluateHealthExpr(parse(text), { status, body });
}

function refusal(text: string): string {
  const parsed = parseHealthExpr(text);
  assert.ok('error' in parsed, `${text} must be refused`);
  return parsed.error;
}

test("httpd's documented examples: status classes and a maintenance page", () => {
  assert.equal(passes('%{REQUEST_STATUS} =~ /^[234]/', 302), true);
  assert.equal(passes('%{REQUEST_STATUS} =~ /^[234]/', 503), false);
  assert.equal(passes('%{REQUEST_STATUS} =~ /^[5]/', 500), true);
  assert.equal(passes("hc('body') !~ /Under maintenance/", 200, '<h1>Under maintenance</h1>'), false);
  assert.equal(passes("hc('body') !~ /Under maintenance/", 200, '<h1>Welcome</h1>'), true);
});

test('&&, || and ! combine with httpd precedence: ! binds tightest, then &&, then ||', () => {
  const text = "%{REQUEST_STATUS} =~ /^5/ || %{REQUEST_STATUS} =~ /^2/ && !(hc('body') =~ /DOWN/)";
  assert.equal(passes(text, 500, 'DOWN'), true);
  assert.equal(passes(text, 200, 'UP'), true);
  assert.equal(passes(text, 200, 'DOWN'), false);
  assert.equal(passes('! %{REQUEST_STATUS} =~ /^2/ && true', 404), true);
  assert.equal(passes('(false || true) && %{REQUEST_STATUS} == 200', 200), true);
});

test('%{HC_BODY}, HC(\'BODY\') and m#...#i are the same as in httpd', () => {
  assert.equal(passes('%{HC_BODY} =~ /up/i', 200, 'UP'), true);
  assert.equal(passes("HC('BODY') =~ m#^status: up#i", 200, 'Status: UP'), true);
  assert.equal(passes("hc('body') =~ m#a/b#", 200, 'a/b'), true);
  assert.equal(passes('hc(\'body\') =~ /a\\/b/', 200, 'a/b'), true);
});

test('$ also matches before a final newline, as PCRE does, so a body of "UP\\n" matches /^UP$/', () => {
  assert.equal(passes("hc('body') =~ /^UP$/", 200, 'UP\n'), true);
  assert.equal(passes("hc('body') =~ /^UP$/", 200, 'UP\n\n'), false);
  assert.equal(passes("hc('body') =~ /^UP\\Z/", 200, 'UP\n'), true);
  assert.equal(passes("hc('body') =~ /^UP\\z/", 200, 'UP\n'), false);
  assert.equal(passes("hc('body') =~ /\\AUP/", 200, 'UP'), true);
  assert.equal(passes("hc('body') =~ /[$]/", 200, 'costs $5'), true);
  assert.equal(passes("hc('body') =~ /[]x]/", 200, ']'), true);
});

test('string and number comparisons', () => {
  assert.equal(passes("%{REQUEST_STATUS} == '204'", 204), true);
  assert.equal(passes('%{REQUEST_STATUS} != "204"', 204), false);
  assert.equal(passes('%{REQUEST_STATUS} -ge 200 && %{REQUEST_STATUS} -lt 300', 299), true);
  assert.equal(passes('%{REQUEST_STATUS} -ge 200 && %{REQUEST_STATUS} -lt 300', 300), false);
  assert.equal(passes("hc('body') -eq 3", 200, ' 3\n'), true);
  assert.equal(passes("hc('body') == 'it\\'s up'", 200, "it's up"), true);
});

test('a numeric comparison with a value that is no number fails the check, as httpd reports an error', () => {
  assert.throws(() => passes("hc('body') -gt 1", 200, 'lots'), { message: '-gt needs whole numbers, got "lots"' });
});

test('only conditions that look at the body make a GET read it', () => {
  assert.equal(readsBody(parse('%{REQUEST_STATUS} =~ /^2/ && true')), false);
  assert.equal(readsBody(parse("%{REQUEST_STATUS} =~ /^2/ && !(hc('body') == 'x')")), true);
  assert.equal(readsBody(parse("'x' == %{HC_BODY}")), true);
});

test('other variables and functions are refused with what a health check can use', () => {
  assert.equal(refusal('%{REQUEST_URI} =~ /x/'),
    '%{REQUEST_URI} at column 1 is not available to a health check; expected %{REQUEST_STATUS} or %{HC_BODY}');
  assert.equal(refusal("tolower(hc('body')) == 'up'"), "function tolower() at column 1 is not available to a health check; expected hc('body')");
  assert.equal(refusal("hc('headers') == 'x'"), "hc() at column 1 takes one argument, 'body'; expected hc('body')");
  assert.equal(refusal("'%{REQUEST_STATUS}' == '200'"),
    "a variable inside quotes (column 2) is not supported; write it unquoted, such as %{REQUEST_STATUS} == '200'");
});

test('syntax errors name the column, what was expected and what is supported', () => {
  const supported = "(supported: %{REQUEST_STATUS}, hc('body') or %{HC_BODY} with =~ /regex/, !~ /regex/, == 'text', " +
    "!= 'text', -eq, -ne, -lt, -le, -gt or -ge and a number; true, false; combined with &&, ||, ! and parentheses)";
  assert.equal(refusal('%{REQUEST_STATUS} < 400'),
    `unexpected "<" at column 19; expected an operator: =~, !~, ==, != or -eq, -ne, -lt, -le, -gt, -ge ${supported}`);
  assert.equal(refusal("%{REQUEST_STATUS} -in {'200'}"),
    `unexpected "-in" at column 19; expected an operator: =~, !~, ==, != or -eq, -ne, -lt, -le, -gt, -ge ${supported}`);
  assert.equal(refusal('%{REQUEST_STATUS} =~'), `the expression ends too early; expected a regular expression such as /^[23]/ ${supported}`);
  assert.equal(refusal("hc('body') =~ /x/ & true"), `unexpected "&" at column 19 ${supported}`);
  assert.equal(refusal('(true'), `the expression ends too early; expected ")" ${supported}`);
  assert.equal(refusal('true true'), `unexpected "true" at column 6; expected &&, || or the end of the expression ${supported}`);
  assert.equal(refusal(''), `the expression ends too early; expected an operand: %{REQUEST_STATUS}, hc('body'), a quoted string or a number ${supported}`);
});

test('regular expressions that are unclosed, flagged oddly or invalid are refused', () => {
  assert.equal(refusal('%{REQUEST_STATUS} =~ /^2'), 'the regular expression at column 22 is never closed; expected a closing /');
  assert.equal(refusal('%{REQUEST_STATUS} =~ /^2/g'), 'unknown regular expression flag "g" at column 26; expected none or i');
  assert.match(refusal('%{REQUEST_STATUS} =~ /(/'), /^the regular expression \/\(\/ at column 22 is invalid: /);
  assert.equal(refusal("hc('body') == 'open"), "the string opened with ' at column 15 is never closed");
  assert.equal(refusal('%{REQUEST_STATUS'), '%{ at column 1 is never closed; expected %{NAME}');
});
