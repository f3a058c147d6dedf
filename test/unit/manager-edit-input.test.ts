// The manager's edits as they come from outside (edit-input.ts), their planning and application (edits.ts), and
// the saved state read back (overlay.ts, store.ts): only listed own fields are read, inherited names are refused by
// name, and nothing but plain data comes out, whatever the input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { BalancerState } from '../../src/balancer/state.ts';
import type { SticklerConfig } from '../../src/config/model.ts';
import { readEdit } from '../../src/manager/edit-input.ts';
import { applyLocal, applyShared, planEdit, type EditTarget } from '../../src/manager/edits.ts';
import type { Edit } from '../../src/manager/model.ts';
import { applyOverlay, readOverlay, withEdit } from '../../src/manager/overlay.ts';
import { ManagerStore } from '../../src/manager/store.ts';
import { STATUS_SWITCHES } from '../../src/manager/model.ts';
import { balancerConfig, memberConfig } from '../support/fixtures.ts';
import { hostileJson, INHERITED_NAMES, nonData } from '../support/hostile-data.ts';

const FIELDS = [
  'kind', 'balancer', 'member', 'url', 'change', 'status', 'loadfactor', 'lbset', 'route', 'redirect',
  'lbmethod', 'timeoutMs', 'maxAttempts', 'nofailover', 'stickySession', 'stopWhenIdleMs', ...STATUS_SWITCHES,
];
const VALUES = ['member', 'balancer', 'add-member', 'remove-member', 'app', 'https://a:1', 'https://b:1', 'https://c:1', 'bybusyness', 'A|b', 3, 50];
const STATUS_LETTERS = ['I', 'N', 'D', 'S', 'H', 'R'];

/** JSON text of an object with these entries, keys as given (a `__proto__` stays an own key once parsed). */
const objectText = (entries: Array<[string, string]>) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
/** An object with the `required` fields and some of the other `fields`, each with its own value arbitrary; now and then an unknown or inherited key too. */
const entries = (fields: Record<string, fc.Arbitrary<string>>, noise: fc.Arbitrary<string>, required: readonly string[] = []) => {
  const stray = fc.oneof(
    { weight: 10, arbitrary: fc.constant([] as Array<[string, string]>) },
    fc.tuple(fc.oneof(fc.constantFrom(...INHERITED_NAMES), fc.string({ maxLength: 6 })), noise).map((e) => [e]),
  );
  return fc
    .tuple(fc.subarray(Object.keys(fields).filter((k) => !required.includes(k))), stray)
    .chain(([keys, extra]) => fc.tuple(...[...required, ...keys].map((k) => fields[k]!.map((v): [string, string] => [k, v]))).map((e) => objectText([...e, ...extra])));
};
const json = <T>(arbitrary: fc.Arbitrary<T>) => arbitrary.map((v) => JSON.stringify(v));
const REQUIRED: Record<string, readonly string[]> = {
  member: ['kind', 'balancer', 'member'], balancer: ['kind', 'balancer'], 'add-member': ['kind', 'balancer', 'url'], 'remove-member': ['kind', 'balancer', 'member'], constructor: ['kind'],
};

const NOISE = hostileJson(FIELDS, VALUES);

/** Value arbitraries for every change field, mostly in range. */
function changeFields(noise: fc.Arbitrary<string>): Record<string, fc.Arbitrary<string>> {
  return {
    status: entries(Object.fromEntries(STATUS_SWITCHES.map((n) => [n, fc.oneof({ weight: 5, arbitrary: json(fc.boolean()) }, noise)])), noise),
    loadfactor: fc.oneof(json(fc.integer({ min: 0, max: 101 })), json(fc.double({ noNaN: true, noDefaultInfinity: true })), noise),
    lbset: fc.oneof({ weight: 3, arbitrary: json(fc.integer({ min: -1, max: 100 })) }, noise),
    route: fc.oneof({ weight: 3, arbitrary: json(fc.string({ maxLength: 70 })) }, noise),
    redirect: json(fc.string({ maxLength: 4 })),
    lbmethod: json(fc.constantFrom('byrequests', 'bybusyness', 'bytraffic', 'heartbeat', 'toString')),
    timeoutMs: json(fc.integer({ min: -1, max: 7_200_001 })),
    maxAttempts: fc.oneof({ weight: 3, arbitrary: json(fc.integer({ min: -1, max: 100 })) }, noise),
    nofailover: fc.oneof({ weight: 3, arbitrary: json(fc.boolean()) }, noise),
    stickySession: json(fc.constantFrom(null, 'A', 'A|b', 'A|', '|', 'A b', 'A|b|c', 'constructor')),
    stopWhenIdleMs: fc.oneof({ weight: 3, arbitrary: json(fc.integer({ min: -1, max: 86_400_001 })) }, noise),
  };
}
const MEMBER_CHANGE = ['status', 'loadfactor', 'lbset', 'route', 'redirect'];
const BALANCER_CHANGE = ['lbmethod', 'timeoutMs', 'maxAttempts', 'nofailover', 'stickySession', 'stopWhenIdleMs'];

