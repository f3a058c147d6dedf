// The balancer's own route cookie: values signed and verified (sticky/balancer-cookie.ts), the Set-Cookie a response
// carries, and where requestRoute (sticky/route.ts) reads it among the names of a balancer.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BalancerConfig, BalancerCookieConfig } from '../../src/config/model.ts';
import { cookieValue, issuedCookie, verifiedRoute } from '../../src/sticky/balancer-cookie.ts';
import { requestRoute } from '../../src/sticky/route.ts';
import { Balancer } from '../../src/balancer/balancer.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

const KEY = new Uint8Array(32).fill(7);
const PLAIN: BalancerCookieConfig = { name: 'ROUTEID', path: '/', httpOnly: true, sameSite: 'Lax' };
const SIGNED: BalancerCookieConfig = { ...PLAIN, key: KEY };
/** The balancer's name, signed with each value. */
const B = 'app';
const CHANGED = { BALANCER_WORKER_ROUTE: 'n1', BALANCER_ROUTE_CHANGED: '1' as const };

/** Routes a cookie can carry (RFC 6265 cookie-octets), dots included. */
const route = fc.stringMatching(/^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]{1,40}$/);
const key = fc.uint8Array({ minLength: 32, maxLength: 64 });

describe('signed values', () => {
  test('a value is the route and 22 base64url characters of HMAC-SHA256 over balancer, cookie name and route', () => {
    const value = cookieValue(B, SIGNED, 'n1');
    assert.match(value, /^n1\.[A-Za-z0-9_-]{22}$/);
    assert.equal(value, cookieValue(B, { ...SIGNED }, 'n1'), 'deterministic: no nonce, every instance issues the same');
    assert.equal(verifiedRoute(B, SIGNED, value), 'n1');
  });

  test('unsigned, a value is the route itself and any value is obeyed', () => {
    assert.equal(cookieValue(B, PLAIN, 'n1'), 'n1');
    assert.equal(verifiedRoute(B, PLAIN, 'n2.whatever'), 'n2.whatever');
  });

  test('with a key, a bare route, an empty or a short signature is not obeyed', () => {
    for (const value of ['n1', 'n1.', `n1.${'A'.repeat(21)}`, `n1.${'A'.repeat(23)}`, '']) assert.equal(verifiedRoute(B, SIGNED, value), undefined, value);
  });

  test("another route's signature, or another cookie name's, does not verify", () => {
    const forOther = cookieValue(B, SIGNED, 'n2').split('.')[1];
    assert.equal(verifiedRoute(B, SIGNED, `n1.${forOther}`), undefined);
    assert.equal(verifiedRoute(B, SIGNED, cookieValue(B, { ...SIGNED, name: 'OTHER' }, 'n1')), undefined);
  });

  test("a value signed for another balancer sharing the key file and cookie name does not verify", () => {
    const forA = cookieValue('a', SIGNED, 'n1');
    assert.equal(verifiedRoute('a', SIGNED, forA), 'n1');
    assert.equal(verifiedRoute('b', SIGNED, forA), undefined);
  });

  test('property: a cookie issued verifies, with its route', () => {
    fc.assert(fc.property(route, key, (r, k) => verifiedRoute(B, { ...PLAIN, key: k }, cookieValue(B, { ...PLAIN, key: k }, r)) === r));
  });

  test('property: any single changed character does not verify', () => {
    fc.assert(fc.property(route, key, fc.nat(), fc.integer({ min: 0x21, max: 0x7e }), (r, k, at, code) => {
      const cookie = { ...PLAIN, key: k };
      const value = cookieValue(B, cookie, r);
      const i = at % value.length;
      fc.pre(value.charCodeAt(i) !== code);
      const altered = value.slice(0, i) + String.fromCharCode(code) + value.slice(i + 1);
      return verifiedRoute(B, cookie, altered) === undefined;
    }));
  });

  test('property: a different key does not verify', () => {
    fc.assert(fc.property(route, key, key, (r, k1, k2) => {
      fc.pre(Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0);
      return verifiedRoute(B, { ...PLAIN, key: k2 }, cookieValue(B, { ...PLAIN, key: k1 }, r)) === undefined;
    }));
  });
});

