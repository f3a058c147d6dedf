// The ProxyHCExpr language: what mod_proxy_hcheck's documented conditions mean, and exact refusals for the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { loadApacheConfigText } from '../../src/config/apache/load.ts';
import { formatDiagnostic } from '../../src/config/model.ts';
import { loadNativeConfigText } from '../../src/config/native/load.ts';
import { MAX_BUILD_WORK, MAX_PROGRAM_SIZE } from '../../src/config/health-automaton.ts';
import { evaluateHealthExpr, parseHealthExpr, readsBody, type HealthExpr } from '../../src/config/health-expr.ts';

function parse(text: string): HealthExpr {
  const parsed = parseHealthExpr(text);
  if ('error' in parsed) assert.fail(`${text}: ${parsed.error}`);
  return parsed.expr;
}

function passes(text: string, status: number, body = ''): boolean {
  return evaluateHealthExpr(parse(text), { status, body });
}

/** The generated pattern is within what a health check accepts (some nested counted repeats are refused as too complex). */
function accepted(text: string): boolean {
  const parsed = parseHealthExpr(text);
  return !('error' in parsed && parsed.error.includes('too complex'));
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
  assert.equal(passes("%{REQUEST_STATUS} == '204'", 200), false);
  assert.equal(passes('%{REQUEST_STATUS} != "204"', 204), false);
  assert.equal(passes('%{REQUEST_STATUS} != "204"', 200), true);
  assert.equal(passes('%{REQUEST_STATUS} -ge 200 && %{REQUEST_STATUS} -lt 300', 299), true);
  assert.equal(passes('%{REQUEST_STATUS} -ge 200 && %{REQUEST_STATUS} -lt 300', 300), false);
  assert.equal(passes("hc('body') -eq 3", 200, ' 3\n'), true);
  assert.equal(passes("hc('body') == 'it\\'s up'", 200, "it's up"), true);
});