/** A change of the `fields` named (now and then one of the other kind's), mostly in range. */
function changeText(fields: readonly string[], noise = NOISE): fc.Arbitrary<string> {
  const all = changeFields(noise);
  const other = Object.keys(all).find((k) => !fields.includes(k))!;
  const of = (names: readonly string[]) => entries(Object.fromEntries(Object.entries(all).filter(([k]) => names.includes(k))), noise);
  return fc.oneof({ weight: 5, arbitrary: of(fields) }, of([...fields, other]));
}

/** Edits as a client could send them: mostly the right shape, with wrong values, unknown keys and inherited names mixed in. */
function editText(noise = NOISE): fc.Arbitrary<string> {
  const body = fc.constantFrom(...Object.keys(REQUIRED)).chain((kind) => entries({
    kind: fc.constant(JSON.stringify(kind)),
    balancer: json(fc.constantFrom('app', 'app', 'app', 'nope', '__proto__', '')),
    member: json(fc.constantFrom('https://a:1', 'https://b:1', 'https://z:1')),
    url: json(fc.constantFrom('https://c:1', 'https://d:1', 'https://a:1', 'file:///x', '')),
    change: fc.oneof({ weight: 5, arbitrary: changeText(kind === 'balancer' ? BALANCER_CHANGE : MEMBER_CHANGE, noise) }, noise),
  }, noise, REQUIRED[kind]));
  return fc.oneof({ weight: 9, arbitrary: body }, noise);
}

function targets() {
  const config = balancerConfig([memberConfig({ url: 'https://a:1', route: 'a' }), memberConfig({ url: 'https://b:1', route: 'b' })], { name: 'app' });
  const state = BalancerState.create(config.members, { growth: 2 });
  return { config, state, targets: new Map<string, EditTarget>([['app', { config, state }]]) };
}

const valid: Edit[] = [
  { kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { disabled: true }, loadfactor: 2, route: 'r' } },
  { kind: 'balancer', balancer: 'app', change: { lbmethod: 'bytraffic', stickySession: 'A|a' } },
  { kind: 'add-member', balancer: 'app', url: 'https://c:1', change: { route: 'c' } },
  { kind: 'remove-member', balancer: 'app', member: 'https://b:1' },
];

/** `edit` as JSON text with `key` added to the object at `level` (the body, its change, the change's status). */
function withKey(edit: Edit, level: 'body' | 'change' | 'status', key: string): string {
  const text = JSON.stringify(edit);
  const inject = (json: string) => `{${JSON.stringify(key)}:true${json === '{}' ? '' : ','}${json.slice(1)}`;
  if (level === 'body') return inject(text);
  const body = JSON.parse(text) as Record<string, unknown>;
  if (level === 'change') return text.replace(`"change":${JSON.stringify(body.change)}`, () => `"change":${inject(JSON.stringify(body.change))}`);
  const status = JSON.stringify((body.change as { status: unknown }).status);
  return text.replace(`"status":${status}`, () => `"status":${inject(status)}`);
}

test('every inherited name, at every level of an edit, is refused with 400 naming it; nothing changes', () => {
  for (const name of INHERITED_NAMES) {
    for (const [level, edit] of [['body', valid[3]!], ['change', valid[0]!], ['change', valid[1]!], ['status', valid[0]!]] as const) {
      const body = JSON.parse(withKey(edit, level, name)) as unknown;
      const read = readEdit(body);
      assert.equal(read.ok, false, `${level} ${name}`);
      if (!read.ok) assert.ok(read.reason.includes(`"${name}"`), `${level} ${name}: ${read.reason}`);
      // The main thread reads what a worker sends again: the same body reaching planEdit directly is refused too.
      const { state, targets: t } = targets();
      const planned = planEdit(t, body as Edit);
      assert.equal(planned.ok, false, `planEdit ${level} ${name}`);
      if (!planned.ok) assert.equal(planned.status, 400, planned.reason);
      assert.deepEqual([state.status(0), state.lbfactor(0), state.count], [BalancerState.create(targets().config.members).status(0), 100, 2]);
    }
    const kind = readEdit({ kind: name, balancer: 'app' });
    assert.equal(kind.ok, false);
    if (!kind.ok) assert.match(kind.reason, /^"kind": expected member, balancer, add-member, remove-member/);
  }
});

