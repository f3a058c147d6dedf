// Manager edits checked and applied (edits.ts), folded into the saved overlay and laid over a configuration
// (overlay.ts), and Apache's form turned into edits (apache-page.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BalancerState } from '../../src/balancer/state.ts';
import { statusLabel } from '../../src/balancer/status.ts';
import type { SticklerConfig } from '../../src/config/model.ts';
import { applyLocal, applyShared, checkNewMemberUrl, enabledLine, planEdit, type EditTarget } from '../../src/manager/edits.ts';
import { apacheEdits, apacheHtml, apacheParams, apacheXml, strfsize } from '../../src/manager/apache-page.ts';
import type { Edit } from '../../src/manager/model.ts';
import { applyOverlay, emptyOverlay, withEdit } from '../../src/manager/overlay.ts';
import { overview } from '../../src/manager/overview.ts';
import { Balancer } from '../../src/balancer/balancer.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';

function setup() {
  const config = balancerConfig([memberConfig({ url: 'https://a:1', route: 'a' }), memberConfig({ url: 'https://b:1', route: 'b' })], { name: 'app' });
  const state = BalancerState.create(config.members, { growth: 1 });
  const targets = new Map<string, EditTarget>([['app', { config, state }]]);
  const apply = (edit: Edit) => {
    const planned = planEdit(targets, edit);
    if (!planned.ok) return planned;
    applyShared(targets.get('app')!, planned.edit);
    applyLocal(targets.get('app')!, planned.edit);
    return planned;
  };
  return { config, state, targets, apply };
}

test('a member change: switches go to the shared state, route and loadfactor to both halves, before and after reported', () => {
  const { config, state, apply } = setup();
  const result = apply({ kind: 'member', balancer: 'app', member: 'https://b:1', change: { status: { disabled: true, drain: true }, loadfactor: 3, route: 'bb' } });
  assert.ok(result.ok);
  assert.deepEqual(result.before, { url: 'https://b:1', route: 'b', redirect: '', loadfactor: 1, lbset: 0, status: '' });
  assert.deepEqual(result.after, { url: 'https://b:1', route: 'bb', redirect: '', loadfactor: 3, lbset: 0, status: 'DN' });
  assert.equal(statusLabel(state.status(1)), 'Init Drn Dis ');
  assert.equal(state.lbfactor(1), 300);
  assert.deepEqual([state.lbstatus(0), state.lbstatus(1)], [100, 300], 'recalc_factors: every lbstatus restarts at its factor');
  assert.equal(config.members[1]?.route, 'bb');
  apply({ kind: 'member', balancer: 'app', member: 'https://b:1', change: { status: { disabled: false } } });
  assert.equal(statusLabel(state.status(1)), 'Init Drn Ok ', 'only the switch asked for changes');
});

test('enabling a disabled or stopped member is told as a recovery through the manager, with who did it; nothing else is', () => {
  const { config, targets } = setup();
  config.members[0]!.status = ['D'];
  config.members[1]!.status = ['S', 'N'];
  const target = targets.get('app')!;
  const alice = { user: 'alice', ip: '10.0.0.9' };
  const line = (edit: Edit) => {
    const planned = planEdit(targets, edit);
    assert.ok(planned.ok);
    return enabledLine(target, planned.edit, alice);
  };
  assert.equal(line({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { disabled: false } } }),
    'balancer://app: member https://a:1 is back: enabled through the manager by alice (10.0.0.9)');
  assert.equal(line({ kind: 'member', balancer: 'app', member: 'https://b:1', change: { status: { stopped: false } } }),
    'balancer://app: member https://b:1 is back: enabled through the manager by alice (10.0.0.9)');
  assert.equal(line({ kind: 'member', balancer: 'app', member: 'https://b:1', change: { status: { drain: false } } }), undefined, 'still stopped');
  assert.equal(line({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { loadfactor: 2 } }), undefined, 'still disabled');
  config.members[0]!.status = [];
  assert.equal(line({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { disabled: false } } }), undefined, 'was not off');
  assert.equal(line({ kind: 'balancer', balancer: 'app', change: { nofailover: true } }), undefined);
});

