import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { loadHtpasswd, ManagerAuth, parseHtpasswd, type ManagerAuthOptions } from '../../src/manager/auth.ts';

const ONLY_BCRYPT = 'only bcrypt entries are accepted (htpasswd -B)';
const hashB = bcrypt.hashSync('secret', 4);
const hashY = hashB.replace(/^\$2b\$/, '$2y$');
const hashA = hashB.replace(/^\$2b\$/, '$2a$');
const basic = (userPass: string): string => 'Basic ' + Buffer.from(userPass, 'utf8').toString('base64');
const ip = '192.0.2.7';

/** An auth whose clock the test moves by hand. */
function withClock(options: ManagerAuthOptions): { auth: ManagerAuth; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { auth: new ManagerAuth({ ...options, now: () => clock.now }), clock };
}

test('htpasswd: $2a$, $2b$ and $2y$ entries; blank lines, comments and CRLF skipped', () => {
  const text = `\uFEFFalice:${hashY}\r\n# managers\r\n\r\n   \n  # indented comment\nbob:${hashB}\n  carol:${hashA}  \n`;
  const { users, errors } = parseHtpasswd(text, 'users.htpasswd');
  assert.deepEqual(errors, []);
  assert.deepEqual([...users], [['alice', hashY], ['bob', hashB], ['carol', hashA]]);
});

test('htpasswd: every other scheme is an error naming file:line, never echoing the hash', () => {
  const refused: Array<[string, string]> = [
    ['$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/', '$apr1$'],
    ['{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', '{SHA}'],
    ['rqXexS6ZhobKA', 'crypt() hash or a plain-text password'],
    ['hunter2', 'crypt() hash or a plain-text password'],
    ['$6$saltsalt$' + 'x'.repeat(86), '$6$ crypt'],
    [hashY.slice(0, 40), 'malformed bcrypt'],
    [hashY.replace('$04$', '$03$'), 'malformed bcrypt'],
    ['', 'no hash'],
  ];
  refused.forEach(([hash, scheme], i) => {
    const { users, errors } = parseHtpasswd(`# header\nuser${i}:${hash}\n`, 'm.htpasswd');
    assert.equal(users.size, 0, hash);
    assert.equal(errors.length, 1, hash);
    const message = errors[0]!;
    assert.ok(message.startsWith(`m.htpasswd:2: user "user${i}" has `), message);
    assert.ok(message.includes(scheme), message);
    assert.ok(message.endsWith(ONLY_BCRYPT), message);
    if (hash !== '') assert.ok(!message.includes(hash), `hash echoed: ${message}`);
    if (hash.length > 12) assert.ok(!message.includes(hash.slice(12)), `hash tail echoed: ${message}`);
  });
});

test('htpasswd: a line without a colon or with an empty user is an error, and the line is not echoed', () => {
  const { users, errors } = parseHtpasswd(`alice:${hashY}\nhunter2\n:${hashY}\n`, 'm.htpasswd');
  assert.deepEqual([...users.keys()], ['alice']);
  assert.equal(errors.length, 2);
  assert.match(errors[0]!, /^m\.htpasswd:2: no ':'; expected user:hash/);
  assert.match(errors[1]!, /^m\.htpasswd:3: empty user name before ':'/);
  for (const message of errors) {
    assert.ok(message.endsWith(ONLY_BCRYPT), message);
    assert.ok(!message.includes('hunter2') && !message.includes(hashY), message);
  }
});

test('htpasswd: a duplicate user is an error naming both lines; the first entry is kept', () => {
  const other = bcrypt.hashSync('other', 4);
  const { users, errors } = parseHtpasswd(`alice:${hashY}\nbob:${hashB}\n\nalice:${other}\n`, 'm.htpasswd');
  assert.equal(users.get('alice'), hashY);
  assert.deepEqual(errors, ['m.htpasswd:4: user "alice" is already defined at line 1; keep one of the two lines']);
});

test('loadHtpasswd reads the file, and says why it cannot with the errno code', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stickler-auth-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'users');
  writeFileSync(file, `alice:${hashY}\nbob:{SHA}x\n`);
  const loaded = loadHtpasswd(file);
  assert.deepEqual([...loaded.users.keys()], ['alice']);
  assert.deepEqual(loaded.errors.map((e) => e.split(': ')[0]), [`${file}:2`]);

  const missing = join(dir, 'missing');
  assert.deepEqual(loadHtpasswd(missing), { users: new Map(), errors: [`${missing}: cannot read the htpasswd file: ENOENT`] });
  assert.deepEqual(loadHtpasswd(dir).errors, [`${dir}: cannot read the htpasswd file: EISDIR`]);
});