test('the messages name the field and say what was expected', () => {
  const refused = (body: unknown) => {
    const read = readEdit(body);
    assert.equal(read.ok, false, JSON.stringify(body));
    return read.ok ? '' : read.reason;
  };
  assert.equal(refused({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { constructor: true } } }),
    'change.status: unknown switch "constructor"; expected ignoreErrors, drain, disabled, stopped, hotStandby, hotSpare');
  assert.equal(refused({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { weight: 1 } }),
    'change: unknown member field "weight"; expected status, loadfactor, lbset, route, redirect');
  assert.equal(refused({ kind: 'member', balancer: 'app', member: 'https://a:1', change: { status: { drain: 1 } } }), 'change.status.drain: expected true or false, got 1');
  assert.equal(refused({ kind: 'balancer', balancer: 'app', change: { maxAttempts: 1.5 } }), 'change.maxAttempts: 1.5 is not a whole number; expected a whole number from 0 to 99');
  assert.equal(refused({ kind: 'balancer', balancer: 'app', change: { stopWhenIdleMs: 86_400_001 } }),
    'change.stopWhenIdleMs: 86400001 is out of range; expected whole milliseconds from 0 (never) to 86400000 (a day)');
  assert.deepEqual(readEdit({ kind: 'balancer', balancer: 'app', change: { stopWhenIdleMs: 0 } }), { ok: true, value: { kind: 'balancer', balancer: 'app', change: { stopWhenIdleMs: 0 } } });
  assert.equal(refused({ kind: 'balancer', balancer: 'app', change: { stickySession: 'A|' } }), 'change.stickySession: "A|" has an empty name; expected COOKIE or COOKIE|urlparam');
  assert.equal(refused({ kind: 'remove-member', balancer: 'app', member: 'https://a:1', change: {} }), 'the edit: unknown field "change"; expected kind, balancer, member');
  assert.equal(refused({ kind: 'member', balancer: 'app', member: 'https://a:1', change: [] }), 'change: expected an object');
  assert.equal(refused([]), 'expected a JSON object: {"kind": "member", "balancer": ..., "member": ..., "change": {...}}');
  const getter = { kind: 'balancer', balancer: 'app', change: Object.defineProperty({}, 'nofailover', { get: () => true, enumerable: true }) };
  assert.equal(refused(getter), 'change.nofailover: expected a plain value');
});

test('property: any JSON body is read without throwing; what is read is plain data and reads back the same; a refusal names a field', () => {
  let accepted = 0;
  fc.assert(
    fc.property(editText(), (text) => {
      const body = JSON.parse(text) as unknown;
      const read = readEdit(body);
      if (!read.ok) {
        assert.match(read.reason, /"[^"]*"|\b(kind|balancer|member|url|change|edit)\b|JSON object/);
        return;
      }
      accepted++;
      assert.equal(nonData(read.value), undefined);
      assert.deepEqual(readEdit(JSON.parse(JSON.stringify(read.value))), read);
    }),
    { numRuns: 3000 },
  );
  assert.ok(accepted > 300, `only ${accepted} of 3000 bodies were edits: the generator no longer reaches the readers of the fields`);
});

test('property: one unknown or inherited key added to a valid edit, at any level, is refused naming that key', () => {
  const levels = fc.constantFrom<['body' | 'change' | 'status', Edit]>(
    ...valid.map((e) => ['body', e] as ['body', Edit]),
    ['change', valid[0]!], ['change', valid[1]!], ['change', valid[2]!], ['status', valid[0]!],
  );
  const key = fc.oneof(fc.constantFrom(...INHERITED_NAMES), fc.string({ minLength: 1, maxLength: 8 }));
  fc.assert(
    fc.property(levels, key, ([level, edit], k) => {
      const text = withKey(edit, level, k);
      const body = JSON.parse(text) as Record<string, unknown>;
      const allowed = new Set(level === 'body' ? Object.keys(edit) : level === 'status' ? STATUS_SWITCHES : Object.keys(FIELDS_OF[edit.kind]));
      fc.pre(!allowed.has(k));
      const read = readEdit(body);
      assert.equal(read.ok, false, text);
      if (!read.ok) assert.ok(read.reason.includes(JSON.stringify(k)), `${text}: ${read.reason}`);
    }),
    { numRuns: 1000 },
  );
});
const FIELDS_OF: Record<Edit['kind'], object> = {
  member: { status: 0, loadfactor: 0, lbset: 0, route: 0, redirect: 0 },
  'add-member': { status: 0, loadfactor: 0, lbset: 0, route: 0, redirect: 0 },
  balancer: { lbmethod: 0, timeoutMs: 0, maxAttempts: 0, nofailover: 0, stickySession: 0, stopWhenIdleMs: 0 },
  'remove-member': {},
};