describe('Set-Cookie', () => {
  const issuer = (cookie: BalancerCookieConfig) => ({ name: B, cookie });

  test('defaults: Path=/, a session cookie, HttpOnly, SameSite=Lax, Secure on TLS only', () => {
    assert.equal(issuedCookie(issuer(PLAIN), CHANGED, true), 'ROUTEID=n1; Path=/; Secure; HttpOnly; SameSite=Lax');
    assert.equal(issuedCookie(issuer(PLAIN), CHANGED, false), 'ROUTEID=n1; Path=/; HttpOnly; SameSite=Lax');
  });

  test('every attribute as configured', () => {
    const cookie: BalancerCookieConfig = { name: 'LB', path: '/app', domain: 'example.com', secure: false, httpOnly: false, sameSite: 'Strict', maxAge: 3600 };
    assert.equal(issuedCookie(issuer(cookie), CHANGED, true), 'LB=n1; Path=/app; Domain=example.com; Max-Age=3600; SameSite=Strict');
    assert.equal(issuedCookie(issuer({ ...cookie, secure: true }), CHANGED, false), 'LB=n1; Path=/app; Domain=example.com; Max-Age=3600; Secure; SameSite=Strict');
  });

  test('SameSite=None is always Secure', () => {
    assert.equal(issuedCookie(issuer({ ...PLAIN, sameSite: 'None' }), CHANGED, false), 'ROUTEID=n1; Path=/; Secure; HttpOnly; SameSite=None');
  });

  test('signed, the value carries the signature, which the same balancer accepts back', () => {
    const issued = issuedCookie(issuer(SIGNED), CHANGED, false);
    assert.equal(issued, `ROUTEID=${cookieValue(B, SIGNED, 'n1')}; Path=/; HttpOnly; SameSite=Lax`);
    const config = { name: B, cookie: SIGNED, stickySeparator: '.', scolonPathDelim: true } as BalancerConfig;
    assert.equal(requestRoute(config, '/', [issued!.split(';')[0]!]).session?.route, 'n1');
  });

  test("only when the route changed, to a member with a route a cookie can carry", () => {
    assert.equal(issuedCookie(issuer(PLAIN), { BALANCER_WORKER_ROUTE: 'n1' }, true), undefined);
    assert.equal(issuedCookie(issuer(PLAIN), { BALANCER_WORKER_ROUTE: '', BALANCER_ROUTE_CHANGED: '1' }, true), undefined);
    assert.equal(issuedCookie(issuer(PLAIN), { BALANCER_WORKER_ROUTE: 'n 1', BALANCER_ROUTE_CHANGED: '1' }, true), undefined);
    assert.equal(issuedCookie(issuer(PLAIN), undefined, true), undefined);
  });
});