test('no authentication configured: everyone passes as "-"', async () => {
  const auth = new ManagerAuth({});
  assert.deepEqual(await auth.check(undefined, ip), { ok: true, user: '-', method: 'none' });
  assert.deepEqual(await auth.check('Basic garbage', ip), { ok: true, user: '-', method: 'none' });
});

test('an empty htpasswd or token list still turns authentication on (fail closed)', async () => {
  for (const options of [{ htpasswd: new Map<string, string>() }, { tokens: [] }]) {
    const decision = await new ManagerAuth(options).check(basic('alice:secret'), ip);
    assert.equal(decision.ok, false);
  }
});

test('Basic: the right password passes ($2y$ entry); scheme name is case-insensitive', async () => {
  const auth = new ManagerAuth({ htpasswd: new Map([['alice', hashY], ['bob', hashB]]) });
  assert.deepEqual(await auth.check(basic('alice:secret'), ip), { ok: true, user: 'alice', method: 'basic' });
  assert.deepEqual(await auth.check(basic('bob:secret').replace('Basic', 'bASIC'), ip), { ok: true, user: 'bob', method: 'basic' });
});

test('Basic: user names and passwords are UTF-8; the password may contain colons', async () => {
  const auth = new ManagerAuth({ htpasswd: new Map([['zoë', bcrypt.hashSync('pä:ss', 4)]]) });
  assert.deepEqual(await auth.check(basic('zoë:pä:ss'), ip), { ok: true, user: 'zoë', method: 'basic' });
});

test('401 for a wrong password, an unknown user or no credentials, with the Basic challenge', async () => {
  const auth = new ManagerAuth({ htpasswd: new Map([['alice', hashY]]), realm: 'Ops "prod"' });
  const challenge = ['WWW-Authenticate', 'Basic realm="Ops \\"prod\\"", charset="UTF-8"'];
  const wrong = await auth.check(basic('alice:nope'), ip);
  const unknown = await auth.check(basic('mallory:secret'), ip);
  assert.deepEqual(wrong, { ok: false, status: 401, headers: [challenge], reason: 'wrong user name or password' });
  assert.deepEqual(unknown, wrong, 'an unknown user is refused exactly as a wrong password');
  assert.deepEqual(await auth.check(basic('Alice:secret'), ip), wrong, 'user names are case-sensitive, as in Apache');
  assert.deepEqual(await auth.check(undefined, ip), { ok: false, status: 401, headers: [challenge], reason: 'no credentials' });
  assert.deepEqual(await auth.check('  ', ip), { ok: false, status: 401, headers: [challenge], reason: 'no credentials' });
});

test('the default realm, and control characters dropped from a configured one', async () => {
  const header = async (options: ManagerAuthOptions) => {
    const decision = await new ManagerAuth(options).check(undefined, ip);
    return decision.ok ? undefined : decision.headers;
  };
  assert.deepEqual(await header({ htpasswd: new Map() }), [['WWW-Authenticate', 'Basic realm="Stickler balancer manager", charset="UTF-8"']]);
  assert.deepEqual(await header({ tokens: ['t'], realm: 'a\r\nb\\c' }), [['WWW-Authenticate', 'Bearer realm="ab\\\\c"']]);
});

test('Basic: an unknown user still costs a bcrypt compare, at the cost most entries use', async (t) => {
  const compare = t.mock.method(bcrypt, 'compare');
  const users = new Map([['a', hashY], ['b', bcrypt.hashSync('x', 5)], ['c', bcrypt.hashSync('y', 5)]]);
  const auth = new ManagerAuth({ htpasswd: users });
  assert.equal((await auth.check(basic('nobody:secret'), ip)).ok, false);
  assert.equal(compare.mock.callCount(), 1);
  const [password, hash] = compare.mock.calls[0]!.arguments as [string, string];
  assert.equal(password, 'secret');
  assert.match(hash, /^\$2b\$05\$[./A-Za-z0-9]{53}$/);
  assert.ok(![...users.values()].includes(hash));
  // A known user's compare runs against its own entry.
  await auth.check(basic('a:secret'), ip);
  assert.equal(compare.mock.calls[1]!.arguments[1], hashY);
});

test('Basic: an unknown user is refused even if the dummy compare matched', async (t) => {
  t.mock.method(bcrypt, 'compare', async () => true);
  const auth = new ManagerAuth({ htpasswd: new Map([['alice', hashY]]) });
  assert.equal((await auth.check(basic('alice:anything'), ip)).ok, true, 'the mock is in effect');
  assert.equal((await auth.check(basic('nobody:anything'), ip)).ok, false);
});

