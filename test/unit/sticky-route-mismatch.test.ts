// issuedRoute: the route a member's Set-Cookie issues, against its configured route.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { issuedRoute, OTHER_ROUTES } from '../../src/sticky/route-mismatch.ts';
import { routeOf } from '../../src/sticky/route.ts';

const NAMES = ['JSESSIONID', 'jsessionid'];
const issued = (fields: string[], configured = 'node1', separator: string | null = '.') =>
  issuedRoute(fields, NAMES, separator, configured);

test('a session carrying the configured route matches', () => {
  assert.deepEqual(issued(['JSESSIONID=ABC123.node1; Path=/app; HttpOnly']), { matches: true });
});

test('another route is a mismatch naming it', () => {
  assert.deepEqual(issued(['JSESSIONID=ABC123.node9; Path=/; Secure']), { matches: false, seen: 'node9' });
});

test('no route at all, or nothing after the separator, is a mismatch with none seen', () => {
  assert.deepEqual(issued(['JSESSIONID=ABC123; Path=/']), { matches: false, seen: null });
  assert.deepEqual(issued(['JSESSIONID=ABC123.']), { matches: false, seen: null });
});

test('with a balancer cookie, no route is what the cookie is for; a wrong route is still a mismatch', () => {
  assert.deepEqual(issuedRoute(['JSESSIONID=ABC123'], NAMES, '.', 'node1', true), { matches: true, byCookie: true });
  assert.deepEqual(issuedRoute(['JSESSIONID=ABC123.'], NAMES, '.', 'node1', true), { matches: true, byCookie: true });
  assert.deepEqual(issuedRoute(['JSESSIONID=ABC123.node9'], NAMES, '.', 'node1', true), { matches: false, seen: 'node9' });
  assert.deepEqual(issuedRoute(['JSESSIONID=ABC123.node1'], NAMES, '.', 'node1', true), { matches: true });
});

test('the route is everything after the first separator, as route.ts reads requests', () => {
  assert.deepEqual(issued(['JSESSIONID=a.b.node1']), { matches: false, seen: 'b.node1' });
  assert.deepEqual(issued(['JSESSIONID=a_node1'], 'node1', '_'), { matches: true });
  assert.deepEqual(issued(['JSESSIONID=node1'], 'node1', null), { matches: true }, 'stickysessionsep=Off: the whole value');
});

test('name and value are trimmed; names are case-sensitive; other cookies are not sessions', () => {
  assert.deepEqual(issued([' JSESSIONID = X.node2 ;Path=/']), { matches: false, seen: 'node2' });
  assert.equal(issued(['Jsessionid=X.node2']), undefined);
  assert.equal(issued(['OTHER=X.node2', 'theme=dark']), undefined);
  assert.deepEqual(issued(['jsessionid=X.node2']), { matches: false, seen: 'node2' }, 'the URL parameter name counts too');
});

test('no Set-Cookie, an empty value or a deletion issues no session', () => {
  assert.equal(issued([]), undefined);
  assert.equal(issued(['JSESSIONID=; Path=/']), undefined);
  assert.equal(issued(['JSESSIONID=X.node9; Max-Age=0; Path=/']), undefined);
  assert.equal(issued(['JSESSIONID=X.node9; max-age = -1']), undefined);
  assert.deepEqual(issued(['JSESSIONID=X.node9; Max-Age=600']), { matches: false, seen: 'node9' });
});

test('the last session cookie of the response wins, as in the browser', () => {
  assert.deepEqual(issued(['JSESSIONID=A.node9', 'JSESSIONID=B.node1']), { matches: true });
  assert.equal(issued(['JSESSIONID=A.node9', 'JSESSIONID=; Max-Age=0']), undefined);
});

const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);

test('property: a session id with the configured route appended always matches, and with another route names that route', () => {
  fc.assert(fc.property(token, token, token, fc.constantFrom('.', '_', '~'), (id, configured, other, sep) => {
    fc.pre(!id.includes(sep));
    const attrs = '; Path=/; HttpOnly';
    assert.deepEqual(issuedRoute([`JSESSIONID=${id}${sep}${configured}${attrs}`], NAMES, sep, configured), { matches: true });
    const outcome = issuedRoute([`JSESSIONID=${id}${sep}${other}${attrs}`], NAMES, sep, configured);
    assert.deepEqual(outcome, other === configured ? { matches: true } : { matches: false, seen: other });
  }));
});

test('property: any Set-Cookie field is read without throwing, and a mismatch names what routeOf reads', () => {
  fc.assert(fc.property(fc.array(fc.string({ maxLength: 60 }), { maxLength: 4 }), token, (fields, configured) => {
    const outcome = issuedRoute(fields, NAMES, '.', configured);
    if (outcome && !outcome.matches && outcome.seen !== null) {
      assert.notEqual(outcome.seen, configured);
      assert.ok(fields.some((f) => f.includes(outcome.seen!)));
      assert.equal(routeOf(`x.${outcome.seen}`, '.'), outcome.seen);
    }
  }));
});

test(`property: no route a member issues is ${OTHER_ROUTES}, the metric's stand-in for the routes past the first few`, () => {
  const text = fc.string({ unit: fc.constantFrom('a', '.', ';', ' ', 'o', 't', 'h', 'e', 'r', '='), maxLength: 20 });
  fc.assert(fc.property(text, fc.constantFrom('.', null), (value, separator) => {
    const outcome = issuedRoute([`JSESSIONID=${value}`], NAMES, separator, 'node1');
    if (outcome && !outcome.matches) assert.notEqual(outcome.seen, OTHER_ROUTES);
  }));
  assert.deepEqual(issued([`JSESSIONID=S.${OTHER_ROUTES}`]), { matches: false, seen: null }, 'the value ends at the ;');
});