describe('requestRoute: where the balancer cookie sits among the names', () => {
  const balancer = (cookie?: BalancerCookieConfig, sticky = true) => ({
    name: B, sticky: sticky ? { cookie: 'JSESSIONID', urlParam: 'jsessionid' } : undefined,
    stickySeparator: '.', scolonPathDelim: true, ...(cookie && { cookie }),
  }) as BalancerConfig;
  const signed = (r: string) => `ROUTEID=${cookieValue(B, SIGNED, r)}`;
  const sessionOf = (found: ReturnType<typeof requestRoute>) => found.session && [found.session.name, found.session.route, found.session.session];

  test('a session without a route (no jvmRoute) leaves the route to the balancer cookie, and still names the session', () => {
    const found = requestRoute(balancer(SIGNED), '/', [`JSESSIONID=ABC; ${signed('n2')}`]);
    assert.deepEqual(sessionOf(found), ['ROUTEID', 'n2', 'ABC']);
    assert.equal(found.rejected, false);
  });

  test('without a session cookie, the balancer cookie names the session', () => {
    assert.deepEqual(sessionOf(requestRoute(balancer(SIGNED), '/', [signed('n2')])), ['ROUTEID', 'n2', cookieValue(B, SIGNED, 'n2')]);
  });

  test('without a key, a route in the URL or the session cookie comes first, as in Apache; the balancer cookie is not even read', () => {
    assert.deepEqual(requestRoute(balancer(PLAIN), '/;jsessionid=x.n1', ['ROUTEID=n2']), { session: { name: 'jsessionid', route: 'n1', session: 'x.n1', from: 'path' }, rejected: false });
    assert.deepEqual(sessionOf(requestRoute(balancer(PLAIN), '/', ['JSESSIONID=x.n1; ROUTEID=n2'])), ['JSESSIONID', 'n1', 'x.n1']);
  });

  test('with a key, only the signed cookie routes: a route the client wrote in the URL or the session cookie is not obeyed', () => {
    assert.deepEqual(sessionOf(requestRoute(balancer(SIGNED), '/;jsessionid=x.n1', [signed('n2')])), ['ROUTEID', 'n2', cookieValue(B, SIGNED, 'n2')]);
    assert.deepEqual(sessionOf(requestRoute(balancer(SIGNED), '/', [`JSESSIONID=x.n1; ${signed('n2')}`])), ['ROUTEID', 'n2', 'x.n1']);
    for (const [url, cookies] of [['/;jsessionid=x.n1', []], ['/', ['JSESSIONID=x.n1']], ['/?jsessionid=x.n1', ['JSESSIONID=y.n1']]] as const) {
      assert.deepEqual(requestRoute(balancer(SIGNED), url, [...cookies]), { session: undefined, rejected: false }, `${url} ${cookies.join()}`);
    }
    assert.deepEqual(requestRoute(balancer(SIGNED), '/', ['JSESSIONID=x.n1; ROUTEID=n1']), { session: undefined, rejected: true });
  });

  test('a forged, altered or unsigned cookie is no route, and rejected', () => {
    for (const value of ['ROUTEID=n2', `ROUTEID=n2.${cookieValue(B, SIGNED, 'n1').split('.')[1]}`, `${signed('n2')}x`]) {
      assert.deepEqual(requestRoute(balancer(SIGNED), '/', [value]), { session: undefined, rejected: true }, value);
    }
  });

  test('a balancer cookie without stickysession is read all the same', () => {
    assert.deepEqual(sessionOf(requestRoute(balancer(PLAIN, false), '/', ['ROUTEID=n2'])), ['ROUTEID', 'n2', 'n2']);
  });

  test('without a balancer cookie, only Apache\'s names', () => {
    assert.deepEqual(requestRoute(balancer(), '/', ['ROUTEID=n2']), { session: undefined, rejected: false });
    assert.deepEqual(requestRoute(balancer(), '/', ['JSESSIONID=abc.']).session?.route, '');
  });
});

describe('a balancer with a cookie and no sticky-session', () => {
  const b = new Balancer(balancerConfig([memberConfig({ url: 'http://a', route: 'n1' }), memberConfig({ url: 'http://b', route: 'n2' })], { cookie: PLAIN }));
  const facts = (choice: ReturnType<Balancer['choose']>) => choice.ok && [choice.member, choice.facts.BALANCER_ROUTE_CHANGED];
  const cookieRoute = (r: string) => requestRoute(b.config, '/', [`ROUTEID=${r}`]).session;

  test('is sticky by its cookie: the route is obeyed and not changed', () => {
    assert.deepEqual([0, 1, 2].map(() => facts(b.choose(cookieRoute('n2'), 0))), [[1, undefined], [1, undefined], [1, undefined]]);
  });

  test('a request without a route, or with an unknown one, is balanced and told its route changed', () => {
    const changed = (choice: ReturnType<Balancer['choose']>) => choice.ok && choice.facts.BALANCER_ROUTE_CHANGED;
    assert.equal(changed(b.choose(undefined, 0)), '1');
    assert.equal(changed(b.choose(cookieRoute('n9'), 0)), '1');
  });
});