test('stickysession shows as configured: one name when cookie and URL parameter are the same, never doubled', () => {
  const { config, state, targets } = setup();
  const shown = () => overview([{ balancer: new Balancer(config, state) }], false, 0).balancers[0]?.stickySession;
  config.sticky = { cookie: 'JSESSIONID', urlParam: 'JSESSIONID' };
  assert.equal(shown(), 'JSESSIONID');
  const planned = planEdit(targets, { kind: 'balancer', balancer: 'app', change: { stickySession: 'ROUTEID|routeid' } });
  assert.ok(planned.ok);
  assert.deepEqual([(planned.before as { stickySession: unknown }).stickySession, (planned.after as { stickySession: unknown }).stickySession], ['JSESSIONID', 'ROUTEID|routeid']);
  config.sticky = { cookie: 'JSESSIONID', urlParam: 'jsessionid' };
  assert.equal(shown(), 'JSESSIONID|jsessionid');
});

test('switches never touch error or health-check states set by traffic', () => {
  const { state, apply } = setup();
  state.setStatusBits(0, 0x80);
  apply({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { hotStandby: true } } });
  assert.equal(statusLabel(state.status(0)), 'Init Err Stby ');
});

test('bad edits are refused with the reason, and nothing changes', () => {
  const { state, apply } = setup();
  const cases: Array<[Edit, number, RegExp]> = [
    [{ kind: 'member', balancer: 'nope', member: 'x', change: {} }, 404, /no balancer "nope"; expected one of app/],
    [{ kind: 'member', balancer: 'app', member: 'https://c:1', change: {} }, 404, /has no member https:\/\/c:1/],
    [{ kind: 'member', balancer: 'app', member: 'https://a:1', change: { loadfactor: 0 } }, 400, /loadfactor: 0 is out of range; expected a number from 1 to 100/],
    [{ kind: 'member', balancer: 'app', member: 'https://a:1', change: { lbset: 100 } }, 400, /lbset: 100 is out of range; expected a whole number from 0 to 99/],
    [{ kind: 'member', balancer: 'app', member: 'https://a:1', change: { route: 'x'.repeat(64) } }, 400, /route: "x{64}" is too long \(64 characters\); expected at most 63/],
    [{ kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { broken: true } as never } }, 400, /unknown switch "broken"/],
    [{ kind: 'member', balancer: 'app', member: 'https://a:1', change: { weight: 2 } as never }, 400, /unknown member field "weight"/],
    [{ kind: 'balancer', balancer: 'app', change: { lbmethod: 'random' as never } }, 400, /lbmethod: "random" is not known; expected byrequests, bybusyness or bytraffic/],
    [{ kind: 'balancer', balancer: 'app', change: { stickySession: 'a b' } }, 400, /stickySession: "a b" has " " in a name; expected COOKIE or COOKIE\|urlparam/],
    [{ kind: 'add-member', balancer: 'app', url: 'https://a:1', change: {} }, 409, /already has a member https:\/\/a:1/],
  ];
  for (const [edit, status, reason] of cases) {
    const result = apply(edit);
    assert.equal(result.ok, false, JSON.stringify(edit));
    if (!result.ok) {
      assert.equal(result.status, status, result.reason);
      assert.match(result.reason, reason);
    }
  }
  assert.deepEqual([state.lbfactor(0), statusLabel(state.status(0)), state.count], [100, 'Init Ok ', 2]);
});

test('member URLs: only http and https, no userinfo, no socket paths, no query', () => {
  for (const url of ['https://10.0.0.5:9443', 'http://node:8080/app', 'https://[::1]:9443']) assert.equal(checkNewMemberUrl(url), undefined, url);
  const refused: Array<[string, RegExp]> = [
    ['file:///etc/passwd', /not an http:\/\/ or https:\/\/ URL/],
    ['unix:/x|http://h', /contains a space, a control character, "\|"/],
    ['http://user:pw@h', /carries a user name or password/],
    ['gopher://x', /not an http:\/\/ or https:\/\/ URL/],
    ['http://h/?q=1', /has a query or fragment/],
    ['http://h:70000', /port 70000; expected 1 to 65535/],
    ['', /missing/],
  ];
  for (const [url, reason] of refused) assert.match(checkNewMemberUrl(url) ?? 'accepted', reason, url);
});