test('each numeric comparison, below, at and above its bound, in either letter case', () => {
  const expected: Record<string, [boolean, boolean, boolean]> = {
    '-eq': [false, true, false], '-ne': [true, false, true], '-lt': [true, false, false],
    '-le': [true, true, false], '-gt': [false, false, true], '-ge': [false, true, true],
  };
  for (const [op, [below, at, above]] of Object.entries(expected)) {
    for (const spelled of [op, op.toUpperCase()]) {
      const text = `%{REQUEST_STATUS} ${spelled} 300`;
      assert.deepEqual([passes(text, 299), passes(text, 300), passes(text, 301)], [below, at, above], text);
    }
  }
  assert.equal(passes("hc('body') -le '-2'", 200, '-3'), true, 'signed numbers');
  assert.equal(passes("hc('body') -ne '+7'", 200, '7'), false, 'numbers compare as numbers, not as text');
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

/** Evaluates in a worker, so that an engine that backtracks fails the test at `timeout` instead of hanging it. */
function evaluateAside(text: string, body: string, timeout: number): Promise<{ result: boolean; ms: number }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(workerData.module).then(({ parseHealthExpr, evaluateHealthExpr }) => {
       const { expr } = parseHealthExpr(workerData.text);
       const started = performance.now();
       const result = evaluateHealthExpr(expr, { status: 200, body: workerData.body });
       parentPort.postMessage({ result, ms: performance.now() - started });
     });`,
    { eval: true, workerData: { module: new URL('../../src/config/health-expr.ts', import.meta.url).href, text, body } },
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`${text} did not finish within ${timeout} ms on a ${body.length}-byte body`));
    }, timeout);
    worker.once('message', (outcome: { result: boolean; ms: number }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(outcome);
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

test('a pattern that backtracks catastrophically runs in linear time on a 64 KiB body', async () => {
  // A backtracking engine needs about 5 s for 30 bytes and doubles with each byte more; this is 64 KiB.
  const words = 'word '.repeat(64 * 1024 / 5);
  const catastrophic = "hc('body') =~ /^(\\w+\\s?)*$/";
  const failing = await evaluateAside(catastrophic, `${words}!`, 20_000);
  assert.equal(failing.result, false);
  assert.equal((await evaluateAside(catastrophic, words, 20_000)).result, true);
  assert.equal((await evaluateAside("hc('body') =~ /(x+x+)+y/", 'x'.repeat(64 * 1024), 20_000)).result, false);
});

/** Regular expressions from the part of PCRE that both engines read alike, with no `$` (checked apart below). */
const pattern: fc.Arbitrary<string> = fc.letrec<{ re: string; atom: string }>((tie) => ({
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('atom'),
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => a + b),
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => `${a}|${b}`),
  ),
  atom: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('a', 'b', '1', ' ', '-', '.', '\\w', '\\W', '\\d', '\\s', '\\b', '^', '\\A', '[ab]', '[^a]', '[a-b1]', '[]a]', '\\n'),
    fc.tuple(tie('atom'), fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '*?', '+?')).map(([a, q]) => `(?:${a})${q}`),
    tie('re').map((r) => `(${r})`),
  ),
})).re;

test('for ordinary patterns, a match is what it was with JavaScript\'s engine, with and without i', () => {
  fc.assert(fc.property(pattern, fc.boolean(), fc.stringMatching(/^[ab1 \nA-]{0,12}$/), (source, caseless, body) => {
    const flag = caseless ? 'i' : '';
    fc.pre(accepted(`hc('body') =~ /${source}/${flag}`));
    const js = new RegExp(source.replaceAll('\\A', '^').replaceAll('[]', '[\\]'), flag).test(body);
    assert.equal(passes(`hc('body') =~ /${source}/${flag}`, 200, body), js, `/${source}/${flag} on ${JSON.stringify(body)}`);
  }), { numRuns: 2000 });
});

test('`$` at the end of a pattern matches at the end or before a final newline, as PCRE\'s does', () => {
  fc.assert(fc.property(pattern, fc.stringMatching(/^[ab1 \n-]{0,12}$/), (source, body) => {
    fc.pre(accepted(`hc('body') =~ /(?:${source})$/`));
    const js = new RegExp(`(?:${source.replaceAll('\\A', '^').replaceAll('[]', '[\\]')})(?=\\n?$)`).test(body);
    assert.equal(passes(`hc('body') =~ /(?:${source})$/`, 200, body), js, `/(?:${source})$/ on ${JSON.stringify(body)}`);
  }), { numRuns: 1000 });
  assert.equal(passes("hc('body') =~ /^\\QUP$\\E/", 200, 'UP$'), true, '\\Q...\\E is literal, $ included');
  assert.equal(passes("hc('body') =~ /^UP[$]/", 200, 'UP$'), true);
  assert.equal(passes("hc('body') =~ /^UP[]$]/", 200, 'UP$'), true, 'a ] first in a class does not close it');
});

test('backreferences, lookaround and atomic groups are refused: they need a backtracking engine', () => {
  const why = 'which a health check cannot run: its patterns are matched in linear time (RE2), without backreferences or lookaround';
  assert.equal(refusal("hc('body') =~ /(a)\\1/"), `the regular expression /(a)\\1/ at column 15 uses a backreference (\\1), ${why}`);
  assert.equal(refusal("hc('body') =~ /(?<n>a)\\k<n>/"), `the regular expression /(?<n>a)\\k<n>/ at column 15 uses a backreference (\\k), ${why}`);
  assert.equal(refusal("hc('body') =~ /UP(?=\\n)/"), `the regular expression /UP(?=\\n)/ at column 15 uses a lookaround assertion ((?=), ${why}`);
  assert.equal(refusal("hc('body') =~ /(?!DOWN)/"), `the regular expression /(?!DOWN)/ at column 15 uses a lookaround assertion ((?!), ${why}`);
  assert.equal(refusal("hc('body') =~ m#(?<=a)b#"), `the regular expression m#(?<=a)b# at column 15 uses a lookaround assertion ((?<=), ${why}`);
  assert.equal(refusal("hc('body') =~ /(?>a+)b/"), `the regular expression /(?>a+)b/ at column 15 uses an atomic group ((?>), ${why}`);
  assert.equal(refusal("hc('body') =~ /a++/"), 'the regular expression /a++/ at column 15 is invalid: invalid nested repetition operator: `++`');
  assert.equal(refusal("hc('body') =~ /a{1001}/"), 'the regular expression /a{1001}/ at column 15 is invalid: invalid repeat count: `{1001}`');
  assert.equal(passes("hc('body') =~ /[(?=]\\\\1/", 200, '=\\1'), true, 'inside a class and escaped, they are plain characters');
});

/** What each configuration reader says of a file whose one health condition is `hc('body') =~ <regex>`. */
function readersOn(regex: string): { apache: string[]; native: string[] } {
  const apache = loadApacheConfigText(['Listen 80', `ProxyHCExpr up {hc('body') =~ ${regex}}`, ''].join('\n'), 't.conf');
  const native = loadNativeConfigText([
    'virtual-hosts:',
    '  - port: 8080',
    '    routes:',
    '      - path: /',
    '        balancer: b',
    'balancers:',
    '  b:',
    '    members:',
    '      - url: http://10.0.0.1:8080',
    '        health-check:',
    '          method: GET',
    `          expr: "hc('body') =~ ${regex}"`,
    '',
  ].join('\n'), 's.yaml');
  assert.equal(native.config, undefined);
  return { apache: apache.diagnostics.map(formatDiagnostic), native: native.diagnostics.map(formatDiagnostic) };
}

test('both configuration readers refuse such a pattern with its file and line', () => {
  assert.deepEqual(readersOn('/(UP)\\1/').apache, [
    't.conf:2: ProxyHCExpr: up: the regular expression /(UP)\\1/ at column 15 uses a backreference (\\1), which a health check cannot run: ' +
      'its patterns are matched in linear time (RE2), without backreferences or lookaround',
  ]);
  assert.deepEqual(readersOn('/UP(?!DOWN)/').native, [
    "s.yaml:12: balancers.b.members[0].health-check.expr: the regular expression /UP(?!DOWN)/ at column 15 uses a lookaround assertion ((?!), " +
      'which a health check cannot run: its patterns are matched in linear time (RE2), without backreferences or lookaround',
  ]);
});

test('a pattern too large for RE2 to run cheaply is refused, by both readers with file and line', () => {
  const tooLarge = '/(?:[a-z0-9 ]{1,9}[a-z]){1,90}$/';
  const why = `the regular expression ${tooLarge} at column 15 is too complex for a health check: its RE2 program has 1714 instructions, ` +
    `over the limit of ${MAX_PROGRAM_SIZE}; expected a simpler pattern, with fewer or smaller counted repeats such as {1,9}`;
  assert.equal(refusal(`hc('body') =~ ${tooLarge}`), why);
  const { apache, native } = readersOn(tooLarge);
  assert.deepEqual(apache, [`t.conf:2: ProxyHCExpr: up: ${why}`]);
  assert.deepEqual(native, [`s.yaml:12: balancers.b.members[0].health-check.expr: ${why}`]);
});

test('a small pattern whose automaton is too large to build ahead is refused, naming the limit', () => {
  for (const source of ['(?:[a-z0-9 ]{1,9}[a-z]){1,5}$', '^[ab]*a[ab]{12}$', '\\p{L}{1,40}x']) {
    assert.ok(RE2JS.compile(source).programSize() <= MAX_PROGRAM_SIZE, `${source} is small enough`);
    assert.match(refusal(`hc('body') =~ /${source}/`), new RegExp(`is too complex for a health check: its automaton, built when the configuration is read, would take over ${MAX_BUILD_WORK} steps \\(stopped at \\d+ states\\); expected a simpler pattern`));
  }
});

test('ordinary health patterns load, and a check builds no automaton state whatever the body', () => {
  const ordinary = [
    '"status"\\s*:\\s*"UP"', '"status"\\s*:\\s*"(up|ok|healthy)"/i', '<status>(UP|RUNNING)</status>', '^[23]', '^UP$', '\\bUP\\b',
    '"version"\\s*:\\s*"[0-9]+\\.[0-9]+\\.[0-9]+"', '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', 'error|exception|fail/i',
    '"db"\\s*:\\s*\\{[^}]*"status"\\s*:\\s*"UP"', '^(\\w+\\s?)*$', '(?m)^status: (UP|OK)$', '(?:[a-z0-9 ]{1,9}[a-z]){1,2}$', '\\p{L}+',
  ];
  const random = fc.sample(fc.string({ unit: fc.constantFrom(...'aUP09 :"{}-_.<>/\n\té€'), minLength: 64 * 1024, maxLength: 64 * 1024 }), { numRuns: 3, seed: 11 });
  for (const source of ordinary) {
    const [pattern, flag = ''] = source.split(/\/(?=i$)/);
    const expr = parse(`hc('body') =~ m#${pattern}#${flag}`);
    assert.equal(expr.kind, 'match');
    const { regex } = expr;
    const built = () => regex.re2Input.lazyDFA?.stateCount ?? 0;
    const before = built();
    for (const body of [...random, 'a9 '.repeat(20_000), '\u{1F600}UP']) regex.test(body);
    assert.equal(built(), before, `${source}: checks found every state built`);
  }
});
