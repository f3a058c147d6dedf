// findSessionRoute against docs/apache-semantics.md#route-extraction and the route column of docs/apache-semantics.md#checked-live.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findSessionRoute } from '../../src/sticky/route.ts';

const STICKY = { cookie: 'JSESSIONID', urlParam: 'jsessionid' };

/** The live setup (docs/apache-semantics.md#checked-live): `stickysession=JSESSIONID|jsessionid scolonpathdelim=On`, separator '.'. */
/** Name and route only; the session value is checked on its own below. */
function find(...args: Parameters<typeof findSessionRoute>) {
  const found = findSessionRoute(...args);
  return found && { name: found.name, route: found.route };
}

function route(url: string, ...cookies: string[]) {
  return find(STICKY, '.', true, url, cookies);
}

const cookie = (value: string) => ({ name: 'JSESSIONID', route: value });
const param = (value: string) => ({ name: 'jsessionid', route: value });

describe('LIVE matrix, route column', () => {
  test('plain cookie', () => assert.deepEqual(route('/s', 'JSESSIONID=abc.node1'), cookie('node1')));
  test('quoted cookie keeps the quote', () => assert.deepEqual(route('/s', 'JSESSIONID="abc.node1"'), cookie('node1"')));
  test('route case is kept', () => assert.deepEqual(route('/s', 'JSESSIONID=abc.NODE1'), cookie('NODE1')));
  test('unknown route is still a route', () => assert.deepEqual(route('/s', 'JSESSIONID=abc.node9'), cookie('node9')));
  test('path parameter wins over the cookie', () =>
    assert.deepEqual(route('/s;jsessionid=x.node2', 'JSESSIONID=abc.node1'), param('node2')));
  test('wrong-case URL name is not the URL parameter', () => assert.equal(route('/s?JSESSIONID=x.node1'), undefined));
  test('path parameter ends at the next ;', () => assert.deepEqual(route('/s;jsessionid=x.node1;foo=bar'), param('node1')));
  test('no cookie', () => assert.equal(route('/s'), undefined));
});

describe('URL parameter (get_path_param)', () => {
  test('in the query string (fixed in 2.4.64)', () => {
    assert.deepEqual(route('/s?jsessionid=x.node2'), param('node2'));
    assert.deepEqual(route('/s?foo=1&jsessionid=x.node1&b=2'), param('node1'));
  });
  test('substring match with no boundary check', () =>
    assert.deepEqual(route('/s?xjsessionid=q.node2'), param('node2')));
  test('scolonpathdelim off: ; is part of the value', () =>
    assert.deepEqual(find(STICKY, '.', false, '/s;jsessionid=x.node1;foo=bar', []), param('node1;foo=bar')));
  test('leading delimiters are skipped (apr_strtok)', () =>
    assert.deepEqual(route('/s?jsessionid=&x.node1'), param('node1')));
  test('a value of delimiters only is no URL value, so the cookie is consulted', () => {
    assert.deepEqual(route('/s?jsessionid=&&', 'JSESSIONID=abc.node1'), cookie('node1'));
    assert.equal(route('/s?jsessionid=&&'), undefined);
  });
  test('name without = is skipped and the search goes on', () =>
    assert.deepEqual(route('/jsessionid/x?jsessionid=y.node2'), param('node2')));
  test('empty value at the end falls back to the cookie', () =>
    assert.deepEqual(route('/s?jsessionid=', 'JSESSIONID=abc.node1'), cookie('node1')));
  test('a URL value without separator still hides the cookie', () =>
    assert.equal(route('/s;jsessionid=abc', 'JSESSIONID=x.node1'), undefined));
  test('not URL-decoded', () => assert.deepEqual(route('/s;jsessionid=x.node%31'), param('node%31')));
  test('one name for both when no | was configured', () => {
    const same = { cookie: 'JSESSIONID', urlParam: 'JSESSIONID' };
    assert.deepEqual(find(same, '.', false, '/s?JSESSIONID=x.node1', []), { name: 'JSESSIONID', route: 'node1' });
  });
});