test('adding takes the next slot, disabled as in Apache; a full balancer says why; removing frees nothing but hides it', () => {
  const { config, state, apply } = setup();
  const added = apply({ kind: 'add-member', balancer: 'app', url: 'https://c:1', change: { route: 'c' } });
  assert.ok(added.ok);
  assert.deepEqual([state.count, config.members[2]?.url, statusLabel(state.status(2))], [3, 'https://c:1', 'Init Dis ']);
  const full = apply({ kind: 'add-member', balancer: 'app', url: 'https://d:1', change: {} });
  assert.equal(full.ok, false);
  if (!full.ok) assert.match(full.reason, /no free member slot \(3 in all\); raise its growth/);
  assert.ok(apply({ kind: 'remove-member', balancer: 'app', member: 'https://a:1' }).ok);
  const shown = overview([{ balancer: new Balancer(config, state) }], false, Date.now()).balancers[0]!.members.map((m) => m.url);
  assert.deepEqual(shown, ['https://b:1', 'https://c:1']);
  assert.equal(apply({ kind: 'member', balancer: 'app', member: 'https://a:1', change: {} }).ok, false, 'a removed member is gone');
});

test('the overlay sums edits, lays them over a configuration, and drops what the file no longer has, saying so', () => {
  let overlay = emptyOverlay();
  overlay = withEdit(overlay, { kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { drain: true }, loadfactor: 2 } });
  overlay = withEdit(overlay, { kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { disabled: true } } });
  overlay = withEdit(overlay, { kind: 'add-member', balancer: 'app', url: 'https://c:1', change: { route: 'c' } });
  overlay = withEdit(overlay, { kind: 'member', balancer: 'app', member: 'https://c:1', change: { status: { disabled: false } } });
  overlay = withEdit(overlay, { kind: 'remove-member', balancer: 'app', member: 'https://b:1' });
  overlay = withEdit(overlay, { kind: 'balancer', balancer: 'app', change: { lbmethod: 'bybusyness' } });
  overlay = withEdit(overlay, { kind: 'member', balancer: 'gone', member: 'https://x:1', change: { loadfactor: 5 } });
  overlay = withEdit(overlay, { kind: 'member', balancer: 'app', member: 'https://old:1', change: { loadfactor: 5 } });
  const { config: file } = setup();
  const config = { balancers: [file] } as unknown as SticklerConfig;
  const result = applyOverlay(config, overlay);
  const b = result.config.balancers[0]!;
  assert.equal(b.lbmethod, 'bybusyness');
  assert.deepEqual(b.members.map((m) => [m.url, m.route, m.loadfactor, [...m.status].sort().join('')]), [
    ['https://a:1', 'a', 2, 'DN'],
    ['https://c:1', 'c', 1, ''],
  ]);
  assert.deepEqual(result.dropped.sort(), [
    'balancer://app: member https://old:1 is no longer in the configuration; its manager changes are dropped',
    'balancer://gone: no longer in the configuration; its manager changes are dropped',
  ]);
  assert.equal(result.overlay.balancers.gone, undefined);
  assert.equal(result.overlay.balancers.app?.members['https://old:1'], undefined);
  assert.equal(file.members.length, 2, 'the configuration given is left alone');
});

test("Apache's form: keys decoded once, values twice, `+` kept as httpd keeps it; GET takes only w, b, nonce and xml; a foreign Referer drops everything", () => {
  const post = apacheParams({ method: 'POST', query: 'w_lf=9', body: 'b=app&w=https%253A%252F%252Fa%253A1&w_wr=x%2By&nonce=N', referer: 'https://Proxy.example/balancer-manager', host: 'proxy.example' });
  assert.deepEqual([...post.params], [['b', 'app'], ['w', 'https://a:1'], ['w_wr', 'x+y'], ['nonce', 'N']]);
  const get = apacheParams({ method: 'GET', query: 'b=app&w_lf=9&xml=1', body: '', referer: 'http://proxy.example:8080/x', host: 'proxy.example' });
  assert.deepEqual([...get.params], [['b', 'app'], ['xml', '1']]);
  for (const referer of [undefined, 'https://evil.example/balancer-manager', 'not a url']) {
    const dropped = apacheParams({ method: 'POST', query: '', body: 'b=app&w_lf=3', referer, host: 'proxy.example' });
    assert.deepEqual([dropped.params.size, dropped.dropped], [0, true], String(referer));
  }
});