test('Basic: malformed credentials are 401 without a bcrypt run', async (t) => {
  const compare = t.mock.method(bcrypt, 'compare');
  const auth = new ManagerAuth({ htpasswd: new Map([['alice', hashY]]), maxFailures: 100 });
  const malformed: Array<[string, RegExp]> = [
    ['Basic', /expected Basic credentials/],
    ['Basic !!!!', /not base64/],
    [basic('alice:nope'), /^wrong/], // a control: well-formed, reaches bcrypt
    [basic('alice:nope') + '=', /not base64/],
    ['Basic YWxpY2U', /not base64/],
    ['Basic ' + Buffer.from('alice').toString('base64'), /no ':'/],
    ['Basic ' + Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64'), /not UTF-8/],
    ['Basic a b', /expected Basic credentials/],
    ['Digest username="alice"', /expected Basic credentials/],
    ['Bearer abc', /expected Basic credentials/],
  ];
  for (const [header, reason] of malformed) {
    const decision = await auth.check(header, ip);
    assert.equal(decision.ok, false, header);
    assert.ok(!decision.ok && decision.status === 401 && reason.test(decision.reason), `${header}: ${JSON.stringify(decision)}`);
  }
  assert.equal(compare.mock.callCount(), 1);
});

test('Bearer: one token is user "token"; several are token#N; all compared in constant time', async (t) => {
  assert.deepEqual(await new ManagerAuth({ tokens: ['s3cr3t'] }).check('Bearer s3cr3t', ip), { ok: true, user: 'token', method: 'token' });
  const timingSafeEqual = t.mock.method(crypto, 'timingSafeEqual');
  const auth = new ManagerAuth({ tokens: ['first-token', 'second', 'third-token-is-longer'] });
  assert.deepEqual(await auth.check('bearer second', ip), { ok: true, user: 'token#2', method: 'token' });
  assert.equal(timingSafeEqual.mock.callCount(), 3, 'every token is compared, even after a match');
  for (const call of timingSafeEqual.mock.calls) {
    assert.deepEqual(call.arguments.map((b) => (b as Buffer).length), [32, 32], 'SHA-256 digests, never the raw tokens');
  }
  assert.deepEqual(await auth.check('Bearer third-token-is-longer', ip), { ok: true, user: 'token#3', method: 'token' });
});

test('Bearer: a wrong token (any length) is 401 with the Bearer challenge when only tokens are configured', async () => {
  const auth = new ManagerAuth({ tokens: ['s3cr3t'], maxFailures: 100 });
  for (const header of ['Bearer s3cr3', 'Bearer s3cr3t-and-more', 'Bearer S3CR3T', basic('token:s3cr3t')]) {
    const decision = await auth.check(header, ip);
    assert.equal(decision.ok, false, header);
    assert.deepEqual(!decision.ok && decision.headers, [['WWW-Authenticate', 'Bearer realm="Stickler balancer manager"']]);
  }
});

test('both configured: Basic and Bearer both work, and the challenge is Basic', async () => {
  const auth = new ManagerAuth({ htpasswd: new Map([['alice', hashY]]), tokens: ['tok'] });
  assert.equal((await auth.check(basic('alice:secret'), ip)).ok, true);
  assert.deepEqual(await auth.check('Bearer tok', ip), { ok: true, user: 'token', method: 'token' });
  const refused = await auth.check('Bearer nope', ip);
  assert.deepEqual(!refused.ok && refused.headers[0]?.[1].split(' ')[0], 'Basic');
});

test('rate limit: after 5 failures within 60 s the address gets 429 with Retry-After, without a bcrypt run', async (t) => {
  const { auth, clock } = withClock({ htpasswd: new Map([['alice', hashY]]) });
  for (let i = 0; i < 5; i++) {
    const decision = await auth.check(basic('alice:guess' + i), ip);
    assert.equal(!decision.ok && decision.status, 401, `attempt ${i + 1}`);
    clock.now += 1000;
  }
  const compare = t.mock.method(bcrypt, 'compare');
  // The first failure was 5 s ago: the window ends in 55 s.
  assert.deepEqual(await auth.check(basic('alice:secret'), ip), {
    ok: false,
    status: 429,
    headers: [['Retry-After', '55']],
    reason: 'too many failed logins; retry in 55 s',
  });
  assert.deepEqual(await auth.check(undefined, ip), await auth.check(basic('alice:secret'), ip));
  assert.equal(compare.mock.callCount(), 0, 'a refused address never costs a bcrypt run');
  assert.equal((await auth.check(basic('alice:secret'), '192.0.2.8')).ok, true, 'other addresses are not affected');

  clock.now += 54_999;
  const last = await auth.check(basic('alice:secret'), ip);
  assert.deepEqual(!last.ok && last.headers, [['Retry-After', '1']]);
  clock.now += 1;
  assert.equal((await auth.check(basic('alice:secret'), ip)).ok, true, 'the window has passed');
});

test('rate limit: the window slides over the last failures', async () => {
  const { auth, clock } = withClock({ tokens: ['tok'] });
  const start = clock.now;
  for (const s of [0, 10, 20, 30, 40]) {
    clock.now = start + s * 1000;
    assert.equal((await auth.check('Bearer x', ip)).ok, false);
  }
  clock.now = start + 45_500;
  const blocked = await auth.check('Bearer tok', ip);
  assert.deepEqual(!blocked.ok && [blocked.status, blocked.headers], [429, [['Retry-After', '15']]], '14.5 s rounded up');
  clock.now = start + 60_000;
  assert.equal(!(await auth.check('Bearer x', ip)).ok, true, 'the failure at 0 s has left the window');
  const again = await auth.check('Bearer tok', ip);
  assert.deepEqual(!again.ok && [again.status, again.headers], [429, [['Retry-After', '10']]], '10..60 s: five failures in 60 s');
});

test('rate limit: a success resets the count; requests without credentials do not count', async () => {
  const { auth } = withClock({ tokens: ['tok'] });
  for (let i = 0; i < 10; i++) assert.equal(!(await auth.check(undefined, ip)).ok && 401, 401);
  for (let i = 0; i < 4; i++) await auth.check('Bearer x', ip);
  assert.equal((await auth.check('Bearer tok', ip)).ok, true);
  for (let i = 0; i < 4; i++) await auth.check('Bearer x', ip);
  const fifth = await auth.check('Bearer x', ip);
  assert.equal(!fifth.ok && fifth.status, 401, 'only 4 failures since the success');
  const sixth = await auth.check('Bearer tok', ip);
  assert.equal(!sixth.ok && sixth.status, 429);
});

test('rate limit: concurrent guesses from one address cannot run more bcrypt compares than the limit', async (t) => {
  const compare = t.mock.method(bcrypt, 'compare');
  const { auth } = withClock({ htpasswd: new Map([['alice', hashY]]) });
  const decisions = await Promise.all(Array.from({ length: 12 }, (_, i) => auth.check(basic('alice:guess' + i), ip)));
  assert.deepEqual(decisions.map((d) => !d.ok && d.status), [...Array(5).fill(401), ...Array(7).fill(429)]);
  assert.equal(compare.mock.callCount(), 5);
});

test('rate limit: configurable numbers', async () => {
  const { auth, clock } = withClock({ tokens: ['tok'], maxFailures: 2, windowMs: 10_000 });
  await auth.check('Bearer x', ip);
  assert.equal(!(await auth.check('Bearer x', ip)).ok, true);
  const blocked = await auth.check('Bearer tok', ip);
  assert.deepEqual(!blocked.ok && [blocked.status, blocked.headers], [429, [['Retry-After', '10']]]);
  clock.now += 10_000;
  assert.equal((await auth.check('Bearer tok', ip)).ok, true);
});

test('rate limit: memory is bounded, the least recently failed address is forgotten first', async () => {
  const { auth } = withClock({ tokens: ['tok'], maxFailures: 2, maxTrackedIps: 3 });
  const status = async (address: string) => {
    const decision = await auth.check('Bearer x', address);
    return !decision.ok && decision.status;
  };
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await status(address);
  await status('10.0.0.1'); // second failure: blocked, and now the most recent
  await status('10.0.0.4'); // a fourth address: 10.0.0.2 is forgotten
  assert.equal(await status('10.0.0.1'), 429, 'kept: failed most recently');
  assert.equal(await status('10.0.0.3'), 401, 'kept: this is its second failure');
  assert.equal(await status('10.0.0.3'), 429);
  assert.equal(await status('10.0.0.2'), 401, 'forgotten: this counts as its first failure');
  assert.equal(await status('10.0.0.2'), 401, 'second failure');
  assert.equal(await status('10.0.0.2'), 429);
});

test('rate limit: by default 10 000 addresses are tracked', async () => {
  const fill = async (others: number) => {
    const { auth } = withClock({ tokens: ['tok'] });
    for (let i = 0; i < 5; i++) await auth.check('Bearer x', ip);
    for (let i = 0; i < others; i++) await auth.check('Bearer x', `10.0.${i >> 8}.${i & 255}`);
    const decision = await auth.check('Bearer tok', ip);
    return decision.ok ? 'ok' : decision.status;
  };
  assert.equal(await fill(9_999), 429);
  assert.equal(await fill(10_000), 'ok');
});