describe('cookie (get_cookie_param)', () => {
  test('name is case-sensitive', () => assert.equal(route('/s', 'jsessionid=abc.node1'), undefined));
  test('name must start a cookie', () => {
    assert.equal(route('/s', 'XJSESSIONID=abc.node1'), undefined);
    assert.equal(route('/s', 'a=1; XJSESSIONID=abc.node1'), undefined);
    assert.deepEqual(route('/s', 'XJSESSIONID=a.node2; JSESSIONID=b.node1'), cookie('node1'));
  });
  test('whitespace between name and = is skipped', () =>
    assert.deepEqual(route('/s', 'JSESSIONID = abc.node1'), cookie('node1')));
  test('whitespace after = is kept, and so is trailing whitespace', () => {
    assert.deepEqual(route('/s', 'JSESSIONID=abc. node1'), cookie(' node1'));
    assert.deepEqual(route('/s', 'JSESSIONID=abc.node1 ; x=1'), cookie('node1 '));
  });
  test('tab, comma and semicolon all separate cookies', () => {
    assert.deepEqual(route('/s', 'a=1;\tJSESSIONID=x.node1'), cookie('node1'));
    assert.deepEqual(route('/s', 'a=1,JSESSIONID=x.node1'), cookie('node1'));
    assert.deepEqual(route('/s', 'JSESSIONID=x.node1,b=2'), cookie('node1'));
  });
  test('first occurrence wins among duplicates', () =>
    assert.deepEqual(route('/s', 'JSESSIONID=a.node1; JSESSIONID=b.node2'), cookie('node1')));
  test('first occurrence wins even when empty', () => {
    assert.equal(route('/s', 'JSESSIONID=;JSESSIONID=abc.node1'), undefined);
    assert.deepEqual(find(STICKY, null, true, '/s', ['JSESSIONID=;JSESSIONID=abc.node1']), cookie(''));
  });
  test('empty value at the very end is no match, the search moves on', () =>
    assert.equal(route('/s', 'JSESSIONID='), undefined));
  test('a name directly followed by ; hides the next occurrence, as C pointer stepping does', () =>
    assert.equal(route('/s', 'JSESSIONID;JSESSIONID=a.node1'), undefined));
  test('Cookie headers are merged with ", "', () => {
    assert.deepEqual(route('/s', 'a=1', 'JSESSIONID=x.node2'), cookie('node2'));
    assert.deepEqual(route('/s', 'JSESSIONID=x.node1', 'b=2'), cookie('node1'));
  });
});

describe('separator', () => {
  test('route is everything after the first separator', () =>
    assert.deepEqual(route('/s', 'JSESSIONID=abc.node1.x'), cookie('node1.x')));
  test('no separator in the value: no route at all', () => assert.equal(route('/s', 'JSESSIONID=abc'), undefined));
  test('separator last: empty route', () => assert.deepEqual(route('/s', 'JSESSIONID=abc.'), cookie('')));
  test('stickysessionsep Off: the whole value is the route', () =>
    assert.deepEqual(find(STICKY, null, true, '/s', ['JSESSIONID=abc.node1']), cookie('abc.node1')));
  test('another separator character', () =>
    assert.deepEqual(find(STICKY, ':', true, '/s', ['JSESSIONID=a.b:node1']), cookie('node1')));
});

test('the whole value names the session, for counting the sessions sticking to a member', () => {
  assert.equal(findSessionRoute(STICKY, '.', true, '/s', ['JSESSIONID=ABC123.node1'])?.session, 'ABC123.node1');
  assert.equal(findSessionRoute(STICKY, '.', true, '/s;jsessionid=xyz.node2', [])?.session, 'xyz.node2');
});

describe('edges of the scans', () => {
  test('every C isspace() byte may sit between the cookie name and =, and before the name', () => {
    for (const ws of [' ', '\t', '\n', '\v', '\f', '\r']) {
      assert.deepEqual(route('/s', `JSESSIONID${ws}=a.node1`), cookie('node1'), JSON.stringify(ws));
      assert.deepEqual(route('/s', `x=1${ws}JSESSIONID=a.node1`), cookie('node1'), JSON.stringify(ws));
    }
    assert.equal(route('/s', 'x=1\x00JSESSIONID=a.node1'), undefined);
  });
  test('a value starting with the separator has the rest as its route', () =>
    assert.deepEqual(route('/s', 'JSESSIONID=.node1'), cookie('node1')));
  test('without scolonpathdelim, ? and & still end a URL value', () => {
    assert.deepEqual(find(STICKY, '.', false, '/s?jsessionid=a.node1&b=2', []), param('node1'));
    assert.deepEqual(find(STICKY, '.', false, '/s?jsessionid=?a.node2', []), param('node2'));
  });
  test('the URL name at the very end, or with = as the last character, is no value', () => {
    assert.deepEqual(route('/s?jsessionid', 'JSESSIONID=a.node1'), cookie('node1'));
    assert.deepEqual(route('/s;jsessionid=', 'JSESSIONID=a.node1'), cookie('node1'));
    assert.deepEqual(route('/jsessionid=;jsessionid=b.node2'), param('node2'));
  });
  test('a name found at the start of the URL still needs its =', () =>
    assert.deepEqual(route('jsessionid/s?jsessionid=a.node1'), param('node1')));
  test('no cookie name configured: nothing is sticky', () =>
    assert.equal(findSessionRoute({ cookie: '', urlParam: 'jsessionid' }, '.', true, '/s?jsessionid=a.node1', []), undefined));
});