test("Apache's form becomes edits only with the balancer's nonce; out-of-range values are skipped as httpd skips them", () => {
  const { config, state } = setup();
  const view = overview([{ balancer: new Balancer(config, state) }], false, 0);
  const nonces = new Map([['app', 'N1']]);
  const params = (text: string) => new Map(text.split('&').map((p) => p.split('=') as [string, string]));
  assert.deepEqual(apacheEdits(params('b=app&w=https://a:1&w_lf=3&nonce=WRONG'), view, nonces), []);
  assert.deepEqual(apacheEdits(params('b=app&w=https://a:1&w_lf=3.5&w_ls=200&w_status_D=1&w_status_N=7&w_wr=r1&nonce=N1'), view, nonces), [
    { kind: 'member', balancer: 'app', member: 'https://a:1', change: { loadfactor: 3.5, route: 'r1', status: { disabled: true } } },
  ]);
  assert.deepEqual(apacheEdits(params('b=app&b_lbm=bytraffic&b_tmo=10&b_max=2&b_sforce=1&b_ss=A | b&b_nwrkr=https://c:1&b_wyes=1&nonce=N1'), view, nonces), [
    { kind: 'balancer', balancer: 'app', change: { lbmethod: 'bytraffic', timeoutMs: 10_000, maxAttempts: 2, nofailover: true, stickySession: 'A|b' } },
    { kind: 'add-member', balancer: 'app', url: 'https://c:1', change: {} },
  ]);
  assert.deepEqual(apacheEdits(params('b=app&b_ss=-&nonce=N1'), view, nonces), [{ kind: 'balancer', balancer: 'app', change: { stickySession: null } }]);
});

test('a balancer made non-sticky loses its sticky settings; a new lbmethod starts every member at lbstatus 0', () => {
  const { config, state, apply } = setup();
  config.sticky = { cookie: 'JSESSIONID', urlParam: 'jsessionid' };
  state.addLbstatus(0, 250);
  assert.ok(apply({ kind: 'balancer', balancer: 'app', change: { stickySession: null, lbmethod: 'bybusyness' } }).ok);
  assert.equal(config.sticky, undefined);
  assert.equal(config.lbmethod, 'bybusyness');
  assert.deepEqual([state.lbstatus(0), state.lbstatus(1)], [0, 0]);
});

test("Apache's page and XML escape every value; the nonce is in the links", () => {
  const { config, state, apply } = setup();
  apply({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { route: '<img src=x onerror=alert(1)>', redirect: `"'><svg onload=alert(1)>` } });
  const view = overview([{ balancer: new Balancer(config, state) }], false, 0);
  const nonces = new Map([['app', 'N1']]);
  const html = apacheHtml(view, nonces, { path: '/balancer-manager', consolePath: '/balancer-manager/console', selected: { balancer: 'app', member: 'https://a:1' } });
  assert.doesNotMatch(html, /<img|<svg/);
  assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(html, /value="&quot;&#39;&gt;&lt;svg onload=alert\(1\)&gt;"/);
  assert.match(html, /href="\/balancer-manager\?b=app&amp;w=https:\/\/a:1&amp;nonce=N1"/, 'member URLs as httpd writes them');
  const xml = apacheXml(view, nonces);
  assert.doesNotMatch(xml, /<img|<svg/);
  assert.match(xml, /<httpd:nonce>N1<\/httpd:nonce>/);
});

test('sizes as apr_strfsize prints them', () => {
  assert.deepEqual([0, 972, 973, 2560, 10 * 1024, 1024 * 1024 * 5.5].map(strfsize), ['  0 ', '972 ', '1.0K', '2.5K', ' 10K', '5.5M']);
});