test('property: planning and applying any JSON edit never throws, answers 400/404/409 or applies plain data only', () => {
  let applied = 0;
  fc.assert(
    fc.property(editText(), (text) => {
      const { config, state, targets: t } = targets();
      const planned = planEdit(t, JSON.parse(text) as Edit);
      if (!planned.ok) {
        assert.ok([400, 404, 409].includes(planned.status), planned.reason);
        assert.ok(planned.reason.length > 0);
        return;
      }
      applied++;
      assert.equal(nonData(planned.edit), undefined);
      applyShared(t.get('app')!, planned.edit);
      applyLocal(t.get('app')!, planned.edit);
      assert.equal(nonData(config), undefined);
      for (const m of config.members) assert.ok(m.status.every((f) => STATUS_LETTERS.includes(f)), JSON.stringify(m.status));
      assert.ok(state.count <= state.capacity);
    }),
    { numRuns: 2000 },
  );
  assert.ok(applied > 100, `only ${applied} of 2000 edits were applied: the generator no longer reaches applyShared and applyLocal`);
});

/** Saved states as a damaged or doctored file could hold them: the right shape, with the changes of editText's. */
function stateText(noise = NOISE): fc.Arbitrary<string> {
  const url = fc.constantFrom('https://a:1', 'https://c:1', 'https://z:1', 'toString', 'file:///x');
  const balancer = entries({
    settings: changeText(BALANCER_CHANGE, noise),
    members: fc.array(fc.tuple(url, changeText(MEMBER_CHANGE, noise)), { maxLength: 3 }).map(objectText),
    added: fc.array(entries({ url: json(url), change: changeText(MEMBER_CHANGE, noise) }, noise, ['url']), { maxLength: 2 }).map((items) => `[${items.join(',')}]`),
    removed: fc.oneof(json(fc.array(url, { maxLength: 2 })), noise),
  }, noise);
  const balancers = fc.array(fc.tuple(fc.constantFrom('app', 'app', 'app', 'gone', '__proto__'), fc.oneof({ weight: 5, arbitrary: balancer }, noise)), { maxLength: 2 }).map(objectText);
  return fc.oneof({ weight: 9, arbitrary: entries({ version: json(fc.constantFrom(1, 1, 1, 1, 1, 1, 2)), balancers }, noise, ['version', 'balancers']) }, noise);
}

test('property: any saved state is read without throwing; what is read is plain data and lays over a configuration', () => {
  let laidOver = 0;
  fc.assert(
    fc.property(stateText(), (text) => {
      const read = readOverlay(JSON.parse(text));
      if (!read.ok) return assert.match(read.reason, /^(the state|version|balancers)\b/);
      assert.equal(nonData(read.value), undefined);
      const config = { balancers: [targets().config] } as unknown as SticklerConfig;
      const laid = applyOverlay(config, read.value);
      if (Object.keys(laid.overlay.balancers).length > 0) laidOver++;
      assert.equal(nonData(laid.config), undefined);
      assert.equal(nonData(laid.overlay), undefined);
      for (const m of laid.config.balancers[0]!.members) assert.ok(m.status.every((f) => STATUS_LETTERS.includes(f)), JSON.stringify(m.status));
    }),
    { numRuns: 2000 },
  );
  assert.ok(laidOver > 100, `only ${laidOver} of 2000 states changed a balancer: the generator no longer reaches applyOverlay`);
});

test('a balancer called __proto__ is an ordinary key of the saved state, never the prototype', () => {
  const overlay = withEdit({ version: 1, balancers: {} }, { kind: 'member', balancer: '__proto__', member: 'https://a:1', change: { loadfactor: 2 } });
  assert.equal(Object.getPrototypeOf(overlay.balancers), Object.prototype);
  assert.ok(Object.hasOwn(overlay.balancers, '__proto__'));
  const again = readOverlay(JSON.parse(JSON.stringify(overlay)));
  assert.ok(again.ok);
  assert.deepEqual(Object.keys(again.value.balancers), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).settings, undefined, 'Object.prototype untouched');
});

test('a state file holding an inherited name is set aside with the key named; the manager starts from the configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-state-'));
  const file = join(dir, 'state.json');
  writeFileSync(file, JSON.stringify({ version: 1, balancers: { app: { settings: {}, members: { 'https://a:1': { status: { constructor: true } } }, added: [], removed: [] } } }));
  const lines: string[] = [];
  const store = new ManagerStore({ stateFile: file, log: (l) => lines.push(l) });
  assert.deepEqual(store.overlay, { version: 1, balancers: {} });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /the state file .*state\.json is not a state Stickler wrote \(balancers\["app"\]\.members\["https:\/\/a:1"\]\.status: unknown switch "constructor"; expected .*\); moved to .*unreadable-/);
  const aside = readdirSync(dir).find((n) => n.startsWith('state.json.unreadable-'));
  assert.ok(aside, 'the file is kept aside for the operator');
  assert.match(readFileSync(join(dir, aside), 'utf8'), /constructor/);
});
